// StatAhead: takes the metadata (fs::Dir::Stat) of a large directory's entries on
// pool threads while the walker goes through them in order.
//
// On a re-backup the walker does little but lstat every entry and compare it with
// the parent snapshot, so the lstat calls are its critical path while the pool is
// idle. The entries are cut into chunks shared out by a WorkShare: helpers (pool
// tasks) take chunks from the back; the walker takes the chunk it needs next from
// the front itself when no helper has started it, so it never waits for a helper
// that has not started yet, and a busy pool (an initial backup) costs nothing but
// a late task that finds no work.
//
// Thread safety: Take() is called by one thread (the walker), with non-decreasing
// indexes (skipping is allowed). The helpers run on the pool.
// Lifetime: `dir`, `names` and the `previous` pointees must outlive the StatAhead;
// the destructor stops the helpers from claiming more and waits for the chunks
// they are working on, so none of them is touched after it returns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "base/work_share.h"
#include "fs/dir.h"

namespace lb::archiver {

class StatAhead {
 public:
  // Entries per chunk, and the smallest directory worth helpers (two chunks).
  static constexpr size_t kChunk = 16;
  static constexpr size_t kMinEntries = 2 * kChunk;

  // previous[i] (may be null) is passed to dir.Stat(names[i], previous[i]).
  // Submits up to `helpers` tasks to `pool`.
  StatAhead(const fs::Dir& dir, const std::vector<std::string>& names,
            std::vector<const fs::Metadata*> previous, ThreadPool& pool, size_t helpers);
  ~StatAhead();
  StatAhead(const StatAhead&) = delete;
  StatAhead& operator=(const StatAhead&) = delete;

  // The result of dir.Stat(names[i], previous[i]), each index at most once.
  lb::Result<fs::Metadata> Take(size_t i);

  // Chunks the helpers did (for tests).
  size_t helped_chunks() const;

 private:
  // Declared before work_: destroyed after it, once no helper can write here.
  std::vector<std::optional<lb::Result<fs::Metadata>>> results_;
  WorkShare work_;
};

}  // namespace lb::archiver
