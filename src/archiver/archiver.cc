#include "archiver/archiver.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <optional>

#include "archiver/completion.h"
#include "archiver/prewalk.h"
#include "archiver/scanner.h"
#include "archiver/stat_ahead.h"
#include "base/budget.h"
#include "base/thread_pool.h"
#include "fs/dir.h"
#include "fs/path.h"
#include "snapshot/store.h"

namespace lb::archiver {

using snapshot::Node;
using snapshot::Tree;

namespace {

struct Counters {
  std::atomic<uint64_t> data_blobs{0}, tree_blobs{0}, bytes_added{0}, bytes_stored{0},
      bytes_read{0};
};

using fs::JoinPath;

bool Unchanged(const Node& old, const fs::Metadata& now) {
  return old.meta.type == fs::FileType::kRegular && old.error.empty() &&
         old.meta.size == now.size && old.meta.mtime_ns == now.mtime_ns &&
         old.meta.ctime_ns == now.ctime_ns && old.meta.inode == now.inode;
}

// Without --threads a backup's pool has one thread more than there are cores:
// the thread that cuts a pack writes it (16 MiB direct, then two fsyncs) and
// waits for the device, and the extra thread keeps the cores busy meanwhile.
// Its pack buffers stay at one per core (at least two: one open, one being
// written), so the extra thread adds no 16 MiB buffer to the peak memory.
unsigned PoolThreads(const Options& opt) {
  return opt.threads ? opt.threads : ThreadPool::DefaultThreads() + 1;
}
unsigned MaxPackBuffers(const Options& opt) {
  return opt.threads ? 0 : std::max(2u, ThreadPool::DefaultThreads());
}

class Walker {
 public:
  Walker(repo::Repository& repo, const Options& opt)
      : repo_(repo),
        opt_(opt),
        pool_(PoolThreads(opt)),
        budget_(BudgetBytes(repo), BudgetBytes(repo) / 4),
        completions_([this](PendingDir& d) { return CompleteDir(d); }, kMaxPendingDirs,
                     kMaxPendingNodes) {}
  // Tasks still queued after an early error use members declared after pool_.
  ~Walker() { pool_.Wait(); }

  lb::Result<Id> Run(const std::optional<Tree>& parent_root);
  lb::Result<Id> RunStdin(TimeNs mtime);

  snapshot::Summary summary;
  // The paths warned about, in the order of a depth-first walk.
  std::vector<std::string> Partial() const;
  const Counters& counters() const { return counters_; }
  // Waits until the trees are stored; the first error storing one.
  Status WaitForTrees() { return trees_.Wait(); }

 private:
  struct PathTrie {
    std::map<std::string, PathTrie> children;
    bool target = false;
  };

  // Bytes read and not yet stored, at most. When the walker finds it full, it waits
  // until a quarter is free, then queues a batch (one wake-up per batch, not per file).
  static size_t BudgetBytes(const repo::Repository& repo) {
    return std::max<size_t>(16u << 20, 2u * repo.config().chunker.max_size);
  }

  using DirPtr = std::shared_ptr<const fs::Dir>;
  using PendingPtr = std::shared_ptr<PendingDir>;

  // Directory completion is deferred (see completion.h) while at most this many
  // directories, holding at most this many nodes (their own plus their parent
  // snapshot trees'), are pending.
  static constexpr size_t kMaxPendingDirs = 256;
  static constexpr size_t kMaxPendingNodes = 16 * 1024;

