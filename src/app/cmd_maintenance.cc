// lifeboat check, prune, repair index|snapshots, unlock.
#include <cstdio>
#include <optional>
#include <iostream>

#include "app/backends.h"
#include "app/commands.h"
#include "checker/checker.h"
#include "storage/erasure_backend.h"
#include "pruner/pruner.h"
#include "repo/lock.h"

namespace lb::app {

namespace {

// Shard health of an ec: repository: one JSON object, or text lines per member.
nlohmann::json ErasureJson(const storage::RedundancyReport& e) {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : e.members)
    members.push_back({{"location", SafeString(m.location)}, {"present", m.present}, {"missing", m.missing},
                       {"damaged", m.damaged}, {"unreachable", m.unreachable},
                       {"redundancy_lost", m.missing + m.damaged + m.unreachable > 0},
                       {"error", SafeString(m.error)}});
  nlohmann::json degraded = nlohmann::json::array(), lost = nlohmann::json::array();
  for (const auto& h : e.degraded) degraded.push_back(storage::FileKey(h));
  for (const auto& h : e.lost) lost.push_back(storage::FileKey(h));
  return {{"k", e.k}, {"m", e.m}, {"files", e.files}, {"whole", e.whole()}, {"members", members},
          {"degraded", degraded}, {"lost", lost}};
}

void PrintErasure(const storage::RedundancyReport& e) {
  std::printf("erasure coding %d+%d: %llu files, %zu with lost redundancy, %zu lost\n", e.k, e.m,
              (unsigned long long)e.files, e.degraded.size(), e.lost.size());
  for (size_t i = 0; i < e.members.size(); ++i) {
    const auto& m = e.members[i];
    const bool lost = m.missing + m.damaged + m.unreachable > 0;
    std::printf("  member %zu %s: %llu present, %llu missing, %llu damaged, %llu unreachable%s\n", i,
                m.location.c_str(), (unsigned long long)m.present, (unsigned long long)m.missing,
                (unsigned long long)m.damaged, (unsigned long long)m.unreachable, lost ? ": redundancy lost" : "");
    if (!m.error.empty()) std::printf("    %s\n", m.error.c_str());
  }
  for (const auto& h : e.lost)
    std::printf("error: %s has fewer than %d intact shards and cannot be read\n", storage::FileKey(h).c_str(), e.k);
}

// Inspects an ec: repository's shards; nullopt for other repositories.
std::optional<storage::RedundancyReport> InspectShards(const Globals& g, bool verify_payload) {
  if (!IsErasureLocation(g.repo)) return std::nullopt;
  auto ec = OpenErasureBackendConcrete(g.repo);
  if (!ec.ok()) Fail(ec.status());
  storage::InspectOptions o;
  o.verify_payload = verify_payload;
  if (g.threads) o.threads = g.threads;
  auto rep = (*ec)->Inspect(o);
  if (!rep.ok()) Fail(rep.status().WithContext("check shards"));
  return std::move(rep).value();
}

void RunRepairShards(Globals& g) {
  const std::string location = RepoPath(g);
  if (!IsErasureLocation(location))
    throw Failure{kExitUsage, "repair shards: repository " + location + " is not erasure-coded (ec:K+M:...)"};
  Session s = OpenLocked(g, false, "repair shards");
  auto ec = OpenErasureBackendConcrete(location);
  if (!ec.ok()) Fail(ec.status());
  storage::InspectOptions o;
  if (g.threads) o.threads = g.threads;
  auto stats = (*ec)->RepairAll(o);
  if (!stats.ok()) Fail(stats.status().WithContext("repair shards"));
  if (stats->shards_written > 0)
    AuditLog(*s.repo, "repair shards",
             {"shards:" + std::to_string(stats->shards_written) + " of " + std::to_string(stats->files_repaired) +
              " files"});
  auto after = (*ec)->Inspect(o);
  if (!after.ok()) Fail(after.status().WithContext("repair shards"));
  if (g.json) {
    std::cout << DumpJson({{"message_type", "repair-shards"}, {"files_repaired", stats->files_repaired},
                           {"shards_written", stats->shards_written}, {"shards_failed", stats->shards_failed},
                           {"files_lost", stats->files_lost}, {"errors", stats->errors},
                           {"erasure", ErasureJson(*after)}})
              << "\n";
  } else if (!g.quiet) {
    for (const auto& e : stats->errors) std::fprintf(stderr, "repair shards: %s\n", e.c_str());
    std::printf("rebuilt %llu shards of %llu files; %llu shards could not be written, %llu files lost\n",
                (unsigned long long)stats->shards_written, (unsigned long long)stats->files_repaired,
                (unsigned long long)stats->shards_failed, (unsigned long long)stats->files_lost);
    if (after->whole()) std::printf("all %llu files are whole\n", (unsigned long long)after->files);
  }
  if (!after->whole())
    throw Failure{kExitFatal, "repair shards: " + std::to_string(after->degraded.size() + after->lost.size()) +
                                  " files still lack shards (see 'lifeboat check')"};
}

void PrintCheck(const checker::Report& r, bool json, const storage::RedundancyReport* ec) {
  if (json) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : r.errors) {
      nlohmann::json affects = nlohmann::json::array();
      for (const auto& a : e.affects)
        affects.push_back({{"snapshot", a.snapshot.Hex()}, {"path", SafeString(a.path)}});
      errors.push_back({{"kind", e.kind}, {"id", e.id}, {"message", e.message}, {"affects", affects}});
    }
    nlohmann::json out = {{"message_type", "check"}, {"ok", r.ok() && (!ec || ec->whole())},
                          {"errors", errors}, {"warnings", r.warnings}, {"snapshots", r.snapshots},
                          {"trees", r.trees}, {"packs", r.packs}, {"packs_read", r.packs_read},
                          {"blobs_read", r.blobs_read}};
    if (ec) out["erasure"] = ErasureJson(*ec);
    std::cout << DumpJson(out) << "\n";
    return;
  }
  if (ec) PrintErasure(*ec);
  for (const auto& w : r.warnings) std::printf("warning: %s\n", w.c_str());
  for (const auto& e : r.errors) {
    std::printf("error: %s %s: %s\n", e.kind.c_str(), e.id.c_str(), e.message.c_str());
    for (const auto& a : e.affects)
      std::printf("  affects snapshot %s %s\n", a.snapshot.Short().c_str(), a.path.c_str());
  }
  std::printf("checked %llu snapshots, %llu trees, %llu packs", (unsigned long long)r.snapshots,
              (unsigned long long)r.trees, (unsigned long long)r.packs);
  if (r.packs_read) std::printf(" (read %llu packs, %llu blobs)", (unsigned long long)r.packs_read,
                                (unsigned long long)r.blobs_read);
  std::printf("\n%s\n", r.ok() ? "no errors were found" : (std::to_string(r.errors.size()) + " errors found").c_str());
}

}  // namespace

