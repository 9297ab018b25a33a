// `policy check`: semantic lint of a parsed policy.
//
// Lint is pure: whatever needs the outside world (is a repository reachable
// and initialised, can a password be read) is asked through LintHooks, which
// the CLI fills in with the repository layer; an unset hook skips its check.
//
// Errors (the policy cannot work as written):
//   a target without password source, or with both password_file and password_env;
//   a hook failure (probe_target, check_password) for a target;
//   a service without targets; a target or depends_on name that is not defined;
//   a service requiring encryption on a target with encryption = "none";
//   a dependency cycle, named "dependency cycle: a -> b -> a";
//   a schedule whose worst gap between runs exceeds the RPO;
//   retention that at times keeps nothing (only `within`, no longer than the
//   schedule's worst gap, so every snapshot can be older than it).
// Warnings (works, but probably not what was meant):
//   a schedule whose worst gap exceeds 80% of the RPO (the "at risk" line of
//   objectives.h), leaving little time for the backup itself;
//   no retention (snapshots are never forgotten); retention with no rule
//   (forget keeps everything); no drill (the RTO cannot be proven); no owner;
//   a target no service uses; a policy without services.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "policy/policy.h"

namespace lb::policy {

enum class Severity { kError, kWarning };

struct Finding {
  Severity severity = Severity::kError;
  std::string file;
  Pos pos;
  std::string message;
  // "FILE:LINE:COL: error: message" (or "warning").
  std::string ToString() const;
};

struct LintHooks {
  // OK when the target's repository is reachable and initialised.
  std::function<Status(const Target&)> probe_target;
  // OK when the target's password source can be read (file exists and is
  // readable, environment variable set). Only called when exactly one source
  // is configured.
  std::function<Status(const Target&)> check_password;
  // Age of the target's current data key version (only for targets with
  // rotate_keys_every); an error skips the check (probe_target reports it).
  std::function<Result<int64_t>(const Target&)> key_age;
};

// Every finding, ordered by position then message. Never fails.
std::vector<Finding> Lint(const Policy& policy, const LintHooks& hooks = {});

bool HasErrors(const std::vector<Finding>& findings);

}  // namespace lb::policy
