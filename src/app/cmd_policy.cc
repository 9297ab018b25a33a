// Policy as code: lifeboat policy check, plan, run, status.
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/backends.h"
#include "app/commands.h"
#include "archiver/archiver.h"
#include "history/history.h"
#include "policy/lint.h"
#include "policy/objectives.h"
#include "policy/policy.h"
#include "policy/units.h"
#include "retention/retention.h"
#include "repo/lock.h"
#include "snapshot/store.h"

namespace lb::app {

policy::Policy LoadPolicy(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Failure{kExitFatal, "cannot read policy file " + path};
  std::stringstream ss;
  ss << in.rdbuf();
  auto p = policy::ParsePolicy(ss.str(), path);
  if (!p.ok()) throw Failure{kExitFatal, p.status().message()};
  return std::move(p).value();
}

policy::Zone ZoneOf(const policy::Policy& p) {
  if (p.zone) return *p.zone;
  time_t now = time(nullptr);
  struct tm tm {};
  localtime_r(&now, &tm);
  return policy::Zone::FixedOffset(static_cast<int32_t>(tm.tm_gmtoff));
}

std::string DefaultHistoryPath() {
  if (const char* p = std::getenv("LIFEBOAT_HISTORY")) return p;
  std::string base;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) base = x;
  else if (const char* h = std::getenv("HOME"); h && *h) base = std::string(h) + "/.local/state";
  else base = "/var/lib";
  return base + "/lifeboat/history.db";
}

std::unique_ptr<history::History> OpenHistory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  auto h = history::History::Open(path);
  if (!h.ok()) Fail(h.status());
  return std::move(h).value();
}

Result<std::string> TargetPassword(const policy::Target& t) {
  if (!t.password_env.empty()) {
    const char* v = std::getenv(t.password_env.c_str());
    if (!v || !*v) return NotFound("environment variable " + t.password_env + " is not set");
    return std::string(v);
  }
  std::ifstream in(t.password_file);
  if (!in) return NotFound("cannot read password file " + t.password_file);
  std::string line;
  std::getline(in, line);
  return line;
}

Result<std::unique_ptr<repo::Repository>> OpenTarget(const policy::Target& t) {
  LB_ASSIGN_OR_RETURN(std::string pw, TargetPassword(t));
  LB_ASSIGN_OR_RETURN_CTX(auto backend, OpenBackend(t.url), "target " + t.name);
  LB_ASSIGN_OR_RETURN(auto repo, repo::Repository::Open(std::move(backend), pw));
  if (repo->keys().append_only) LB_RETURN_IF_ERROR(UseOwnCache(*repo));
  return repo;
}

int64_t KeyAge(const repo::Repository& repo) {
  return TheClock().Now() - repo.VersionCreated(repo.keys().current);
}

std::vector<std::string> RotateDueKeys(const policy::Policy& p) {
  std::vector<std::string> log;
  for (const auto& t : p.targets) {
    if (t.rotate_keys_every_ns <= 0) continue;
    auto repo = OpenTarget(t);
    if (!repo.ok()) {
      log.push_back("key rotation: target " + t.name + ": " + repo.status().message());
      continue;
    }
    if ((*repo)->keys().append_only || KeyAge(**repo) <= t.rotate_keys_every_ns) continue;
    auto lock = repo::Lock::Acquire(**repo, false, "key rotate (policy)", TheClock());
    auto v = lock.ok() ? (*repo)->RotateKey(TheClock().Now(), /*publish=*/true) : Result<uint32_t>(lock.status());
    if (!v.ok()) {
      log.push_back("key rotation: target " + t.name + ": " + v.status().message());
      continue;
    }
    AuditLog(**repo, "key rotate (policy)", {"keyring:version " + std::to_string(*v)});
    log.push_back("key rotation: target " + t.name + ": data key version " + std::to_string(*v) + " is current");
  }
  return log;
}