double ParsePercent(const std::string& s) {
  std::string t = s;
  if (!t.empty() && t.back() == '%') t.pop_back();
  try {
    size_t pos = 0;
    double v = std::stod(t, &pos);
    if (pos == t.size() && v >= 0 && v <= 100) return v;
  } catch (const std::exception&) {
  }
  FailUsage("--max-unused wants a percentage like 5%, not '" + s + "'");
}

void RegisterCheck(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("check", "verify the repository's structure (and with --read-data every byte)");
  cmd->footer(
      "On an erasure-coded repository (ec:K+M:...) check also reports, per member, the shards that are\n"
      "present, missing, damaged or unreachable (shard headers; with --read-data every shard's SHA-256).\n"
      "Exit 1 when errors are found or any redundancy is lost; 'lifeboat repair shards' rebuilds it.");
  auto read_all = std::make_shared<bool>(false);
  auto subset = std::make_shared<std::string>();
  cmd->add_flag("--read-data", *read_all, "read every pack and re-hash every blob");
  cmd->add_option("--read-data-subset", *subset, "read a subset: 'P%' random packs or slice 'K/N'");
  cmd->callback([&g, read_all, subset] {
    checker::Options o;
    o.threads = g.threads;
    if (*read_all && !subset->empty()) FailUsage("--read-data and --read-data-subset exclude each other");
    if (*read_all) o.read_data.mode = checker::ReadData::kAll;
    if (!subset->empty()) {
      auto rd = checker::ParseReadDataSubset(*subset);
      if (!rd.ok()) FailUsage(rd.status().message());
      o.read_data = *rd;
    }
    repo::OpenOptions oo;
    oo.tolerate_damaged_index = true;
    Session s = OpenLocked(g, false, "check", oo);
    auto r = checker::Check(*s.repo, o, TheClock().Now());
    if (!r.ok()) Fail(r.status().WithContext("check"));
    const auto ec = InspectShards(g, o.read_data.mode == checker::ReadData::kAll);
    const bool whole = !ec || ec->whole();
    if (!g.quiet || !r->ok() || !whole) PrintCheck(*r, g.json, ec ? &*ec : nullptr);
    if (!r->ok()) throw Failure{kExitFatal, std::to_string(r->errors.size()) + " errors found"};
    if (!whole)
      throw Failure{kExitFatal, "redundancy lost: " + std::to_string(ec->degraded.size() + ec->lost.size()) +
                                    " files lack shards; run 'lifeboat repair shards'"};
  });
}

