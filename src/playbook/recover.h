// Recovery playbooks: restore services in dependency order, validate each, swap
// it into place atomically, and roll everything back when any step fails.
//
// Services are recovered in waves (RecoveryWaves): a wave holds services that do
// not depend on each other; their steps 1-3 run at the same time, then their swaps
// run one after another in order, only when the whole wave is ready. For each
// service:
//   1. select its recovery point (drill::SelectPoint: latest, or the newest at
//      or before Options::at) in the target's repository;
//   2. stage: restore every source into a fresh staging directory next to its
//      destination (".lifeboat-staging-SERVICE-XXXXXX" in the destination's
//      parent, so the swap is a rename on one file system);
//   3. validate: the service's drill.validate commands against the staged copy
//      (drill/validate.h; LIFEBOAT_MODE=recover);
//   4. swap: each staged copy replaces its destination with
//      renameat2(RENAME_EXCHANGE) (a plain rename when the destination does not
//      exist); the previous content is kept next to it as
//      DEST.lifeboat-previous-STAMP, the rollback copy.
// If any step of any service fails, the staging of its whole wave is removed
// (its other members are reported "skipped": not swapped in), later waves are
// skipped, and every service already swapped is rolled back in reverse order
// (previous content exchanged back; restored content removed), so the live paths
// are as they were. On success the rollback copies are kept (listed in the report).
//
// Destinations: Mode::kOriginal puts path sources back at their own paths and
// command outputs at outputs_dir/SERVICE/NAME; Mode::kTarget puts everything
// below target_dir (path source /srv/x -> target_dir/srv/x, command output ->
// target_dir/NAME), like `lifeboat restore --target`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "drill/select.h"
#include "drill/validate.h"
#include "policy/policy.h"
#include "repo/repository.h"

namespace lb::playbook {

struct Options {
  enum class Mode { kOriginal, kTarget };
  Mode mode = Mode::kTarget;
  std::string target_dir;   // kTarget
  std::string outputs_dir;  // kOriginal: where command outputs go
  std::string from;         // target name to restore from; "" = each service's first
  drill::Selection selection;  // kLatest or kAt
  TimeNs incident = 0;      // the point data loss is measured from (now, or --at)
  unsigned threads = 0;
  int64_t validation_timeout_ns = 3600LL * 1000000000LL;
};

// Opens a service's repository (the caller wires the storage stack, password
// and lock). The returned repository stays open for the whole recovery. Called
// from several threads at once when a wave has several services.
using OpenRepoFn = std::function<Result<std::shared_ptr<repo::Repository>>(const policy::Target&)>;

struct Swap {
  std::string destination;
  std::string previous;  // rollback copy; "" when the destination did not exist
};

struct ServiceResult {
  std::string service, target, repository;
  enum class State { kPending, kRecovered, kFailed, kRolledBack, kSkipped } state = State::kPending;
  std::string error;
  std::vector<std::string> snapshots;  // one per source group, primary first
  TimeNs point_time = 0;               // data point in time
  int64_t data_loss_ns = 0;            // incident - point_time
  int64_t rpo_ns = 0, rto_ns = 0;
  double seconds = 0;                  // this service's own steps
  double done_after_seconds = 0;       // since the recovery started (vs the RTO)
  uint64_t bytes = 0, files = 0;
  drill::ValidationResult validation;
  std::vector<Swap> swaps;
};
const char* StateName(ServiceResult::State s);  // "pending", "recovered", ...

struct Report {
  bool ok = false;
  std::string failure;  // first failure, one line
  std::vector<ServiceResult> services;  // in recovery order
  double total_seconds = 0;
};

// Runs the playbook over `order` (see RecoveryOrder). Never throws; every
// failure is in the report (ok = false) after the rollback.
Report Recover(const policy::Policy& p, const std::vector<std::string>& order, const Options& o,
               const OpenRepoFn& open, const Clock& clock);

}  // namespace lb::playbook
