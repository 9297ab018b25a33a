#include "checker/checker.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "base/thread_pool.h"
#include "crypto/crypto.h"
#include "fs/path.h"
#include "repo/lock.h"
#include "snapshot/store.h"

namespace lb::checker {

using snapshot::Node;
using snapshot::Tree;

Result<ReadData> ParseReadDataSubset(const std::string& text) {
  ReadData r;
  if (!text.empty() && text.back() == '%') {
    try {
      size_t pos = 0;
      double p = std::stod(text.substr(0, text.size() - 1), &pos);
      if (pos == text.size() - 1 && p > 0 && p <= 100) {
        r.mode = ReadData::kPercent;
        r.percent = p;
        return r;
      }
    } catch (const std::exception&) {
    }
    return InvalidArgument("--read-data-subset: '" + text + "' is not a percentage in (0, 100]");
  }
  unsigned k = 0, n = 0;
  char extra;
  if (std::sscanf(text.c_str(), "%u/%u%c", &k, &n, &extra) == 2 && n >= 1 && k >= 1 && k <= n) {
    r.mode = ReadData::kSlice;
    r.slice = k;
    r.slices = n;
    return r;
  }
  return InvalidArgument("--read-data-subset: want 'P%' or 'K/N' with 1 <= K <= N, not '" + text + "'");
}

namespace {

using fs::JoinPath;

uint32_t SliceOf(const Id& id, uint32_t n) {
  uint32_t v = static_cast<uint32_t>(id.b[0]) << 24 | static_cast<uint32_t>(id.b[1]) << 16 |
               static_cast<uint32_t>(id.b[2]) << 8 | id.b[3];
  return v % n;
}

class Checker {
 public:
  Checker(repo::Repository& repo, const Options& opt) : repo_(repo), opt_(opt) {}

  Result<Report> Run(TimeNs now) {
    for (const auto& [name, st] : repo_.damaged_index_files())
      AddError("index", name, "index file is damaged: " + st.message());
    LB_RETURN_IF_ERROR(CheckPacks());
    CheckLocks(now);
    LB_RETURN_IF_ERROR(CheckSnapshots());
    for (auto& e : snapshots_) WalkTree(e.snapshot.tree, "/");
    if (opt_.read_data.mode != ReadData::kNone) ReadPacks();
    Attribute();
    return std::move(report_);
  }

 private:
  void AddError(const std::string& kind, const std::string& id, const std::string& msg) {
    report_.errors.push_back({kind, id, msg, {}});
  }

  Status CheckPacks() {
    Progress("listing packs");
    LB_ASSIGN_OR_RETURN(present_, repo_.ListPacks());
    std::unordered_set<Id, IdHash> indexed;
    repo_.index().ForEachPack([&](const repo::PackInfo& p) {
      indexed.insert(p.id);
      packs_.push_back(p.id);
      auto it = present_.find(p.id);
      if (it == present_.end()) {
        MarkPackBad(p, "pack is missing");
      } else if (it->second != p.size) {
        MarkPackBad(p, "pack has " + std::to_string(it->second) + " bytes, the index says " +
                           std::to_string(p.size));
      }
    });
    report_.packs = packs_.size();
    MarkLostBlobs();
    for (const auto& [id, size] : present_)
      if (!indexed.count(id))
        report_.warnings.push_back("pack " + id.Hex() +
                                   " is not in any index (left by an interrupted run; prune removes it)");
    return Status::Ok();
  }

  void MarkPackBad(const repo::PackInfo& p, const std::string& why) {
    pack_errors_[p.id] = report_.errors.size();
    AddError("pack", p.id.Hex(), why);
    bad_packs_.push_back(p);
  }

  // A blob of a missing or truncated pack is lost only when no copy of it is in
  // a pack that is fine (a later backup may have stored it again).
  void MarkLostBlobs() {
    for (const auto& p : bad_packs_)
      for (const auto& b : p.blobs) {
        bool copy = false;
        for (const auto& loc : repo_.index().FindAll(b.id))
          if (!pack_errors_.count(loc.pack->id)) copy = true;
        if (!copy) damaged_[b.id] = p.id;
      }
  }

