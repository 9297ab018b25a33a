// Deferred directory completion for the archiver (internal to src/archiver).
//
// The walking thread scans a directory (stats its entries, starts its file jobs,
// recurses into subdirectories) and then, instead of waiting for the file jobs,
// hands the directory over as a PendingDir. Completing it later means: wait for
// its file jobs, put their chunk ids and the subdirectories' tree ids into its
// nodes, store the tree (or reuse the parent snapshot's id) and count it.
//
// Directories finish scanning in post-order (every subdirectory before its
// parent), so a FIFO of pending directories can always complete its front: the
// front's subdirectories were pushed earlier and are complete already.
//
// Thread-safety: CompletionQueue and PendingDir belong to the walking thread
// alone. Only FileJob is shared with pool workers (guarded by FileJob::mu).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "fs/dir.h"
#include "base/id.h"
#include "snapshot/snapshot.h"

namespace lb::archiver {

// The chunk ids of one file, filled in by pool workers.
struct FileJob {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Id> ids;
  size_t pending = 0;
  Status error;
  // Set by a small-file task (read in the pool) for the walker to apply.
  bool skip = false;                    // vanished or unreadable: drop the node
  bool was_new = false;                 // counted as new (else as changed)
  std::string warning;                  // for the walker's warning list
  std::string node_error;               // for Node::error
  std::optional<fs::Metadata> changed;  // metadata after a change during the read

  // Blocks until no chunk of the file is in flight; the first storage error.
  Status Wait() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return pending == 0; });
    return error;
  }
};

// (index in PendingDir::tree.nodes, job) of each file whose content is in flight.
using FileJobs = std::vector<std::pair<size_t, std::shared_ptr<FileJob>>>;

// A directory whose entries are scanned and whose tree is not stored yet.
struct PendingDir {
  std::string abs;       // its absolute path (for warnings and error context)
  snapshot::Tree tree;   // its nodes in name order; contents and subtree ids missing
  FileJobs jobs;         // files whose chunk ids are still to come
  // (index in tree.nodes, the subdirectory's own PendingDir). Pushed before this one.
  std::vector<std::pair<size_t, std::shared_ptr<PendingDir>>> subdirs;
  // The parent snapshot's tree of this directory, when it was loaded: an equal tree
  // reuses `old_subtree` instead of being encoded and stored.
  std::optional<snapshot::Tree> parent_tree;
  // The parent snapshot's subtree id when its node was a directory (else nullopt).
  std::optional<Id> old_subtree;
  bool counted = false;  // counted in the summary's dirs_new/changed/unmodified
  uint64_t order = 0;    // where its warnings go in the snapshot's partial-file list

  bool done = false;  // set by CompletionQueue once `id` is valid
  Id id;              // the stored tree's id
};

// Field-by-field equality of what a tree stores (atime is not stored).
bool SameTree(const snapshot::Tree& a, const snapshot::Tree& b);

// FIFO of pending directories, bounded by count and by the nodes they hold.
class CompletionQueue {
 public:
  // Completes one directory: on OK it must have set `id`. Called on the front only.
  using CompleteFn = std::function<Status(PendingDir&)>;
  CompletionQueue(CompleteFn complete, size_t max_dirs, size_t max_nodes)
      : complete_(std::move(complete)), max_dirs_(max_dirs), max_nodes_(max_nodes) {}

  // Appends `dir`, whose subdirectories must all have been pushed before. Then, while
  // more than max_dirs directories or max_nodes nodes are pending, completes the
  // front. Returns the first completion error (the queue is then unusable).
  Status Push(std::shared_ptr<PendingDir> dir);
  // Completes every pending directory, oldest first.
  Status Drain();
  size_t size() const { return queue_.size(); }

 private:
  Status CompleteFront();
  static size_t NodesOf(const PendingDir& d);

  CompleteFn complete_;
  size_t max_dirs_, max_nodes_;
  std::deque<std::shared_ptr<PendingDir>> queue_;
  size_t nodes_ = 0;
};

}  // namespace lb::archiver
