// Archiver: walks paths (or reads a stream), chunks and stores file content, and
// writes the trees and the snapshot.
//
// Pipeline: the calling thread walks directories and reads files in large
// buffers and cuts chunks; a thread pool hashes (HMAC), compresses and encrypts
// them into packs. In-flight chunk memory is bounded. Trees are written bottom-up
// once all chunks of a directory's files are stored; the walker does not wait for
// that at each directory but queues it (bounded; see completion.h).
//
// Incremental: a file whose size, mtime, ctime and inode equal the parent
// snapshot's node reuses the parent's chunk list without being read.
//
// Errors: unreadable, vanished or changed files are warnings (on_warning) and are
// listed in Snapshot::partial_files; everything else aborts with a Status.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "fs/pattern.h"
#include "repo/repository.h"
#include "snapshot/snapshot.h"

namespace lb::archiver {

class Prewalk;

struct Progress {
  uint64_t files = 0;
  uint64_t dirs = 0;
  uint64_t bytes = 0;  // bytes of files processed (read or reused)
  uint64_t bytes_read = 0;
  std::string current;
  // What the whole backup will visit: counted by a concurrent scan (see
  // scanner.h), or, when there is a parent snapshot, taken from its summary
  // (`totals_estimated`; known at once, and no second lstat of every file).
  uint64_t total_files = 0;
  uint64_t total_bytes = 0;
  bool scan_done = false;
  bool totals_estimated = false;
};

struct Options {
  std::vector<std::string> paths;  // absolute, normalised
  fs::PatternList excludes;
  bool one_file_system = false;
  bool dry_run = false;  // read and chunk, store nothing
  unsigned threads = 0;  // 0: one per core plus one (see PoolThreads in archiver.cc)
  std::vector<std::string> tags;
  std::string host;
  std::optional<Id> parent;  // parent snapshot id (already resolved by the caller)
  // Reading a stream instead of paths: the content becomes file `stdin_name` at the root.
  int stdin_fd = -1;
  std::string stdin_name;
  std::function<void(const Progress&)> on_progress;  // called from the walking thread
  std::function<void(const std::string& path, const std::string& what)> on_warning;
  // Directories read ahead (prewalk.h), started by the caller with the same paths,
  // excludes and one_file_system; not owned, must outlive Backup(). Optional.
  Prewalk* prewalk = nullptr;
  std::string program_version;
  // Called after all data is stored and before the snapshot is written; a non-OK
  // status aborts the backup without a snapshot (e.g. the source command failed).
  std::function<Status()> before_snapshot;
};

struct Result {
  Id snapshot_id;  // zero in dry-run
  snapshot::Snapshot snapshot;
};

// Runs a backup. `clock` stamps the snapshot and measures duration.
lb::Result<Result> Backup(repo::Repository& repo, const Options& options, const Clock& clock);

}  // namespace lb::archiver