  void CheckLocks(TimeNs now) {
    auto locks = repo::ListLocks(repo_);
    if (!locks.ok()) return;
    for (const auto& [name, l] : *locks)
      if (repo::IsStale(l, now))
        report_.warnings.push_back("stale lock " + name.substr(0, 8) + " of pid " +
                                   std::to_string(l.pid) + " on " + l.host + " ('lifeboat unlock' removes it)");
  }

  Status CheckSnapshots() {
    LB_ASSIGN_OR_RETURN(std::vector<Id> ids, repo_.ListSnapshotIds());
    report_.snapshots = ids.size();
    for (const Id& id : ids) {
      auto raw = repo_.LoadSnapshotFile(id);
      if (!raw.ok()) {
        AddError("snapshot", id.Hex(), raw.status().message());
        continue;
      }
      auto s = snapshot::DecodeSnapshot(*raw);
      if (!s.ok()) {
        AddError("snapshot", id.Hex(), s.status().message());
        continue;
      }
      snapshots_.push_back({id, std::move(s).value()});
    }
    return Status::Ok();
  }

  // Structure walk: each tree once.
  void WalkTree(const Id& tree_id, const std::string& path) {
    if (!visited_.insert(tree_id).second) return;
    if (!repo_.index().Has(tree_id)) {
      damaged_.emplace(tree_id, Id{});
      AddError("tree", tree_id.Hex(), "tree of " + path + " is not in the index");
      return;
    }
    auto t = snapshot::LoadTree(repo_, tree_id);
    ++report_.trees;
    if (!t.ok()) {
      if (!damaged_.count(tree_id)) {
        damaged_.emplace(tree_id, Id{});
        AddError("tree", tree_id.Hex(), "tree of " + path + " cannot be loaded: " + t.status().message());
      }
      return;
    }
    for (const Node& n : t->nodes) {
      const std::string p = JoinPath(path, n.name);
      if (n.meta.type == fs::FileType::kDirectory) {
        WalkTree(n.subtree, p);
        continue;
      }
      for (const Id& id : n.content) {
        if (repo_.index().Has(id) || damaged_.count(id)) continue;
        damaged_.emplace(id, Id{});
        AddError("blob", id.Hex(), "data blob of " + p + " is not in the index");
      }
    }
  }

  void ReadPacks() {
    std::vector<Id> chosen;
    const ReadData& rd = opt_.read_data;
    for (const Id& id : packs_) {
      if (rd.mode == ReadData::kSlice && SliceOf(id, rd.slices) != rd.slice - 1) continue;
      chosen.push_back(id);
    }
    if (rd.mode == ReadData::kPercent) {
      std::shuffle(chosen.begin(), chosen.end(), std::mt19937_64(std::random_device{}()));
      size_t n = static_cast<size_t>(static_cast<double>(chosen.size()) * rd.percent / 100.0 + 0.999999);
      chosen.resize(std::min(n, chosen.size()));
    }
    ThreadPool pool(opt_.threads ? opt_.threads : ThreadPool::DefaultThreads());
    std::mutex mu;
    for (const Id& id : chosen) {
      if (pack_errors_.count(id)) continue;  // missing or wrong size: already reported
      pool.Submit([this, id, &mu] { ReadPack(id, mu); });
    }
    pool.Wait();
  }

