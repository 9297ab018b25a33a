// Validation commands: the checks a service's owner writes (`drill.validate`),
// run against a restored copy by drills and recoveries alike.
//
// Each command line runs with /bin/sh -c in `cwd`, with `env` added to the
// environment, stdin from /dev/null, stdout and stderr captured together (the
// first kMaxOutput bytes are kept). Commands run in order; the first one that
// fails (non-zero exit, killed, or past the timeout) stops the rest.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace lb::drill {

inline constexpr size_t kMaxOutput = 64 * 1024;

struct CommandResult {
  std::string command;
  int exit_code = -1;      // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string output;      // stdout+stderr, truncated to kMaxOutput
  double seconds = 0;
  bool ok() const { return exit_code == 0 && !timed_out; }
};

struct ValidationResult {
  std::vector<CommandResult> commands;  // those that ran
  double seconds = 0;
  bool ok() const;
  // "validation 'CMD' failed (exit N): first line of output" for the failed one.
  std::string FailureReason() const;
};

// Errors (Status) only when a command cannot be started at all (fork/pipe); a
// command that fails is a result, not an error. `clock` measures durations.
Result<ValidationResult> RunValidation(const std::vector<std::string>& commands,
                                       const std::string& cwd,
                                       const std::map<std::string, std::string>& env,
                                       int64_t timeout_ns, const Clock& clock);

}  // namespace lb::drill
