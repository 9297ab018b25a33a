// Repository locks: files in locks/ naming host, pid, time and command, encrypted
// with the meta key. Backups take shared locks; maintenance takes exclusive ones.
// A lock is stale when its process is gone (same host) or it was not refreshed for
// 30 minutes. A held lock is refreshed every 5 minutes by a background thread
// (a new lock file is written, then the old one removed).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <string>
#include <thread>

#include "base/bytes.h"
#include "base/clock.h"
#include "base/status.h"
#include "repo/repository.h"

namespace lb::repo {

struct LockInfo {
  std::string host;
  int64_t pid = 0;
  TimeNs time = 0;
  bool exclusive = false;
  std::string command;
  std::string user;
};

// The JSON inside a lock file (before encryption with the meta key):
// {"host", "pid", "time_ns", "exclusive", "command", "user"}.
Bytes EncodeLock(const LockInfo& info);
// kCorrupt when malformed: not an object, a required field (host, pid, time_ns,
// exclusive) missing, a field of the wrong type, or pid not a valid process id.
Result<LockInfo> DecodeLock(ByteSpan json);

class Lock {
 public:
  // kLocked (naming the holder) when a conflicting, non-stale lock exists.
  // `clock` must outlive the Lock.
  static Result<std::unique_ptr<Lock>> Acquire(Repository& repo, bool exclusive,
                                               const std::string& command, const Clock& clock);
  ~Lock();  // releases
  Status Release();
  // False once a refresh failed: the caller must not write a snapshot then.
  bool healthy() const { return healthy_; }

 private:
  Lock(Repository& repo, LockInfo info, const Clock& clock);
  Status Write();
  void RefreshLoop();

  Repository& repo_;
  LockInfo info_;
  const Clock& clock_;
  std::string name_;
  std::atomic<bool> healthy_{true};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool released_ = false;
  std::thread refresher_;
};

// Lists the locks currently in the repository (undecryptable ones are skipped).
Result<std::vector<std::pair<std::string, LockInfo>>> ListLocks(Repository& repo);
bool IsStale(const LockInfo& lock, TimeNs now);

}  // namespace lb::repo
