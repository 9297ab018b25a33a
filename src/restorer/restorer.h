// Restorer: recreates a snapshot's files below a target directory.
//
// Layout: the snapshot's absolute paths are recreated below the target
// (/etc/hosts -> TARGET/etc/hosts). Every entry is created relative to an open
// parent directory without following symlinks, so nothing is ever written
// outside the target, whatever the target or the snapshot contain.
// The calling thread walks the trees and creates directories, symlinks and special
// files; regular files are collected in batches. A batch's files are created
// (empty) first, each directory's by one thread, the walker and pool threads
// taking different directories; then the batch is planned by pack: one
// thread-pool task per run of nearby blobs in
// a pack reads that run once, decrypts and decompresses its blobs and writes each
// (pwrite) to every file and offset that needs it; pieces of 256 KiB or more are
// copied and handed to two writer threads (direct I/O), so decoding goes on while
// the device writes. All-zero blocks are skipped so holes stay holes; metadata
// (owner, mode, xattrs, times) is applied last, each directory after all of its
// children; a file created new in a directory this restore made (below a target
// that passes no group or default ACL on) is created with its mode, and only
// what differs from what it already holds is set. Hardlinked files are restored
// as hardlinks.
// A file is open only while a pool thread writes it, except that a file of one
// chunk keeps the descriptor it was created with until that chunk is written;
// those descriptors and the directories a batch keeps open are each bounded by a
// share of RLIMIT_NOFILE. A file is truncated to its size only when its content
// ends in a hole (it was created empty).
#pragma once

#include <functional>
#include <string>

#include "fs/pattern.h"
#include "repo/repository.h"
#include "snapshot/snapshot.h"

namespace lb::restorer {

enum class Overwrite { kAlways, kIfChanged, kNever };

struct Options {
  std::string target;
  fs::PatternList includes;  // empty: everything
  fs::PatternList excludes;
  Overwrite overwrite = Overwrite::kAlways;
  bool dry_run = false;
  bool verify = false;  // re-read every written file and check it chunk by chunk
  unsigned threads = 0;
  // Called for each entry that is (or in dry-run would be) written.
  std::function<void(const std::string& path, const fs::Metadata& meta)> on_entry;
  // May be called from pool threads, several at once: lock what it shares.
  std::function<void(const std::string& path, const std::string& what)> on_warning;
};

struct Stats {
  uint64_t files = 0, dirs = 0, others = 0, bytes = 0;
  uint64_t skipped = 0;   // existing files left alone (overwrite never / if-changed)
  uint64_t verified = 0;  // files re-read and checked
};

// Fails on the first error that makes the restore incomplete (a missing blob, a
// write error); warnings are for metadata that cannot be applied (e.g. chown as
// non-root).
Result<Stats> Restore(repo::Repository& repo, const snapshot::Snapshot& snap,
                      const Options& options);

// Checks a restored copy below options.target without writing anything: every
// regular file must exist and hold exactly its recorded chunks (re-read and
// re-hashed), every directory and other entry must exist with its type.
// Honours includes/excludes/threads; ignores overwrite, dry_run and verify.
// Stats count what was checked (files, dirs, others, bytes; verified = files
// that matched). The first mismatch or missing entry is the error (kCorrupt
// for wrong content, kNotFound for a missing entry).
Result<Stats> Verify(repo::Repository& repo, const snapshot::Snapshot& snap,
                     const Options& options);

}  // namespace lb::restorer