policy::History BuildHistory(const policy::Policy& p, history::History& h) {
  policy::History out;
  for (const auto& s : p.services) {
    policy::ServiceHistory sh;
    auto to_run = [](const history::Job& j) { return policy::BackupRun{j.start, j.end, j.ok, j.bytes}; };
    if (auto j = h.Last(s.name, "backup"); j.ok() && *j) sh.last_backup = to_run(**j);
    if (auto j = h.LastOk(s.name, "backup"); j.ok() && *j) sh.last_good_backup = to_run(**j);
    // The latest drill decides pass/fail; the latest good one gives the timings.
    auto last_drill = h.Last(s.name, "drill");
    auto good_drill = h.LastOk(s.name, "drill");
    if (last_drill.ok() && *last_drill) {
      policy::DrillRun d;
      d.when = (**last_drill).end;
      d.ok = (**last_drill).ok;
      if (good_drill.ok() && *good_drill) {
        d.bytes = (**good_drill).bytes;
        try {
          auto det = nlohmann::json::parse((**good_drill).details);
          d.restore_seconds = det.value("restore_seconds", 0.0);
          d.validation_seconds = det.value("validation_seconds", 0.0);
        } catch (const std::exception&) {
        }
      }
      sh.last_drill = d;
    }
    out[s.name] = sh;
  }
  return out;
}

namespace {

// Durations for people: whole seconds once past one second.
std::string Human(std::optional<int64_t> ns) {
  if (!ns) return "-";
  int64_t v = *ns;
  if (v >= 1000000000) v = (v + 500000000) / 1000000000 * 1000000000;
  return policy::FormatDuration(v);
}

// Backs up one service to one target: one snapshot per source, tagged with the
// service, then its retention. Returns bytes processed and added.
Result<std::pair<uint64_t, uint64_t>> BackupToTarget(const policy::Service& s, const policy::Target& t,
                                                     std::vector<std::string>& snapshot_ids) {
  LB_ASSIGN_OR_RETURN(auto repo, OpenTarget(t));
  LB_ASSIGN_OR_RETURN(auto lock, repo::Lock::Acquire(*repo, false, "run " + s.name, TheClock()));
  // Whatever this run added or removed goes to the audit log, also when it fails part-way.
  struct RunAudit {
    repo::Repository& repo;
    std::string command;
    std::vector<std::string> added, removed;
    ~RunAudit() {
      if (added.empty() && removed.empty()) return;
      auto packs = WrittenPacks(repo);
      added.insert(added.end(), packs.begin(), packs.end());
      AuditLog(repo, command, std::move(added), std::move(removed));
    }
  } run_audit{*repo, "run " + s.name, {}, {}};
  uint64_t bytes = 0, added = 0;
  const std::string tag = "service=" + s.name;
  std::vector<std::string> paths;
  std::vector<std::string> excludes;
  for (const auto& src : s.sources)
    if (src.type == policy::Source::Type::kPath) {
      paths.push_back(src.path);
      excludes.insert(excludes.end(), src.exclude.begin(), src.exclude.end());
    }
  auto one = [&](archiver::Options o) -> Status {
    o.tags = {tag};
    o.host = Hostname();
    o.program_version = ProgramVersion();
    auto r = archiver::Backup(*repo, o, TheClock());
    if (!r.ok()) return r.status();
    bytes += r->snapshot.summary.total_bytes;
    added += r->snapshot.summary.bytes_added;
    snapshot_ids.push_back(r->snapshot_id.Hex());
    run_audit.added.push_back("snapshot:" + r->snapshot_id.Hex());
    if (!r->snapshot.partial_files.empty())
      return IoError(std::to_string(r->snapshot.partial_files.size()) + " files could not be read");
    return Status::Ok();
  };
  if (!paths.empty()) {
    archiver::Options o;
    o.paths = paths;
    o.excludes = fs::PatternList(excludes);
    auto all = snapshot::ListSnapshots(*repo);
    if (all.ok())
      for (auto it = all->rbegin(); it != all->rend(); ++it)
        if (it->snapshot.paths == paths && it->snapshot.host == Hostname()) {
          o.parent = it->id;
          break;
        }
    LB_RETURN_IF_ERROR(one(o));
  }
  for (const auto& src : s.sources) {
    if (src.type != policy::Source::Type::kCommand) continue;
    int fds[2];
    if (pipe(fds) != 0) return ErrnoStatus("pipe", errno);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (const auto& a : src.command) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    archiver::Options o;
    o.stdin_fd = fds[0];
    o.stdin_name = src.name;
    o.before_snapshot = [&]() -> Status {
      int wst = 0;
      waitpid(pid, &wst, 0);
      pid = -1;
      if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
        return Status(Code::kCancelled, "command '" + src.command[0] + "' failed; no snapshot saved");
      return Status::Ok();
    };
    Status st = one(o);
    close(fds[0]);
    if (pid > 0) waitpid(pid, nullptr, 0);
    LB_RETURN_IF_ERROR(st);
  }
  if (s.retention && !s.retention->empty() && repo->keys().append_only) {
    std::fprintf(stderr, "lifeboat: %s -> %s: retention skipped: the target's key is append-only\n",
                 s.name.c_str(), t.name.c_str());
  } else if (s.retention && !s.retention->empty()) {
    auto all = snapshot::ListSnapshots(*repo);
    if (!all.ok()) return all.status();
    std::vector<retention::SnapshotRef> refs;
    for (const auto& e : *all)
      if (std::find(e.snapshot.tags.begin(), e.snapshot.tags.end(), tag) != e.snapshot.tags.end())
        refs.push_back({e.id.Hex(), e.snapshot.time, e.snapshot.host, e.snapshot.paths, e.snapshot.tags});
    retention::GroupBy by;
    by.host = true;
    by.paths = true;
    for (const auto& g : retention::Apply(refs, *s.retention, by, TheClock().Now(), retention::CivilTime::Local()))
      for (const auto& d : g.decisions)
        if (!d.keep && repo->backend().Remove({storage::FileKind::kSnapshot, d.id}).ok())
          run_audit.removed.push_back("snapshot:" + d.id);
  }
  return std::make_pair(bytes, added);
}

// Backs up one service to each of its targets and records every job; returns
// (jobs, failed jobs).
}  // namespace