  void ReadPack(const Id& id, std::mutex& mu) {
    auto loc_pack = FindPack(id);
    if (!loc_pack) return;
    const repo::PackInfo& info = *loc_pack;
    auto load = [&]() { return repo_.backend().Load({storage::FileKind::kData, id.Hex()}); };
    auto bytes = load();
    bool hash_ok = bytes.ok() && crypto::Sha256(*bytes) == id;
    if (!hash_ok) bytes = load();  // a transient bad read must not count as damage
    hash_ok = bytes.ok() && crypto::Sha256(*bytes) == id;
    std::vector<std::string> problems;
    std::vector<Id> bad_blobs;
    if (!bytes.ok()) {
      problems.push_back("cannot be read: " + bytes.status().message());
      for (const auto& b : info.blobs) bad_blobs.push_back(b.id);
    } else {
      if (!hash_ok) problems.push_back("content does not match its name (SHA-256)");
      auto header = repo::ReadPackHeader(repo_.keys(), id, *bytes);
      if (!header.ok()) problems.push_back("header: " + header.status().message());
      uint64_t blobs_read = 0;
      for (const auto& b : info.blobs) {
        ++blobs_read;
        if (uint64_t{b.offset} + b.length > bytes->size()) {
          bad_blobs.push_back(b.id);
          continue;
        }
        auto plain = repo_.OpenBlobView(info, b, ByteSpan(bytes->data() + b.offset, b.length));
        if (!plain.ok()) bad_blobs.push_back(b.id);
      }
      std::lock_guard<std::mutex> l(mu);
      report_.blobs_read += blobs_read;
    }
    std::lock_guard<std::mutex> l(mu);
    ++report_.packs_read;
    if (!bad_blobs.empty())
      problems.push_back(std::to_string(bad_blobs.size()) + " of " + std::to_string(info.blobs.size()) +
                         " blobs are damaged");
    if (problems.empty()) return;
    std::string msg;
    for (const auto& p : problems) msg += (msg.empty() ? "" : "; ") + p;
    pack_errors_[id] = report_.errors.size();
    AddError("pack", id.Hex(), msg);
    for (const Id& b : bad_blobs) damaged_[b] = id;
  }

  std::optional<repo::PackInfo> FindPack(const Id& id) {
    std::optional<repo::PackInfo> out;
    repo_.index().ForEachPack([&](const repo::PackInfo& p) {
      if (p.id == id) out = p;
    });
    return out;
  }

  // Names the snapshots and paths that depend on damaged objects.
  void Attribute() {
    if (damaged_.empty()) return;
    std::unordered_map<Id, bool, IdHash> memo;  // tree -> contains damage
    for (const auto& e : snapshots_) {
      std::vector<std::pair<std::string, Id>> hits;  // path, damaged object
      Collect(e.snapshot.tree, "/", memo, hits);
      for (const auto& [path, obj] : hits) AttachTo(obj, e.id, path);
    }
  }

  bool Collect(const Id& tree_id, const std::string& path, std::unordered_map<Id, bool, IdHash>& memo,
               std::vector<std::pair<std::string, Id>>& hits) {
    auto m = memo.find(tree_id);
    if (m != memo.end() && !m->second) return false;
    if (damaged_.count(tree_id)) {
      hits.emplace_back(path, tree_id);
      return memo[tree_id] = true;
    }
    auto t = snapshot::LoadTree(repo_, tree_id);
    if (!t.ok()) return memo[tree_id] = false;
    bool any = false;
    for (const Node& n : t->nodes) {
      const std::string p = JoinPath(path, n.name);
      if (n.meta.type == fs::FileType::kDirectory) {
        any |= Collect(n.subtree, p, memo, hits);
        continue;
      }
      for (const Id& id : n.content) {
        if (!damaged_.count(id)) continue;
        hits.emplace_back(p, id);
        any = true;
        break;
      }
    }
    return memo[tree_id] = any;
  }

  void AttachTo(const Id& object, const Id& snap, const std::string& path) {
    auto it = damaged_.find(object);
    const Id pack = it == damaged_.end() ? Id{} : it->second;
    for (auto& e : report_.errors) {
      if ((!pack.IsZero() && e.kind == "pack" && e.id == pack.Hex()) ||
          ((e.kind == "tree" || e.kind == "blob") && e.id == object.Hex())) {
        if (e.affects.size() < 1000) e.affects.push_back({snap, path});
        return;
      }
    }
  }

  void Progress(const std::string& what) {
    if (opt_.on_progress) opt_.on_progress(what);
  }

  repo::Repository& repo_;
  const Options& opt_;
  Report report_;
  std::unordered_map<Id, uint64_t, IdHash> present_;
  std::vector<Id> packs_;
  std::vector<snapshot::Entry> snapshots_;
  std::unordered_set<Id, IdHash> visited_;
  std::unordered_map<Id, Id, IdHash> damaged_;  // damaged/missing blob -> its pack (zero if none)
  std::unordered_map<Id, size_t, IdHash> pack_errors_;
  std::vector<repo::PackInfo> bad_packs_;
};

}  // namespace

Result<Report> Check(repo::Repository& repo, const Options& options, TimeNs now) {
  Checker c(repo, options);
  return c.Run(now);
}

}  // namespace lb::checker
