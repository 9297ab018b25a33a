// lifeboat drill / drills: restore rehearsals and their history.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "app/commands.h"
#include "app/drill_job.h"
#include "drill/drift.h"
#include "policy/units.h"
#include "repo/lock.h"
#include "snapshot/store.h"

namespace lb::app {

namespace {

struct DrillFlags {
  std::string file, service, snapshot, at, target, sandbox = "/var/tmp", history = DefaultHistoryPath();
  bool random = false, keep = false, dry_run = false;
};

drill::Selection SelectionOf(const DrillFlags& f) {
  drill::Selection sel;
  const int given = !f.snapshot.empty() + f.random + !f.at.empty();
  if (given > 1) FailUsage("give at most one of --snapshot, --random and --at");
  if (!f.snapshot.empty()) {
    sel.mode = drill::Selection::Mode::kId;
    sel.id = f.snapshot;
  } else if (f.random) {
    sel.mode = drill::Selection::Mode::kRandom;
    sel.seed = static_cast<uint64_t>(TheClock().Now()) ^ static_cast<uint64_t>(::getpid());
  } else if (!f.at.empty()) {
    auto t = ParseTime(f.at);
    if (!t.ok()) FailUsage("--at: " + t.status().message());
    sel.mode = drill::Selection::Mode::kAt;
    sel.at = *t;
  }
  return sel;
}

const policy::Service& ServiceOf(const policy::Policy& p, const std::string& name) {
  const policy::Service* s = p.FindService(name);
  if (!s) FailUsage("no service '" + name + "' in " + p.file);
  return *s;
}

// --dry-run: what would be restored, and how long it should take.
void DryRun(const Globals& g, const policy::Policy& p, const policy::Service& s, const DrillFlags& f,
            history::History& h) {
  const std::string tname = !f.target.empty() ? f.target : s.targets.empty() ? "" : s.targets[0].name;
  const policy::Target* t = p.FindTarget(tname);
  if (!t) FailUsage("service " + s.name + " has no target '" + tname + "'");
  auto repo = OpenTarget(*t);
  if (!repo.ok()) Fail(repo.status().WithContext("target " + tname));
  auto all = snapshot::ListSnapshots(**repo);
  if (!all.ok()) Fail(all.status());
  auto point = drill::SelectPoint(*all, s, SelectionOf(f));
  if (!point.ok()) Fail(point.status());
  uint64_t bytes = 0;
  for (const auto& part : point->parts) bytes += part.entry.snapshot.summary.total_bytes;
  std::optional<double> estimate;
  if (auto last = h.LastOk(s.name, "drill"); last.ok() && *last && (**last).bytes > 0) {
    auto det = nlohmann::json::parse((**last).details, nullptr, false);
    if (!det.is_discarded()) {
      const double rs = det.value("restore_seconds", 0.0), vs = det.value("validation_seconds", 0.0);
      estimate = rs * static_cast<double>(bytes) / static_cast<double>((**last).bytes) + vs;
    }
  }
  if (g.json) {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& part : point->parts)
      parts.push_back({{"source", part.group.label}, {"snapshot", part.entry.id.Hex()},
                       {"time", FormatTimeRfc3339(part.entry.snapshot.time)},
                       {"files", part.entry.snapshot.summary.total_files},
                       {"bytes", part.entry.snapshot.summary.total_bytes}});
    std::cout << DumpJson({{"message_type", "drill-plan"}, {"service", s.name}, {"target", tname},
                           {"sources", parts}, {"bytes", bytes}, {"sandbox_parent", f.sandbox},
                           {"estimate_seconds", estimate ? nlohmann::json(*estimate) : nlohmann::json(nullptr)},
                           {"rto_seconds", static_cast<double>(s.rto_ns) / 1e9}})
              << "\n";
    return;
  }
  std::printf("would drill %s from target %s (%s) into a sandbox in %s:\n", s.name.c_str(), tname.c_str(),
              t->url.c_str(), f.sandbox.c_str());
  for (const auto& part : point->parts)
    std::printf("  source %s: snapshot %s of %s, %llu files, %s\n", part.group.label.c_str(),
                part.entry.id.Short().c_str(), FormatTimeLocal(part.entry.snapshot.time).c_str(),
                static_cast<unsigned long long>(part.entry.snapshot.summary.total_files),
                HumanBytes(part.entry.snapshot.summary.total_bytes).c_str());
  if (estimate)
    std::printf("estimated time %s (from the last good drill), rto %s\n",
                policy::FormatDuration(static_cast<int64_t>(*estimate * 1e9) / 1000000000 * 1000000000).c_str(),
                policy::FormatDuration(s.rto_ns).c_str());
  else
    std::printf("no estimate yet: the service has no successful drill; rto %s\n",
                policy::FormatDuration(s.rto_ns).c_str());
}

}  // namespace

