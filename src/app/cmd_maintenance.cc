// lifeboat check, prune, repair index|snapshots, unlock.
#include <cstdio>
#include <iostream>

#include "app/commands.h"
#include "checker/checker.h"
#include "pruner/pruner.h"
#include "repo/lock.h"

namespace lb::app {

namespace {

void PrintCheck(const checker::Report& r, bool json) {
  if (json) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : r.errors) {
      nlohmann::json affects = nlohmann::json::array();
      for (const auto& a : e.affects)
        affects.push_back({{"snapshot", a.snapshot.Hex()}, {"path", SafeString(a.path)}});
      errors.push_back({{"kind", e.kind}, {"id", e.id}, {"message", e.message}, {"affects", affects}});
    }
    std::cout << DumpJson({{"message_type", "check"}, {"ok", r.ok()}, {"errors", errors},
                           {"warnings", r.warnings}, {"snapshots", r.snapshots},
                           {"trees", r.trees}, {"packs", r.packs}, {"packs_read", r.packs_read},
                           {"blobs_read", r.blobs_read}})
              << "\n";
    return;
  }
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
    if (!g.quiet || !r->ok()) PrintCheck(*r, g.json);
    if (!r->ok()) throw Failure{kExitFatal, std::to_string(r->errors.size()) + " errors found"};
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
  if (!r.ok()) Fail(r.status().WithContext("prune"));
  if (g.json) {
    std::cout << DumpJson({{"message_type", "prune"}, {"dry_run", dry_run},
                           {"packs_total", r->packs_total}, {"packs_deleted", r->packs_deleted},
                           {"packs_repacked", r->packs_repacked}, {"packs_unindexed", r->packs_unindexed},
                           {"blobs_used", r->blobs_used}, {"blobs_unused", r->blobs_unused},
                           {"blobs_repacked", r->blobs_repacked}, {"bytes_used", r->bytes_used},
                           {"bytes_unused", r->bytes_unused}, {"bytes_freed", r->bytes_freed},
                           {"index_files_written", r->index_files_written}})
              << "\n";
  } else if (!g.quiet) {
    std::printf("%s %llu unused packs, %llu unindexed packs, repack %llu packs (%llu blobs): %s %s\n",
                dry_run ? "would delete" : "deleted", (unsigned long long)r->packs_deleted,
                (unsigned long long)r->packs_unindexed, (unsigned long long)r->packs_repacked,
                (unsigned long long)r->blobs_repacked, dry_run ? "would free" : "freed",
                HumanBytes(r->bytes_freed).c_str());
  }
}

void RegisterRepair(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("repair", "rebuild the index or fix snapshots that reference lost data");
  cmd->require_subcommand(1);
  cmd->add_subcommand("index", "rebuild the index from the pack files")->callback([&g] {
    repo::OpenOptions oo;
    oo.tolerate_damaged_index = true;
    Session s = OpenLocked(g, true, "repair index", oo);
    auto r = pruner::RepairIndex(*s.repo, [&](const std::string& m) {
      if (!g.quiet && !g.json) std::fprintf(stderr, "repair index: %s\n", m.c_str());
    });
    if (!r.ok()) Fail(r.status().WithContext("repair index"));
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
