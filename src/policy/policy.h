// The policy file: targets (repositories) and services (what to protect, how
// often, where, for how long, and the objectives to meet).
//
// Parsed from TOML by ParsePolicy, strictly: unknown keys, wrong types, bad
// durations, sizes, schedules and windows are errors naming FILE:LINE:COL.
// Semantic checks (unknown target names, dependency cycles, a schedule that
// cannot meet its RPO...) are Lint()'s job (lint.h), so that `policy check`
// reports them all at once.
//
// Schema (one key per line; [] = array, {} = inline table; * = required):
//   timezone = "UTC" | "+02:00"       zone of schedules and windows (default: the
//                                     host's local offset, chosen by the caller)
//   [targets.NAME]
//     url*           repository location, e.g. "/var/backups/x", "s3:https://..."
//     password_file  file holding the repository password
//     password_env   environment variable holding it
//     encryption     "required" (default) | "none" (target may be unencrypted)
//     rotate_keys_every  duration: start a new data key version this often
//                    (`policy check` warns when overdue; the daemon rotates)
//   [services.NAME]
//     owner          team accountable for the service
//     description    free text
//     rpo*, rto*     durations (units.h), e.g. "15m", "4h"
//     schedule*      schedule.h: "every 10m" | cron | "01:00-05:00"
//     window         "HH:MM-HH:MM": restricts the schedule (schedule.h)
//     sources*       [{type="path", path="/abs", exclude=["*.tmp"]},
//                     {type="command", name="x.sql", command=["pg_dump","x"]}]
//     targets        names of targets; the first is the primary
//     retention      {last, hourly, daily, weekly, monthly, yearly = N (-1 unlimited),
//                     within = duration, tags = [..]}: retention::Rules
//     encryption     "required" (default: every target must encrypt) | "optional"
//     hooks          {before = ["cmd"...], after = ["cmd"...]}: shell command lines
//     depends_on     names of services restored before this one
//     drill          {every = duration*, validate = ["cmd"...]}: restore rehearsal
//     size_hint      expected data size (units.h), used by `plan` before a backup
// NAMEs are [A-Za-z0-9._-]+. Targets and services are kept sorted by name.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "policy/schedule.h"
#include "retention/retention.h"

namespace lb::policy {

// A 1-based position in the policy file (0:0 = unknown).
struct Pos {
  int line = 0;
  int col = 0;
};

// A name referring to another entry, with where it was written.
struct Ref {
  std::string name;
  Pos pos;
};

struct Target {
  std::string name;
  std::string url;
  std::string password_file;             // "" = not set
  std::string password_env;              // "" = not set
  bool encrypted = true;                 // encryption = "required"
  int64_t rotate_keys_every_ns = 0;      // 0 = no rotation schedule
  Pos pos;                               // the [targets.NAME] header
  std::map<std::string, Pos> key_pos;    // value position of each key written
  Pos At(const std::string& key) const;  // key_pos[key], else pos
};

struct Source {
  enum class Type { kPath, kCommand };
  Type type = Type::kPath;
  std::string path;                  // kPath: absolute
  std::vector<std::string> exclude;  // kPath: exclude patterns
  std::string name;                  // kCommand: file name of its output
  std::vector<std::string> command;  // kCommand: argv, run without a shell
  Pos pos;
};

struct Hooks {
  std::vector<std::string> before, after;  // shell command lines, in order
};

struct Drill {
  int64_t every_ns = 0;
  std::vector<std::string> validate;  // shell command lines run in the sandbox
  Pos pos;
};

struct Service {
  std::string name, owner, description;
  int64_t rpo_ns = 0, rto_ns = 0;
  std::vector<Source> sources;
  Schedule schedule;
  std::vector<Ref> targets;
  std::optional<retention::Rules> retention;  // nullopt = key absent
  bool encryption_required = true;
  Hooks hooks;
  std::vector<Ref> depends_on;
  std::optional<Drill> drill;
  uint64_t size_hint_bytes = 0;  // 0 = not set
  Pos pos;
  std::map<std::string, Pos> key_pos;
  Pos At(const std::string& key) const;
};

struct Policy {
  std::string file;               // as given to ParsePolicy, for messages
  std::optional<Zone> zone;       // key `timezone`
  std::vector<Target> targets;    // sorted by name
  std::vector<Service> services;  // sorted by name

  const Target* FindTarget(std::string_view name) const;
  const Service* FindService(std::string_view name) const;
};

// "FILE:LINE:COL" (or "FILE" when pos is unknown).
std::string Where(std::string_view file, Pos pos);

// Parses a policy. On error returns kInvalidArgument with one line
// "FILE:LINE:COL: what is wrong"; when the file has several errors the first
// in file order is reported, followed by " (and N more errors)".
Result<Policy> ParsePolicy(std::string_view text, std::string_view filename);

}  // namespace lb::policy
