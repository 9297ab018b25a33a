#include "snapshot/store.h"

#include <algorithm>

namespace lb::snapshot {

Result<Tree> LoadTree(repo::Repository& repo, const Id& id) {
  LB_ASSIGN_OR_RETURN_CTX(Bytes raw, repo.LoadBlob(id), "load tree " + id.Short());
  LB_ASSIGN_OR_RETURN_CTX(Tree t, DecodeTree(raw), "tree " + id.Short());
  return t;
}

Result<std::pair<Id, bool>> SaveTree(repo::Repository& repo, const Tree& tree) {
  Bytes raw = EncodeTree(tree);
  Id id = repo.BlobId(raw);
  LB_ASSIGN_OR_RETURN(repo::SaveResult r, repo.SaveBlob(repo::BlobKind::kTree, id, raw));
  return std::make_pair(id, r.added);
}

Result<std::vector<Entry>> ListSnapshots(repo::Repository& repo) {
  LB_ASSIGN_OR_RETURN(std::vector<Id> ids, repo.ListSnapshotIds());
  std::vector<Entry> out;
  out.reserve(ids.size());
  for (const Id& id : ids) {
    LB_ASSIGN_OR_RETURN(Bytes raw, repo.LoadSnapshotFile(id));
    LB_ASSIGN_OR_RETURN_CTX(Snapshot s, DecodeSnapshot(raw), "snapshot " + id.Short());
    out.push_back({id, std::move(s)});
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.snapshot.time != b.snapshot.time ? a.snapshot.time < b.snapshot.time : a.id < b.id;
  });
  return out;
}

Result<Entry> FindSnapshot(repo::Repository& repo, const std::string& ref) {
  if (ref == "latest") {
    LB_ASSIGN_OR_RETURN(auto all, ListSnapshots(repo));
    if (all.empty()) return NotFound("the repository has no snapshots");
    return all.back();
  }
  if (ref.size() < 4 || ref.size() > 64 ||
      ref.find_first_not_of("0123456789abcdef") != std::string::npos)
    return InvalidArgument("'" + ref + "' is not a snapshot id, id prefix (4+ hex digits) or 'latest'");
  LB_ASSIGN_OR_RETURN(std::vector<Id> ids, repo.ListSnapshotIds());
  std::optional<Id> found;
  for (const Id& id : ids) {
    if (id.Hex().compare(0, ref.size(), ref) != 0) continue;
    if (found) return InvalidArgument("snapshot prefix '" + ref + "' is ambiguous");
    found = id;
  }
  if (!found) return NotFound("no snapshot matches '" + ref + "'");
  LB_ASSIGN_OR_RETURN(Bytes raw, repo.LoadSnapshotFile(*found));
  LB_ASSIGN_OR_RETURN_CTX(Snapshot s, DecodeSnapshot(raw), "snapshot " + found->Short());
  return Entry{*found, std::move(s)};
}

Result<Entry> FindSnapshotAt(repo::Repository& repo, TimeNs at) {
  LB_ASSIGN_OR_RETURN(auto all, ListSnapshots(repo));
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->snapshot.time <= at) return *it;
  return NotFound("no snapshot at or before " + FormatTimeLocal(at));
}

Result<Node> FindNode(repo::Repository& repo, const Snapshot& snap, const std::string& path) {
  Node cur;
  cur.name = "/";
  cur.meta.type = fs::FileType::kDirectory;
  cur.subtree = snap.tree;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) {
      std::string comp = path.substr(i, j - i);
      if (cur.meta.type != fs::FileType::kDirectory) return NotFound(path + ": not a directory");
      LB_ASSIGN_OR_RETURN(Tree t, LoadTree(repo, cur.subtree));
      auto it = std::lower_bound(t.nodes.begin(), t.nodes.end(), comp,
                                 [](const Node& n, const std::string& c) { return n.name < c; });
      if (it == t.nodes.end() || it->name != comp) return NotFound(path + ": not in snapshot");
      cur = *it;
    }
    i = j + 1;
  }
  return cur;
}

}  // namespace lb::snapshot
