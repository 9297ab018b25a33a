// The backup scheduler: a pure decision function over (policy, state, now).
//
// The daemon loop is
//     for (;;) {
//       for (const Action& a : Decide(policy, state, now, opts)) { act(a); OnActed(state, a, now); }
//       sleep until NextWakeup(policy, state, now, opts) or a job finishes
//       (OnFinished(state, service, end, ok));
//     }
// and a test drives the same loop under simulated time (scheduler_test.cc).
//
// Rules, per service:
//   * Due. A service that never ran is due at state.since. Otherwise it is due
//     at NextRun(schedule, last_start) (schedule.h): the first scheduled time
//     after the last start, pushed into the window. However many scheduled
//     times passed while the host was down, this is one run.
//   * Jitter. A scheduled (non-retry) start is delayed by a pseudo-random
//     amount in [0, jitter_max_ns), a hash of (seed, service, due time): the
//     same inputs always give the same delay.
//   * Failures. After k consecutive failures the next attempt is a retry at
//     last_end + min(retry_base * 2^(k-1), max(retry_base, worst gap of the
//     schedule)): 1m, 2m, 4m... capped at the schedule's interval.
//   * Windows. A start (scheduled or retry) happens only while `now` is
//     inside the schedule's window; one that falls due outside waits for the
//     next opening.
//   * Exclusivity. A running service never gets another start.
//   * Concurrency. At most max_concurrency jobs run at once; due services
//     start earliest-due first, ties by name; the rest wait for a job to end.
//   * RPO breach. The recovery point is the start of the latest successful
//     backup (or `since` when there is none). When now - recovery point > rpo,
//     one kReportRpoBreach is emitted for that recovery point; a new breach can
//     only follow a new successful backup.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "policy/policy.h"
#include "policy/schedule.h"

namespace lb::scheduler {

struct ServiceState {
  TimeNs since = 0;                       // start of tracking: first run due, loss counted from
  std::optional<TimeNs> last_start;       // latest attempt (also set while it runs)
  std::optional<TimeNs> last_end;         // end of the latest finished attempt
  std::optional<TimeNs> last_good_start;  // recovery point of the latest successful backup
  bool running = false;
  int consecutive_failures = 0;
  std::optional<TimeNs> breach_reported_for;  // recovery point whose breach was reported
};

struct State {
  std::map<std::string, ServiceState> services;  // absent = ServiceState{}
};

struct Options {
  int max_concurrency = 1;    // <= 0: unlimited
  int64_t jitter_max_ns = 0;  // 0: no jitter
  uint64_t seed = 0;
  policy::Zone zone;                               // of schedules and windows
  int64_t retry_base_ns = 60 * policy::kNsPerSec;  // first retry delay
};

enum class ActionKind { kStartBackup, kRetryBackup, kReportRpoBreach };
const char* ActionKindName(ActionKind k);  // "start", "retry", "rpo-breach"

struct Action {
  ActionKind kind = ActionKind::kStartBackup;
  std::string service;
  // Start/retry: when it fell due (after jitter/backoff and window).
  // Breach: when it began (recovery point + rpo).
  TimeNs due = 0;
  int attempt = 0;      // retry: k-th retry (= consecutive failures so far)
  int64_t loss_ns = 0;  // breach: now - recovery point
  std::string reason;   // one line for logs
};

// What to do at `now`: starts/retries (highest priority first, at most the free
// concurrency), then breach reports ordered by service.
std::vector<Action> Decide(const policy::Policy& p, const State& s, TimeNs now, const Options& o);

// The earliest time > now at which Decide may return something new, assuming
// the actions of Decide(now) were applied and no job finishes before; kNever
// if none (job completions are the caller's events).
TimeNs NextWakeup(const policy::Policy& p, const State& s, TimeNs now, const Options& o);

// Applies an action taken at `now`: a start marks the service running and
// records last_start; a breach report records its recovery point.
void OnActed(State& s, const Action& a, TimeNs now);

// A job of `service` finished at `end`.
void OnFinished(State& s, const std::string& service, TimeNs end, bool ok);

}  // namespace lb::scheduler
