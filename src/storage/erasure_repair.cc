// ErasureBackend: inspecting shard health and rebuilding lost shards.
#include <algorithm>
#include <map>

#include "storage/erasure_backend.h"

namespace lb::storage {

namespace {

constexpr size_t kMaxErrors = 32;

struct KindListing {
  std::vector<std::map<std::string, uint64_t>> names;  // per member
  std::vector<Status> status;                          // per member
};

KindListing ListAll(const std::vector<std::unique_ptr<Backend>>& members, FileKind kind) {
  KindListing l;
  l.names.resize(members.size());
  l.status.resize(members.size());
  ParallelFor(members.size(), static_cast<unsigned>(members.size()), [&](size_t i) {
    l.status[i] = members[i]->List(kind, [&](const std::string& name, uint64_t size) {
      l.names[i][name] = size;
      return Status::Ok();
    });
  });
  return l;
}

void AddError(std::vector<std::string>& errors, const std::string& e) {
  if (errors.size() < kMaxErrors) errors.push_back(e);
}

}  // namespace

Result<RedundancyReport> ErasureBackend::Inspect(const InspectOptions& o) {
  RedundancyReport rep;
  rep.k = k();
  rep.m = m();
  for (const auto& b : members_) rep.members.push_back({b->Location()});
  std::mutex mu;
  for (FileKind kind : o.kinds) {
    KindListing l = ListAll(members_, kind);
    std::vector<std::string> names;
    for (size_t i = 0; i < l.names.size(); ++i) {
      if (!l.status[i].ok() && rep.members[i].error.empty())
        rep.members[i].error = l.status[i].WithContext(std::string("list ") + FileKindDir(kind)).message();
      for (const auto& [name, size] : l.names[i]) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    ParallelFor(names.size(), o.threads, [&](size_t x) {
      const Handle h{kind, names[x]};
      std::vector<ShardRead> reads(members_.size());
      for (int i = 0; i < n(); ++i) {
        if (!l.status[i].ok()) {
          reads[i].state = ShardState::kUnreachable;
          reads[i].error = l.status[i];
          continue;
        }
        auto it = l.names[i].find(h.name);
        if (it == l.names[i].end()) continue;  // kMissing
        reads[i] = o.verify_payload ? ReadWhole(h, i) : ReadHeader(h, i, it->second);
        reads[i].file.clear();
      }
      const Group g = BestGroup(reads);
      std::lock_guard<std::mutex> lock(mu);
      for (int i = 0; i < n(); ++i) {
        MemberRedundancy& mr = rep.members[i];
        const ShardState s = reads[i].state;
        if (g.has[i]) ++mr.present;
        else if (s == ShardState::kMissing) ++mr.missing;
        else if (s == ShardState::kUnreachable) ++mr.unreachable;
        else ++mr.damaged;  // damaged, or intact but of another version of the file
        if (s == ShardState::kUnreachable && mr.error.empty()) mr.error = reads[i].error.message();
      }
      if (g.count < k()) {
        rep.lost.push_back(h);
        return;
      }
      ++rep.files;
      if (g.count < n()) rep.degraded.push_back(h);
    });
  }
  auto by_key = [](const Handle& a, const Handle& b) { return FileKey(a) < FileKey(b); };
  std::sort(rep.degraded.begin(), rep.degraded.end(), by_key);
  std::sort(rep.lost.begin(), rep.lost.end(), by_key);
  return rep;
}

Status ErasureBackend::RepairFile(const Handle& h, RepairStats& stats) {
  std::vector<int> all(members_.size());
  for (int i = 0; i < n(); ++i) all[i] = i;
  auto reads = ReadMany(h, all, /*whole=*/true);
  const Group g = BestGroup(reads);
  if (g.count < k()) {
    ++stats.files_lost;
    return TooFewShards(h, reads, g);
  }
  if (g.count == n()) return Status::Ok();
  LB_ASSIGN_OR_RETURN(Bytes file, Decode(h, reads, g));
  const ShardPlan plan = PlanShards(codec_, file);
  if (!plan.ref.SameFile(g.ref)) return Internal(FileKey(h) + ": re-encoded file differs from its shards");
  std::vector<Status> st(members_.size());
  ParallelFor(members_.size(), n(), [&](size_t i) {
    if (g.has[i]) return;
    const bool replace = reads[i].state == ShardState::kOk || reads[i].state == ShardState::kDamaged;
    st[i] = StoreShard(h, static_cast<int>(i), ShardFile(plan, static_cast<int>(i)), replace,
                       /*create_layout=*/true);
  });
  Forget(h);
  Status first;
  for (int i = 0; i < n(); ++i) {
    if (g.has[i]) continue;
    if (st[i].ok()) {
      ++stats.shards_written;
      continue;
    }
    ++stats.shards_failed;
    if (first.ok())
      first = st[i].WithContext("repair " + FileKey(h) + ": shard " + std::to_string(i) + " on " +
                                members_[i]->Location());
  }
  if (first.ok()) ++stats.files_repaired;
  return first;
}

Result<RepairStats> ErasureBackend::RepairAll(const InspectOptions& o) {
  RepairStats stats;
  std::vector<Status> created(members_.size());
  ParallelFor(members_.size(), n(), [&](size_t i) { created[i] = members_[i]->Create(); });
  for (int i = 0; i < n(); ++i)
    if (!created[i].ok()) AddError(stats.errors, "member " + members_[i]->Location() + ": " + created[i].message());
  InspectOptions io = o;
  io.verify_payload = true;
  LB_ASSIGN_OR_RETURN(RedundancyReport rep, Inspect(io));
  for (const Handle& h : rep.lost) AddError(stats.errors, FileKey(h) + ": fewer than k intact shards, cannot rebuild");
  stats.files_lost = rep.lost.size();
  std::mutex mu;
  ParallelFor(rep.degraded.size(), o.threads, [&](size_t x) {
    RepairStats one;
    Status st = RepairFile(rep.degraded[x], one);
    std::lock_guard<std::mutex> l(mu);
    stats.files_repaired += one.files_repaired;
    stats.shards_written += one.shards_written;
    stats.shards_failed += one.shards_failed;
    stats.files_lost += one.files_lost;
    if (!st.ok()) AddError(stats.errors, st.message());
  });
  return stats;
}

}  // namespace lb::storage
