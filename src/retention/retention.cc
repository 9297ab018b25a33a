#include "retention/retention.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace lb::retention {
namespace {

constexpr int64_t kNsPerSec = 1000000000;
constexpr int64_t kSecPerMin = 60;
constexpr int64_t kSecPerHour = 3600;
constexpr int64_t kSecPerDay = 86400;

// ---- Civil calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms).

// a / b rounded towards negative infinity; b > 0.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b < 0) ? q - 1 : q;
}

// Days since 1970-01-01 of the civil date y-m-d.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Date {
  int64_t year;
  int month;
  int day;
};

// Civil date of the day `z` days after 1970-01-01.
Date CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

// Fills everything but `hour` for the day `days` after 1970-01-01.
CivilFields FieldsFromDays(int64_t days) {
  const Date date = CivilFromDays(days);
  // 1970-01-01 was a Thursday; Monday = 0.
  const int64_t monday_based = FloorDiv(days + 3, 7) * 7 - 3;  // this week's Monday
  const int64_t thursday = monday_based + 3;
  // The ISO week-year is the year containing the week's Thursday.
  const int64_t iso_year = CivilFromDays(thursday).year;
  const int64_t jan1 = DaysFromCivil(iso_year, 1, 1);
  CivilFields f;
  f.year = static_cast<int>(date.year);
  f.month = date.month;
  f.day = date.day;
  f.iso_year = static_cast<int>(iso_year);
  f.iso_week = static_cast<int>((thursday - jan1) / 7 + 1);
  return f;
}

// Civil fields of a count of seconds since the epoch in a zone whose local
// time is already folded in (local_secs = utc_secs + offset).
CivilFields FieldsFromLocalSeconds(int64_t local_secs) {
  const int64_t days = FloorDiv(local_secs, kSecPerDay);
  CivilFields f = FieldsFromDays(days);
  f.hour = static_cast<int>((local_secs - days * kSecPerDay) / kSecPerHour);
  return f;
}

int64_t SecondsOf(TimeNs t) { return FloorDiv(t, kNsPerSec); }

}  // namespace

// ---- CivilTime

CivilTime CivilTime::Utc() { return CivilTime(Kind::kUtc, 0); }
CivilTime CivilTime::Local() { return CivilTime(Kind::kLocal, 0); }
CivilTime CivilTime::FixedOffset(int32_t seconds_east) {
  return CivilTime(Kind::kFixed, seconds_east);
}

CivilFields CivilTime::At(TimeNs t) const {
  const int64_t secs = SecondsOf(t);  // |secs| < 2^34: no overflow below
  switch (kind_) {
    case Kind::kUtc:
      return FieldsFromLocalSeconds(secs);
    case Kind::kFixed:
      return FieldsFromLocalSeconds(secs + offset_);
    case Kind::kLocal: {
      const time_t tt = static_cast<time_t>(secs);
      struct tm tm {};
      if (localtime_r(&tt, &tm) == nullptr) return FieldsFromLocalSeconds(secs);
      CivilFields f = FieldsFromDays(DaysFromCivil(tm.tm_year + 1900LL, tm.tm_mon + 1, tm.tm_mday));
      f.hour = tm.tm_hour;
      return f;
    }
  }
  return FieldsFromLocalSeconds(secs);
}

// ---- Rules

bool Rules::empty() const {
  return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 &&
         yearly == 0 && within_ns <= 0 && keep_tags.empty();
}

Status Rules::Validate() const {
  const std::array<std::pair<const char*, int>, 6> counts = {{{"last", last},
                                                              {"hourly", hourly},
                                                              {"daily", daily},
                                                              {"weekly", weekly},
                                                              {"monthly", monthly},
                                                              {"yearly", yearly}}};
  for (const auto& [name, n] : counts) {
    if (n < -1) {
      return InvalidArgument(std::string("keep-") + name + " must be -1 (unlimited), 0 or positive, got " +
                             std::to_string(n));
    }
  }
  if (within_ns < 0) return InvalidArgument("keep-within must not be negative");
  for (const auto& tag : keep_tags) {
    if (tag.empty()) return InvalidArgument("keep-tag must not be empty");
  }
  return Status::Ok();
}

// ---- GroupBy

namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Sets the flag named `word`; kInvalidArgument if the word is unknown or already set.
Status SetGroupWord(std::string_view word, GroupBy& g, std::string_view text) {
  bool* flag = nullptr;
  if (word == "host") flag = &g.host;
  if (word == "paths") flag = &g.paths;
  if (word == "tags") flag = &g.tags;
  const std::string quoted = "'" + std::string(text) + "'";
  if (flag == nullptr) {
    return InvalidArgument("group-by " + quoted + ": unknown word '" + std::string(word) +
                           "' (want a comma-separated list of host, paths, tags, or \"\")");
  }
  if (*flag) return InvalidArgument("group-by " + quoted + ": '" + std::string(word) + "' listed twice");
  *flag = true;
  return Status::Ok();
}

}  // namespace

Result<GroupBy> ParseGroupBy(std::string_view text) {
  GroupBy g{false, false, false};
  if (TrimSpaces(text).empty()) return g;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view word =
        TrimSpaces(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    LB_RETURN_IF_ERROR(SetGroupWord(word, g, text));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return g;
}

// ---- Durations

namespace {

struct Unit {
  std::string_view name;
  int64_t seconds;
};

// Largest first; ParseDuration requires this order.
constexpr std::array<Unit, 6> kUnits = {{{"y", 365 * kSecPerDay},
                                         {"w", 7 * kSecPerDay},
                                         {"d", kSecPerDay},
                                         {"h", kSecPerHour},
                                         {"min", kSecPerMin},
                                         {"s", 1}}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status DurationError(std::string_view text, const std::string& why) {
  return InvalidArgument("invalid duration '" + std::string(text) + "': " + why +
                         " (want e.g. 30d, 12h, 90min, 2w, 1y, 1d12h; units y=365d w d h min s)");
}

// Index into kUnits, or -1.
int FindUnit(std::string_view name) {
  for (size_t i = 0; i < kUnits.size(); ++i) {
    if (kUnits[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

Result<int64_t> ParseDuration(std::string_view text) {
  if (text.empty()) return DurationError(text, "empty");
  if (text.front() == '-') return DurationError(text, "must not be negative");
  int64_t total = 0;
  int prev_unit = -1;
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) return DurationError(text, "expected a number at '" + std::string(text.substr(i)) + "'");
    int64_t n = 0;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, text[i] - '0', &n))
        return DurationError(text, "too large");
    }
    const size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) return DurationError(text, "missing unit after " + std::to_string(n));
    if (unit == "m") return DurationError(text, "'m' is ambiguous; write 'min' for minutes or e.g. '30d' for a month");
    const int u = FindUnit(unit);
    if (u < 0) return DurationError(text, "unknown unit '" + std::string(unit) + "'");
    if (u <= prev_unit) return DurationError(text, "units must appear once each, largest first");
    prev_unit = u;
    int64_t ns = 0;
    if (__builtin_mul_overflow(n, kUnits[u].seconds, &ns) || __builtin_mul_overflow(ns, kNsPerSec, &ns) ||
        __builtin_add_overflow(total, ns, &total))
      return DurationError(text, "too large");
  }
  if (total == 0) return DurationError(text, "must be positive");
  return total;
}

std::string FormatDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string out = ns < 0 ? "-" : "";
  // Magnitude as unsigned so that INT64_MIN is fine.
  const uint64_t mag = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  uint64_t secs = mag / kNsPerSec;
  const uint64_t frac = mag % kNsPerSec;
  for (const Unit& u : kUnits) {
    if (u.name == "w" || u.name == "s") continue;  // weeks are shown as days; seconds below
    const uint64_t n = secs / static_cast<uint64_t>(u.seconds);
    if (n == 0) continue;
    out += std::to_string(n) + std::string(u.name);
    secs %= static_cast<uint64_t>(u.seconds);
  }
  if (secs == 0 && frac == 0) return out;
  out += std::to_string(secs);
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 9 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "s";
}

// ---- Apply

namespace {

enum BucketRule { kHourly, kDaily, kWeekly, kMonthly, kYearly, kNumBucketRules };

constexpr std::array<const char*, kNumBucketRules> kBucketReason = {"hourly", "daily", "weekly", "monthly",
                                                                     "yearly"};

// A value identifying the snapshot's bucket for `rule`; equal iff same bucket.
int64_t BucketOf(BucketRule rule, const CivilFields& c) {
  const int64_t ym = int64_t{c.year} * 100 + c.month;
  switch (rule) {
    case kHourly:
      return (ym * 100 + c.day) * 100 + c.hour;
    case kDaily:
      return ym * 100 + c.day;
    case kWeekly:
      return int64_t{c.iso_year} * 100 + c.iso_week;
    case kMonthly:
      return ym;
    case kYearly:
      return c.year;
    case kNumBucketRules:
      break;
  }
  return 0;
}

// Remaining allowance of one counted rule. Negative = unlimited.
class Counter {
 public:
  explicit Counter(int n) : left_(n < 0 ? -1 : n) {}
  bool active() const { return left_ != 0; }
  void Use() {
    if (left_ > 0) --left_;
  }

