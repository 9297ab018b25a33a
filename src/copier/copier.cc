#include "copier/copier.h"

#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "base/thread_pool.h"
#include "crypto/crypto.h"

namespace lb::copier {

namespace {

class Copier {
 public:
  Copier(repo::Repository& from, repo::Repository& to, const Options& o)
      : from_(from), to_(to), o_(o), same_(SameIds(from, to)),
        pool_(o.threads ? o.threads : std::max(4u, ThreadPool::DefaultThreads())) {
    stats_.same_ids = same_;
  }

  Result<Stats> Run(const std::vector<snapshot::Entry>& snaps) {
    LB_ASSIGN_OR_RETURN(auto existing, snapshot::ListSnapshots(to_));
    for (const auto& e : existing)
      if (e.snapshot.copied_from_repo == from_.config().id && !e.snapshot.copied_from.IsZero())
        copies_[e.snapshot.copied_from] = e.id;
    for (const auto& e : snaps) {
      if (copies_.count(e.id)) {
        ++stats_.snapshots_skipped;
        if (o_.on_snapshot) o_.on_snapshot(e, copies_[e.id], true);
        continue;
      }
      LB_ASSIGN_OR_RETURN_CTX(Id id, CopySnapshot(e), "copy snapshot " + e.id.Short());
      if (!o_.dry_run) copies_[e.id] = id;
      ++stats_.snapshots_copied;
      if (o_.on_snapshot) o_.on_snapshot(e, id, false);
    }
    return stats_;
  }

 private:
  Result<Id> CopySnapshot(const snapshot::Entry& e) {
    LB_ASSIGN_OR_RETURN(Id tree, CopyTree(e.snapshot.tree));
    pool_.Wait();
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!error_.ok()) return error_;
    }
    // Trees only after every data blob they name is stored (children first), so a
    // tree in the destination always means its whole content is there.
    for (auto& [id, raw] : pending_trees_) {
      if (!o_.dry_run) LB_RETURN_IF_ERROR_CTX(to_.SaveBlob(repo::BlobKind::kTree, id, raw).status(), "save tree " + id.Short());
      Count(true, raw.size());
    }
    pending_trees_.clear();
    if (o_.dry_run) return Id{};
    LB_RETURN_IF_ERROR_CTX(to_.Flush(), "flush");
    snapshot::Snapshot s = e.snapshot;
    s.tree = tree;
    auto parent = copies_.find(e.snapshot.parent);
    s.parent = parent != copies_.end() ? parent->second : Id{};
    s.copied_from = e.id;
    s.copied_from_repo = from_.config().id;
    return to_.SaveSnapshotFile(snapshot::EncodeSnapshot(s));
  }

  // Returns the destination id of a tree; files' blobs are copied by the pool.
  // With remapped ids the tree is rewritten after its files' blobs are known,
  // so it waits for them (per tree, so memory stays bounded by one directory).
  Result<Id> CopyTree(const Id& id) {
    if (auto it = tree_map_.find(id); it != tree_map_.end()) return it->second;
    if (same_ && to_.HasBlob(id)) {
      Count(false, 0);
      tree_map_[id] = id;
      return id;
    }
    LB_ASSIGN_OR_RETURN_CTX(Bytes raw, from_.LoadBlob(id), "tree " + id.Short());
    {
      std::lock_guard<std::mutex> l(mu_);
      ++stats_.blobs_read;
    }
    LB_ASSIGN_OR_RETURN_CTX(snapshot::Tree tree, snapshot::DecodeTree(raw), "tree " + id.Short());
    for (auto& node : tree.nodes) {
      if (node.meta.type == fs::FileType::kDirectory && !node.subtree.IsZero()) {
        LB_ASSIGN_OR_RETURN(node.subtree, CopyTree(node.subtree));
      }
      for (const Id& blob : node.content) ScheduleBlob(blob);
    }
    Id out = id;
    if (!same_) {
      pool_.Wait();  // every blob of this directory mapped
      std::lock_guard<std::mutex> l(mu_);
      LB_RETURN_IF_ERROR(error_);
      for (auto& node : tree.nodes)
        for (Id& blob : node.content) blob = blob_map_.at(blob);
      raw = snapshot::EncodeTree(tree);
      out = to_.BlobId(raw);
    }
    if (!to_.HasBlob(out))
      pending_trees_.emplace_back(out, std::move(raw));
    else
      Count(false, 0);
    tree_map_[id] = out;
    return out;
  }

  void Count(bool copied, uint64_t bytes) {
    std::lock_guard<std::mutex> l(mu_);
    if (copied) {
      ++stats_.blobs_copied;
      stats_.bytes_copied += bytes;
    } else {
      ++stats_.blobs_present;
    }
  }

  void ScheduleBlob(const Id& id) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!scheduled_.insert(id).second) return;
      if (same_ && to_.HasBlob(id)) {
        blob_map_[id] = id;
        ++stats_.blobs_present;
        return;
      }
    }
    pool_.Submit([this, id] {
      Status st = CopyBlob(id);
      if (!st.ok()) {
        std::lock_guard<std::mutex> l(mu_);
        if (error_.ok()) error_ = st;
      }
    });
  }

  Status CopyBlob(const Id& id) {
    LB_ASSIGN_OR_RETURN_CTX(Bytes data, from_.LoadBlob(id), "blob " + id.Short());
    const Id out = same_ ? id : to_.BlobId(data);
    bool stored = false;
    if (!o_.dry_run && !to_.HasBlob(out)) {
      LB_ASSIGN_OR_RETURN_CTX(repo::SaveResult r, to_.SaveBlob(repo::BlobKind::kData, out, data),
                              "save blob " + out.Short());
      stored = r.added;
    }
    std::lock_guard<std::mutex> l(mu_);
    blob_map_[id] = out;
    ++stats_.blobs_read;
    if (stored) {
      ++stats_.blobs_copied;
      stats_.bytes_copied += data.size();
    } else {
      ++stats_.blobs_present;
    }
    return Status::Ok();
  }

  repo::Repository& from_;
  repo::Repository& to_;
  const Options& o_;
  const bool same_;
  ThreadPool pool_;
  std::mutex mu_;  // guards scheduled_, blob_map_, stats_ counters touched by workers, error_
  Status error_;
  std::unordered_set<Id, IdHash> scheduled_;
  std::unordered_map<Id, Id, IdHash> blob_map_;
  std::unordered_map<Id, Id, IdHash> tree_map_;  // walker thread only
  std::vector<std::pair<Id, Bytes>> pending_trees_;  // walker thread only; children first
  std::unordered_map<Id, Id, IdHash> copies_;    // source snapshot -> copy
  Stats stats_;
};

}  // namespace

bool SameIds(const repo::Repository& from, const repo::Repository& to) {
  const auto& a = from.config().chunker;
  const auto& b = to.config().chunker;
  return crypto::Equal(from.keys().id_key, to.keys().id_key) && a.min_size == b.min_size &&
         a.avg_size == b.avg_size && a.max_size == b.max_size;
}

Result<Stats> Copy(repo::Repository& from, repo::Repository& to,
                   const std::vector<snapshot::Entry>& snapshots, const Options& o) {
  Copier c(from, to, o);
  return c.Run(snapshots);
}

}  // namespace lb::copier
