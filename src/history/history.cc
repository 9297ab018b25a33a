#include "history/history.h"

#include <sqlite3.h>

namespace lb::history {

namespace {

constexpr int kSchemaVersion = 1;

Status SqlError(sqlite3* db, const std::string& what) {
  return IoError("history database: " + what + ": " + sqlite3_errmsg(db));
}

// RAII for prepared statements.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) { rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

std::string Col(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

History::~History() { sqlite3_close(db_); }

Result<std::unique_ptr<History>> History::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    Status st = IoError("cannot open history database " + path + ": " +
                        (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return st;
  }
  std::unique_ptr<History> h(new History(db));
  sqlite3_busy_timeout(db, 10000);
  // WAL lets status/plan read while the daemon writes. Switching can fail with
  // "busy" while another process holds the file; it is then already in WAL mode
  // or will be switched by that process, so this is not an error.
  if (path != ":memory:") h->Exec("PRAGMA journal_mode=WAL").IgnoreError();
  LB_RETURN_IF_ERROR(h->Exec(
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS jobs ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, kind TEXT NOT NULL,"
      " target TEXT NOT NULL DEFAULT '', start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,"
      " ok INTEGER NOT NULL, error TEXT NOT NULL DEFAULT '', bytes INTEGER NOT NULL DEFAULT 0,"
      " bytes_added INTEGER NOT NULL DEFAULT 0, snapshot_id TEXT NOT NULL DEFAULT '',"
      " details TEXT NOT NULL DEFAULT '{}');"
      "CREATE INDEX IF NOT EXISTS jobs_by_service ON jobs (service, kind, end_ns);"));
  Stmt get(db, "SELECT value FROM meta WHERE key = 'schema'");
  if (!get.ok()) return SqlError(db, "read schema version");
  if (sqlite3_step(get.get()) == SQLITE_ROW) {
    int v = std::stoi(Col(get.get(), 0));
    if (v > kSchemaVersion)
      return Unsupported("history database " + path + " has schema " + std::to_string(v) +
                         ", newer than this lifeboat knows");
  } else {
    LB_RETURN_IF_ERROR(h->Exec("INSERT OR IGNORE INTO meta VALUES ('schema', '" + std::to_string(kSchemaVersion) + "')"));
  }
  return h;
}

Status History::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return IoError("history database: " + msg);
  }
  return Status::Ok();
}

Result<int64_t> History::Record(const Job& j) {
  Stmt s(db_,
         "INSERT INTO jobs (service, kind, target, start_ns, end_ns, ok, error, bytes, bytes_added,"
         " snapshot_id, details) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  if (!s.ok()) return SqlError(db_, "prepare insert");
  sqlite3_bind_text(s.get(), 1, j.service.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 2, j.kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 3, j.target.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 4, j.start);
  sqlite3_bind_int64(s.get(), 5, j.end);
  sqlite3_bind_int(s.get(), 6, j.ok ? 1 : 0);
  sqlite3_bind_text(s.get(), 7, j.error.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 8, static_cast<int64_t>(j.bytes));
  sqlite3_bind_int64(s.get(), 9, static_cast<int64_t>(j.bytes_added));
  sqlite3_bind_text(s.get(), 10, j.snapshot_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.get(), 11, j.details.empty() ? "{}" : j.details.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db_, "insert job");
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<std::vector<Job>> History::Query(const std::string& where, const std::vector<std::string>& args,
                                        int limit) {
  std::string sql =
      "SELECT id, service, kind, target, start_ns, end_ns, ok, error, bytes, bytes_added,"
      " snapshot_id, details FROM jobs" +
      (where.empty() ? std::string() : " WHERE " + where) + " ORDER BY end_ns DESC, id DESC LIMIT " +
      std::to_string(limit);
  Stmt s(db_, sql);
  if (!s.ok()) return SqlError(db_, "prepare query");
  for (size_t i = 0; i < args.size(); ++i)
    sqlite3_bind_text(s.get(), static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
  std::vector<Job> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    Job j;
    j.id = sqlite3_column_int64(s.get(), 0);
    j.service = Col(s.get(), 1);
    j.kind = Col(s.get(), 2);
    j.target = Col(s.get(), 3);
    j.start = sqlite3_column_int64(s.get(), 4);
    j.end = sqlite3_column_int64(s.get(), 5);
    j.ok = sqlite3_column_int(s.get(), 6) != 0;
    j.error = Col(s.get(), 7);
    j.bytes = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 8));
    j.bytes_added = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 9));
    j.snapshot_id = Col(s.get(), 10);
    j.details = Col(s.get(), 11);
    out.push_back(std::move(j));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "query jobs");
  return out;
}

Result<std::vector<Job>> History::Recent(const std::string& service, const std::string& kind, int limit) {
  std::string where;
  std::vector<std::string> args;
  if (!service.empty()) {
    where = "service = ?";
    args.push_back(service);
  }
  if (!kind.empty()) {
    where += (where.empty() ? "" : " AND ") + std::string("kind = ?");
    args.push_back(kind);
  }
  return Query(where, args, limit);
}

Result<std::optional<Job>> History::LastOk(const std::string& service, const std::string& kind,
                                           const std::string& target) {
  std::string where = "service = ? AND kind = ? AND ok = 1";
  std::vector<std::string> args{service, kind};
  if (!target.empty()) {
    where += " AND target = ?";
    args.push_back(target);
  }
  LB_ASSIGN_OR_RETURN(auto jobs, Query(where, args, 1));
  if (jobs.empty()) return std::optional<Job>();
  return std::optional<Job>(jobs[0]);
}

Result<std::optional<Job>> History::Last(const std::string& service, const std::string& kind) {
  LB_ASSIGN_OR_RETURN(auto jobs, Query("service = ? AND kind = ?", {service, kind}, 1));
  if (jobs.empty()) return std::optional<Job>();
  return std::optional<Job>(jobs[0]);
}

}  // namespace lb::history
