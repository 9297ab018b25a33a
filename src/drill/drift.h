// Watching drill history: drift (restores getting slower) and overdue drills.
// Pure functions over records the caller reads from the history database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "policy/policy.h"

namespace lb::drill {

struct DrillRecord {
  TimeNs when = 0;
  bool ok = false;
  double restore_seconds = 0;
  uint64_t bytes = 0;
  double throughput() const { return restore_seconds > 0 ? bytes / restore_seconds : 0; }
};

struct DriftOptions {
  size_t window = 5;    // compare with the median of up to this many earlier good runs
  size_t min_runs = 3;  // ... and only once there are at least this many
  double factor = 1.5;  // drift: restore time > factor * median, or throughput < median / factor
};

// For records oldest first: one entry per record, empty when it shows no drift,
// else one line saying what drifted and by how much. Failed runs are neither
// judged nor used as a baseline.
std::vector<std::string> FindDrift(const std::vector<DrillRecord>& records, const DriftOptions& o);

// When the next drill is due: last good drill + every; nullopt when the service
// has no drill configured. A service never drilled is due at `now`.
std::optional<TimeNs> NextDrillDue(const policy::Service& s, std::optional<TimeNs> last_ok, TimeNs now);
bool DrillOverdue(const policy::Service& s, std::optional<TimeNs> last_ok, TimeNs now);

}  // namespace lb::drill
