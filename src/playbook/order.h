// The order in which services are recovered: every service after everything it
// depends on (transitively). Pure.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "policy/policy.h"

namespace lb::playbook {

// The requested services plus all their transitive dependencies, dependencies
// first; among services whose dependencies are all placed, by name (so the
// order is deterministic). kInvalidArgument for an unknown service (requested
// or depended on) or a dependency cycle, naming it.
Result<std::vector<std::string>> RecoveryOrder(const policy::Policy& p,
                                               const std::vector<std::string>& requested);

// The wave of each service of `order` (a RecoveryOrder result), same positions:
// 0 for a service with no dependency in `order`, else one more than the highest
// wave among its dependencies. Services of one wave do not depend on each other,
// so they may be recovered at the same time. Pure.
std::vector<int> RecoveryWaves(const policy::Policy& p, const std::vector<std::string>& order);

}  // namespace lb::playbook