void RegisterPrune(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("prune", "remove data no snapshot needs and repack partly used packs");
  auto max_unused = std::make_shared<std::string>("5%");
  auto dry = std::make_shared<bool>(false);
  cmd->add_option("--max-unused", *max_unused, "unused space to tolerate, percent of used (default 5%)");
  cmd->add_flag("-n,--dry-run", *dry, "show what would be removed; change nothing");
  cmd->callback([&g, max_unused, dry] { RunPrune(g, ParsePercent(*max_unused), *dry, nullptr); });
}

void RunPrune(Globals& g, double max_unused, bool dry_run, Session* existing) {
  Session local;
  if (!existing) local = OpenLocked(g, true, "prune");
  Session& s = existing ? *existing : local;
  pruner::PruneOptions o;
  o.max_unused = max_unused;
  o.dry_run = dry_run;
  o.may_delete = [&] { return s.lock->healthy(); };
  if (!g.quiet && !g.json) o.on_progress = [](const std::string& m) { std::fprintf(stderr, "prune: %s\n", m.c_str()); };
  auto r = pruner::Prune(*s.repo, o);
  if (!r.ok()) {
    if (!dry_run && !s.repo->written_packs().empty()) AuditLog(*s.repo, "prune (failed)", WrittenPacks(*s.repo));
    Fail(r.status().WithContext("prune"));
  }
  if (!dry_run && (!r->removed_packs.empty() || r->index_files_written > 0)) {
    std::vector<std::string> removed, added = WrittenPacks(*s.repo);
    for (const auto& id : r->removed_packs) removed.push_back("pack:" + id.Hex());
    added.push_back("index:" + std::to_string(r->index_files_written) + " files");
    AuditLog(*s.repo, "prune", std::move(added), std::move(removed));
  }
  if (g.json) {
    std::cout << DumpJson({{"message_type", "prune"}, {"dry_run", dry_run},
                           {"packs_total", r->packs_total}, {"packs_deleted", r->packs_deleted},
                           {"packs_repacked", r->packs_repacked}, {"packs_unindexed", r->packs_unindexed},
                           {"blobs_used", r->blobs_used}, {"blobs_unused", r->blobs_unused},
                           {"blobs_repacked", r->blobs_repacked}, {"bytes_used", r->bytes_used},
                           {"bytes_unused", r->bytes_unused}, {"bytes_freed", r->bytes_freed},
                           {"index_files_written", r->index_files_written},
                           {"files_retained", r->files_retained}, {"packs_retained", r->packs_retained}})
              << "\n";
  } else if (!g.quiet) {
    std::printf("%s %llu unused packs, %llu unindexed packs, repack %llu packs (%llu blobs): %s %s\n",
                dry_run ? "would delete" : "deleted", (unsigned long long)r->packs_deleted,
                (unsigned long long)r->packs_unindexed, (unsigned long long)r->packs_repacked,
                (unsigned long long)r->blobs_repacked, dry_run ? "would free" : "freed",
                HumanBytes(r->bytes_freed).c_str());
  }
  if (r->files_retained > 0 && !g.json)
    std::fprintf(stderr,
                 "prune: %llu files (%llu of the packs above) are still under Object Lock and were kept (%s); "
                 "a later prune removes them\n",
                 (unsigned long long)r->files_retained, (unsigned long long)r->packs_retained,
                 r->retained_example.c_str());
}

