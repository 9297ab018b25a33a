// lifeboat daemon: runs the scheduler against a policy file until SIGTERM.
//
// Each loop asks the (pure) scheduler what is due at `now`, starts those jobs
// on their own threads (never two of one service, at most --max-concurrency in
// all), reports RPO breaches, and sleeps until the next wake-up. SIGHUP reloads
// the policy (a policy with errors is refused and the old one kept); SIGTERM or
// SIGINT stops scheduling and waits for running jobs to finish.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "app/drill_job.h"
#include "drill/drift.h"
#include "history/history.h"
#include "policy/lint.h"
#include "policy/policy.h"
#include "policy/units.h"
#include "scheduler/scheduler.h"

namespace lb::app {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void OnSignal(int sig) {
  if (sig == SIGHUP)
    g_reload = true;
  else
    g_stop = true;
}

Result<policy::Policy> ReadPolicy(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read policy file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  LB_ASSIGN_OR_RETURN(policy::Policy p, policy::ParsePolicy(ss.str(), path));
  auto findings = policy::Lint(p);
  for (const auto& f : findings)
    if (f.severity == policy::Severity::kError) return InvalidArgument(f.ToString());
  return p;
}

void Log(const std::string& line) {
  std::fprintf(stderr, "%s lifeboat daemon: %s\n", FormatTimeLocal(TheClock().Now()).c_str(), line.c_str());
}

// Seeds the scheduler state from the history database.
scheduler::State LoadState(const policy::Policy& p, history::History& h, TimeNs now) {
  scheduler::State st;
  for (const auto& s : p.services) {
    scheduler::ServiceState ss;
    ss.since = now;
    if (auto j = h.Last(s.name, "backup"); j.ok() && *j) {
      ss.last_start = (**j).start;
      ss.last_end = (**j).end;
    }
    if (auto j = h.LastOk(s.name, "backup"); j.ok() && *j) ss.last_good_start = (**j).start;
    st.services[s.name] = ss;
  }
  return st;
}

}  // namespace

