// A restore drill: restore a service's recovery point into a sandbox, prove it,
// run the owner's validation commands, and time every phase.
//
// Phases (each timed): select (list snapshots, pick the point), restore (every
// part into the sandbox), verify (re-read every restored file and check it
// against its recorded chunk ids; compare counts of files, directories and
// bytes with each snapshot's summary; check lineage: the snapshot is the
// service's, not from the future, and its parent chain runs back in time),
// validate (drill.validate commands, see validate.h, with the working directory
// and environment of SourceCopies/ValidationEnv).
//
// A drill never writes outside its sandbox: a fresh directory created inside
// Options::sandbox_parent, which must not lie inside any of the service's
// sources. The sandbox is removed afterwards unless Options::keep.
//
// Thread safety: one drill per Repository at a time is simplest; the repository
// itself is safe for concurrent reads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/clock.h"
#include "drill/select.h"
#include "drill/validate.h"
#include "policy/policy.h"
#include "repo/repository.h"
#include "restorer/restorer.h"

namespace lb::drill {

// Where each of the service's sources (policy order) lands below `root` when its
// point is restored there: a path source at root + path, a command source's
// output at root/NAME.
std::vector<std::string> SourceCopies(const policy::Service& s, const std::string& root);
// The working directory of validation commands: the restored copy of the first
// source (for a command source, the directory holding its output).
// `copies` as from SourceCopies (or staged copies in a recovery).
std::string ValidationDir(const policy::Service& s, const std::vector<std::string>& copies);
// LIFEBOAT_SERVICE, LIFEBOAT_SANDBOX (= sandbox), LIFEBOAT_SNAPSHOT (primary id),
// LIFEBOAT_SNAPSHOT_TIME (RFC 3339 UTC), LIFEBOAT_SOURCE_1..N (= copies),
// LIFEBOAT_MODE (`mode`: "drill" or "recover").
std::map<std::string, std::string> ValidationEnv(const policy::Service& s, const std::string& sandbox,
                                                 const std::vector<std::string>& copies,
                                                 const RecoveryPoint& point, const std::string& mode);

// Restores every part of `point` below `root` (created if missing).
Result<restorer::Stats> RestorePoint(repo::Repository& repo, const RecoveryPoint& point,
                                     const std::string& root, unsigned threads);

struct Lineage {
  std::string snapshot_id, parent_id;  // parent "" when none
  std::string host;
  TimeNs time = 0;
  size_t chain = 0;            // ancestors found in the repository
  bool chain_complete = true;  // false when an ancestor was forgotten (not an error)
};

struct PartReport {
  std::string group;
  Lineage lineage;
  restorer::Stats verified;  // what the verify pass found on disk
  uint64_t expected_files = 0, expected_dirs = 0, expected_bytes = 0;  // from the summary
  size_t partial_files = 0;  // files the backup could not read completely
};

struct Options {
  Selection selection;
  std::string sandbox_parent = "/var/tmp";
  bool keep = false;
  unsigned threads = 0;
  int64_t validation_timeout_ns = 3600LL * 1000000000LL;
};

struct Report {
  std::string service, repository, sandbox;
  bool ok = false;
  std::vector<std::string> failures;  // why it failed, one line each
  std::vector<std::string> warnings;
  std::vector<PartReport> parts;
  TimeNs point_time = 0;  // the data point in time
  double select_seconds = 0, restore_seconds = 0, verify_seconds = 0, validation_seconds = 0;
  double total_seconds = 0;
  uint64_t bytes = 0, files = 0, dirs = 0;  // restored
  ValidationResult validation;
  double throughput() const { return restore_seconds > 0 ? bytes / restore_seconds : 0; }
};

// Runs the whole drill. Never returns an error: every failure (no snapshot, a
// damaged pack, a mismatch, a failed validation command, a sandbox that cannot
// be made) is in Report::failures with ok = false, so it can be recorded.
Report RunDrill(repo::Repository& repo, const policy::Service& s, const Options& o,
                const Clock& clock);

// Removes a directory tree, making read-only directories writable first.
Status RemoveTree(const std::string& path);

}  // namespace lb::drill