// Runs hook command lines with /bin/sh; the first failure is the result.
Status RunHooks(const std::vector<std::string>& hooks, const std::string& service, const char* when) {
  for (const auto& cmd : hooks) {
    pid_t pid = fork();
    if (pid < 0) return ErrnoStatus("fork", errno);
    if (pid == 0) {
      dup2(STDERR_FILENO, STDOUT_FILENO);  // hook output goes to the log, not to --json
      setenv("LIFEBOAT_SERVICE", service.c_str(), 1);
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int wst = 0;
    waitpid(pid, &wst, 0);
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0)
      return Status(Code::kCancelled, std::string(when) + " hook '" + cmd + "' failed (exit " +
                                          std::to_string(WIFEXITED(wst) ? WEXITSTATUS(wst) : -1) + ")");
  }
  return Status::Ok();
}

std::pair<int, int> RunService(const policy::Policy& p, const policy::Service& s, history::History& h,
                               const Globals& g) {
  int ran = 0, failed = 0;
  Status before = RunHooks(s.hooks.before, s.name, "before");
  for (const auto& tref : s.targets) {
    const policy::Target* t = p.FindTarget(tref.name);
    history::Job job;
    job.service = s.name;
    job.kind = "backup";
    job.target = tref.name;
    job.start = TheClock().Now();
    std::vector<std::string> ids;
    auto r = !before.ok() ? Result<std::pair<uint64_t, uint64_t>>(before)
             : t          ? BackupToTarget(s, *t, ids)
                          : Result<std::pair<uint64_t, uint64_t>>(NotFound("unknown target"));
    job.end = TheClock().Now();
    job.ok = r.ok();
    if (r.ok()) {
      job.bytes = r->first;
      job.bytes_added = r->second;
    } else {
      job.error = r.status().message();
      ++failed;
    }
    job.snapshot_id = ids.empty() ? "" : ids.back();
    ++ran;
    if (auto rec = h.Record(job); !rec.ok())
      std::fprintf(stderr, "lifeboat: cannot record job: %s\n", rec.status().message().c_str());
    if (g.json)
      std::cout << DumpJson({{"message_type", "job"}, {"service", s.name}, {"target", tref.name},
                             {"ok", job.ok}, {"error", job.error}, {"snapshots", ids},
                             {"seconds", static_cast<double>(job.end - job.start) / 1e9}})
                << std::endl;
    else if (!g.quiet)
      std::printf("%s -> %s: %s%s\n", s.name.c_str(), tref.name.c_str(), job.ok ? "ok" : "FAILED: ",
                  job.error.c_str());
  }
  if (before.ok()) {
    Status after = RunHooks(s.hooks.after, s.name, "after");
    if (!after.ok()) {
      std::fprintf(stderr, "lifeboat: %s: %s\n", s.name.c_str(), after.message().c_str());
      ++failed;
    }
  }
  return {ran, failed};
}

