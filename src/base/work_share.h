// WorkShare: items [0, n), cut into chunks, each chunk done exactly once by
// whoever claims it first: the owning thread from the front, pool helpers from
// the back.
//
// For work the owner needs in order (StatAhead) or needs finished before it goes
// on (the restorer creating a batch's files), while pool threads may or may not
// be free. The owner never waits for a helper that has not started: it claims an
// unstarted chunk itself, so a busy pool costs nothing but late helper tasks that
// find no work.
//
// Thread safety: Ensure/Finish and the destructor are called by the owning thread
// only, Ensure with non-decreasing items (skipping is allowed). `fn` runs on the
// owner and on pool threads at once, on different chunks.
// Lifetime: the destructor stops helpers from claiming and waits for the chunks
// they are running, so `fn` (and what it refers to) is never called after it
// returns; helper tasks that run later touch only the shared state they own.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "base/thread_pool.h"

namespace lb {

class WorkShare {
 public:
  // fn(begin, end) does items [begin, end) (one chunk).
  using Fn = std::function<void(size_t begin, size_t end)>;

  // Submits up to `helpers` tasks to `pool` (at the front of its queue when
  // `urgent`: the owner is waiting for this work while the queue holds work it
  // does not wait for).
  WorkShare(size_t items, size_t chunk, Fn fn, ThreadPool& pool, size_t helpers,
            bool urgent = false);
  ~WorkShare();
  WorkShare(const WorkShare&) = delete;
  WorkShare& operator=(const WorkShare&) = delete;

  // Returns once item i is done: claims its chunk if nobody has, else waits for it.
  void Ensure(size_t i);
  // Returns once every item is done, claiming from the front what is left.
  void Finish();

  // Chunks the helpers did (for tests).
  size_t helped_chunks() const;

 private:
  struct Shared;
  std::shared_ptr<Shared> s_;
};

}  // namespace lb
