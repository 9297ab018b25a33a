// History: the job and drill record of every service, in an embedded SQLite
// database. Snapshots remain the truth for what exists; this records what ran,
// when, how long it took and how it ended, which the RPO/RTO engine needs.
//
// Thread safety: one History per thread (SQLite connection); several processes
// may share the file (WAL mode, busy timeout).
// Errors: kIoError for SQLite failures, with the SQLite message.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

struct sqlite3;

namespace lb::history {

struct Job {
  int64_t id = 0;  // assigned by Record
  std::string service;
  std::string kind;    // "backup", "copy", "forget", "drill", "recover"
  std::string target;  // target name ("" when not target-specific)
  TimeNs start = 0, end = 0;
  bool ok = false;
  std::string error;        // one line; empty when ok
  uint64_t bytes = 0;       // bytes processed (backup: total; drill: restored)
  uint64_t bytes_added = 0;
  std::string snapshot_id;  // hex, when the job made or used a snapshot
  std::string details;      // JSON text with kind-specific fields (phase times...)
};

class History {
 public:
  ~History();
  // Opens (creating if needed) the database at `path`; ":memory:" for tests.
  static Result<std::unique_ptr<History>> Open(const std::string& path);

  Result<int64_t> Record(const Job& job);
  // Newest first; service "" = all services; kind "" = all kinds.
  Result<std::vector<Job>> Recent(const std::string& service, const std::string& kind, int limit);
  // The newest successful job of a kind for a service (and target, if not "").
  Result<std::optional<Job>> LastOk(const std::string& service, const std::string& kind,
                                    const std::string& target = "");
  Result<std::optional<Job>> Last(const std::string& service, const std::string& kind);

 private:
  explicit History(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);
  Result<std::vector<Job>> Query(const std::string& where, const std::vector<std::string>& args,
                                 int limit);
  sqlite3* db_;
};

}  // namespace lb::history