  // The scanned (not yet pushed) explicitly named directory `abs`: only the children
  // in `trie`.
  lb::Result<PendingPtr> ArchiveTrie(const PathTrie& trie, const std::string& abs,
                                     const std::optional<Tree>& parent);
  // The scanned (not yet pushed) directory `abs`, whose own metadata is `self`; its
  // subdirectories are pushed. Its listing comes from the prewalk when it has it.
  lb::Result<PendingPtr> ArchiveDirContents(DirPtr dir, const std::string& abs,
                                            const Node* parent_node, uint64_t device,
                                            const fs::Metadata& self);
  // Archives entry `name` of `dir`, whose metadata is `meta` (an error: warned
  // about and skipped, or for a `top` entry returned). Returns nullopt when the entry
  // is skipped. For a directory, `sub` is set to its pushed PendingDir and the
  // node's subtree is left zero.
  lb::Result<std::optional<Node>> ArchiveEntry(const fs::Dir& dir, const std::string& name,
                                               const std::string& abs, const Node* parent_node,
                                               uint64_t device, bool top, PendingPtr& sub,
                                               lb::Result<fs::Metadata> meta);
  // Queues the scanned directory `d` for completion. With `count`, it is counted as a
  // directory of the snapshot, classified against `old` (its node in the parent
  // snapshot, may be null) once its id is known.
  Status PushDir(const PendingPtr& d, const Node* old, bool count = true);
  Status CompleteDir(PendingDir& d);
  void CountDir(const std::optional<Id>& old_subtree, const Id& subtree);
  Status StartFile(const fs::Dir& dir, const std::string& name, const std::string& abs,
                   Node& node, std::shared_ptr<FileJob>& job);
  // A file of at most one chunk is opened, read, hashed and stored by a pool
  // worker, so many small files are read in parallel. The task keeps `dir` open.
  std::shared_ptr<FileJob> StartSmallFile(DirPtr dir, const std::string& name,
                                          const fs::Metadata& meta);
  void ReadSmallFile(const fs::Dir& dir, const std::string& name, const fs::Metadata& meta,
                     FileJob& job);
  // Reads through `read`, cuts chunks and submits each to `job`.
  Status ChunkStream(const std::function<lb::Result<size_t>(uint64_t, std::span<uint8_t>)>& read,
                     const std::shared_ptr<FileJob>& job);
  // Copies `chunk` once the budget has room for it (a copy made before waiting
  // would be one more chunk, up to max_size, in the peak memory).
  void Submit(ByteSpan chunk, std::shared_ptr<FileJob> job);
  // Encodes `tree` and returns its id; the pool compresses and stores it
  // (WaitForTrees waits for that).
  lb::Result<Id> StoreTree(const Tree& tree);
  // Waits for `d`'s file jobs and puts their results into its nodes.
  Status FinishFiles(PendingDir& d);
  // Parent trees of subdirectories are loaded ahead by the pool while the walker
  // works, at most kPrefetchWindow at a time. LoadParentTree takes a prefetched tree
  // or loads it now; nullopt when it cannot be loaded (the directory is then read
  // as new). DropPrefetched forgets prefetches nobody took.
  static constexpr size_t kPrefetchWindow = 128;
  bool Prefetch(const Id& subtree);  // false when the window is full
  std::optional<Tree> LoadParentTree(const Id& subtree);
  void DropPrefetched(const std::vector<Id>& ids);
  // Reuses the parent's content or starts reading; false when the file is skipped.
  lb::Result<bool> ProcessFile(const DirPtr& dir, const std::string& abs, const Node* old,
                               Node& node, PendingDir& d);
  // Warnings of the walk itself; a completing directory's go to its PendingDir::order,
  // so Partial() lists them where a walk that waited at every directory would.
  void Warn(const std::string& path, const std::string& what) { Warn(path, what, order_); }
  void Warn(const std::string& path, const std::string& what, uint64_t order) {
    partial_.emplace_back(order, path);
    if (opt_.on_warning) opt_.on_warning(path, what);
  }
  // A directory's completion order: after the walk's warnings so far, before later ones.
  uint64_t NextDirOrder() {
    order_ += 2;
    return order_ - 1;
  }
  void ReportProgress(const std::string& current) {
    if (!opt_.on_progress) return;
    progress_.current = current;
    progress_.bytes_read = counters_.bytes_read;
    if (scanner_) {
      progress_.total_files = scanner_->files();
      progress_.total_bytes = scanner_->bytes();
      progress_.scan_done = scanner_->done();
    }
    opt_.on_progress(progress_);
  }
  static const Node* FindChild(const std::optional<Tree>& t, const std::string& name) {
    if (!t) return nullptr;
    auto it = std::lower_bound(t->nodes.begin(), t->nodes.end(), name,
                               [](const Node& n, const std::string& c) { return n.name < c; });
    return it != t->nodes.end() && it->name == name ? &*it : nullptr;
  }

  repo::Repository& repo_;
  const Options& opt_;
  ThreadPool pool_;
  Budget budget_;
  Counters counters_;
  Progress progress_;
  std::mutex hardlink_mu_;
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<FileJob>> hardlinks_;
  std::unique_ptr<uint8_t[]> read_buf_;  // the walking thread's read window
  // A parent tree asked for ahead: loaded by whichever comes first, a pool worker
  // or the walker when it needs the tree before the worker has started on it (the
  // queue may hold much file work in front of the load).
  struct PrefetchSlot {
    std::atomic<bool> claimed{false};
    std::promise<lb::Result<Tree>> loaded;
  };
  std::mutex prefetch_mu_;
  std::unordered_map<Id, std::shared_ptr<PrefetchSlot>, IdHash> prefetched_;
  std::vector<std::pair<uint64_t, std::string>> partial_;  // (order, path)
  uint64_t order_ = 0;                                     // even; see NextDirOrder
  CompletionQueue completions_;
  FileJob trees_;  // the trees StoreTree handed to the pool (only pending and error)

