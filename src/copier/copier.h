// Copier: copies snapshots from one repository into another (`lifeboat copy`),
// storing only the blobs the destination lacks, encrypted under its own keys.
//
// Two modes, chosen by comparing the repositories' id keys and chunker params:
//  - same ids (the destination was created with `init --copy-chunker-params`
//    from the source): a blob has the same id in both, so a tree the
//    destination already has is skipped whole, and a data blob it has is never
//    read from the source. Incremental copies cost what changed.
//  - remapped ids: every blob of the snapshot is read from the source, its id is
//    computed with the destination's key, and trees are rewritten with the new
//    ids. Blobs the destination has are not stored again (deduplicated), but
//    they are read from the source.
// A copied snapshot keeps time, host, user, paths, tags, summary and partial
// files; its parent is the copy of the source parent when that was copied; it
// records copied_from (source snapshot id) and copied_from_repo (source
// repository id). A snapshot whose copy already exists is skipped, so copy is
// idempotent; after a kill, a re-run reuses every pack already indexed.
//
// Thread safety: one Copy per destination at a time (take a lock); both
// repositories must stay open for the call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "repo/repository.h"
#include "snapshot/store.h"

namespace lb::copier {

struct Options {
  unsigned threads = 0;  // blob copies in flight (0: one per core, at least 4)
  bool dry_run = false;  // decide and count, write nothing
  // Called after each snapshot: source entry, the new id (zero when skipped or dry run).
  std::function<void(const snapshot::Entry&, const Id&, bool skipped)> on_snapshot;
};

struct Stats {
  bool same_ids = false;
  size_t snapshots_copied = 0, snapshots_skipped = 0;
  uint64_t blobs_copied = 0;   // stored in the destination
  uint64_t blobs_present = 0;  // the destination had them already
  uint64_t bytes_copied = 0;   // plaintext bytes of the stored blobs
  uint64_t blobs_read = 0;     // blobs read from the source
};

// True when blob ids agree between the two repositories.
bool SameIds(const repo::Repository& from, const repo::Repository& to);

// Copies `snapshots` (entries of `from`, oldest first is best so parents come
// first). Errors carry the snapshot and blob that failed; what was copied
// before an error stays (and is reused by the next run).
Result<Stats> Copy(repo::Repository& from, repo::Repository& to,
                   const std::vector<snapshot::Entry>& snapshots, const Options& o);

}  // namespace lb::copier