void RegisterDrill(CLI::App& app, Globals& g, int& exit_code) {
  auto f = std::make_shared<DrillFlags>();
  auto* cmd = app.add_subcommand(
      "drill",
      "restore a service's latest backup into a sandbox, verify it (chunks, counts, lineage), run its\n"
      "validation commands, time each phase and record the result (exit 1 when the drill fails)");
  cmd->add_option("FILE", f->file, "policy file")->required();
  cmd->add_option("SERVICE", f->service, "service to drill")->required();
  cmd->add_option("--snapshot", f->snapshot, "drill this snapshot (id or prefix) instead of the latest");
  cmd->add_flag("--random", f->random, "drill a randomly chosen older recovery point");
  cmd->add_option("--at", f->at, "drill the newest recovery point at or before this time");
  cmd->add_option("--from", f->target, "target to restore from (default: the service's first)");
  cmd->add_option("--sandbox", f->sandbox, "directory in which the sandbox is created (default /var/tmp)");
  cmd->add_flag("--keep", f->keep, "keep the sandbox afterwards");
  cmd->add_flag("--dry-run", f->dry_run, "print what would be restored and the time estimate; write nothing");
  cmd->add_option("--history", f->history, "history database (env LIFEBOAT_HISTORY)");
  cmd->callback([&g, f, &exit_code] {
    policy::Policy p = LoadPolicy(f->file);
    const policy::Service& s = ServiceOf(p, f->service);
    DrillRequest req;
    req.target = f->target;
    req.options.selection = SelectionOf(*f);
    req.options.sandbox_parent = f->sandbox;
    req.options.keep = f->keep;
    req.options.threads = g.threads;
    auto h = OpenHistory(f->history);
    if (f->dry_run) return DryRun(g, p, s, *f, *h);
    drill::Report r = RunAndRecordDrill(p, s, req, *h);
    if (g.json) {
      nlohmann::json j = DrillReportJson(r);
      j["message_type"] = "drill";
      std::cout << DumpJson(j) << "\n";
    } else if (!g.quiet || !r.ok) {
      std::fputs(DrillReportText(r).c_str(), stdout);
    }
    if (!r.ok) {
      std::fprintf(stderr, "lifeboat: drill %s failed: %s\n", s.name.c_str(), r.failures.front().c_str());
      exit_code = kExitFatal;
    }
  });
}

