// `plan`: does each service meet its RPO and RTO, and if not, why not.
//
// Pure functions of (policy, history facts, now). The caller gathers the facts
// (snapshots, drill records, replication state) and passes them in.
//
// RPO. The recovery point of a backup is its start (data written after the
// snapshot began may be missing from it). Worst-case data loss is
//     worst gap of the schedule + duration of the last successful backup
//     + the largest replication lag among the service's targets
// (a disaster just before the next backup completes, restored from the target
// that lags most). Current exposure is now - start of the last good backup.
//   violated  no successful backup yet, or current exposure > rpo, or worst case > rpo
//   at risk   worst case > 80% of rpo, or the latest backup attempt failed
//   met       otherwise
//
// RTO. Restore time is measured by drills. For a service whose last drill
// restored B bytes in R seconds and spent V seconds validating:
//     own = R * size / B + V
// where size is the latest successful backup's bytes (else size_hint, else B).
// A service is restored after all its dependencies (transitively), one at a
// time, so the estimate is own + the sum of `own` over every transitive
// dependency.
//   unknown   no drill yet for the service or a dependency; a dependency is
//             undefined or in a cycle
//   violated  a relevant last drill failed, or estimate > rto
//   at risk   estimate > 80% of rto, or the service's last drill is older than
//             its drill.every
//   met       otherwise
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "policy/policy.h"

namespace lb::policy {

// "At risk" starts above this share of an objective.
inline constexpr int kAtRiskPercent = 80;

enum class Verdict { kMet, kAtRisk, kViolated, kUnknown };
const char* VerdictName(Verdict v);  // "met", "at risk", "violated", "unknown"

struct BackupRun {
  TimeNs start = 0, end = 0;
  bool ok = false;
  uint64_t bytes = 0;  // size of the backed-up data
};

struct DrillRun {
  TimeNs when = 0;
  bool ok = false;
  double restore_seconds = 0;     // time to restore `bytes`
  uint64_t bytes = 0;             // bytes restored
  double validation_seconds = 0;  // time the validate commands took
};

struct ServiceHistory {
  std::optional<BackupRun> last_backup;       // latest attempt, ok or not
  std::optional<BackupRun> last_good_backup;  // latest successful one
  // How far each target lags behind the primary (asynchronous copies);
  // a target not listed is written directly (lag 0).
  std::map<std::string, int64_t> replication_lag_ns;
  std::optional<DrillRun> last_drill;
};

using History = std::map<std::string, ServiceHistory>;  // by service name

struct Objective {
  int64_t target_ns = 0;               // the rpo or rto
  std::optional<int64_t> estimate_ns;  // worst-case loss / restore time, when known
  Verdict verdict = Verdict::kUnknown;
  std::string reason;  // one line
};

struct ServicePlan {
  std::string service;
  Objective rpo, rto;
};

// The service's own restore time (the RTO formula's `own`, without dependencies):
// nullopt when it has no successful latest drill.
std::optional<int64_t> OwnRestoreEstimate(const Service& s, const ServiceHistory& h);

Objective PlanRpo(const Service& s, const ServiceHistory& h, TimeNs now);
Objective PlanRto(const Policy& p, const Service& s, const History& history, TimeNs now);
// One plan per service, in policy order. Services absent from `history` have
// no facts.
std::vector<ServicePlan> Plan(const Policy& p, const History& history, TimeNs now);

}  // namespace lb::policy