void RegisterPolicy(CLI::App& app, Globals& g) {
  auto* pol = app.add_subcommand("policy", "work with a policy file (TOML)");
  pol->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto* check = pol->add_subcommand("check", "lint a policy file: schema, schedules vs RPO, targets, secrets, cycles");
  check->add_option("FILE", *file, "policy file")->required();
  check->callback([&g, file] {
    policy::Policy p = LoadPolicy(*file);
    policy::LintHooks hooks;
    hooks.check_password = [](const policy::Target& t) { return TargetPassword(t).status(); };
    hooks.probe_target = [](const policy::Target& t) { return OpenTarget(t).status(); };
    hooks.key_age = [](const policy::Target& t) -> Result<int64_t> {
      LB_ASSIGN_OR_RETURN(auto repo, OpenTarget(t));
      return KeyAge(*repo);
    };
    auto findings = policy::Lint(p, hooks);
    if (g.json) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& f : findings)
        a.push_back({{"severity", f.severity == policy::Severity::kError ? "error" : "warning"},
                     {"line", f.pos.line}, {"column", f.pos.col}, {"message", f.message}});
      std::cout << DumpJson({{"message_type", "policy-check"}, {"file", *file},
                             {"ok", !policy::HasErrors(findings)}, {"findings", a}})
                << "\n";
    } else {
      for (const auto& f : findings) std::printf("%s\n", f.ToString().c_str());
      if (!g.quiet) std::printf("%s: %zu services, %zu targets, %zu findings\n", file->c_str(),
                                p.services.size(), p.targets.size(), findings.size());
    }
    if (policy::HasErrors(findings)) throw Failure{kExitFatal, *file + ": the policy has errors"};
  });
}

void RegisterPlan(CLI::App& app, Globals& g) {
  auto file = std::make_shared<std::string>();
  auto hist = std::make_shared<std::string>(DefaultHistoryPath());
  auto* cmd = app.add_subcommand("plan", "prove per service whether its RPO and RTO are met, and why");
  cmd->add_option("FILE", *file, "policy file")->required();
  cmd->add_option("--history", *hist, "history database (env LIFEBOAT_HISTORY)");
  cmd->callback([&g, file, hist] {
    policy::Policy p = LoadPolicy(*file);
    auto h = OpenHistory(*hist);
    auto plans = policy::Plan(p, BuildHistory(p, *h), TheClock().Now());
    if (g.json) {
      nlohmann::json a = nlohmann::json::array();
      auto obj = [](const policy::Objective& o) {
        return nlohmann::json{{"target_ns", o.target_ns},
                              {"estimate_ns", o.estimate_ns ? nlohmann::json(*o.estimate_ns) : nlohmann::json(nullptr)},
                              {"status", policy::VerdictName(o.verdict)}, {"reason", o.reason}};
      };
      for (const auto& sp : plans) a.push_back({{"service", sp.service}, {"rpo", obj(sp.rpo)}, {"rto", obj(sp.rto)}});
      std::cout << DumpJson({{"message_type", "plan"}, {"services", a}}) << "\n";
      return;
    }
    std::printf("%-16s %-4s %-8s %-10s %-9s  %s\n", "SERVICE", "", "TARGET", "ESTIMATE", "STATUS", "REASON");
    for (const auto& sp : plans) {
      for (const auto* o : {&sp.rpo, &sp.rto})
        std::printf("%-16s %-4s %-8s %-10s %-9s  %s\n", o == &sp.rpo ? sp.service.c_str() : "",
                    o == &sp.rpo ? "RPO" : "RTO", policy::FormatDuration(o->target_ns).c_str(),
                    Human(o->estimate_ns).c_str(), policy::VerdictName(o->verdict), o->reason.c_str());
    }
  });
}

