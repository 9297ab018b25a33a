#include "drill/drift.h"

#include <algorithm>
#include <cstdio>

namespace lb::drill {

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Fmt(const char* f, double a, double b, double c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

}  // namespace

std::vector<std::string> FindDrift(const std::vector<DrillRecord>& records, const DriftOptions& o) {
  std::vector<std::string> out(records.size());
  std::vector<size_t> good;  // indices of earlier successful runs
  for (size_t i = 0; i < records.size(); ++i) {
    const DrillRecord& r = records[i];
    if (!r.ok) continue;
    if (good.size() >= o.min_runs) {
      std::vector<double> times, rates;
      for (size_t k = good.size() > o.window ? good.size() - o.window : 0; k < good.size(); ++k) {
        times.push_back(records[good[k]].restore_seconds);
        rates.push_back(records[good[k]].throughput());
      }
      const double mt = Median(times), mr = Median(rates);
      std::string why;
      if (mt > 0 && r.restore_seconds > o.factor * mt)
        why = Fmt("restore took %.1fs, %.1fx the median %.1fs of earlier drills", r.restore_seconds,
                  r.restore_seconds / mt, mt);
      if (mr > 0 && r.throughput() > 0 && r.throughput() * o.factor < mr)
        why += (why.empty() ? "" : "; ") +
               Fmt("throughput %.1f MB/s, %.2fx the median %.1f MB/s", r.throughput() / 1e6,
                   r.throughput() / mr, mr / 1e6);
      out[i] = why;
    }
    good.push_back(i);
  }
  return out;
}

std::optional<TimeNs> NextDrillDue(const policy::Service& s, std::optional<TimeNs> last_ok, TimeNs now) {
  if (!s.drill || s.drill->every_ns <= 0) return std::nullopt;
  if (!last_ok) return now;
  return *last_ok + s.drill->every_ns;
}

bool DrillOverdue(const policy::Service& s, std::optional<TimeNs> last_ok, TimeNs now) {
  auto due = NextDrillDue(s, last_ok, now);
  return due && *due <= now;
}

}  // namespace lb::drill
