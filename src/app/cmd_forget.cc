// lifeboat forget: remove snapshots by retention rules (and optionally prune).
#include <cstdio>
#include <iostream>

#include "app/commands.h"
#include "retention/retention.h"
#include "snapshot/store.h"

namespace lb::app {

namespace {

struct ForgetFlags {
  retention::Rules rules;
  std::string within;
  std::string group_by = "host,paths";
  bool dry_run = false;
  bool prune = false;
  std::string max_unused = "5%";
};

}  // namespace

void RegisterForget(CLI::App& app, Globals& g) {
  auto f = std::make_shared<ForgetFlags>();
  auto* cmd = app.add_subcommand("forget", "remove snapshots by retention rules (GFS)");
  cmd->add_option("--keep-last", f->rules.last, "keep the N newest snapshots (-1: all)");
  cmd->add_option("--keep-hourly", f->rules.hourly, "keep the newest snapshot of each of N hours");
  cmd->add_option("--keep-daily", f->rules.daily, "keep the newest snapshot of each of N days");
  cmd->add_option("--keep-weekly", f->rules.weekly, "keep the newest snapshot of each of N ISO weeks");
  cmd->add_option("--keep-monthly", f->rules.monthly, "keep the newest snapshot of each of N months");
  cmd->add_option("--keep-yearly", f->rules.yearly, "keep the newest snapshot of each of N years");
  cmd->add_option("--keep-within", f->within, "keep every snapshot newer than this (30d, 12h, 1y2w)");
  cmd->add_option("--keep-tag", f->rules.keep_tags, "keep every snapshot with this tag (repeatable)");
  cmd->add_option("--group-by", f->group_by, "apply the rules per group: host,paths,tags or '' (default host,paths)");
  cmd->add_flag("-n,--dry-run", f->dry_run, "list what would be kept and removed; remove nothing");
  cmd->add_flag("--prune", f->prune, "run prune afterwards");
  cmd->add_option("--max-unused", f->max_unused, "with --prune: see 'prune --max-unused'");
  cmd->callback([&g, f] {
    if (!f->within.empty()) {
      auto d = retention::ParseDuration(f->within);
      if (!d.ok()) FailUsage(d.status().message());
      f->rules.within_ns = *d;
    }
    if (f->rules.empty()) FailUsage("forget needs at least one --keep-* rule (refusing to remove everything)");
    if (Status st = f->rules.Validate(); !st.ok()) FailUsage(st.message());
    auto group_by = retention::ParseGroupBy(f->group_by);
    if (!group_by.ok()) FailUsage(group_by.status().message());

    Session s = OpenLocked(g, true, "forget");
    auto all = snapshot::ListSnapshots(*s.repo);
    if (!all.ok()) Fail(all.status());
    std::vector<retention::SnapshotRef> refs;
    std::unordered_map<std::string, TimeNs> times;
    for (const auto& e : *all) {
      refs.push_back({e.id.Hex(), e.snapshot.time, e.snapshot.host, e.snapshot.paths, e.snapshot.tags});
      times[e.id.Hex()] = e.snapshot.time;
    }
    auto groups = retention::Apply(refs, f->rules, *group_by, TheClock().Now(), retention::CivilTime::Local());

    nlohmann::json jgroups = nlohmann::json::array();
    size_t removed = 0;
    std::vector<std::string> removed_ids;
    nlohmann::json retained = nlohmann::json::array();
    for (const auto& grp : groups) {
      nlohmann::json keep = nlohmann::json::array(), remove = nlohmann::json::array();
      if (!g.json && !g.quiet) std::printf("group %s\n", grp.key.c_str());
      for (const auto& d : grp.decisions) {
        const std::string when = FormatTimeLocal(times[d.id]);
        if (d.keep) {
          keep.push_back({{"id", d.id}, {"time", FormatTimeRfc3339(times[d.id])}, {"reasons", d.reasons}});
        } else {
          remove.push_back({{"id", d.id}, {"time", FormatTimeRfc3339(times[d.id])}});
        }
        if (!g.json && !g.quiet) {
          std::string why;
          for (const auto& r : d.reasons) why += (why.empty() ? "" : ", ") + r;
          std::printf("  %-6s %s  %s  %s\n", d.keep ? "keep" : "remove", d.id.substr(0, 8).c_str(),
                      when.c_str(), why.c_str());
        }
        if (d.keep) continue;
        ++removed;
        if (f->dry_run) continue;
        Status st = s.repo->backend().Remove({storage::FileKind::kSnapshot, d.id});
        if (st.code() == Code::kRetained) {  // S3 Object Lock: a later forget removes it
          --removed;
          retained.push_back({{"id", d.id}, {"reason", st.message()}});
          if (!g.json)
            std::fprintf(stderr, "snapshot %s is kept: %s\n", d.id.substr(0, 8).c_str(), st.message().c_str());
          continue;
        }
        if (!st.ok() && st.code() != Code::kNotFound) {
          if (!removed_ids.empty()) AuditLog(*s.repo, "forget", {}, removed_ids);
          Fail(st.WithContext("remove snapshot " + d.id.substr(0, 8)));
        }
        removed_ids.push_back("snapshot:" + d.id);
      }
      jgroups.push_back({{"key", grp.key}, {"keep", keep}, {"remove", remove}});
    }
    if (!removed_ids.empty()) AuditLog(*s.repo, "forget", {}, removed_ids);
    if (g.json)
      std::cout << DumpJson({{"message_type", "forget"}, {"dry_run", f->dry_run}, {"groups", jgroups},
                             {"retained", retained}})
                << "\n";
    else if (!g.quiet)
      std::printf("%s %zu snapshots%s\n", f->dry_run ? "dry run: would remove" : "removed", removed,
                  retained.empty() ? ""
                                   : (", " + std::to_string(retained.size()) +
                                      " kept under Object Lock until their retention ends")
                                         .c_str());
    if (f->prune && !f->dry_run) {
      RunPrune(g, ParsePercent(f->max_unused), false, &s);
    }
  });
}

}  // namespace lb::app