void RegisterRun(CLI::App& app, Globals& g, int& exit_code) {
  auto file = std::make_shared<std::string>();
  auto services = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  auto hist = std::make_shared<std::string>(DefaultHistoryPath());
  auto* cmd = app.add_subcommand("run", "run what is due now (backup to every target, retention) once");
  cmd->add_option("FILE", *file, "policy file")->required();
  cmd->add_option("SERVICE", *services, "only these services");
  cmd->add_flag("--force", *force, "run regardless of the schedule");
  cmd->add_option("--history", *hist, "history database (env LIFEBOAT_HISTORY)");
  cmd->callback([&g, file, services, force, hist, &exit_code] {
    policy::Policy p = LoadPolicy(*file);
    for (const auto& name : *services)
      if (!p.FindService(name)) FailUsage("no service '" + name + "' in " + *file);
    auto h = OpenHistory(*hist);
    const policy::Zone zone = ZoneOf(p);
    int failed = 0, ran = 0;
    for (const auto& s : p.services) {
      if (!services->empty() && std::find(services->begin(), services->end(), s.name) == services->end()) continue;
      const TimeNs now = TheClock().Now();
      auto last = h->Last(s.name, "backup");
      bool due = *force || !last.ok() || !*last || policy::NextRun(s.schedule, (**last).start, zone) <= now;
      if (!due) {
        if (!g.quiet && !g.json) std::printf("%s: not due\n", s.name.c_str());
        continue;
      }
      auto r = RunService(p, s, *h, g);
      ran += r.first;
      failed += r.second;
    }
    if (failed) {
      std::fprintf(stderr, "lifeboat: %d of %d jobs failed\n", failed, ran);
      exit_code = kExitFatal;
    }
  });
}

void RegisterStatus(CLI::App& app, Globals& g, int& exit_code) {
  auto file = std::make_shared<std::string>();
  auto hist = std::make_shared<std::string>(DefaultHistoryPath());
  auto* cmd = app.add_subcommand("status", "per service: age of the last good backup vs RPO, last drill vs RTO");
  cmd->add_option("FILE", *file, "policy file")->required();
  cmd->add_option("--history", *hist, "history database (env LIFEBOAT_HISTORY)");
  cmd->callback([&g, file, hist, &exit_code] {
    policy::Policy p = LoadPolicy(*file);
    auto h = OpenHistory(*hist);
    const TimeNs now = TheClock().Now();
    auto plans = policy::Plan(p, BuildHistory(p, *h), now);
    nlohmann::json a = nlohmann::json::array();
    bool violated = false;
    if (!g.json) std::printf("%-16s %-12s %-8s %-9s %-9s  %s\n", "SERVICE", "LAST GOOD", "RPO", "RPO", "RTO", "LAST ERROR");
    for (const auto& sp : plans) {
      auto good = h->LastOk(sp.service, "backup");
      auto last = h->Last(sp.service, "backup");
      std::optional<int64_t> age;
      if (good.ok() && *good) age = now - (**good).start;
      std::string err = last.ok() && *last && !(**last).ok ? (**last).error : "";
      const bool rpo_bad = !age || *age > sp.rpo.target_ns;
      violated |= rpo_bad || sp.rto.verdict == policy::Verdict::kViolated;
      if (g.json) {
        a.push_back({{"service", sp.service},
                     {"last_good_age_ns", age ? nlohmann::json(*age) : nlohmann::json(nullptr)},
                     {"rpo_ns", sp.rpo.target_ns}, {"rpo_ok", !rpo_bad},
                     {"rto_status", policy::VerdictName(sp.rto.verdict)}, {"rto_reason", sp.rto.reason},
                     {"last_error", err}});
      } else {
        std::printf("%-16s %-12s %-8s %-9s %-9s  %s\n", sp.service.c_str(), (age ? Human(age) + " ago" : "never").c_str(),
                    policy::FormatDuration(sp.rpo.target_ns).c_str(), rpo_bad ? "VIOLATED" : "met",
                    policy::VerdictName(sp.rto.verdict), err.c_str());
      }
    }
    if (g.json) std::cout << DumpJson({{"message_type", "status"}, {"ok", !violated}, {"services", a}}) << "\n";
    if (violated) exit_code = kExitFatal;
  });
}

}  // namespace lb::app
