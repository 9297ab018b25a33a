#include "pruner/pruner.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "snapshot/store.h"

namespace lb::pruner {

using snapshot::Node;
using snapshot::Tree;
using storage::FileKind;

namespace {

using IdSet = std::unordered_set<Id, IdHash>;

void Say(const std::function<void(const std::string&)>& f, const std::string& s) {
  if (f) f(s);
}

// Every blob (trees and data) that some snapshot needs. Fails when a tree cannot
// be loaded or a referenced blob is not indexed.
Status CollectUsed(repo::Repository& repo, const Id& tree_id, IdSet& used) {
  if (!used.insert(tree_id).second) return Status::Ok();
  if (!repo.index().Has(tree_id)) return Corrupt("tree " + tree_id.Short() + " is not in the index");
  LB_ASSIGN_OR_RETURN(Tree t, snapshot::LoadTree(repo, tree_id));
  for (const Node& n : t.nodes) {
    if (n.meta.type == fs::FileType::kDirectory) {
      LB_RETURN_IF_ERROR(CollectUsed(repo, n.subtree, used));
      continue;
    }
    for (const Id& id : n.content) {
      if (!repo.index().Has(id))
        return Corrupt("data blob " + id.Short() + " is not in the index");
      used.insert(id);
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ListIndexFiles(repo::Repository& repo) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(repo.backend().List(FileKind::kIndex, [&](const std::string& n, uint64_t) {
    names.push_back(n);
    return Status::Ok();
  }));
  return names;
}

struct IndexCounts {
  uint64_t written = 0, removed = 0, retained = 0;
  std::string retained_example;
};

// Writes an index of `packs` replacing every current index file, then removes them.
// An old index file the storage retains (Object Lock) stays: the new index names it
// as superseded, so readers ignore it.
Result<IndexCounts> ReplaceIndex(repo::Repository& repo, const std::vector<repo::PackInfo>& packs) {
  LB_ASSIGN_OR_RETURN(std::vector<std::string> old, ListIndexFiles(repo));
  LB_ASSIGN_OR_RETURN(std::vector<std::string> written, repo.WriteIndex(packs, old));
  std::unordered_set<std::string> keep(written.begin(), written.end());
  IndexCounts c;
  c.written = written.size();
  for (const auto& n : old) {
    if (keep.count(n)) continue;
    Status st = repo.backend().Remove({FileKind::kIndex, n});
    if (st.code() == Code::kRetained) {
      ++c.retained;
      if (c.retained_example.empty()) c.retained_example = st.message();
      continue;
    }
    if (!st.ok() && st.code() != Code::kNotFound) return st.WithContext("remove index " + n.substr(0, 8));
    ++c.removed;
  }
  return c;
}

}  // namespace

Result<PruneStats> Prune(repo::Repository& repo, const PruneOptions& opt) {
  PruneStats st;
  if (!repo.damaged_index_files().empty())
    return Corrupt("an index file is damaged; run 'lifeboat repair index' first");
  // Lost packs drop out of the picture first: a blob whose only copy was in one
  // counts as lost, and a surviving copy elsewhere counts as the used one.
  LB_ASSIGN_OR_RETURN(auto present, repo.ListPacks());
  repo.DropMissingPacks(present);
  Say(opt.on_progress, "loading snapshots");
  LB_ASSIGN_OR_RETURN_CTX(auto snaps, snapshot::ListSnapshots(repo),
                          "prune refuses to run while a snapshot cannot be read");
  IdSet used;
  for (const auto& e : snaps) {
    Status s = CollectUsed(repo, e.snapshot.tree, used);
    if (!s.ok())
      return s.WithContext("snapshot " + e.id.Short() +
                           " references lost data; run 'lifeboat repair snapshots' before prune");
  }
  struct Candidate {
    repo::PackInfo pack;
    uint64_t used_bytes = 0, unused_bytes = 0;
  };
  std::vector<repo::PackInfo> keep;
  std::vector<Candidate> partial;
  std::vector<Id> remove;
  IdSet indexed;
  std::vector<repo::PackInfo> all;
  repo.index().ForEachPack([&](const repo::PackInfo& p) { all.push_back(p); });
  for (const repo::PackInfo& p : all) {
    indexed.insert(p.id);
    ++st.packs_total;
    Candidate c{p};
    for (const auto& b : p.blobs) {
      auto loc = repo.index().Find(b.id);
      bool counts = used.count(b.id) && loc && loc->pack->id == p.id;
      (counts ? c.used_bytes : c.unused_bytes) += b.length;
      ++(counts ? st.blobs_used : st.blobs_unused);
    }
    st.bytes_used += c.used_bytes;
    st.bytes_unused += c.unused_bytes;
    if (!present.count(p.id)) {
      keep.push_back(p);  // lost: check reports it; nothing to delete
    } else if (c.used_bytes == 0) {
      remove.push_back(p.id);
      st.bytes_freed += p.size;
      ++st.packs_deleted;
    } else if (c.unused_bytes > 0) {
      partial.push_back(std::move(c));
    } else {
      keep.push_back(p);
    }
  }
  for (const auto& [id, size] : present) {
    if (indexed.count(id)) continue;
    remove.push_back(id);
    st.bytes_freed += size;
    ++st.packs_unindexed;
  }
  // What removing each pack frees, to take back when storage retains it.
  std::unordered_map<Id, uint64_t, IdHash> frees;
  for (const Id& id : remove) frees[id] = present.count(id) ? present.at(id) : 0;
  // Repack the packs with the largest unused share until what stays unused is
  // within the allowed fraction of what is used.
  std::sort(partial.begin(), partial.end(), [](const Candidate& a, const Candidate& b) {
    return a.unused_bytes * b.pack.size > b.unused_bytes * a.pack.size;
  });
  uint64_t unused_kept = 0;
  for (const auto& c : partial) unused_kept += c.unused_bytes;
  const double allowed = static_cast<double>(st.bytes_used) * opt.max_unused / 100.0;
  std::vector<repo::PackInfo> repack;
  for (auto& c : partial) {
    if (static_cast<double>(unused_kept) > allowed) {
      unused_kept -= c.unused_bytes;
      repack.push_back(c.pack);
      st.bytes_freed += c.unused_bytes;
      frees[c.pack.id] = c.unused_bytes;
      ++st.packs_repacked;
    } else {
      keep.push_back(c.pack);
    }
  }
  if (opt.dry_run || (remove.empty() && repack.empty())) return st;

  Say(opt.on_progress, "repacking " + std::to_string(repack.size()) + " packs");
  for (const auto& p : repack) {
    LB_ASSIGN_OR_RETURN_CTX(Bytes bytes, repo.backend().Load({FileKind::kData, p.id.Hex()}),
                            "repack " + p.id.Short());
    for (const auto& b : p.blobs) {
      auto loc = repo.index().Find(b.id);
      if (!used.count(b.id) || !loc || loc->pack->id != p.id) continue;
      if (uint64_t{b.offset} + b.length > bytes.size()) return Corrupt("repack " + p.id.Short() + ": short pack");
      LB_ASSIGN_OR_RETURN_CTX(Bytes plain, repo.OpenBlob(p, b, ByteSpan(bytes.data() + b.offset, b.length)),
                              "repack");
      LB_RETURN_IF_ERROR(repo.SaveBlobAgain(b.kind, b.id, plain).status());
      ++st.blobs_repacked;
    }
  }
  LB_RETURN_IF_ERROR(repo.Flush());
  for (auto& p : repo.written_packs()) keep.push_back(std::move(p));
  for (const auto& p : repack) remove.push_back(p.id);

  if (opt.may_delete && !opt.may_delete()) return Status(Code::kLocked, "lost the repository lock; nothing deleted");
  Say(opt.on_progress, "writing the new index");
  LB_ASSIGN_OR_RETURN(auto counts, ReplaceIndex(repo, keep));
  st.index_files_written = counts.written;
  st.index_files_removed = counts.removed;
  st.files_retained = counts.retained;
  st.retained_example = counts.retained_example;
  Say(opt.on_progress, "removing " + std::to_string(remove.size()) + " packs");
  for (const Id& id : remove) {
    Status s = repo.backend().Remove({FileKind::kData, id.Hex()});
    if (s.code() == Code::kRetained) {  // out of the index now: a later prune retries
      if (st.retained_example.empty()) st.retained_example = s.message();
      ++st.files_retained;
      ++st.packs_retained;
      st.bytes_freed -= std::min(st.bytes_freed, frees[id]);
      continue;
    }
    if (!s.ok() && s.code() != Code::kNotFound) return s.WithContext("remove pack " + id.Short());
    if (s.ok()) st.removed_packs.push_back(id);
  }
  return st;
}

Result<ReencryptStats> Reencrypt(repo::Repository& repo,
                                 const std::function<void(const std::string&)>& on_progress) {
  ReencryptStats st;
  if (!repo.damaged_index_files().empty())
    return Corrupt("an index file is damaged; run 'lifeboat repair index' first");
  const uint32_t current = repo.keys().current;
  LB_ASSIGN_OR_RETURN(auto present, repo.ListPacks());
  std::vector<repo::PackInfo> keep, old;
  std::unordered_set<Id, IdHash> indexed;
  repo.index().ForEachPack([&](const repo::PackInfo& p) {
    indexed.insert(p.id);
    (p.key_version == current ? keep : old).push_back(p);
  });
  Say(on_progress, "re-encrypting " + std::to_string(old.size()) + " packs");
  for (const auto& p : old) {
    if (!present.count(p.id)) continue;  // lost: nothing to rewrite
    LB_ASSIGN_OR_RETURN_CTX(Bytes bytes, repo.backend().Load({FileKind::kData, p.id.Hex()}), "read pack " + p.id.Short());
    for (const auto& b : p.blobs) {
      auto loc = repo.index().Find(b.id);
      if (!loc || loc->pack->id != p.id) continue;  // another copy is the one in use
      if (uint64_t{b.offset} + b.length > bytes.size()) return Corrupt("pack " + p.id.Short() + " is short");
      LB_ASSIGN_OR_RETURN_CTX(Bytes plain, repo.OpenBlob(p, b, ByteSpan(bytes.data() + b.offset, b.length)),
                              "re-encrypt");
      LB_RETURN_IF_ERROR(repo.SaveBlobAgain(b.kind, b.id, plain).status());
      ++st.blobs_rewritten;
    }
    ++st.packs_rewritten;
  }
  LB_RETURN_IF_ERROR(repo.Flush());
  for (auto& p : repo.written_packs()) keep.push_back(std::move(p));

  Say(on_progress, "re-encrypting snapshots");
  LB_ASSIGN_OR_RETURN(auto snaps, snapshot::ListSnapshots(repo));  // oldest first: parents before children
  std::unordered_map<Id, Id, IdHash> renamed;
  for (auto& e : snaps) {
    LB_ASSIGN_OR_RETURN(Bytes raw, repo.backend().Load({FileKind::kSnapshot, e.id.Hex()}));
    ByteReader r(raw);
    LB_ASSIGN_OR_RETURN(uint32_t version, r.U32());
    auto parent = renamed.find(e.snapshot.parent);
    if (version == current && parent == renamed.end()) continue;
    if (parent != renamed.end()) e.snapshot.parent = parent->second;
    LB_ASSIGN_OR_RETURN(Id fresh, repo.SaveSnapshotFile(snapshot::EncodeSnapshot(e.snapshot)));
    renamed[e.id] = fresh;
    ++st.snapshots_rewritten;
  }

  Say(on_progress, "writing the new index");
  LB_ASSIGN_OR_RETURN(auto counts, ReplaceIndex(repo, keep));
  st.index_files_written = counts.written;
  st.index_files_removed = counts.removed;
  for (const auto& [from, to] : renamed) {
    Status s = repo.backend().Remove({FileKind::kSnapshot, from.Hex()});
    if (!s.ok() && s.code() != Code::kNotFound) return s.WithContext("remove snapshot " + from.Short());
  }
  std::unordered_set<Id, IdHash> kept;
  for (const auto& p : keep) kept.insert(p.id);
  for (const auto& [id, size] : present) {
    if (kept.count(id)) continue;
    Status s = repo.backend().Remove({FileKind::kData, id.Hex()});
    if (!s.ok() && s.code() != Code::kNotFound) return s.WithContext("remove pack " + id.Short());
    ++st.packs_removed;
  }
  return st;
}

Result<RepairIndexStats> RepairIndex(repo::Repository& repo,
                                     const std::function<void(const std::string&)>& on_progress) {
  RepairIndexStats st;
  Say(on_progress, "listing packs");
  LB_ASSIGN_OR_RETURN(auto present, repo.ListPacks());
  std::unordered_map<Id, repo::PackInfo, IdHash> known;
  repo.index().ForEachPack([&](const repo::PackInfo& p) { known.emplace(p.id, p); });
  std::vector<repo::PackInfo> packs;
  for (const auto& [id, size] : present) {
    auto it = known.find(id);
    if (it != known.end() && it->second.size == size) {
      packs.push_back(it->second);
      continue;
    }
    ++st.packs_read;
    auto bytes = repo.backend().Load({FileKind::kData, id.Hex()});
    auto info = bytes.ok() ? repo::ReadPackHeader(repo.keys(), id, *bytes) : Result<repo::PackInfo>(bytes.status());
    if (!info.ok()) {
      st.damaged_packs.push_back(id.Hex());
      continue;
    }
    packs.push_back(std::move(info).value());
  }
  for (const auto& p : packs) st.blobs += p.blobs.size();
  st.packs = packs.size();
  Say(on_progress, "writing the new index");
  LB_RETURN_IF_ERROR(ReplaceIndex(repo, packs).status());
  return st;
}

namespace {

class SnapshotRepairer {
 public:
  SnapshotRepairer(repo::Repository& repo, bool dry_run) : repo_(repo), dry_run_(dry_run) {}

  // Returns the repaired tree id (the same id when nothing was lost), or nullopt
  // when the tree itself is lost.
  Result<std::optional<Id>> Repair(const Id& tree_id, const std::string& path,
                                   std::vector<std::string>& dropped) {
    auto memo = memo_.find(tree_id);
    if (memo != memo_.end() && memo->second.drops.empty()) return std::optional<Id>(memo->second.id);
    if (!repo_.index().Has(tree_id)) return std::optional<Id>();
    auto t = snapshot::LoadTree(repo_, tree_id);
    if (!t.ok()) return std::optional<Id>();
    Tree out;
    bool changed = false;
    for (Node n : t->nodes) {
      const std::string p = path == "/" ? "/" + n.name : path + "/" + n.name;
      if (n.meta.type == fs::FileType::kDirectory) {
        LB_ASSIGN_OR_RETURN(std::optional<Id> sub, Repair(n.subtree, p, dropped));
        if (!sub) {
          dropped.push_back(p + "/: directory listing lost, restored empty");
          LB_ASSIGN_OR_RETURN(sub, Save(Tree{}));
        }
        changed |= *sub != n.subtree;
        n.subtree = *sub;
      } else if (std::any_of(n.content.begin(), n.content.end(),
                             [&](const Id& id) { return !repo_.index().Has(id); })) {
        dropped.push_back(p + ": data lost, file dropped");
        changed = true;
        continue;
      }
      out.nodes.push_back(std::move(n));
    }
    Id id = tree_id;
    if (changed) {
      LB_ASSIGN_OR_RETURN(id, Save(out));
    }
    memo_[tree_id] = {id, changed ? std::vector<std::string>{"x"} : std::vector<std::string>{}};
    return std::optional<Id>(id);
  }

 private:
  Result<Id> Save(const Tree& t) {
    if (dry_run_) return repo_.BlobId(snapshot::EncodeTree(t));
    LB_ASSIGN_OR_RETURN(auto r, snapshot::SaveTree(repo_, t));
    return r.first;
  }

  struct Memo {
    Id id;
    std::vector<std::string> drops;  // non-empty: re-walk to report paths per snapshot
  };
  repo::Repository& repo_;
  bool dry_run_;
  std::unordered_map<Id, Memo, IdHash> memo_;
};

}  // namespace

Result<std::vector<RepairedSnapshot>> RepairSnapshots(repo::Repository& repo, bool forget, bool dry_run) {
  // Blobs in lost packs are lost: forget those packs first, and once the fixed
  // snapshots are written, write an index without them.
  LB_ASSIGN_OR_RETURN(auto present, repo.ListPacks());
  const bool lost_packs = !repo.DropMissingPacks(present).empty();
  LB_ASSIGN_OR_RETURN(auto snaps, snapshot::ListSnapshots(repo));
  SnapshotRepairer r(repo, dry_run);
  std::vector<RepairedSnapshot> out;
  std::vector<std::pair<RepairedSnapshot, snapshot::Snapshot>> fixed;
  for (const auto& e : snaps) {
    RepairedSnapshot rs;
    rs.original = e.id;
    LB_ASSIGN_OR_RETURN(std::optional<Id> root, r.Repair(e.snapshot.tree, "/", rs.dropped));
    if (!root) {
      rs.dropped.push_back("/: root tree lost, snapshot restored empty");
      Bytes empty = snapshot::EncodeTree(Tree{});
      Id id = repo.BlobId(empty);
      if (!dry_run) LB_RETURN_IF_ERROR(repo.SaveBlob(repo::BlobKind::kTree, id, empty).status());
      root = id;
    }
    if (rs.dropped.empty()) continue;
    snapshot::Snapshot s = e.snapshot;
    s.tree = *root;
    s.original = e.id;
    if (std::find(s.tags.begin(), s.tags.end(), "repaired") == s.tags.end()) s.tags.push_back("repaired");
    fixed.emplace_back(std::move(rs), std::move(s));
  }
  if (dry_run) {
    for (auto& [rs, s] : fixed) out.push_back(std::move(rs));
    return out;
  }
  LB_RETURN_IF_ERROR(repo.Flush());  // trees before the snapshots that name them
  if (lost_packs) {
    std::vector<repo::PackInfo> packs;
    repo.index().ForEachPack([&](const repo::PackInfo& p) { packs.push_back(p); });
    LB_RETURN_IF_ERROR(ReplaceIndex(repo, packs).status());
  }
  for (auto& [rs, s] : fixed) {
    LB_ASSIGN_OR_RETURN(rs.repaired, repo.SaveSnapshotFile(snapshot::EncodeSnapshot(s)));
    if (forget) {
      Status st = repo.backend().Remove({FileKind::kSnapshot, rs.original.Hex()});
      if (!st.ok() && st.code() != Code::kNotFound) return st.WithContext("remove snapshot");
    }
    out.push_back(std::move(rs));
  }
  return out;
}

}  // namespace lb::pruner
