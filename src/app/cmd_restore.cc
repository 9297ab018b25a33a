// lifeboat restore.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "app/commands.h"
#include "restorer/restorer.h"
#include "snapshot/store.h"

namespace lb::app {

namespace {

// The restorer keeps the descriptor of each file it creates until it writes the
// file, within a share of RLIMIT_NOFILE. Many systems start processes with a
// soft limit of 1024 and a much higher hard limit; raising the soft limit (up to
// 65536) lets it keep more of them. Failing to raise it only costs speed.
void RaiseDescriptorLimit() {
  struct rlimit rl = {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t want = std::min<rlim_t>(rl.rlim_max, 65536);
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return;
  rl.rlim_cur = want;
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

struct RestoreFlags {
  std::string snapshot;
  std::string at;
  std::string target;
  std::vector<std::string> includes, excludes;
  bool dry_run = false;
  bool verify = false;
  std::string overwrite = "always";
};

}  // namespace

void RegisterRestore(CLI::App& app, Globals& g) {
  auto f = std::make_shared<RestoreFlags>();
  auto* cmd = app.add_subcommand("restore", "restore a snapshot into a target directory");
  cmd->add_option("snapshot", f->snapshot, "snapshot id, id prefix or 'latest'");
  cmd->add_option("--at", f->at, "restore the newest snapshot at or before this time "
                                 "(\"2026-11-20 14:00\", local time, or RFC 3339)");
  cmd->add_option("-t,--target", f->target, "directory to restore into")->required();
  cmd->add_option("-i,--include", f->includes, "restore only paths matching this pattern");
  cmd->add_option("-e,--exclude", f->excludes, "skip paths matching this pattern");
  cmd->add_flag("-n,--dry-run", f->dry_run, "show what would be restored; write nothing");
  cmd->add_flag("--verify", f->verify, "re-read every restored file and check it against the snapshot");
  cmd->add_option("--overwrite", f->overwrite, "always (default), if-changed, never")
      ->check(CLI::IsMember({"always", "if-changed", "never"}));
  cmd->callback([&g, f] {
    if (f->snapshot.empty() == f->at.empty())
      FailUsage("name exactly one snapshot: an id, 'latest', or --at TIME");
    std::optional<TimeNs> at;
    if (!f->at.empty()) {
      auto t = ParseTime(f->at);
      if (!t.ok()) FailUsage(t.status().message());
      at = *t;
    }
    Session s = OpenLocked(g, false, "restore");
    auto entry = at ? snapshot::FindSnapshotAt(*s.repo, *at) : snapshot::FindSnapshot(*s.repo, f->snapshot);
    if (!entry.ok()) Fail(entry.status());

    restorer::Options o;
    o.target = f->target;
    o.includes = fs::PatternList(f->includes);
    o.excludes = fs::PatternList(f->excludes);
    o.dry_run = f->dry_run;
    o.verify = f->verify;
    o.threads = g.threads;
    o.overwrite = f->overwrite == "never"        ? restorer::Overwrite::kNever
                  : f->overwrite == "if-changed" ? restorer::Overwrite::kIfChanged
                                                 : restorer::Overwrite::kAlways;
    std::mutex out_mu;
    if (f->dry_run && !g.quiet) {
      o.on_entry = [&](const std::string& path, const fs::Metadata& m) {
        std::lock_guard<std::mutex> l(out_mu);
        if (g.json)
          std::cout << DumpJson({{"message_type", "entry"}, {"path", SafeString(path)},
                                 {"type", fs::FileTypeName(m.type)}, {"size", m.size}})
                    << "\n";
        else
          std::printf("would restore %s\n", path.c_str());
      };
    }
    o.on_warning = [&](const std::string& path, const std::string& what) {
      std::lock_guard<std::mutex> l(out_mu);
      std::fprintf(stderr, "warning: %s: %s\n", path.c_str(), what.c_str());
    };
    RaiseDescriptorLimit();
    auto st = restorer::Restore(*s.repo, entry->snapshot, o);
    if (!st.ok()) Fail(st.status().WithContext("restore"));
    if (g.json) {
      std::cout << DumpJson({{"message_type", "summary"}, {"snapshot_id", entry->id.Hex()},
                             {"dry_run", f->dry_run}, {"files", st->files}, {"dirs", st->dirs},
                             {"others", st->others}, {"bytes", st->bytes},
                             {"skipped", st->skipped}, {"verified", st->verified}})
                << "\n";
    } else if (!g.quiet) {
      std::printf("%s snapshot %s: %llu files, %llu dirs, %llu other entries, %s%s\n",
                  f->dry_run ? "would restore" : "restored", entry->id.Short().c_str(),
                  (unsigned long long)st->files, (unsigned long long)st->dirs,
                  (unsigned long long)st->others, HumanBytes(st->bytes).c_str(),
                  f->dry_run ? "" : (" to " + f->target).c_str());
      if (f->verify) std::printf("verified %llu files against their chunk ids\n", (unsigned long long)st->verified);
      if (st->skipped) std::printf("left %llu existing entries alone\n", (unsigned long long)st->skipped);
    }
  });
}

}  // namespace lb::app
