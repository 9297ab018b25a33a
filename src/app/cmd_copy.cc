// lifeboat copy: snapshots from one repository into another (src/copier).
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "app/commands.h"
#include "copier/copier.h"
#include "repo/lock.h"
#include "snapshot/store.h"

namespace lb::app {

void RegisterCopy(CLI::App& app, Globals& g) {
  struct Flags {
    std::string from, from_password_file;
    std::vector<std::string> snapshots;
    bool dry_run = false;
  };
  auto f = std::make_shared<Flags>();
  if (const char* e = std::getenv("LIFEBOAT_FROM_PASSWORD_FILE")) f->from_password_file = e;
  auto* cmd = app.add_subcommand(
      "copy",
      "copy snapshots from another repository (--from-repo) into this one (--repo): only the\n"
      "blobs this one lacks are stored, under its own keys; snapshots already copied are skipped,\n"
      "so copy is idempotent and a killed copy resumes. Create the destination with\n"
      "'init --from-repo A --copy-chunker-params' so unchanged data is never even read");
  cmd->add_option("SNAPSHOT", f->snapshots, "source snapshots (id, prefix or 'latest'; default: all)");
  cmd->add_option("--from-repo", f->from, "source repository location")->required();
  cmd->add_option("--from-password-file", f->from_password_file,
                  "source password file (env LIFEBOAT_FROM_PASSWORD_FILE; or env LIFEBOAT_FROM_PASSWORD)");
  cmd->add_flag("--dry-run", f->dry_run, "say what would be copied; write nothing");
  cmd->callback([&g, f] {
    auto src = OpenSourceRepo(f->from, f->from_password_file);
    auto src_lock = repo::Lock::Acquire(*src, false, "copy (source)", TheClock());
    if (!src_lock.ok()) Fail(src_lock.status().WithContext("source repository"));
    Session dst = OpenLocked(g, false, "copy");
    if (src->config().id == dst.repo->config().id)
      FailUsage("--from-repo and --repo are the same repository");
    std::vector<snapshot::Entry> todo;
    if (f->snapshots.empty()) {
      auto all = snapshot::ListSnapshots(*src);
      if (!all.ok()) Fail(all.status().WithContext("source repository"));
      todo = std::move(all).value();
    } else {
      for (const auto& ref : f->snapshots) {
        auto e = snapshot::FindSnapshot(*src, ref);
        if (!e.ok()) Fail(e.status().WithContext("source snapshot " + ref));
        todo.push_back(std::move(e).value());
      }
      std::sort(todo.begin(), todo.end(), [](const auto& a, const auto& b) { return a.snapshot.time < b.snapshot.time; });
    }
    copier::Options o;
    o.threads = g.threads;
    o.dry_run = f->dry_run;
    o.on_snapshot = [&g, f](const snapshot::Entry& e, const Id& id, bool skipped) {
      if (g.json) {
        std::cout << DumpJson({{"message_type", "copied"}, {"source", e.id.Hex()},
                               {"copy", id.IsZero() ? nlohmann::json(nullptr) : nlohmann::json(id.Hex())},
                               {"skipped", skipped}})
                  << std::endl;
      } else if (!g.quiet) {
        const std::string when = FormatTimeLocal(e.snapshot.time);
        if (skipped)
          std::printf("snapshot %s of %s: already copied as %s\n", e.id.Short().c_str(), when.c_str(), id.Short().c_str());
        else if (f->dry_run)
          std::printf("snapshot %s of %s: would be copied\n", e.id.Short().c_str(), when.c_str());
        else
          std::printf("snapshot %s of %s: copied as %s\n", e.id.Short().c_str(), when.c_str(), id.Short().c_str());
      }
    };
    std::vector<std::string> added;
    auto on_snapshot = o.on_snapshot;
    o.on_snapshot = [&](const snapshot::Entry& e, const Id& id, bool skipped) {
      if (!skipped && !id.IsZero()) added.push_back("snapshot:" + id.Hex());
      on_snapshot(e, id, skipped);
    };
    auto st = copier::Copy(*src, *dst.repo, todo, o);
    if (!f->dry_run && (!added.empty() || !dst.repo->written_packs().empty())) {
      auto packs = WrittenPacks(*dst.repo);
      added.insert(added.end(), packs.begin(), packs.end());
      AuditLog(*dst.repo, "copy --from-repo " + src->config().id.substr(0, 10), added);
    }
    if (!st.ok()) Fail(st.status());
    if (g.json) {
      std::cout << DumpJson({{"message_type", "summary"}, {"same_ids", st->same_ids},
                             {"snapshots_copied", st->snapshots_copied}, {"snapshots_skipped", st->snapshots_skipped},
                             {"blobs_copied", st->blobs_copied}, {"blobs_present", st->blobs_present},
                             {"blobs_read", st->blobs_read}, {"bytes_copied", st->bytes_copied},
                             {"dry_run", f->dry_run}})
                << std::endl;
    } else if (!g.quiet) {
      std::printf("%zu snapshots copied, %zu already there; %llu blobs stored (%s), %llu already present, "
                  "%llu read from the source%s\n",
                  st->snapshots_copied, st->snapshots_skipped, static_cast<unsigned long long>(st->blobs_copied),
                  HumanBytes(st->bytes_copied).c_str(), static_cast<unsigned long long>(st->blobs_present),
                  static_cast<unsigned long long>(st->blobs_read),
                  st->same_ids || st->blobs_read == 0
                      ? ""
                      : " (ids differ between the repositories, so every blob is read; see init --copy-chunker-params)");
    }
  });
}

}  // namespace lb::app