void RegisterDaemon(CLI::App& app, Globals& g) {
  auto file = std::make_shared<std::string>();
  auto hist = std::make_shared<std::string>(DefaultHistoryPath());
  auto max_conc = std::make_shared<int>(1);
  auto jitter = std::make_shared<std::string>("0s");
  auto sandbox = std::make_shared<std::string>("/var/tmp");
  auto* cmd = app.add_subcommand("daemon", "run the scheduler for a policy file until SIGTERM (SIGHUP reloads)");
  cmd->add_option("FILE", *file, "policy file")->required();
  cmd->add_option("--history", *hist, "history database (env LIFEBOAT_HISTORY)");
  cmd->add_option("--max-concurrency", *max_conc, "jobs at once across services (default 1)")->check(CLI::Range(1, 64));
  cmd->add_option("--jitter", *jitter, "spread start times by up to this much (e.g. 2m)");
  cmd->add_option("--drill-sandbox", *sandbox,
                  "where drills (run on each service's drill.every) make their sandboxes (default /var/tmp)");
  cmd->callback([&g, file, hist, max_conc, jitter, sandbox] {
    auto jit = policy::ParseDuration(*jitter == "0s" ? "1s" : *jitter);
    if (!jit.ok()) FailUsage(jit.status().message());
    auto loaded = ReadPolicy(*file);
    if (!loaded.ok()) Fail(loaded.status());
    policy::Policy pol = std::move(loaded).value();
    auto h = OpenHistory(*hist);
    std::mutex mu;  // guards state, pol and running
    scheduler::State state = LoadState(pol, *h, TheClock().Now());
    scheduler::Options opt;
    opt.max_concurrency = *max_conc;
    opt.jitter_max_ns = *jitter == "0s" ? 0 : *jit;
    opt.seed = static_cast<uint64_t>(::getpid());
    opt.zone = ZoneOf(pol);
    std::vector<std::thread> jobs;
    // Drills: one at a time, each service on its drill.every after its last attempt.
    std::map<std::string, TimeNs> drill_attempt;
    for (const auto& sv : pol.services)
      if (auto j = h->Last(sv.name, "drill"); j.ok() && *j) drill_attempt[sv.name] = (**j).end;
    bool drill_running = false;
    TimeNs next_key_check = 0;  // key rotation (rotate_keys_every) is checked every minute
    signal(SIGTERM, OnSignal);
    signal(SIGINT, OnSignal);
    signal(SIGHUP, OnSignal);
    Log("started with " + std::to_string(pol.services.size()) + " services from " + *file);
    while (!g_stop) {
      if (g_reload.exchange(false)) {
        auto again = ReadPolicy(*file);
        std::lock_guard<std::mutex> l(mu);
        if (again.ok()) {
          pol = std::move(again).value();
          opt.zone = ZoneOf(pol);
          Log("reloaded " + *file);
        } else {
          Log("reload refused, keeping the old policy: " + again.status().message());
        }
      }
      TimeNs wake;
      {
        std::lock_guard<std::mutex> l(mu);
        const TimeNs now = TheClock().Now();
        for (const auto& a : scheduler::Decide(pol, state, now, opt)) {
          scheduler::OnActed(state, a, now);
          if (a.kind == scheduler::ActionKind::kReportRpoBreach) {
            Log("RPO breach: " + a.service + ": " + a.reason);
            continue;
          }
          Log(std::string(scheduler::ActionKindName(a.kind)) + " " + a.service + ": " + a.reason);
          const policy::Service* svc = pol.FindService(a.service);
          if (!svc) continue;
          jobs.emplace_back([&, service = *svc, policy_copy = pol] {
            auto jh = history::History::Open(*hist);
            bool ok = false;
            if (jh.ok()) ok = RunService(policy_copy, service, **jh, g).second == 0;
            std::lock_guard<std::mutex> l2(mu);
            scheduler::OnFinished(state, service.name, TheClock().Now(), ok);
            Log("finished " + service.name + (ok ? ": ok" : ": FAILED"));
          });
        }
        if (!drill_running)
          for (const auto& sv : pol.services) {
            auto it = drill_attempt.find(sv.name);
            auto due = drill::NextDrillDue(sv, it == drill_attempt.end() ? std::nullopt : std::optional<TimeNs>(it->second), now);
            const auto& ss = state.services[sv.name];
            // Nothing to rehearse before the first good backup; never during a backup.
            if (!due || *due > now || ss.running || !ss.last_good_start) continue;
            drill_running = true;
            drill_attempt[sv.name] = now;
            Log("drill " + sv.name + ": due");
            jobs.emplace_back([&, service = sv, policy_copy = pol] {
              DrillRequest req;
              req.options.sandbox_parent = *sandbox;
              req.options.threads = g.threads;
              std::string result = "cannot open the history database";
              if (auto jh = history::History::Open(*hist); jh.ok()) {
                drill::Report r = RunAndRecordDrill(policy_copy, service, req, **jh);
                result = r.ok ? "passed in " + std::to_string(r.total_seconds) + " s" : "FAILED: " + r.failures.front();
              }
              std::lock_guard<std::mutex> l2(mu);
              drill_running = false;
              drill_attempt[service.name] = TheClock().Now();
              Log("drill " + service.name + " " + result);
            });
            break;
          }
        if (now >= next_key_check) {
          next_key_check = now + 60LL * 1000000000LL;
          for (const auto& line : RotateDueKeys(pol)) Log(line);
        }
        wake = scheduler::NextWakeup(pol, state, now, opt);
      }
      // Sleep until the next wake-up, waking every 200 ms for signals and finished jobs.
      const auto step = std::chrono::milliseconds(200);
      TimeNs until = std::min<TimeNs>(wake, TheClock().Now() + 1000000000LL);
      while (!g_stop && !g_reload && TheClock().Now() < until) std::this_thread::sleep_for(step);
    }
    Log("stopping: waiting for " + std::to_string(jobs.size()) + " job threads");
    for (auto& t : jobs) t.join();
    Log("stopped");
  });
}

}  // namespace lb::app
