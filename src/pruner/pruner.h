// Maintenance that removes or rewrites stored data: prune, repair index and
// repair snapshots. Callers hold an exclusive lock.
//
// Order of writes keeps every crash safe: new packs, then new index files (which
// name the old ones as superseded), then removal of old index files, then removal
// of packs. A crash at any point leaves a repository that check passes; the next
// prune finishes the work.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "snapshot/snapshot.h"

namespace lb::pruner {

struct PruneOptions {
  double max_unused = 5.0;  // percent of used bytes that may stay unused
  bool dry_run = false;
  // Checked before anything is removed; a false return aborts (lost lock).
  std::function<bool()> may_delete;
  std::function<void(const std::string&)> on_progress;
};

struct PruneStats {
  uint64_t packs_total = 0, packs_deleted = 0, packs_repacked = 0, packs_unindexed = 0;
  uint64_t blobs_used = 0, blobs_unused = 0, blobs_repacked = 0;
  uint64_t bytes_used = 0, bytes_unused = 0, bytes_freed = 0;
  uint64_t index_files_written = 0, index_files_removed = 0;
  // Files the storage refused to remove yet (S3 Object Lock, Code::kRetained): they
  // stay, out of the index, and a later prune removes them once retention ends.
  uint64_t files_retained = 0;
  uint64_t packs_retained = 0;  // of packs_deleted + packs_unindexed + packs_repacked; not in bytes_freed
  std::string retained_example;  // one such refusal, e.g. "... under Object Lock until T"
  std::vector<Id> removed_packs;  // packs actually deleted (for the audit log)
};

// Refuses (kCorrupt) when a snapshot's trees cannot all be loaded: deleting data
// while the picture of what is used is incomplete could lose data.
Result<PruneStats> Prune(repo::Repository& repo, const PruneOptions& options);

struct RepairIndexStats {
  uint64_t packs = 0, blobs = 0, packs_read = 0;
  std::vector<std::string> damaged_packs;  // could not be indexed
};
// Rebuilds the index from the pack files; packs already indexed with the right
// size are taken from the old index without being read.
Result<RepairIndexStats> RepairIndex(repo::Repository& repo,
                                     const std::function<void(const std::string&)>& on_progress);

struct RepairedSnapshot {
  Id original;
  Id repaired;  // zero in dry-run
  std::vector<std::string> dropped;  // "path: reason"
};
// For every snapshot that references data missing from the index, writes a copy
// without the damaged files (tag "repaired"); with `forget`, removes the original.
Result<std::vector<RepairedSnapshot>> RepairSnapshots(repo::Repository& repo, bool forget, bool dry_run);

struct ReencryptStats {
  uint64_t packs_rewritten = 0, blobs_rewritten = 0, packs_removed = 0;
  uint64_t snapshots_rewritten = 0;
  uint64_t index_files_written = 0, index_files_removed = 0;
};
// `key rotate --reencrypt`: rewrites every pack and snapshot file sealed to a
// data key version other than the current one under the current version
// (snapshots whose parent was rewritten are rewritten too, so parent ids stay
// valid), then writes the new index and removes the old packs, the old
// snapshot files and packs in no index. Same crash order as prune. Needs an
// exclusive lock and a full key.
Result<ReencryptStats> Reencrypt(repo::Repository& repo,
                                 const std::function<void(const std::string&)>& on_progress);

}  // namespace lb::pruner
