#include "repo/lock.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/json_checked.h"

namespace lb::repo {

using nlohmann::json;
using json_checked::Int;
using json_checked::OptInt;
using json_checked::Str;
using storage::FileKind;

namespace {
constexpr const char* kLockAd = "lifeboat lock v1";
constexpr TimeNs kStaleAfter = 30LL * 60 * 1000000000;
constexpr auto kRefreshEvery = std::chrono::minutes(5);

std::string Hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}



std::string Describe(const LockInfo& l) {
  return std::string(l.exclusive ? "exclusively " : "") + "by pid " + std::to_string(l.pid) +
         " on " + l.host + " since " + FormatTimeLocal(l.time) + " (" + l.command + ")";
}
}  // namespace

Bytes EncodeLock(const LockInfo& info) {
  json j = {{"host", info.host},          {"pid", info.pid},         {"time_ns", info.time},
            {"exclusive", info.exclusive}, {"command", info.command}, {"user", info.user}};
  // Host, command and user need not be valid UTF-8; never throw on them.
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return Bytes(text.begin(), text.end());
}

Result<LockInfo> DecodeLock(ByteSpan text) {
  try {
    json j = json::parse(text.begin(), text.end());
    if (!j.is_object()) return Corrupt("lock is not a JSON object");
    LockInfo l;
    l.host = Str(j.at("host"), "host");
    l.pid = Int<int64_t>(j.at("pid"), "pid");
    if (l.pid < 0 || l.pid > std::numeric_limits<pid_t>::max())
      return Corrupt("lock pid out of range");
    l.time = Int<int64_t>(j.at("time_ns"), "time_ns");
    const json& ex = j.at("exclusive");
    if (!ex.is_boolean()) return Corrupt("lock field exclusive is not a boolean");
    l.exclusive = ex.get<bool>();
    if (j.contains("command")) l.command = Str(j.at("command"), "command");
    if (j.contains("user")) l.user = Str(j.at("user"), "user");
    return l;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed lock: ") + e.what());
  }
}

bool IsStale(const LockInfo& lock, TimeNs now) {
  if (now - lock.time > kStaleAfter) return true;
  if (lock.host == Hostname() && lock.pid > 0 && ::kill(static_cast<pid_t>(lock.pid), 0) != 0 &&
      errno == ESRCH)
    return true;
  return false;
}

Result<std::vector<std::pair<std::string, LockInfo>>> ListLocks(Repository& repo) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR(repo.backend().List(FileKind::kLock, [&](const std::string& n, uint64_t) {
    names.push_back(n);
    return Status::Ok();
  }));
  std::vector<std::pair<std::string, LockInfo>> out;
  for (const auto& n : names) {
    auto bytes = repo.backend().Load({FileKind::kLock, n});
    if (!bytes.ok()) continue;  // removed meanwhile
    auto plain = crypto::Open(repo.keys().meta_key, *bytes, AsBytes(kLockAd));
    if (!plain.ok()) continue;
    auto l = DecodeLock(*plain);
    if (!l.ok()) continue;
    out.emplace_back(n, std::move(l).value());
  }
  return out;
}

Lock::Lock(Repository& repo, LockInfo info, const Clock& clock)
    : repo_(repo), info_(std::move(info)), clock_(clock) {}

Status Lock::Write() {
  Bytes file = crypto::Seal(repo_.keys().meta_key, EncodeLock(info_), AsBytes(kLockAd));
  Bytes rnd(16);
  crypto::RandomBytes(rnd);
  std::string name = HexEncode(rnd);
  LB_RETURN_IF_ERROR_CTX(repo_.backend().Save({FileKind::kLock, name}, file), "write lock");
  std::string old = name_;
  name_ = name;
  if (!old.empty()) repo_.backend().Remove({FileKind::kLock, old}).IgnoreError();
  return Status::Ok();
}

static Status CheckConflicts(Repository& repo, bool exclusive, const std::string& own,
                             TimeNs now) {
  LB_ASSIGN_OR_RETURN(auto locks, ListLocks(repo));
  for (const auto& [name, l] : locks) {
    if (name == own || IsStale(l, now)) continue;
    if (exclusive || l.exclusive)
      return Status(Code::kLocked, "repository is locked " + Describe(l) +
                                       "; if that process is gone, run 'lifeboat unlock'");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Lock>> Lock::Acquire(Repository& repo, bool exclusive,
                                            const std::string& command, const Clock& clock) {
  LB_RETURN_IF_ERROR(CheckConflicts(repo, exclusive, "", clock.Now()));
  LockInfo info;
  info.host = Hostname();
  info.pid = ::getpid();
  info.time = clock.Now();
  info.exclusive = exclusive;
  info.command = command;
  std::unique_ptr<Lock> lock(new Lock(repo, info, clock));
  LB_RETURN_IF_ERROR(lock->Write());
  // Two processes may have passed the first check at once; check again now that
  // ours is visible, and back off if there is a conflict.
  Status again = CheckConflicts(repo, exclusive, lock->name_, clock.Now());
  if (!again.ok()) {
    lock->Release().IgnoreError();
    return again;
  }
  lock->refresher_ = std::thread([l = lock.get()] { l->RefreshLoop(); });
  return lock;
}

void Lock::RefreshLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    if (cv_.wait_for(l, kRefreshEvery, [this] { return stop_; })) break;
    info_.time = clock_.Now();
    if (!Write().ok()) healthy_ = false;
  }
}

Status Lock::Release() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (released_) return Status::Ok();
    released_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  if (name_.empty()) return Status::Ok();
  return repo_.backend().Remove({FileKind::kLock, name_});
}

Lock::~Lock() { Release().IgnoreError(); }

}  // namespace lb::repo
