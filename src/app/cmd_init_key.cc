// lifeboat init, lifeboat key list|add|remove|passwd.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "app/backends.h"
#include "app/commands.h"
#include "fs/dir.h"
#include "pruner/pruner.h"
#include "storage/backend.h"

namespace lb::app {

namespace {

struct KdfFlags {
  uint64_t mem_mib = 256;
  uint64_t ops = 3;
  void Add(CLI::App* cmd) {
    cmd->add_option("--kdf-mem-mib", mem_mib, "Argon2id memory in MiB (default 256)")
        ->check(CLI::Range(1, 16384));
    cmd->add_option("--kdf-ops", ops, "Argon2id iterations (default 3)")->check(CLI::Range(1, 100));
  }
  repo::KdfParams Params() const { return {ops, mem_mib << 20}; }
};

repo::KeyFileInfo Who() {
  return {TheClock().Now(), Hostname(), fs::UserName(::getuid())};
}

}  // namespace

void RegisterInit(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("init", "create a new repository");
  auto kdf = std::make_shared<KdfFlags>();
  kdf->Add(cmd);
  auto pack_mib = std::make_shared<uint32_t>(16);
  cmd->add_option("--pack-size", *pack_mib, "target pack size in MiB (default 16)")
      ->check(CLI::Range(1, 512));
  auto from = std::make_shared<std::string>();
  auto from_pw = std::make_shared<std::string>();
  if (const char* e = std::getenv("LIFEBOAT_FROM_PASSWORD_FILE")) *from_pw = e;
  auto copy_params = std::make_shared<bool>(false);
  cmd->add_option("--from-repo", *from, "with --copy-chunker-params: the repository to take them from");
  cmd->add_option("--from-password-file", *from_pw,
                  "password file of --from-repo (env LIFEBOAT_FROM_PASSWORD_FILE; or env LIFEBOAT_FROM_PASSWORD)");
  cmd->add_flag("--copy-chunker-params", *copy_params,
                "use --from-repo's chunker parameters and id key, so blob ids agree and 'copy' between\n"
                "the two deduplicates without reading unchanged data");
  auto lock_days = std::make_shared<int>(0);
  auto lock_mode = std::make_shared<std::string>("compliance");
  cmd->add_option("--object-lock-days", *lock_days,
                  "s3: only: create the bucket with Object Lock and keep every object for N days\n"
                  "(nobody, this program included, can delete or overwrite it before then)")
      ->check(CLI::Range(1, 36500));
  cmd->add_option("--object-lock-mode", *lock_mode,
                  "with --object-lock-days: compliance (default; no one may shorten it) or governance\n"
                  "(users with s3:BypassGovernanceRetention may)")
      ->check(CLI::IsMember({"compliance", "governance"}));
  cmd->callback([&g, kdf, pack_mib, from, from_pw, copy_params, lock_days, lock_mode] {
    if (*copy_params != !from->empty()) FailUsage("--copy-chunker-params and --from-repo go together");
    const std::string path = RepoPath(g);
    if (*lock_days > 0) {
      if (path.rfind("s3:", 0) != 0)
        FailUsage("--object-lock-days needs an s3: repository (Object Lock is a feature of S3 buckets)");
      TheBackendOptions().object_lock_days = *lock_days;
      TheBackendOptions().object_lock_mode = *lock_mode;
    }
    const std::string pw = ReadPassword(g, "enter password for new repository: ");
    if (pw.empty()) FailUsage("refusing an empty password");
    repo::InitOptions o;
    o.kdf = kdf->Params();
    o.pack_size = *pack_mib << 20;
    o.who = Who();
    if (*copy_params) {
      auto src = OpenSourceRepo(*from, *from_pw);
      o.chunker = src->config().chunker;
      o.id_key = src->keys().id_key;
    }
    auto r = repo::Repository::Init(MakeBackend(path), pw, o);
    if (!r.ok()) Fail(r.status());
    AuditLog(**r, *copy_params ? "init --copy-chunker-params" : "init", {"config", "key:" + (*r)->key_id()});
    if (g.json)
      std::cout << DumpJson({{"message_type", "initialized"}, {"id", (*r)->config().id},
                             {"repository", path}})
                << "\n";
    else if (!g.quiet)
      std::cout << "created lifeboat repository " << (*r)->config().id.substr(0, 10) << " at "
                << path << "\n";
    if (*lock_days > 0 && !g.json && !g.quiet)
      std::cout << "every object is kept for " << *lock_days << (*lock_days == 1 ? " day" : " days")
                << " under Object Lock (" << *lock_mode << " mode)\n";
  });
}

void RegisterKey(CLI::App& app, Globals& g) {
  auto* key = app.add_subcommand("key", "manage the passwords (key files) of a repository");
  key->require_subcommand(1);

  key->add_subcommand("list", "list key files")->callback([&g] {
    auto repo = OpenRepo(g, {}, Access::kAppend);
    auto keys = repo->ListKeys();
    if (!keys.ok()) Fail(keys.status());
    if (g.json) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& k : *keys)
        a.push_back({{"id", k.id}, {"current", k.current},
                     {"created", FormatTimeRfc3339(k.info.created)}, {"host", k.info.host},
                     {"user", k.info.user}});
      std::cout << DumpJson(a) << "\n";
      return;
    }
    std::printf(" %-10s %-10s %-20s %s\n", "ID", "User", "Host", "Created");
    for (const auto& k : *keys)
      std::printf("%s%-10s %-10s %-20s %s\n", k.current ? "*" : " ", k.id.substr(0, 8).c_str(),
                  k.info.user.c_str(), k.info.host.c_str(), FormatTimeLocal(k.info.created).c_str());
  });

  auto new_pw = std::make_shared<std::string>();
  auto kdf = std::make_shared<KdfFlags>();
  auto append_only = std::make_shared<bool>(false);
  auto* add = key->add_subcommand("add", "add a password that opens the repository");
  add->add_option("--new-password-file", *new_pw, "file holding the new password")->required();
  add->add_flag("--append-only", *append_only,
                "the new key can back up (with deduplication and incremental runs) but cannot read,\n"
                "restore, forget, prune or change keys: for hosts that must not be able to destroy\n"
                "or read their own backups");
  kdf->Add(add);
  add->callback([&g, new_pw, kdf, append_only] {
    auto s = OpenLocked(g, false, "key add");
    auto id = s.repo->AddKey(ReadPasswordFile(*new_pw), kdf->Params(), Who(), *append_only);
    if (!id.ok()) Fail(id.status());
    AuditLog(*s.repo, *append_only ? "key add --append-only" : "key add", {"key:" + *id});
    if (!g.quiet) std::cout << "added key " << id->substr(0, 8) << "\n";
  });

  auto rm_id = std::make_shared<std::string>();
  auto* rm = key->add_subcommand("remove", "remove a key file (not the one in use)");
  rm->add_option("ID", *rm_id, "key id or unique prefix")->required();
  rm->callback([&g, rm_id] {
    auto s = OpenLocked(g, true, "key remove");
    auto keys = s.repo->ListKeys();
    if (!keys.ok()) Fail(keys.status());
    std::string match;
    for (const auto& k : *keys) {
      if (k.id.compare(0, rm_id->size(), *rm_id) != 0) continue;
      if (!match.empty()) FailUsage("key prefix '" + *rm_id + "' is ambiguous");
      match = k.id;
    }
    if (match.empty()) throw Failure{kExitFatal, "no key matches '" + *rm_id + "'"};
    Status st = s.repo->RemoveKey(match);
    if (!st.ok()) Fail(st);
    AuditLog(*s.repo, "key remove", {}, {"key:" + match});
    if (!g.quiet) std::cout << "removed key " << match.substr(0, 8) << "\n";
  });

  auto reencrypt = std::make_shared<bool>(false);
  auto kdf3 = std::make_shared<KdfFlags>();
  auto* rotate = key->add_subcommand(
      "rotate",
      "start a new data key version: new data is encrypted under it at once, older data stays\n"
      "readable through the older versions kept (encrypted) in the keyring; nothing is re-uploaded.\n"
      "With --reencrypt (for a key known to be compromised): rewrite every pack and snapshot under\n"
      "the new version, then retire the old ones; other key files stop working and must be re-added");
  rotate->add_flag("--reencrypt", *reencrypt, "rewrite all data under the new version and retire the old ones");
  kdf3->Add(rotate);
  rotate->callback([&g, reencrypt, kdf3] {
    auto s = OpenLocked(g, *reencrypt, "key rotate");
    const uint32_t before = s.repo->keys().current;
    if (!*reencrypt) {
      auto v = s.repo->RotateKey(TheClock().Now(), /*publish=*/true);
      if (!v.ok()) Fail(v.status());
      AuditLog(*s.repo, "key rotate", {"keyring:version " + std::to_string(*v)});
      if (g.json)
        std::cout << DumpJson({{"message_type", "key-rotate"}, {"version", *v}, {"previous", before}}) << "\n";
      else if (!g.quiet)
        std::printf("data key version %u is current; versions up to %u stay readable (nothing re-uploaded)\n", *v, before);
      return;
    }
    // The new version lives only in this key file until the end, so that the old
    // chain cannot unlock it: write the key file first, so a crash never loses it.
    const std::string pw = ReadPassword(g);
    const std::string old_key = s.repo->key_id();
    auto v = s.repo->RotateKey(TheClock().Now(), /*publish=*/false);
    if (!v.ok()) Fail(v.status());
    auto kept = s.repo->ChangePassword(pw, kdf3->Params(), Who());
    if (!kept.ok()) Fail(kept.status().WithContext("save the new key version"));
    auto st = pruner::Reencrypt(*s.repo, [&g](const std::string& what) {
      if (!g.quiet && !g.json) std::fprintf(stderr, "%s\n", what.c_str());
    });
    if (!st.ok()) Fail(st.status().WithContext("re-encrypt (safe to run again)"));
    if (Status r = s.repo->RetireOldVersions(TheClock().Now()); !r.ok()) Fail(r);
    auto final_key = s.repo->ChangePassword(pw, kdf3->Params(), Who());
    if (!final_key.ok()) Fail(final_key.status().WithContext("write the key file without the retired versions"));
    std::vector<std::string> stale;
    if (auto keys = s.repo->ListKeys(); keys.ok())
      for (const auto& k : *keys)
        if (k.id != *final_key) stale.push_back(k.id);
    auto added = WrittenPacks(*s.repo);
    added.push_back("key:" + *final_key);
    AuditLog(*s.repo, "key rotate --reencrypt", added, {"key:" + old_key});
    if (g.json) {
      std::cout << DumpJson({{"message_type", "key-rotate"}, {"version", *v}, {"previous", before},
                             {"reencrypted", true}, {"packs_rewritten", st->packs_rewritten},
                             {"blobs_rewritten", st->blobs_rewritten}, {"snapshots_rewritten", st->snapshots_rewritten},
                             {"packs_removed", st->packs_removed}, {"key", *final_key}, {"retired_keys", stale}})
                << "\n";
    } else if (!g.quiet) {
      std::printf("data key version %u is the only one now: %llu packs (%llu blobs) and %llu snapshots rewritten, "
                  "%llu old packs removed; your key is now %s\n",
                  *v, (unsigned long long)st->packs_rewritten, (unsigned long long)st->blobs_rewritten,
                  (unsigned long long)st->snapshots_rewritten, (unsigned long long)st->packs_removed,
                  final_key->substr(0, 8).c_str());
      for (const auto& k : stale)
        std::printf("key %s holds only retired versions and can no longer open the repository: "
                    "remove it ('key remove %s') and add a new one\n", k.substr(0, 8).c_str(), k.substr(0, 8).c_str());
    }
  });

  auto pw_file = std::make_shared<std::string>();
  auto kdf2 = std::make_shared<KdfFlags>();
  auto* passwd = key->add_subcommand("passwd", "change the password in use");
  passwd->add_option("--new-password-file", *pw_file, "file holding the new password")->required();
  kdf2->Add(passwd);
  passwd->callback([&g, pw_file, kdf2] {
    auto s = OpenLocked(g, true, "key passwd");
    const std::string old_id = s.repo->key_id();
    auto id = s.repo->ChangePassword(ReadPasswordFile(*pw_file), kdf2->Params(), Who());
    if (!id.ok()) Fail(id.status());
    AuditLog(*s.repo, "key passwd", {"key:" + *id}, {"key:" + old_id});
    if (!g.quiet) std::cout << "password changed (key " << id->substr(0, 8) << ")\n";
  });
}

}  // namespace lb::app
