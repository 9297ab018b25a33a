#include "scheduler/scheduler.h"

#include <algorithm>
#include <tuple>

#include "policy/units.h"

namespace lb::scheduler {
namespace {

using policy::kNever;
using policy::Service;

const ServiceState kFresh;

const ServiceState& Get(const State& s, const std::string& name) {
  const auto it = s.services.find(name);
  return it == s.services.end() ? kFresh : it->second;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int64_t Jitter(const Options& o, const std::string& service, TimeNs due) {
  if (o.jitter_max_ns <= 0) return 0;
  uint64_t h = SplitMix(o.seed);
  for (unsigned char c : service) h = SplitMix(h ^ c);
  h = SplitMix(h ^ static_cast<uint64_t>(due));
  return static_cast<int64_t>(h % static_cast<uint64_t>(o.jitter_max_ns));
}

TimeNs SatAdd(TimeNs t, int64_t d) {
  TimeNs out = 0;
  return __builtin_add_overflow(t, d, &out) ? kNever : out;
}

struct Due {
  TimeNs at = kNever;
  ActionKind kind = ActionKind::kStartBackup;
  int attempt = 0;
  std::string reason;
};

Due NextStart(const Service& svc, const ServiceState& st, const Options& o) {
  const policy::Schedule& sch = svc.schedule;
  Due d;
  if (st.consecutive_failures > 0 && st.last_end) {
    const int k = st.consecutive_failures;
    const int64_t cap = std::max(o.retry_base_ns, sch.worst_gap_ns);
    int64_t backoff = o.retry_base_ns;
    for (int i = 1; i < k && backoff < cap; ++i) backoff = backoff > cap / 2 ? cap : backoff * 2;
    backoff = std::min(backoff, cap);
    d.kind = ActionKind::kRetryBackup;
    d.attempt = k;
    d.at = policy::EarliestInWindow(sch, SatAdd(*st.last_end, backoff), o.zone);
    d.reason = "retry " + std::to_string(k) + " after " + std::to_string(k) + " failure(s), backoff " +
               policy::FormatDuration(backoff);
    return d;
  }
  const TimeNs slot = st.last_start ? policy::NextRun(sch, *st.last_start, o.zone) : st.since;
  if (slot == kNever) return d;
  d.at = policy::EarliestInWindow(sch, SatAdd(slot, Jitter(o, svc.name, slot)), o.zone);
  d.reason = st.last_start ? "scheduled at " + policy::FormatTime(slot) + " by '" + sch.text + "'" : "first backup";
  return d;
}

std::string WholeSeconds(int64_t ns) { return policy::FormatDuration(ns / policy::kNsPerSec * policy::kNsPerSec); }

TimeNs RecoveryPoint(const ServiceState& st) { return st.last_good_start.value_or(st.since); }

}  // namespace

const char* ActionKindName(ActionKind k) {
  switch (k) {
    case ActionKind::kStartBackup:
      return "start";
    case ActionKind::kRetryBackup:
      return "retry";
    case ActionKind::kReportRpoBreach:
      return "rpo-breach";
  }
  return "?";
}

std::vector<Action> Decide(const policy::Policy& p, const State& s, TimeNs now, const Options& o) {
  std::vector<Action> starts, breaches;
  int running = 0;
  for (const Service& svc : p.services) {
    const ServiceState& st = Get(s, svc.name);
    if (st.running) {
      ++running;
    } else {
      Due d = NextStart(svc, st, o);
      if (d.at <= now && policy::InWindow(svc.schedule, now, o.zone))
        starts.push_back({d.kind, svc.name, d.at, d.attempt, 0, std::move(d.reason)});
    }
    const TimeNs rp = RecoveryPoint(st);
    if (now - rp > svc.rpo_ns && st.breach_reported_for != rp) {
      const std::string since =
          st.last_good_start ? "the last successful backup started " : "no successful backup since ";
      breaches.push_back({ActionKind::kReportRpoBreach, svc.name, rp + svc.rpo_ns, 0, now - rp,
                          since + policy::FormatTime(rp) + ", " + WholeSeconds(now - rp) + " ago, more than rpo " +
                              policy::FormatDuration(svc.rpo_ns)});
    }
  }
  std::sort(starts.begin(), starts.end(),
            [](const Action& a, const Action& b) { return std::tie(a.due, a.service) < std::tie(b.due, b.service); });
  if (o.max_concurrency > 0) {
    const size_t free = static_cast<size_t>(std::max(0, o.max_concurrency - running));
    if (starts.size() > free) starts.resize(free);
  }
  starts.insert(starts.end(), breaches.begin(), breaches.end());
  return starts;
}

TimeNs NextWakeup(const policy::Policy& p, const State& s, TimeNs now, const Options& o) {
  TimeNs wake = kNever;
  auto consider = [&](TimeNs t) {
    if (t > now) wake = std::min(wake, t);
  };
  for (const Service& svc : p.services) {
    const ServiceState& st = Get(s, svc.name);
    if (!st.running) {
      const Due d = NextStart(svc, st, o);
      // Due but outside the window (host was down past its close): next opening.
      consider(d.at > now ? d.at : policy::EarliestInWindow(svc.schedule, now, o.zone));
    }
    const TimeNs rp = RecoveryPoint(st);
    if (st.breach_reported_for != rp) consider(SatAdd(SatAdd(rp, svc.rpo_ns), 1));
  }
  return wake;
}

void OnActed(State& s, const Action& a, TimeNs now) {
  ServiceState& st = s.services[a.service];
  if (a.kind == ActionKind::kReportRpoBreach) {
    st.breach_reported_for = RecoveryPoint(st);
    return;
  }
  st.running = true;
  st.last_start = now;
}

void OnFinished(State& s, const std::string& service, TimeNs end, bool ok) {
  ServiceState& st = s.services[service];
  st.running = false;
  st.last_end = end;
  if (ok) {
    st.consecutive_failures = 0;
    if (st.last_start) st.last_good_start = st.last_start;
  } else {
    ++st.consecutive_failures;
  }
}

}  // namespace lb::scheduler