void RegisterRepair(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("repair", "rebuild the index, fix snapshots that reference lost data, or rebuild ec: shards");
  cmd->require_subcommand(1);
  cmd->add_subcommand("index", "rebuild the index from the pack files")->callback([&g] {
    repo::OpenOptions oo;
    oo.tolerate_damaged_index = true;
    Session s = OpenLocked(g, true, "repair index", oo);
    auto r = pruner::RepairIndex(*s.repo, [&](const std::string& m) {
      if (!g.quiet && !g.json) std::fprintf(stderr, "repair index: %s\n", m.c_str());
    });
    if (!r.ok()) Fail(r.status().WithContext("repair index"));
    AuditLog(*s.repo, "repair index", {"index"}, {});
    if (g.json) {
      std::cout << DumpJson({{"message_type", "repair-index"}, {"packs", r->packs}, {"blobs", r->blobs},
                             {"packs_read", r->packs_read}, {"damaged_packs", r->damaged_packs}})
                << "\n";
    } else if (!g.quiet) {
      for (const auto& d : r->damaged_packs) std::printf("damaged pack %s left out of the index\n", d.c_str());
      std::printf("indexed %llu packs with %llu blobs (%llu packs read)\n", (unsigned long long)r->packs,
                  (unsigned long long)r->blobs, (unsigned long long)r->packs_read);
    }
  });
  auto* snaps = cmd->add_subcommand("snapshots", "write fixed copies of snapshots that reference lost data");
  auto forget = std::make_shared<bool>(false), dry = std::make_shared<bool>(false);
  snaps->add_flag("--forget", *forget, "remove the original (damaged) snapshots");
  snaps->add_flag("-n,--dry-run", *dry, "show what would be dropped");
  snaps->callback([&g, forget, dry] {
    Session s = OpenLocked(g, true, "repair snapshots");
    auto r = pruner::RepairSnapshots(*s.repo, *forget, *dry);
    if (!r.ok()) Fail(r.status().WithContext("repair snapshots"));
    if (!*dry && !r->empty()) {
      std::vector<std::string> added, removed;
      for (const auto& x : *r) {
        added.push_back("snapshot:" + x.repaired.Hex());
        if (*forget) removed.push_back("snapshot:" + x.original.Hex());
      }
      AuditLog(*s.repo, *forget ? "repair snapshots --forget" : "repair snapshots", added, removed);
    }
    if (g.json) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& x : *r) {
        nlohmann::json dropped = nlohmann::json::array();
        for (const auto& d : x.dropped) dropped.push_back(SafeString(d));
        a.push_back({{"original", x.original.Hex()},
                     {"repaired", x.repaired.IsZero() ? nlohmann::json(nullptr) : nlohmann::json(x.repaired.Hex())},
                     {"dropped", dropped}});
      }
      std::cout << DumpJson({{"message_type", "repair-snapshots"}, {"dry_run", *dry}, {"snapshots", a}}) << "\n";
      return;
    }
    for (const auto& x : *r) {
      if (*dry)
        std::printf("snapshot %s would be repaired:\n", x.original.Short().c_str());
      else
        std::printf("snapshot %s repaired as %s%s:\n", x.original.Short().c_str(), x.repaired.Short().c_str(),
                    *forget ? " (original removed)" : "");
      for (const auto& d : x.dropped) std::printf("  %s\n", d.c_str());
    }
    if (r->empty()) std::printf("no snapshot references lost data\n");
  });
  cmd->add_subcommand("shards", "rebuild missing or damaged shards of an erasure-coded (ec:) repository")
      ->footer("Reads every shard, rebuilds what a member lacks from k intact ones and stores it there\n"
               "(a replaced member may be an empty folder). Exit 0 when every file is whole afterwards,\n"
               "1 when some shards could not be rebuilt, 2 when the repository is not erasure-coded.")
      ->callback([&g] { RunRepairShards(g); });
}

void RegisterUnlock(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("unlock", "remove stale locks");
  auto all = std::make_shared<bool>(false);
  cmd->add_flag("--remove-all", *all, "remove every lock, also ones that look alive");
  cmd->callback([&g, all] {
    auto repo = OpenRepo(g);
    auto locks = repo::ListLocks(*repo);
    if (!locks.ok()) Fail(locks.status());
    int removed = 0;
    for (const auto& [name, l] : *locks) {
      if (!*all && !repo::IsStale(l, TheClock().Now())) continue;
      if (repo->backend().Remove({storage::FileKind::kLock, name}).ok()) ++removed;
    }
    if (!g.quiet) std::printf("removed %d locks\n", removed);
  });
}

}  // namespace lb::app
