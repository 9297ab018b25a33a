#include "policy/objectives.h"

#include <cmath>
#include <functional>
#include <set>

#include "policy/units.h"

namespace lb::policy {
namespace {

const ServiceHistory kNoHistory;

const ServiceHistory& Facts(const History& h, const std::string& name) {
  const auto it = h.find(name);
  return it == h.end() ? kNoHistory : it->second;
}

bool OverShare(int64_t value, int64_t objective) {
  return static_cast<__int128>(value) * 100 > static_cast<__int128>(objective) * kAtRiskPercent;
}

int64_t SecondsToNs(double s) { return static_cast<int64_t>(std::llround(s * 1e9)); }

std::string D(int64_t ns) { return FormatDuration(ns); }

// A service's own restore estimate (without dependencies).
struct Own {
  std::optional<int64_t> ns;
  Verdict problem = Verdict::kMet;  // kUnknown or kViolated when ns is unset
  std::string why;
};

Own OwnRestore(const Service& s, const ServiceHistory& h) {
  if (!h.last_drill) return {std::nullopt, Verdict::kUnknown, "no drill yet"};
  const DrillRun& d = *h.last_drill;
  if (!d.ok) return {std::nullopt, Verdict::kViolated, "last drill failed at " + FormatTime(d.when)};
  uint64_t size = d.bytes;
  if (h.last_good_backup) {
    size = h.last_good_backup->bytes;
  } else if (s.size_hint_bytes > 0) {
    size = s.size_hint_bytes;
  }
  const double restore =
      d.bytes > 0 ? d.restore_seconds * static_cast<double>(size) / static_cast<double>(d.bytes) : d.restore_seconds;
  return {SecondsToNs(restore) + SecondsToNs(d.validation_seconds), Verdict::kMet, ""};
}

// Transitive dependencies of `s` (excluding s), or an error text.
std::string Dependencies(const Policy& p, const Service& s, std::vector<const Service*>& out) {
  std::set<std::string> done, on_path;
  std::string err;
  std::function<void(const Service&)> visit = [&](const Service& x) {
    on_path.insert(x.name);
    for (const Ref& r : x.depends_on) {
      if (!err.empty()) return;
      const Service* d = p.FindService(r.name);
      if (d == nullptr) {
        err = "depends on unknown service '" + r.name + "'";
      } else if (on_path.count(d->name) > 0) {
        err = "dependency cycle through '" + d->name + "'";
      } else if (done.insert(d->name).second) {
        out.push_back(d);
        visit(*d);
      }
    }
    on_path.erase(x.name);
  };
  visit(s);
  return err;
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kMet:
      return "met";
    case Verdict::kAtRisk:
      return "at risk";
    case Verdict::kViolated:
      return "violated";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Objective PlanRpo(const Service& s, const ServiceHistory& h, TimeNs now) {
  Objective o;
  o.target_ns = s.rpo_ns;
  if (!h.last_good_backup) {
    o.verdict = Verdict::kViolated;
    o.reason = "no successful backup yet";
    return o;
  }
  const BackupRun& good = *h.last_good_backup;
  const int64_t gap = s.schedule.worst_gap_ns;
  const int64_t dur = std::max<int64_t>(0, good.end - good.start);
  int64_t lag = 0;
  std::string lag_target;
  for (const Ref& t : s.targets) {
    const auto it = h.replication_lag_ns.find(t.name);
    if (it != h.replication_lag_ns.end() && it->second > lag) {
      lag = it->second;
      lag_target = t.name;
    }
  }
  const int64_t worst = gap + dur + lag;
  o.estimate_ns = worst;
  const std::string parts = "worst case " + D(worst) + " (schedule gap " + D(gap) + " + backup " + D(dur) +
                            (lag_target.empty() ? "" : " + lag to " + lag_target + " " + D(lag)) + ")";
  const int64_t current = now - good.start;
  if (current > s.rpo_ns) {
    o.verdict = Verdict::kViolated;
    o.reason = "last successful backup started " + D(current) + " ago, more than rpo " + D(s.rpo_ns);
  } else if (worst > s.rpo_ns) {
    o.verdict = Verdict::kViolated;
    o.reason = parts + " exceeds rpo " + D(s.rpo_ns);
  } else if (OverShare(worst, s.rpo_ns)) {
    o.verdict = Verdict::kAtRisk;
    o.reason = parts + " is over " + std::to_string(kAtRiskPercent) + "% of rpo " + D(s.rpo_ns);
  } else if (h.last_backup && !h.last_backup->ok) {
    o.verdict = Verdict::kAtRisk;
    o.reason = "the latest backup failed; " + parts + " within rpo " + D(s.rpo_ns);
  } else {
    o.verdict = Verdict::kMet;
    o.reason = parts + " within rpo " + D(s.rpo_ns);
  }
  return o;
}

Objective PlanRto(const Policy& p, const Service& s, const History& history, TimeNs now) {
  Objective o;
  o.target_ns = s.rto_ns;
  std::vector<const Service*> deps;
  if (std::string err = Dependencies(p, s, deps); !err.empty()) {
    o.reason = err;
    return o;
  }
  const ServiceHistory& h = Facts(history, s.name);
  const Own own = OwnRestore(s, h);
  if (!own.ns) {
    o.verdict = own.problem;
    o.reason = own.why;
    return o;
  }
  int64_t dep_total = 0;
  for (const Service* d : deps) {
    const Own x = OwnRestore(*d, Facts(history, d->name));
    if (!x.ns) {
      o.verdict = x.problem;
      o.reason = "dependency '" + d->name + "': " + x.why;
      return o;
    }
    dep_total += *x.ns;
  }
  const int64_t est = *own.ns + dep_total;
  o.estimate_ns = est;
  const std::string parts = "estimated restore " + D(est) + " (" + D(*own.ns) + " measured by the last drill" +
                            (deps.empty() ? "" : " + dependencies " + D(dep_total)) + ")";
  const DrillRun& drill = *h.last_drill;
  if (est > s.rto_ns) {
    o.verdict = Verdict::kViolated;
    o.reason = parts + " exceeds rto " + D(s.rto_ns);
  } else if (OverShare(est, s.rto_ns)) {
    o.verdict = Verdict::kAtRisk;
    o.reason = parts + " is over " + std::to_string(kAtRiskPercent) + "% of rto " + D(s.rto_ns);
  } else if (s.drill && now - drill.when > s.drill->every_ns) {
    o.verdict = Verdict::kAtRisk;
    o.reason = "last drill was " + D(now - drill.when) + " ago, policy asks every " + D(s.drill->every_ns) + "; " +
               parts + " within rto " + D(s.rto_ns);
  } else {
    o.verdict = Verdict::kMet;
    o.reason = parts + " within rto " + D(s.rto_ns);
  }
  return o;
}

std::optional<int64_t> OwnRestoreEstimate(const Service& s, const ServiceHistory& h) {
  return OwnRestore(s, h).ns;
}

std::vector<ServicePlan> Plan(const Policy& p, const History& history, TimeNs now) {
  std::vector<ServicePlan> out;
  for (const Service& s : p.services)
    out.push_back({s.name, PlanRpo(s, Facts(history, s.name), now), PlanRto(p, s, history, now)});
  return out;
}

}  // namespace lb::policy
