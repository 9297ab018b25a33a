// Which snapshots make up a service's recovery point.
//
// A policy backup run (`lifeboat run`) stores one snapshot per source group, all
// tagged "service=NAME":
//   group 0           every path source together (snapshot paths = those paths)
//   one per command   its output as one file (snapshot paths = {"/NAME"})
// A recovery point is one snapshot per group. The primary group is the group of
// the service's first source; its snapshot is chosen by the Selection, and every
// other group takes its snapshot closest in time to the primary one (from the
// same run, normally) that is not newer than the selection's limit.
//
// Pure functions: the caller lists the snapshots (snapshot::ListSnapshots).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "policy/policy.h"
#include "snapshot/store.h"

namespace lb::drill {

struct Group {
  std::string label;               // "files" or the command source's name
  std::vector<std::string> paths;  // snapshot paths that identify it (sorted)
};
// The service's groups, the primary group first.
std::vector<Group> SourceGroups(const policy::Service& s);

struct Selection {
  enum class Mode { kLatest, kId, kRandom, kAt };
  Mode mode = Mode::kLatest;
  std::string id;     // kId: a full id or a unique prefix (>= 4 hex digits)
  TimeNs at = 0;      // kAt: the newest point not newer than this
  uint64_t seed = 0;  // kRandom: picks among the points older than the latest
};

struct Part {
  Group group;
  snapshot::Entry entry;
};

struct RecoveryPoint {
  std::vector<Part> parts;  // one per group, primary first
  TimeNs time = 0;          // the primary snapshot's time: the data point in time
};

// Errors: kNotFound when the service has no snapshot for some group (naming the
// group), or the id matches none of the service's primary snapshots;
// kInvalidArgument for an ambiguous or too short id prefix.
Result<RecoveryPoint> SelectPoint(const std::vector<snapshot::Entry>& all,
                                  const policy::Service& s, const Selection& sel);

}  // namespace lb::drill
