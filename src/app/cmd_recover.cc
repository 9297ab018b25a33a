// lifeboat recover: restore services and their dependencies in order, validate,
// swap into place, roll back on failure (src/playbook).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include "app/commands.h"
#include "app/drill_job.h"
#include "playbook/order.h"
#include "playbook/recover.h"
#include "policy/units.h"
#include "repo/lock.h"
#include "snapshot/store.h"

namespace lb::app {

namespace {

struct RecoverFlags {
  std::string file, target_dir, at, from, outputs = ".", history = DefaultHistoryPath();
  std::vector<std::string> services;
  bool to_original = false, dry_run = false;
};

std::string Dur(double seconds) {
  return policy::FormatDuration(static_cast<int64_t>(seconds + 0.5) * 1000000000LL);
}

// Opens each target once and keeps it (and its shared lock) for the whole run.
playbook::OpenRepoFn CachingOpener() {
  struct Held {
    std::shared_ptr<repo::Repository> repo;
    std::unique_ptr<repo::Lock> lock;
  };
  auto cache = std::make_shared<std::map<std::string, std::shared_ptr<Held>>>();
  auto mu = std::make_shared<std::mutex>();  // services of one wave open at the same time
  return [cache, mu](const policy::Target& t) -> Result<std::shared_ptr<repo::Repository>> {
    std::lock_guard<std::mutex> l(*mu);
    auto it = cache->find(t.name);
    if (it != cache->end()) return it->second->repo;
    LB_ASSIGN_OR_RETURN(auto repo, OpenTarget(t));
    auto held = std::make_shared<Held>();
    held->repo = std::shared_ptr<repo::Repository>(std::move(repo));
    LB_ASSIGN_OR_RETURN(held->lock, repo::Lock::Acquire(*held->repo, false, "recover", TheClock()));
    (*cache)[t.name] = held;
    // The aliasing pointer keeps the lock alive as long as the repository is used.
    return std::shared_ptr<repo::Repository>(held, held->repo.get());
  };
}

void PrintPlan(const Globals& g, const policy::Policy& p, const std::vector<std::string>& order,
               const playbook::Options& o, history::History& h) {
  const auto hist = BuildHistory(p, h);
  auto open = CachingOpener();
  nlohmann::json rows = nlohmann::json::array();
  double cumulative = 0;  // the whole recovery
  std::map<std::string, double> done_after;
  bool known = true, fits = true;
  if (!g.json)
    std::printf("%-3s %-16s %-9s %-20s %10s %10s %8s  %s\n", "#", "SERVICE", "SNAPSHOT", "DATA POINT", "ESTIMATE",
                "DONE AFTER", "RTO", "");
  for (size_t i = 0; i < order.size(); ++i) {
    const policy::Service& s = *p.FindService(order[i]);
    const std::string tname = !o.from.empty() ? o.from : s.targets.empty() ? "" : s.targets[0].name;
    std::string snap = "-", when = "-", problem;
    TimeNs point_time = 0;
    if (const policy::Target* t = p.FindTarget(tname)) {
      auto repo = open(*t);
      auto all = repo.ok() ? snapshot::ListSnapshots(**repo) : Result<std::vector<snapshot::Entry>>(repo.status());
      auto pt = all.ok() ? drill::SelectPoint(*all, s, o.selection) : Result<drill::RecoveryPoint>(all.status());
      if (pt.ok()) {
        snap = pt->parts[0].entry.id.Short();
        point_time = pt->time;
        when = FormatTimeLocal(pt->time);
      } else {
        problem = pt.status().message();
      }
    } else {
      problem = "no target '" + tname + "'";
    }
    auto facts = hist.count(s.name) ? hist.at(s.name) : policy::ServiceHistory{};
    auto own = policy::OwnRestoreEstimate(s, facts);
    // Independent services are recovered at the same time: a service is done its
    // own time after the last of its dependencies (the critical path).
    double after = 0;
    for (const auto& d : s.depends_on)
      if (auto it = done_after.find(d.name); it != done_after.end()) after = std::max(after, it->second);
    if (own) after += static_cast<double>(*own) / 1e9;
    done_after[s.name] = after;
    cumulative = std::max(cumulative, after);
    known &= own.has_value();
    const bool in_rto = known && after * 1e9 <= static_cast<double>(s.rto_ns);
    fits &= in_rto;
    if (g.json) {
      rows.push_back({{"service", s.name}, {"target", tname}, {"snapshot", snap}, {"problem", problem},
                      {"point_time", point_time ? nlohmann::json(FormatTimeRfc3339(point_time)) : nlohmann::json(nullptr)},
                      {"estimate_seconds", own ? nlohmann::json(*own / 1e9) : nlohmann::json(nullptr)},
                      {"done_after_seconds", known ? nlohmann::json(after) : nlohmann::json(nullptr)},
                      {"rto_seconds", s.rto_ns / 1e9}, {"within_rto", known ? nlohmann::json(in_rto) : nlohmann::json(nullptr)}});
    } else {
      std::printf("%-3zu %-16s %-9s %-20s %10s %10s %8s  %s\n", i + 1, s.name.c_str(), snap.c_str(), when.c_str(),
                  own ? Dur(*own / 1e9).c_str() : "unknown", known ? Dur(after).c_str() : "unknown",
                  policy::FormatDuration(s.rto_ns).c_str(),
                  !problem.empty() ? problem.c_str() : !known ? "no drill yet" : in_rto ? "within rto" : "OVER RTO");
    }
  }
  if (g.json)
    std::cout << DumpJson({{"message_type", "recover-plan"}, {"order", order}, {"services", rows},
                           {"total_seconds", known ? nlohmann::json(cumulative) : nlohmann::json(nullptr)},
                           {"within_rtos", known ? nlohmann::json(fits) : nlohmann::json(nullptr)}})
              << "\n";
  else
    std::printf("total %s%s\n", known ? Dur(cumulative).c_str() : "unknown (a service has no drill)",
                known ? (fits ? ", every service within its rto" : ", NOT every service within its rto") : "");
}

nlohmann::json ResultJson(const playbook::ServiceResult& r) {
  nlohmann::json swaps = nlohmann::json::array();
  for (const auto& w : r.swaps) swaps.push_back({{"destination", w.destination}, {"previous", w.previous}});
  return {{"service", r.service},
          {"state", playbook::StateName(r.state)},
          {"error", r.error},
          {"target", r.target},
          {"repository", r.repository},
          {"snapshots", r.snapshots},
          {"point_time", r.point_time ? nlohmann::json(FormatTimeRfc3339(r.point_time)) : nlohmann::json(nullptr)},
          {"data_loss_seconds", r.point_time ? nlohmann::json(r.data_loss_ns / 1e9) : nlohmann::json(nullptr)},
          {"rpo_seconds", r.rpo_ns / 1e9},
          {"within_rpo", r.point_time ? nlohmann::json(r.data_loss_ns <= r.rpo_ns) : nlohmann::json(nullptr)},
          {"seconds", r.seconds},
          {"done_after_seconds", r.done_after_seconds},
          {"rto_seconds", r.rto_ns / 1e9},
          {"within_rto", r.done_after_seconds * 1e9 <= static_cast<double>(r.rto_ns)},
          {"bytes", r.bytes},
          {"files", r.files},
          {"validation", ValidationJson(r.validation)},
          {"swaps", swaps}};
}

void PrintReport(const playbook::Report& rep) {
  std::printf("recovery %s in %s\n", rep.ok ? "SUCCEEDED" : "FAILED, everything rolled back",
              Dur(rep.total_seconds).c_str());
  std::printf("%-16s %-11s %-9s %-20s %-22s %-22s\n", "SERVICE", "STATE", "SNAPSHOT", "DATA POINT", "DATA LOSS / RPO",
              "DONE AFTER / RTO");
  for (const auto& r : rep.services) {
    const std::string loss = r.point_time ? Dur(r.data_loss_ns / 1e9) + " / " + policy::FormatDuration(r.rpo_ns) +
                                                (r.data_loss_ns <= r.rpo_ns ? "" : " OVER")
                                          : "-";
    const std::string done = r.state == playbook::ServiceResult::State::kSkipped
                                 ? "-"
                                 : Dur(r.done_after_seconds) + " / " + policy::FormatDuration(r.rto_ns) +
                                       (r.done_after_seconds * 1e9 <= r.rto_ns ? "" : " OVER");
    std::printf("%-16s %-11s %-9s %-20s %-22s %-22s\n", r.service.c_str(), playbook::StateName(r.state),
                r.snapshots.empty() ? "-" : r.snapshots[0].substr(0, 8).c_str(),
                r.point_time ? FormatTimeLocal(r.point_time).c_str() : "-", loss.c_str(), done.c_str());
    for (const auto& c : r.validation.commands) {
      std::printf("    $ %s -> %s\n", c.command.c_str(), c.ok() ? "ok" : ("exit " + std::to_string(c.exit_code)).c_str());
      if (!c.ok() && !c.output.empty()) std::printf("      %s\n", c.output.substr(0, 2000).c_str());
    }
    if (!r.error.empty()) std::printf("    error: %s\n", r.error.c_str());
    if (r.state == playbook::ServiceResult::State::kRecovered)
      for (const auto& w : r.swaps)
        std::printf("    %s%s\n", w.destination.c_str(),
                    w.previous.empty() ? " (new)" : (" (previous content kept at " + w.previous + ")").c_str());
  }
}

void Record(const playbook::Report& rep, history::History& h, TimeNs start) {
  for (const auto& r : rep.services) {
    if (r.state == playbook::ServiceResult::State::kSkipped) continue;
    history::Job job;
    job.service = r.service;
    job.kind = "recover";
    job.target = r.target;
    job.start = start;
    job.end = TheClock().Now();
    job.ok = r.state == playbook::ServiceResult::State::kRecovered;
    job.error = job.ok ? "" : !r.error.empty() ? r.error : "rolled back: " + rep.failure;
    job.bytes = r.bytes;
    job.snapshot_id = r.snapshots.empty() ? "" : r.snapshots[0];
    job.details = DumpJson(ResultJson(r));
    if (auto st = h.Record(job); !st.ok())
      std::fprintf(stderr, "lifeboat: cannot record the recovery: %s\n", st.status().message().c_str());
  }
}

}  // namespace

void RegisterRecover(CLI::App& app, Globals& g, int& exit_code) {
  auto f = std::make_shared<RecoverFlags>();
  auto* cmd = app.add_subcommand(
      "recover",
      "recover services and everything they depend on, in dependency order: restore each into a\n"
      "staging directory next to its destination, run its validation commands, swap it into place\n"
      "(the previous content is kept as DEST.lifeboat-previous-TIME); if any step fails, every\n"
      "service already swapped is rolled back (exit 1). Services that do not depend on each other\n"
      "are restored and validated at the same time, then swapped in order");
  cmd->add_option("FILE", f->file, "policy file")->required();
  cmd->add_option("SERVICE", f->services, "services to recover (their dependencies come too)")->required();
  cmd->add_flag("--to-original", f->to_original, "put path sources back where they were backed up from");
  cmd->add_option("--target", f->target_dir, "recover below this directory instead (like restore --target)");
  cmd->add_option("--outputs", f->outputs,
                  "with --to-original: command outputs go to DIR/SERVICE/NAME (default: the current directory)");
  cmd->add_option("--at", f->at, "recover the newest recovery points at or before this time");
  cmd->add_option("--from", f->from, "target to restore from (default: each service's first)");
  cmd->add_flag("--dry-run", f->dry_run,
                "print the ordered plan with estimated times against the RTOs (DONE AFTER: the critical\n"
                "path through the dependencies, as independent services run at the same time)");
  cmd->add_option("--history", f->history, "history database (env LIFEBOAT_HISTORY)");
  cmd->callback([&g, f, &exit_code] {
    if (f->to_original == !f->target_dir.empty()) FailUsage("give exactly one of --to-original and --target DIR");
    policy::Policy p = LoadPolicy(f->file);
    auto order = playbook::RecoveryOrder(p, f->services);
    if (!order.ok()) FailUsage(order.status().message());
    playbook::Options o;
    o.mode = f->to_original ? playbook::Options::Mode::kOriginal : playbook::Options::Mode::kTarget;
    auto absolute = [](const std::string& d) { return std::filesystem::absolute(d).lexically_normal().string(); };
    if (!f->target_dir.empty()) o.target_dir = absolute(f->target_dir);
    o.outputs_dir = absolute(f->outputs);
    while (o.target_dir.size() > 1 && o.target_dir.back() == '/') o.target_dir.pop_back();
    while (o.outputs_dir.size() > 1 && o.outputs_dir.back() == '/') o.outputs_dir.pop_back();
    o.from = f->from;
    o.threads = g.threads;
    o.incident = TheClock().Now();
    if (!f->at.empty()) {
      auto t = ParseTime(f->at);
      if (!t.ok()) FailUsage("--at: " + t.status().message());
      o.selection.mode = drill::Selection::Mode::kAt;
      o.selection.at = *t;
      o.incident = *t;
    }
    auto h = OpenHistory(f->history);
    if (f->dry_run) return PrintPlan(g, p, *order, o, *h);
    const TimeNs start = TheClock().Now();
    playbook::Report rep = playbook::Recover(p, *order, o, CachingOpener(), TheClock());
    Record(rep, *h, start);
    if (g.json) {
      nlohmann::json services = nlohmann::json::array();
      for (const auto& r : rep.services) services.push_back(ResultJson(r));
      std::cout << DumpJson({{"message_type", "recover"}, {"ok", rep.ok}, {"failure", rep.failure},
                             {"order", *order}, {"total_seconds", rep.total_seconds}, {"services", services}})
                << "\n";
    } else if (!g.quiet || !rep.ok) {
      PrintReport(rep);
    }
    if (!rep.ok) {
      std::fprintf(stderr, "lifeboat: recovery failed: %s\n", rep.failure.c_str());
      exit_code = kExitFatal;
    }
  });
}

}  // namespace lb::app
