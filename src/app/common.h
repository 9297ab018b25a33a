// Shared plumbing of the CLI commands: global options, opening the repository,
// exit codes, and output helpers. Wiring lives only in app/.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "repo/lock.h"
#include "repo/repository.h"
#include "storage/backend.h"
#include "snapshot/snapshot.h"

namespace lb::app {

// Documented exit codes (README.md, `lifeboat --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitFatal = 1,
  kExitUsage = 2,
  kExitPartial = 3,
  kExitNoRepo = 10,
  kExitLocked = 11,
  kExitWrongPassword = 12,
  kExitAppendOnly = 13,  // the key is append-only and the command needs a full key
};

struct Globals {
  std::string repo;           // --repo / LIFEBOAT_REPO
  std::string password_file;  // --password-file / LIFEBOAT_PASSWORD_FILE
  bool json = false;
  bool quiet = false;
  unsigned threads = 0;
};

// An error that carries its exit code up to main().
struct Failure {
  int code;
  std::string message;
};

// Maps a Status to an exit code (kNotFound from Open -> 10, kLocked -> 11,
// kWrongPassword -> 12, kInvalidArgument -> 2, otherwise 1).
int ExitCodeFor(const Status& st);
[[noreturn]] void Fail(const Status& st);
[[noreturn]] void FailUsage(const std::string& message);

// Reads the password (env LIFEBOAT_PASSWORD, --password-file, LIFEBOAT_PASSWORD_FILE,
// or a prompt on a terminal).
std::string ReadPassword(const Globals& g, const std::string& prompt = "enter password: ");
std::string ReadPasswordFile(const std::string& path);
// The same from another variable and file (e.g. LIFEBOAT_FROM_PASSWORD); `hint`
// names where the password may come from, for the error.
std::string ReadPasswordFrom(const char* env_name, const std::string& file, const std::string& prompt,
                             const std::string& hint);
// Opens the source repository of copy / init --copy-chunker-params: password from
// LIFEBOAT_FROM_PASSWORD, then `password_file`, then a prompt. Throws Failure.
std::unique_ptr<repo::Repository> OpenSourceRepo(const std::string& location, const std::string& password_file);

std::string RepoPath(const Globals& g);
// The storage stack for a repository location: the backend wrapped in retries.
std::unique_ptr<storage::Backend> MakeBackend(const std::string& location);
// What a command needs of the key: kFull refuses an append-only key (exit 13,
// before anything is written); kAppend accepts it (backup, snapshots, key list,
// audit) and points the repository at this machine's cache of what it wrote.
enum class Access { kFull, kAppend };
std::unique_ptr<repo::Repository> OpenRepo(const Globals& g, const repo::OpenOptions& o = {},
                                           Access access = Access::kFull, const std::string& command = "");
// For an append-only key: the cache of trees and snapshots it wrote (repo.h UseOwnCache).
Status UseOwnCache(repo::Repository& repo);
// $XDG_CACHE_HOME/lifeboat, else $HOME/.cache/lifeboat, else /var/cache/lifeboat:
// per repository (by config id) the index cache of remote repositories, an
// append-only key's own trees and snapshots, and the audit anchor.
std::string CacheBase();
// Opens and takes a lock (shared unless exclusive).
struct Session {
  std::unique_ptr<repo::Repository> repo;
  std::unique_ptr<repo::Lock> lock;
};
Session OpenLocked(const Globals& g, bool exclusive, const std::string& command,
                   const repo::OpenOptions& o = {}, Access access = Access::kFull);

// Appends an entry to the repository's audit log (src/audit) for a command that
// changed it, and remembers the entry as this machine's anchor. A failure is a
// warning on stderr: the change itself has happened.
void AuditLog(repo::Repository& repo, const std::string& command, std::vector<std::string> added,
              std::vector<std::string> removed = {});
// Where this machine keeps the newest audit entry it wrote for a repository.
std::string AuditAnchorPath(const repo::Repository& repo);
// "pack:ID" for every pack this process wrote.
std::vector<std::string> WrittenPacks(repo::Repository& repo);

const Clock& TheClock();
std::string Hostname();
std::string ProgramVersion();

// JSON helpers: strings that may not be UTF-8 are escaped lossily for display.
nlohmann::json SafeString(const std::string& s);
std::string DumpJson(const nlohmann::json& j);
std::string HumanBytes(uint64_t n);
// The summary counters as JSON fields (backup --json, snapshots --json).
nlohmann::json SummaryFields(const snapshot::Summary& s);

}  // namespace lb::app