 private:
  int left_;
};

// One bucket rule: remaining count and the buckets already kept.
struct BucketState {
  Counter counter;
  std::set<int64_t> seen;
};

// Sorted, deduplicated copy.
std::vector<std::string> SortedSet(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

void AppendQuoted(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void AppendList(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    AppendQuoted(out, v[i]);
  }
  out += ']';
}

// The unique, readable key of the group `s` belongs to (see Group::key).
std::string GroupKey(const SnapshotRef& s, const GroupBy& g) {
  std::string key;
  auto sep = [&key] {
    if (!key.empty()) key += ' ';
  };
  if (g.host) {
    key += "host=";
    AppendQuoted(key, s.host);
  }
  if (g.paths) {
    sep();
    key += "paths=";
    AppendList(key, SortedSet(s.paths));
  }
  if (g.tags) {
    sep();
    key += "tags=";
    AppendList(key, SortedSet(s.tags));
  }
  return key;
}

bool NewerFirst(const SnapshotRef& a, const SnapshotRef& b) {
  return std::tie(b.time, a.id) < std::tie(a.time, b.id);
}

// now - d, saturating at INT64_MIN.
TimeNs SaturatingSub(TimeNs now, int64_t d) {
  TimeNs r = 0;
  return __builtin_sub_overflow(now, d, &r) ? INT64_MIN : r;
}

void AddTagReasons(const SnapshotRef& s, const std::vector<std::string>& keep_tags, std::vector<std::string>& reasons) {
  for (const auto& tag : keep_tags) {
    if (std::find(s.tags.begin(), s.tags.end(), tag) != s.tags.end()) reasons.push_back("tag " + tag);
  }
}

// Decides one group; `group` is sorted newest first.
std::vector<Decision> DecideGroup(const std::vector<SnapshotRef>& group, const Rules& rules, TimeNs now,
                                  const CivilTime& tz) {
  std::vector<Decision> out;
  out.reserve(group.size());
  if (rules.empty()) {
    for (const auto& s : group) out.push_back({s.id, true, {"no rules"}});
    return out;
  }
  Counter last(rules.last);
  const std::array<int, kNumBucketRules> counts = {rules.hourly, rules.daily, rules.weekly, rules.monthly,
                                                   rules.yearly};
  std::vector<BucketState> buckets;
  for (int n : counts) buckets.push_back({Counter(n), {}});
  const bool within_on = rules.within_ns > 0;
  const TimeNs cutoff = within_on ? SaturatingSub(now, rules.within_ns) : 0;
  const std::string within_reason = within_on ? "within " + FormatDuration(rules.within_ns) : "";

  for (const auto& s : group) {
    std::vector<std::string> reasons;
    if (last.active()) {
      last.Use();
      reasons.push_back("last");
    }
    const CivilFields civil = tz.At(s.time);
    for (int r = 0; r < kNumBucketRules; ++r) {
      BucketState& b = buckets[r];
      if (!b.counter.active()) continue;
      if (!b.seen.insert(BucketOf(static_cast<BucketRule>(r), civil)).second) continue;
      b.counter.Use();
      reasons.push_back(kBucketReason[r]);
    }
    if (within_on && s.time > cutoff) reasons.push_back(within_reason);
    AddTagReasons(s, rules.keep_tags, reasons);
    const bool keep = !reasons.empty();
    out.push_back({s.id, keep, std::move(reasons)});
  }
  return out;
}

}  // namespace

std::vector<Group> Apply(std::vector<SnapshotRef> snapshots, const Rules& rules, const GroupBy& group_by,
                         TimeNs now, const CivilTime& tz) {
  std::map<std::string, std::vector<SnapshotRef>> groups;
  for (auto& s : snapshots) {
    std::string key = GroupKey(s, group_by);
    groups[std::move(key)].push_back(std::move(s));
  }
  std::vector<Group> out;
  out.reserve(groups.size());
  for (auto& [key, members] : groups) {
    std::sort(members.begin(), members.end(), NewerFirst);
    out.push_back({key, DecideGroup(members, rules, now, tz)});
  }
  return out;
}

}  // namespace lb::retention