void RegisterDrills(CLI::App& app, Globals& g, int& exit_code) {
  struct Flags {
    std::string file, service, history = DefaultHistoryPath();
    int limit = 20;
    double factor = 1.5;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "drills",
      "drill history per service: results, restore time and throughput, drift against the median of\n"
      "earlier drills, and overdue drills (exit 1 when a service's latest drill failed or drifted, or\n"
      "its drill is overdue)");
  cmd->add_option("FILE", f->file, "policy file")->required();
  cmd->add_option("SERVICE", f->service, "only this service");
  cmd->add_option("--limit", f->limit, "drills per service (default 20)")->check(CLI::Range(1, 100000));
  cmd->add_option("--drift-factor", f->factor,
                  "drift when restore time exceeds this many times the median of the last 5 good drills "
                  "(or throughput falls below 1/factor of it; default 1.5)")
      ->check(CLI::Range(1.0, 1000.0));
  cmd->add_option("--history", f->history, "history database (env LIFEBOAT_HISTORY)");
  cmd->callback([&g, f, &exit_code] {
    policy::Policy p = LoadPolicy(f->file);
    if (!f->service.empty()) ServiceOf(p, f->service);
    auto h = OpenHistory(f->history);
    const TimeNs now = TheClock().Now();
    drill::DriftOptions dopt;
    dopt.factor = f->factor;
    nlohmann::json services = nlohmann::json::array();
    bool bad = false;
    if (!g.json)
      std::printf("%-16s %-20s %-6s %-9s %9s %10s %9s  %s\n", "SERVICE", "TIME", "RESULT", "SNAPSHOT",
                  "RESTORE", "MB/s", "VALIDATE", "NOTE");
    for (const auto& s : p.services) {
      if (!f->service.empty() && s.name != f->service) continue;
      auto jobs = h->Recent(s.name, "drill", f->limit);
      if (!jobs.ok()) Fail(jobs.status());
      std::vector<history::Job> js(jobs->rbegin(), jobs->rend());  // oldest first
      std::vector<drill::DrillRecord> recs;
      std::vector<double> validate_s;
      for (const auto& j : js) {
        auto det = nlohmann::json::parse(j.details, nullptr, false);
        const bool obj = det.is_object();
        recs.push_back({j.end, j.ok, obj ? det.value("restore_seconds", 0.0) : 0.0, j.bytes});
        validate_s.push_back(obj ? det.value("validation_seconds", 0.0) : 0.0);
      }
      const auto drift = drill::FindDrift(recs, dopt);
      std::optional<TimeNs> last_ok;
      for (const auto& j : js)
        if (j.ok) last_ok = j.end;
      const bool overdue = drill::DrillOverdue(s, last_ok, now);
      const bool last_failed = !js.empty() && !js.back().ok;
      const bool last_drifted = !drift.empty() && !drift.back().empty();
      bad |= overdue || last_failed || last_drifted;
      nlohmann::json rows = nlohmann::json::array();
      for (size_t i = 0; i < js.size(); ++i) {
        const auto& j = js[i];
        const std::string note = !j.ok ? j.error : drift[i].empty() ? "" : "DRIFT: " + drift[i];
        if (g.json) {
          rows.push_back({{"time", FormatTimeRfc3339(j.end)}, {"ok", j.ok}, {"snapshot", j.snapshot_id},
                          {"target", j.target}, {"bytes", j.bytes}, {"restore_seconds", recs[i].restore_seconds},
                          {"throughput_bytes_per_second", recs[i].throughput()},
                          {"validation_seconds", validate_s[i]}, {"error", j.error}, {"drift", drift[i]}});
        } else {
          char mbs[32], rs[32], vs[32];
          std::snprintf(rs, sizeof rs, "%.2fs", recs[i].restore_seconds);
          std::snprintf(mbs, sizeof mbs, "%.1f", recs[i].throughput() / 1e6);
          std::snprintf(vs, sizeof vs, "%.2fs", validate_s[i]);
          std::printf("%-16s %-20s %-6s %-9s %9s %10s %9s  %s\n", s.name.c_str(), FormatTimeLocal(j.end).c_str(),
                      j.ok ? "ok" : "FAILED", j.snapshot_id.substr(0, 8).c_str(), rs, mbs, vs, note.c_str());
        }
      }
      std::string overdue_text;
      if (overdue)
        overdue_text = !last_ok ? "never drilled successfully"
                                : "last good drill " + policy::FormatDuration((now - *last_ok) / 1000000000 * 1000000000) +
                                      " ago, policy asks every " + policy::FormatDuration(s.drill->every_ns);
      if (g.json) {
        services.push_back({{"service", s.name}, {"drills", rows}, {"overdue", overdue},
                            {"overdue_reason", overdue_text}, {"last_failed", last_failed},
                            {"last_drifted", last_drifted},
                            {"drill_every_seconds", s.drill ? nlohmann::json(s.drill->every_ns / 1000000000) : nlohmann::json(nullptr)}});
      } else if (overdue) {
        std::printf("%-16s OVERDUE: %s\n", s.name.c_str(), overdue_text.c_str());
      }
    }
    if (g.json) std::cout << DumpJson({{"message_type", "drills"}, {"ok", !bad}, {"services", services}}) << "\n";
    if (bad) exit_code = kExitFatal;
  });
}

}  // namespace lb::app