 public:
  std::unique_ptr<Scanner> scanner_;  // only when progress is reported
  // Progress totals from the parent snapshot instead of a scan.
  void SetEstimatedTotals(uint64_t files, uint64_t bytes) {
    progress_.total_files = files;
    progress_.total_bytes = bytes;
    progress_.scan_done = true;
    progress_.totals_estimated = true;
  }
};

std::vector<std::string> Walker::Partial() const {
  auto sorted = partial_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  out.reserve(sorted.size());
  for (auto& [order, path] : sorted) out.push_back(std::move(path));
  return out;
}

void Walker::Submit(ByteSpan data, std::shared_ptr<FileJob> job) {
  size_t slot;
  {
    std::lock_guard<std::mutex> l(job->mu);
    slot = job->ids.size();
    job->ids.emplace_back();
    ++job->pending;
  }
  const size_t n = data.size();
  budget_.Acquire(n);
  pool_.Submit([this, job, slot, n, chunk = Bytes(data.begin(), data.end())]() {
    Id id = repo_.BlobId(chunk);
    Status st;
    if (!opt_.dry_run) {
      auto r = repo_.SaveBlob(repo::BlobKind::kData, id, chunk);
      if (!r.ok()) {
        st = r.status();
      } else if (r->added) {
        counters_.data_blobs++;
        counters_.bytes_added += n;
        counters_.bytes_stored += r->stored_bytes;
      }
    }
    budget_.Release(n);
    std::lock_guard<std::mutex> l(job->mu);
    job->ids[slot] = id;
    if (!st.ok() && job->error.ok()) job->error = st;
    if (--job->pending == 0) job->cv.notify_all();
  });
}

Status Walker::ChunkStream(
    const std::function<lb::Result<size_t>(uint64_t, std::span<uint8_t>)>& read,
    const std::shared_ptr<FileJob>& job) {
  const auto& chunker = repo_.chunker();
  // The window holds the chunk being cut and what was read after it. A chunk's end
  // is searched for as bytes arrive (chunker::Chunker::Scan), so the window is only
  // compacted when it is full, moving the one unfinished chunk to its start.
  const size_t cap = chunker.params().max_size + (1u << 20);
  if (!read_buf_) read_buf_.reset(new uint8_t[cap]);  // once, uninitialised: no per-file zeroing
  uint8_t* const buf = read_buf_.get();
  size_t begin = 0, end = 0;  // read but not yet cut: buf[begin, end)
  uint64_t offset = 0;
  bool eof = false;
  chunker::Chunker::Scan scan;
  for (;;) {
    const size_t cut = chunker.Next(ByteSpan(buf + begin, end - begin), eof, scan);
    if (cut > 0) {
      Submit(ByteSpan(buf + begin, cut), job);
      begin += cut;
      scan = {};
      continue;
    }
    if (eof) break;  // everything is cut
    if (end == cap) {  // the unfinished chunk is shorter than max_size: room follows
      std::memmove(buf, buf + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    LB_ASSIGN_OR_RETURN(size_t n, read(offset, std::span<uint8_t>(buf + end, cap - end)));
    if (n == 0) eof = true;
    end += n;
    offset += n;
    counters_.bytes_read += n;
    progress_.bytes += n;
  }
  return Status::Ok();
}

Status Walker::StartFile(const fs::Dir& dir, const std::string& name, const std::string& abs,
                         Node& node, std::shared_ptr<FileJob>& job) {
  job = std::make_shared<FileJob>();
  auto file = dir.OpenRead(name);
  if (!file.ok()) return file.status();
  Status st = ChunkStream(
      [&](uint64_t off, std::span<uint8_t> b) { return file->ReadAt(off, b); }, job);
  if (!st.ok()) {
    node.error = st.message();
    Warn(abs, "read failed, content is partial: " + st.message());
    return Status::Ok();
  }
  // Compared with the lstat() the node came from (which StatAhead may have taken a
  // while before), so a change at any time after it is caught.
  auto after = file->Stat();
  if (after.ok() && (after->size != node.meta.size || after->mtime_ns != node.meta.mtime_ns ||
                     after->ctime_ns != node.meta.ctime_ns)) {
    node.error = "changed while it was read";
    Warn(abs, "file changed while it was read; its content may be inconsistent");
    node.meta.size = after->size;
    node.meta.mtime_ns = after->mtime_ns;
    node.meta.ctime_ns = after->ctime_ns;
  }
  return Status::Ok();
}

lb::Result<std::optional<Node>> Walker::ArchiveEntry(const fs::Dir& dir, const std::string& name,
                                                     const std::string& abs,
                                                     const Node* parent_node, uint64_t device,
                                                     bool top, PendingPtr& sub,
                                                     lb::Result<fs::Metadata> meta) {
  if (!meta.ok()) {
    if (top) return meta.status();
    Warn(abs, meta.status().message());
    return std::optional<Node>();
  }
  Node node;
  node.name = name;
  node.meta = std::move(meta).value();
  if (node.meta.type == fs::FileType::kDirectory) {
    bool other_fs = opt_.one_file_system && !top && node.meta.device != device;
    if (other_fs) {
      sub = std::make_shared<PendingDir>();  // stored as an empty tree
      sub->abs = abs;
    } else {
      auto opened = dir.OpenDir(name);
      if (!opened.ok()) {
        if (top) return opened.status();
        Warn(abs, opened.status().message());
        return std::optional<Node>();
      }
      const Node* pn = parent_node && parent_node->meta.type == fs::FileType::kDirectory
                           ? parent_node
                           : nullptr;
      LB_ASSIGN_OR_RETURN(sub, ArchiveDirContents(std::make_shared<const fs::Dir>(
                                                      std::move(opened).value()),
                                                  abs, pn, top ? node.meta.device : device,
                                                  node.meta));
    }
    LB_RETURN_IF_ERROR(PushDir(sub, parent_node));
  }
  return std::optional<Node>(std::move(node));
}

Status Walker::PushDir(const PendingPtr& d, const Node* old, bool count) {
  if (count) {
    ++progress_.dirs;
    d->counted = true;
    d->old_subtree.reset();
    if (old && old->meta.type == fs::FileType::kDirectory) d->old_subtree = old->subtree;
  }
  d->order = NextDirOrder();
  return completions_.Push(d);
}

void Walker::CountDir(const std::optional<Id>& old_subtree, const Id& subtree) {
  if (!old_subtree)
    ++summary.dirs_new;
  else if (*old_subtree == subtree)
    ++summary.dirs_unmodified;
  else
    ++summary.dirs_changed;
}

Status Walker::CompleteDir(PendingDir& d) {
  for (auto& [pos, sub] : d.subdirs) d.tree.nodes[pos].subtree = sub->id;
  LB_RETURN_IF_ERROR(FinishFiles(d));
  // An unchanged directory has the parent's tree: skip encoding and hashing it.
  if (d.parent_tree && SameTree(*d.parent_tree, d.tree)) {
    d.id = *d.old_subtree;
  } else {
    LB_ASSIGN_OR_RETURN(d.id, StoreTree(d.tree));
  }
  if (d.counted) CountDir(d.old_subtree, d.id);
  return Status::Ok();
}

lb::Result<Id> Walker::StoreTree(const Tree& tree) {
  Bytes raw = snapshot::EncodeTree(tree);
  const Id id = repo_.BlobId(raw);
  if (opt_.dry_run) return id;
  // A re-backup stores a tree for every directory above a changed file: its
  // compression, sealing and cache copy are kept off the walker's path.
  const size_t n = raw.size();
  budget_.Acquire(n);
  {
    std::lock_guard<std::mutex> l(trees_.mu);
    ++trees_.pending;
  }
  pool_.Submit([this, id, n, raw = std::move(raw)] {
    auto r = repo_.SaveBlob(repo::BlobKind::kTree, id, raw);
    if (r.ok() && r->added) counters_.tree_blobs++;
    budget_.Release(n);
    std::lock_guard<std::mutex> l(trees_.mu);
    if (!r.ok() && trees_.error.ok()) trees_.error = r.status().WithContext("store tree");
    if (--trees_.pending == 0) trees_.cv.notify_all();
  });
  return id;
}

Status Walker::FinishFiles(PendingDir& d) {
  Tree& tree = d.tree;
  std::vector<size_t> dropped;
  for (auto& [pos, job] : d.jobs) {
    Status st = job->Wait();
    Node& node = tree.nodes[pos];
    const std::string abs = JoinPath(d.abs, node.name);
    if (!st.ok()) return st.WithContext(abs);
    if (!job->warning.empty()) Warn(abs, job->warning, d.order);
    if (job->skip) {
      dropped.push_back(pos);
      --(job->was_new ? summary.files_new : summary.files_changed);
      --summary.total_files;
      summary.total_bytes -= node.meta.size;
      continue;
    }
    if (!job->node_error.empty()) node.error = job->node_error;
    if (job->changed) {
      node.meta.size = job->changed->size;
      node.meta.mtime_ns = job->changed->mtime_ns;
      node.meta.ctime_ns = job->changed->ctime_ns;
    }
    node.content = job->ids;
  }
  for (auto it = dropped.rbegin(); it != dropped.rend(); ++it)
    tree.nodes.erase(tree.nodes.begin() + static_cast<ptrdiff_t>(*it));
  return Status::Ok();
}

std::shared_ptr<FileJob> Walker::StartSmallFile(DirPtr dir, const std::string& name,
                                                const fs::Metadata& meta) {
  auto job = std::make_shared<FileJob>();
  job->pending = 1;
  const size_t n = meta.size;
  budget_.Acquire(n);
  progress_.bytes += n;
  pool_.Submit([this, dir = std::move(dir), name, meta, job, n] {
    ReadSmallFile(*dir, name, meta, *job);
    budget_.Release(n);
    std::lock_guard<std::mutex> l(job->mu);
    if (--job->pending == 0) job->cv.notify_all();
  });
  return job;
}

void Walker::ReadSmallFile(const fs::Dir& dir, const std::string& name, const fs::Metadata& meta,
                           FileJob& job) {
  auto file = dir.OpenRead(name);
  if (!file.ok()) {
    job.skip = true;
    job.warning = file.status().code() == Code::kNotFound ? "file vanished before it was read"
                                                          : "cannot read: " + file.status().message();
    return;
  }
  // One buffer per pool thread, grown to the largest small file and never zeroed
  // again (small files are at most the chunker's minimum size). One byte more than
  // the size shows a file that grew.
  static thread_local Bytes window;
  if (window.size() < meta.size + 1) window.resize(meta.size + 1);
  // A file that still has its lstat() size needs one read: the fstat() below tells
  // growth after it.
  auto got = file->ReadFull(0, std::span<uint8_t>(window.data(), meta.size + 1), meta.size);
  if (!got.ok()) {
    job.node_error = got.status().message();
    job.warning = "read failed, content is partial: " + got.status().message();
    return;
  }
  const ByteSpan buf(window.data(), *got);
  counters_.bytes_read += *got;
  auto after = file->Stat();
  if (*got != meta.size ||
      (after.ok() && (after->size != meta.size || after->mtime_ns != meta.mtime_ns ||
                      after->ctime_ns != meta.ctime_ns))) {
    job.node_error = "changed while it was read";
    job.warning = "file changed while it was read; its content may be inconsistent";
    if (after.ok()) job.changed = *after;
    if (!job.changed || job.changed->size != buf.size()) {
      fs::Metadata m = meta;
      m.size = buf.size();
      job.changed = m;
    }
  }
  if (buf.empty()) return;
  Id id = repo_.BlobId(buf);
  if (!opt_.dry_run) {
    auto r = repo_.SaveBlob(repo::BlobKind::kData, id, buf);
    if (!r.ok()) {
      std::lock_guard<std::mutex> l(job.mu);
      job.error = r.status();
      return;
    }
    if (r->added) {
      counters_.data_blobs++;
      counters_.bytes_added += buf.size();
      counters_.bytes_stored += r->stored_bytes;
    }
  }
  job.ids.push_back(id);
}

bool Walker::Prefetch(const Id& subtree) {
  auto slot = std::make_shared<PrefetchSlot>();
  {
    std::lock_guard<std::mutex> l(prefetch_mu_);
    if (prefetched_.count(subtree)) return true;
    if (prefetched_.size() >= kPrefetchWindow) return false;
    prefetched_.emplace(subtree, slot);
  }
  pool_.Submit([this, subtree, slot] {
    if (!slot->claimed.exchange(true)) slot->loaded.set_value(snapshot::LoadTree(repo_, subtree));
  });
  return true;
}

std::optional<Tree> Walker::LoadParentTree(const Id& subtree) {
  std::shared_ptr<PrefetchSlot> slot;
  {
    std::lock_guard<std::mutex> l(prefetch_mu_);
    if (auto it = prefetched_.find(subtree); it != prefetched_.end()) {
      slot = std::move(it->second);
      prefetched_.erase(it);
    }
  }
  // Waits only for a load already running; one not yet started is done here.
  auto t = slot && slot->claimed.exchange(true) ? slot->loaded.get_future().get()
                                                : snapshot::LoadTree(repo_, subtree);
  if (!t.ok()) return std::nullopt;
  return std::move(t).value();
}

void Walker::DropPrefetched(const std::vector<Id>& ids) {
  std::lock_guard<std::mutex> l(prefetch_mu_);
  for (const Id& id : ids) {
    auto it = prefetched_.find(id);
    if (it == prefetched_.end()) continue;
    it->second->claimed = true;  // a load not yet started is skipped; a running one is dropped
    prefetched_.erase(it);
  }
}

lb::Result<Walker::PendingPtr> Walker::ArchiveDirContents(DirPtr dir, const std::string& abs,
                                                          const Node* parent_node,
                                                          uint64_t device,
                                                          const fs::Metadata& self) {
  auto d = std::make_shared<PendingDir>();
  d->abs = abs;
  if (parent_node) d->old_subtree = parent_node->subtree;
  std::optional<Prewalk::Listing> listing;
  if (opt_.prewalk) listing = opt_.prewalk->Take(abs, self.device, self.inode);
  std::optional<Tree> parent_tree;
  if (parent_node && !parent_node->subtree.IsZero() && repo_.HasBlob(parent_node->subtree))
    parent_tree = LoadParentTree(parent_node->subtree);
  auto names = listing ? lb::Result<std::vector<std::string>>(std::move(listing->names)) : dir->List();
  if (!names.ok()) {
    Warn(abs, names.status().message());
    return d;  // stored as an empty tree
  }
  // Subdirectories' parent trees are loaded ahead while the window (shared by all
  // levels) has room.
  std::vector<Id> asked;
  size_t ahead = 0;
  auto prefetch_more = [&] {
    if (!parent_tree) return;
    for (; ahead < parent_tree->nodes.size(); ++ahead) {
      const Node& n = parent_tree->nodes[ahead];
      if (n.meta.type != fs::FileType::kDirectory || n.subtree.IsZero() || !repo_.HasBlob(n.subtree)) continue;
      if (!Prefetch(n.subtree)) return;
      asked.push_back(n.subtree);
    }
  };
  struct DropOnExit {
    Walker* w;
    std::vector<Id>* ids;
    ~DropOnExit() { w->DropPrefetched(*ids); }
  } drop{this, &asked};
  d->tree.nodes.reserve(names->size());
  std::vector<const Node*> olds(names->size());
  for (size_t i = 0; i < names->size(); ++i) olds[i] = FindChild(parent_tree, (*names)[i]);
  {
    // Large directories the prewalk did not read are lstat()ed by pool helpers ahead
    // of this loop (stat_ahead.h).
    std::optional<StatAhead> ahead;
    if (!listing && names->size() >= StatAhead::kMinEntries) {
      std::vector<const fs::Metadata*> previous(olds.size());
      for (size_t i = 0; i < olds.size(); ++i) previous[i] = olds[i] ? &olds[i]->meta : nullptr;
      ahead.emplace(*dir, *names, std::move(previous), pool_, std::max(1u, pool_.size() - 1));
    }
    for (size_t i = 0; i < names->size(); ++i) {
      prefetch_more();
      const std::string& name = (*names)[i];
      const std::string child_abs = JoinPath(abs, name);
      const Node* old = olds[i];
      if (opt_.excludes.Matches(child_abs)) continue;
      const fs::Metadata* previous = old ? &old->meta : nullptr;
      lb::Result<fs::Metadata> meta = ahead ? ahead->Take(i) : listing ? listing->Stat(i)
                                                                       : dir->Stat(name, previous);
      if (listing && meta.ok()) meta = dir->Complete(name, std::move(meta).value(), previous);
      PendingPtr sub;
      LB_ASSIGN_OR_RETURN(std::optional<Node> node,
                          ArchiveEntry(*dir, name, child_abs, old, device, false, sub, std::move(meta)));
      if (!node) continue;
      if (node->meta.type == fs::FileType::kRegular) {
        LB_ASSIGN_OR_RETURN(bool keep, ProcessFile(dir, child_abs, old, *node, *d));
        if (!keep) continue;
      }
      if (sub) d->subdirs.emplace_back(d->tree.nodes.size(), std::move(sub));
      d->tree.nodes.push_back(std::move(*node));
    }
  }
  d->parent_tree = std::move(parent_tree);
  return d;
}

lb::Result<bool> Walker::ProcessFile(const DirPtr& dir, const std::string& abs, const Node* old,
                                     Node& node, PendingDir& d) {
  ++progress_.files;
  ReportProgress(abs);
  if (old && Unchanged(*old, node.meta) &&
      std::all_of(old->content.begin(), old->content.end(),
                  [&](const Id& id) { return repo_.HasBlob(id); })) {
    node.content = old->content;
    ++summary.files_unmodified;
    ++summary.total_files;
    summary.total_bytes += node.meta.size;
    progress_.bytes += node.meta.size;
    return true;
  }
  std::shared_ptr<FileJob> job;
  const auto key = std::make_pair(node.meta.device, node.meta.inode);
  if (node.meta.nlink > 1) {
    std::lock_guard<std::mutex> l(hardlink_mu_);
    auto it = hardlinks_.find(key);
    if (it != hardlinks_.end()) job = it->second;
  }
  if (!job && node.meta.nlink <= 1 && node.meta.size <= repo_.chunker().params().min_size) {
    job = StartSmallFile(dir, node.name, node.meta);
    job->was_new = old == nullptr;
  }
  if (!job) {
    Status st = StartFile(*dir, node.name, abs, node, job);
    if (!st.ok()) {
      Warn(abs, st.code() == Code::kNotFound ? "file vanished before it was read"
                                             : "cannot read: " + st.message());
      return false;
    }
    if (node.meta.nlink > 1 && node.error.empty()) {
      std::lock_guard<std::mutex> l(hardlink_mu_);
      hardlinks_[key] = job;
    }
  }
  ++(old ? summary.files_changed : summary.files_new);
  ++summary.total_files;
  summary.total_bytes += node.meta.size;
  d.jobs.emplace_back(d.tree.nodes.size(), job);
  return true;
}

lb::Result<Walker::PendingPtr> Walker::ArchiveTrie(const PathTrie& trie, const std::string& abs,
                                                   const std::optional<Tree>& parent) {
  auto opened = fs::Dir::Open(abs);
  if (!opened.ok()) return opened.status();
  const DirPtr dir = std::make_shared<const fs::Dir>(std::move(opened).value());
  auto d = std::make_shared<PendingDir>();  // no parent_tree: always stored
  d->abs = abs;
  for (const auto& [name, child] : trie.children) {
    const std::string child_abs = JoinPath(abs, name);
    const Node* old = FindChild(parent, name);
    PendingPtr sub;
    if (child.target) {
      LB_ASSIGN_OR_RETURN(std::optional<Node> node,
                          ArchiveEntry(*dir, name, child_abs, old, 0, true, sub,
                                       dir->Stat(name, old ? &old->meta : nullptr)));
      if (node->meta.type == fs::FileType::kRegular) {
        LB_ASSIGN_OR_RETURN(bool keep, ProcessFile(dir, child_abs, old, *node, *d));
        if (!keep) continue;
      }
      if (sub) d->subdirs.emplace_back(d->tree.nodes.size(), std::move(sub));
      d->tree.nodes.push_back(std::move(*node));
      continue;
    }
    // An intermediate directory: its metadata, but only the named children.
    LB_ASSIGN_OR_RETURN(fs::Metadata meta, dir->Stat(name));
    if (meta.type != fs::FileType::kDirectory) return InvalidArgument(child_abs + " is not a directory");
    std::optional<Tree> old_tree;
    if (old && old->meta.type == fs::FileType::kDirectory && repo_.HasBlob(old->subtree)) {
      auto t = snapshot::LoadTree(repo_, old->subtree);
      if (t.ok()) old_tree = std::move(t).value();
    }
    LB_ASSIGN_OR_RETURN(sub, ArchiveTrie(child, child_abs, old_tree));
    LB_RETURN_IF_ERROR(PushDir(sub, old));
    Node node;
    node.name = name;
    node.meta = std::move(meta);
    d->subdirs.emplace_back(d->tree.nodes.size(), std::move(sub));
    d->tree.nodes.push_back(std::move(node));
  }
  return d;
}

lb::Result<Id> Walker::Run(const std::optional<Tree>& parent_root) {
  PathTrie root;
  bool whole_root = false;
  for (const std::string& p : opt_.paths) {
    if (p == "/") whole_root = true;
    PathTrie* cur = &root;
    size_t i = 1;
    while (i < p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string::npos) j = p.size();
      cur = &cur->children[p.substr(i, j - i)];
      i = j + 1;
    }
    cur->target = true;
  }
  PendingPtr top;
  if (whole_root) {
    auto dir = fs::Dir::Open("/");
    if (!dir.ok()) return dir.status();
    Node fake;
    fake.meta.type = fs::FileType::kDirectory;
    if (parent_root) {
      LB_ASSIGN_OR_RETURN(fake.subtree, StoreTree(*parent_root));
    }
    LB_ASSIGN_OR_RETURN(fs::Metadata meta, dir->Stat("."));
    LB_ASSIGN_OR_RETURN(top, ArchiveDirContents(std::make_shared<const fs::Dir>(
                                                    std::move(dir).value()),
                                                "/", parent_root ? &fake : nullptr,
                                                meta.device, meta));
  } else {
    // Drop targets below other targets: the outer one covers them.
    std::function<void(PathTrie&)> prune = [&](PathTrie& t) {
      for (auto& [n, c] : t.children) {
        if (c.target) c.children.clear();
        prune(c);
      }
    };
    prune(root);
    LB_ASSIGN_OR_RETURN(top, ArchiveTrie(root, "/", parent_root));
  }
  if (opt_.prewalk) opt_.prewalk->Stop();  // the walk is done; nothing more to read
  LB_RETURN_IF_ERROR(PushDir(top, nullptr, false));
  LB_RETURN_IF_ERROR(completions_.Drain());
  return top->id;
}

lb::Result<Id> Walker::RunStdin(TimeNs mtime) {
  Node node;
  node.name = opt_.stdin_name;
  node.meta.type = fs::FileType::kRegular;
  node.meta.mtime_ns = mtime;  // the stream has no time of its own: when it was read
  node.meta.ctime_ns = mtime;
  node.meta.mode = 0644;
  node.meta.uid = ::getuid();
  node.meta.gid = ::getgid();
  node.meta.user = fs::UserName(node.meta.uid);
  node.meta.group = fs::GroupName(node.meta.gid);
  auto job = std::make_shared<FileJob>();
  const int fd = opt_.stdin_fd;
  LB_RETURN_IF_ERROR(ChunkStream(
      [fd](uint64_t, std::span<uint8_t> b) -> lb::Result<size_t> {
        for (;;) {
          ssize_t n = ::read(fd, b.data(), b.size());
          if (n >= 0) return static_cast<size_t>(n);
          if (errno != EINTR) return ErrnoStatus("read standard input", errno);
        }
      },
      job));
  LB_RETURN_IF_ERROR(job->Wait());
  node.content = job->ids;
  node.meta.size = counters_.bytes_read;
  ++summary.files_new;
  ++summary.total_files;
  summary.total_bytes += node.meta.size;
  Tree tree;
  tree.nodes.push_back(std::move(node));
  return StoreTree(tree);
}

}  // namespace

lb::Result<Result> Backup(repo::Repository& repo, const Options& options, const Clock& clock) {
  const TimeNs start = clock.Now();
  std::optional<Tree> parent_root;
  std::optional<snapshot::Summary> parent_summary;
  if (options.parent) {
    auto raw = repo.LoadSnapshotFile(*options.parent);
    if (!raw.ok()) return raw.status().WithContext("load parent snapshot");
    LB_ASSIGN_OR_RETURN(snapshot::Snapshot ps, snapshot::DecodeSnapshot(*raw));
    parent_summary = ps.summary;
    if (repo.HasBlob(ps.tree)) {
      auto t = snapshot::LoadTree(repo, ps.tree);
      if (t.ok()) parent_root = std::move(t).value();
    }
  }
  // The pack buffer limit holds for this backup only (declared before the
  // walker, so restored after its tasks are done).
  struct WriteOptionsScope {
    repo::Repository& repo;
    repo::WriteOptions saved;
    ~WriteOptionsScope() { repo.set_write_options(saved); }
  } scope{repo, repo.write_options()};
  repo::WriteOptions write_options = scope.saved;
  write_options.max_pack_buffers = MaxPackBuffers(options);
  repo.set_write_options(write_options);
  Walker w(repo, options);
  if (options.on_progress && options.stdin_fd < 0) {
    // A re-backup's totals are estimated from the parent: scanning would lstat
    // every file a second time (0.3 s of CPU per 80k files) for a number that
    // nightly runs barely change.
    if (parent_summary)
      w.SetEstimatedTotals(parent_summary->total_files, parent_summary->total_bytes);
    else
      w.scanner_ = std::make_unique<Scanner>(options.paths, options.excludes, options.one_file_system);
  }
  lb::Result<Id> tree = options.stdin_fd >= 0 ? w.RunStdin(start) : w.Run(parent_root);
  if (!tree.ok()) return tree.status();
  LB_RETURN_IF_ERROR(w.WaitForTrees());
  if (!options.dry_run) LB_RETURN_IF_ERROR_CTX(repo.Flush(), "flush");
  if (options.before_snapshot) LB_RETURN_IF_ERROR(options.before_snapshot());

  Result out;
  snapshot::Snapshot& s = out.snapshot;
  s.time = start;
  s.host = options.host;
  s.uid = ::getuid();
  s.gid = ::getgid();
  s.user = fs::UserName(s.uid);
  s.paths = options.stdin_fd >= 0 ? std::vector<std::string>{"/" + options.stdin_name}
                                  : options.paths;
  s.tags = options.tags;
  if (options.parent) s.parent = *options.parent;
  s.tree = *tree;
  s.summary = w.summary;
  s.summary.data_blobs = w.counters().data_blobs;
  s.summary.tree_blobs = w.counters().tree_blobs;
  s.summary.bytes_read = w.counters().bytes_read;
  s.summary.bytes_added = w.counters().bytes_added;
  s.summary.bytes_stored = w.counters().bytes_stored;
  s.summary.duration_s = static_cast<double>(clock.Now() - start) / 1e9;
  s.partial_files = w.Partial();
  s.program_version = options.program_version;
  if (!options.dry_run) {
    LB_ASSIGN_OR_RETURN(out.snapshot_id, repo.SaveSnapshotFile(snapshot::EncodeSnapshot(s)));
  }
  return out;
}

}  // namespace lb::archiver
