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

}  // namespace lb::playbook
