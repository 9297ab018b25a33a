#include "app/common.h"

#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/backends.h"
#include "audit/audit.h"
#include "fs/dir.h"
#include "storage/backend.h"
#include "storage/wrappers.h"

namespace lb::app {

int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case Code::kOk: return kExitOk;
    case Code::kLocked: return kExitLocked;
    case Code::kWrongPassword: return kExitWrongPassword;
    case Code::kInvalidArgument: return kExitUsage;
    default: return kExitFatal;
  }
}

void Fail(const Status& st) { throw Failure{ExitCodeFor(st), st.message()}; }
void FailUsage(const std::string& message) { throw Failure{kExitUsage, message}; }

std::string ReadPasswordFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Failure{kExitFatal, "cannot read password file " + path};
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string ReadPasswordFrom(const char* env_name, const std::string& file, const std::string& prompt,
                             const std::string& hint) {
  if (const char* env = std::getenv(env_name); env && *env) return env;
  if (!file.empty()) return ReadPasswordFile(file);
  if (isatty(STDIN_FILENO)) {
    std::cerr << prompt << std::flush;
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::string pw;
    std::getline(std::cin, pw);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
    return pw;
  }
  throw Failure{kExitFatal, "no password: set " + hint};
}

std::string ReadPassword(const Globals& g, const std::string& prompt) {
  return ReadPasswordFrom("LIFEBOAT_PASSWORD", g.password_file, prompt,
                          "LIFEBOAT_PASSWORD, LIFEBOAT_PASSWORD_FILE or --password-file");
}

std::unique_ptr<repo::Repository> OpenSourceRepo(const std::string& location, const std::string& password_file) {
  const std::string pw = ReadPasswordFrom("LIFEBOAT_FROM_PASSWORD", password_file,
                                          "enter password for " + location + ": ",
                                          "LIFEBOAT_FROM_PASSWORD, LIFEBOAT_FROM_PASSWORD_FILE or --from-password-file");
  auto r = repo::Repository::Open(MakeBackend(location), pw);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound)
      throw Failure{kExitNoRepo, "source repository " + location + " does not exist"};
    Fail(r.status().WithContext("source repository " + location));
  }
  return std::move(r).value();
}

std::unique_ptr<storage::Backend> MakeBackend(const std::string& location) {
  auto b = OpenBackend(location);
  if (!b.ok()) Fail(b.status());
  return std::move(b).value();
}

std::string RepoPath(const Globals& g) {
  if (g.repo.empty()) FailUsage("no repository given: use --repo or set LIFEBOAT_REPO");
  return g.repo;
}

std::string CacheBase() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/lifeboat";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/lifeboat";
  return "/var/cache/lifeboat";
}

Status UseOwnCache(repo::Repository& repo) {
  return repo.UseOwnCache(CacheBase() + "/" + repo.config().id + "/append-only-" + repo.key_id().substr(0, 16));
}

std::unique_ptr<repo::Repository> OpenRepo(const Globals& g, const repo::OpenOptions& o, Access access,
                                           const std::string& command) {
  const std::string path = RepoPath(g);
  const std::string pw = ReadPassword(g);
  repo::OpenOptions options = o;
  if (IsRemoteLocation(path) && !TheBackendOptions().no_cache) options.index_cache = CacheBase();
  auto r = repo::Repository::Open(MakeBackend(path), pw, options);
  if (!r.ok()) {
    if (r.status().code() == Code::kNotFound)
      throw Failure{kExitNoRepo, "repository " + path + " does not exist (run 'lifeboat init')"};
    Fail(r.status());
  }
  for (const auto& [name, st] : (*r)->damaged_index_files())
    std::fprintf(stderr, "warning: index file %s is damaged (%s); run 'lifeboat repair index'\n",
                 name.substr(0, 8).c_str(), st.message().c_str());
  if ((*r)->keys().append_only) {
    if (access == Access::kFull)
      throw Failure{kExitAppendOnly, "the key in use is append-only: " + (command.empty() ? std::string("this command") : command) +
                                         " needs a full key"};
    if (Status st = UseOwnCache(**r); !st.ok()) Fail(st);
  }
  return std::move(r).value();
}

Session OpenLocked(const Globals& g, bool exclusive, const std::string& command,
                   const repo::OpenOptions& o, Access access) {
  Session s;
  s.repo = OpenRepo(g, o, access, command);
  auto lock = repo::Lock::Acquire(*s.repo, exclusive, command, TheClock());
  if (!lock.ok()) Fail(lock.status());
  s.lock = std::move(lock).value();
  return s;
}

std::string AuditAnchorPath(const repo::Repository& repo) {
  return CacheBase() + "/" + repo.config().id + "/audit-head";
}

std::vector<std::string> WrittenPacks(repo::Repository& repo) {
  std::vector<std::string> out;
  for (const auto& p : repo.written_packs()) out.push_back("pack:" + p.id.Hex());
  return out;
}

void AuditLog(repo::Repository& repo, const std::string& command, std::vector<std::string> added,
              std::vector<std::string> removed) {
  auto name = audit::Append(repo, command, std::move(added), std::move(removed), Hostname(),
                            fs::UserName(::getuid()), TheClock());
  if (!name.ok()) {
    std::fprintf(stderr, "warning: could not write the audit log entry: %s\n", name.status().message().c_str());
    return;
  }
  const std::string anchor = AuditAnchorPath(repo);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(anchor).parent_path(), ec);
  std::ofstream out(anchor + ".tmp", std::ios::trunc);
  out << *name << "\n";
  out.close();
  if (out) std::filesystem::rename(anchor + ".tmp", anchor, ec);
}

const Clock& TheClock() {
  static SystemClock clock;
  return clock;
}

std::string Hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string ProgramVersion() { return "lifeboat 0.1.0"; }

nlohmann::json SafeString(const std::string& s) {
  // Round-trip through dump with replacement to get valid UTF-8.
  std::string valid = nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return nlohmann::json::parse(valid);
}

std::string DumpJson(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string HumanBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

nlohmann::json SummaryFields(const snapshot::Summary& s) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& c : snapshot::kSummaryCounters) j[c.name] = s.*c.field;
  j["blobs_added"] = s.data_blobs + s.tree_blobs;
  j["duration_s"] = s.duration_s;
  return j;
}

}  // namespace lb::app
