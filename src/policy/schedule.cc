// Evaluation of schedules: next run, windows, worst gap (see schedule.h).
#include "policy/schedule.h"

#include <algorithm>
#include <chrono>

namespace lb::policy {
namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Local seconds since the epoch of instant t (floor).
int64_t LocalSecs(TimeNs t, const Zone& z) { return FloorDiv(t, kNsPerSec) + z.offset_s; }

// Instant of local second `ls`, or kNever when it is past the end of TimeNs.
TimeNs FromLocalSecs(__int128 ls, const Zone& z) {
  const __int128 ns = (ls - z.offset_s) * kNsPerSec;
  if (ns > static_cast<__int128>(kNever)) return kNever;
  return static_cast<TimeNs>(ns);
}

// Days searched for a matching day: a full 400-year Gregorian cycle plus one.
constexpr int64_t kMaxDaySearch = 146097 + 1;

// The first base time (local seconds) strictly after local second `ls`, or -1.
__int128 FirstBaseAfter(const Schedule& s, int64_t ls) {
  int64_t day = FloorDiv(ls, kSecPerDay);
  const auto sec = static_cast<int32_t>(ls - day * kSecPerDay);
  if (s.DayMatches(day)) {
    const auto it = std::upper_bound(s.day_secs.begin(), s.day_secs.end(), sec);
    if (it != s.day_secs.end()) return static_cast<__int128>(day) * kSecPerDay + *it;
  }
  if (s.day_secs.empty()) return -1;
  for (int64_t k = 0; k < kMaxDaySearch; ++k) {
    ++day;
    if (s.DayMatches(day)) return static_cast<__int128>(day) * kSecPerDay + s.day_secs.front();
  }
  return -1;
}

// Local second `ls` if inside the window, else the window's next opening.
__int128 DeferLocal(const Schedule& s, __int128 ls) {
  if (!s.window) return ls;
  const auto day = static_cast<__int128>(FloorDiv(static_cast<int64_t>(ls), kSecPerDay));
  const auto sec = static_cast<int32_t>(ls - day * kSecPerDay);
  if (s.window->Contains(sec)) return ls;
  const Window& w = *s.window;
  const bool same_day = w.start_s > w.end_s || sec < w.start_s;
  return (same_day ? day : day + 1) * kSecPerDay + w.start_s;
}

// What one local day contributes to the sequence of runs, for WorstGap.
struct DayRuns {
  std::vector<int32_t> runs;  // seconds of day
  bool pending_out = false;   // a run was deferred past midnight
  int32_t max_gap = 0;        // largest gap between runs within the day
};

DayRuns SimulateDay(const Schedule& s, bool matched, bool pending) {
  std::vector<int32_t> points;
  if (matched) points = s.day_secs;
  if (s.window) points.push_back(s.window->start_s);
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  DayRuns out;
  for (int32_t p : points) {
    bool run = false;
    if (s.window && p == s.window->start_s && pending) {
      run = true;
      pending = false;
    }
    if (matched && std::binary_search(s.day_secs.begin(), s.day_secs.end(), p)) {
      if (!s.window || s.window->Contains(p)) {
        run = true;
      } else {
        pending = true;
      }
    }
    if (run) {
      if (!out.runs.empty()) out.max_gap = std::max(out.max_gap, p - out.runs.back());
      out.runs.push_back(p);
    }
  }
  out.pending_out = pending;
  return out;
}

}  // namespace

bool Schedule::DayMatches(int64_t day) const {
  if (every_days > 0) return FloorDiv(day, every_days) * every_days == day;
  if (kind != Kind::kCron) return true;
  using namespace std::chrono;
  const sys_days sd{days{day}};
  const year_month_day ymd{sd};
  if (!month[static_cast<unsigned>(ymd.month())]) return false;
  const bool dom_ok = dom[static_cast<unsigned>(ymd.day())];
  const bool dow_ok = dow[weekday{sd}.c_encoding()];
  if (dom_star || dow_star) return dom_ok && dow_ok;
  return dom_ok || dow_ok;
}

TimeNs NextRun(const Schedule& s, TimeNs after, const Zone& zone) {
  const __int128 base = FirstBaseAfter(s, LocalSecs(after, zone));
  if (base < 0) return kNever;
  return FromLocalSecs(DeferLocal(s, base), zone);
}

bool InWindow(const Schedule& s, TimeNs t, const Zone& zone) {
  if (!s.window) return true;
  const int64_t ls = LocalSecs(t, zone);
  return s.window->Contains(static_cast<int32_t>(ls - FloorDiv(ls, kSecPerDay) * kSecPerDay));
}

TimeNs EarliestInWindow(const Schedule& s, TimeNs t, const Zone& zone) {
  if (InWindow(s, t, zone)) return t;
  return FromLocalSecs(DeferLocal(s, LocalSecs(t, zone)), zone);
}

int64_t WorstGap(const Schedule& s) {
  // Cron day patterns repeat every 400 years (146097 days, a whole number of
  // weeks); interval patterns every `every_days` days. Walk two periods so
  // that the gap across the period boundary is seen too.
  const int64_t period = s.kind == Schedule::Kind::kCron ? 146097 : std::max<int64_t>(s.every_days, 1);
  const int64_t first_day = 10957;  // 2000-01-01, also day 0 mod every_days for small values
  DayRuns table[2][2];
  for (int m = 0; m < 2; ++m)
    for (int p = 0; p < 2; ++p) table[m][p] = SimulateDay(s, m != 0, p != 0);
  bool pending = false, have_last = false;
  int64_t last = 0, worst = 0;
  for (int64_t d = first_day; d < first_day + 2 * period + 2; ++d) {
    const DayRuns& r = table[s.DayMatches(d) ? 1 : 0][pending ? 1 : 0];
    pending = r.pending_out;
    if (r.runs.empty()) continue;
    const int64_t base = d * kSecPerDay;
    if (have_last) worst = std::max(worst, base + r.runs.front() - last);
    worst = std::max<int64_t>(worst, r.max_gap);
    last = base + r.runs.back();
    have_last = true;
  }
  return worst * kNsPerSec;
}

}  // namespace lb::policy
