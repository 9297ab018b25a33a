#include "app/drill_job.h"

#include <unistd.h>

#include <cstdio>

#include "app/commands.h"
#include "repo/lock.h"

namespace lb::app {

namespace {

std::string Fixed(double v, int digits = 2) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

}  // namespace

nlohmann::json ValidationJson(const drill::ValidationResult& v) {
  nlohmann::json cmds = nlohmann::json::array();
  for (const auto& c : v.commands)
    cmds.push_back({{"command", c.command}, {"exit_code", c.exit_code}, {"timed_out", c.timed_out},
                    {"seconds", c.seconds}, {"output", c.output}});
  return cmds;
}

nlohmann::json DrillReportJson(const drill::Report& r) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& p : r.parts)
    parts.push_back({{"source", p.group},
                     {"snapshot", p.lineage.snapshot_id},
                     {"parent", p.lineage.parent_id},
                     {"host", p.lineage.host},
                     {"time", FormatTimeRfc3339(p.lineage.time)},
                     {"ancestors", p.lineage.chain},
                     {"ancestors_complete", p.lineage.chain_complete},
                     {"files", p.verified.files},
                     {"dirs", p.verified.dirs},
                     {"bytes", p.verified.bytes},
                     {"expected_files", p.expected_files},
                     {"expected_dirs", p.expected_dirs},
                     {"expected_bytes", p.expected_bytes},
                     {"partial_files", p.partial_files}});
  return {{"service", r.service},
          {"repository", r.repository},
          {"ok", r.ok},
          {"failures", r.failures},
          {"warnings", r.warnings},
          {"point_time", r.point_time ? nlohmann::json(FormatTimeRfc3339(r.point_time)) : nlohmann::json(nullptr)},
          {"sources", parts},
          {"select_seconds", r.select_seconds},
          {"restore_seconds", r.restore_seconds},
          {"verify_seconds", r.verify_seconds},
          {"validation_seconds", r.validation_seconds},
          {"total_seconds", r.total_seconds},
          {"bytes", r.bytes},
          {"files", r.files},
          {"dirs", r.dirs},
          {"throughput_bytes_per_second", r.throughput()},
          {"validation", ValidationJson(r.validation)},
          {"sandbox", r.sandbox}};
}

std::string DrillReportText(const drill::Report& r) {
  std::string out = "drill " + r.service + " from " + r.repository + ": " + (r.ok ? "PASSED" : "FAILED") + "\n";
  if (r.point_time) out += "  data point   " + FormatTimeLocal(r.point_time) + "\n";
  for (const auto& p : r.parts)
    out += "  source " + p.group + ": snapshot " + p.lineage.snapshot_id.substr(0, 8) + " of " +
           FormatTimeLocal(p.lineage.time) + " on " + p.lineage.host + ", " + std::to_string(p.verified.files) +
           "/" + std::to_string(p.expected_files) + " files, " + std::to_string(p.verified.dirs) + "/" +
           std::to_string(p.expected_dirs) + " dirs, " + HumanBytes(p.verified.bytes) + " verified; " +
           std::to_string(p.lineage.chain) + " ancestors" + (p.lineage.chain_complete ? "" : " (older ones forgotten)") +
           "\n";
  out += "  restore      " + Fixed(r.restore_seconds) + " s (" + HumanBytes(r.bytes) + ", " +
         Fixed(r.throughput() / 1e6, 1) + " MB/s)\n";
  out += "  verify       " + Fixed(r.verify_seconds) + " s\n";
  out += "  validate     " + Fixed(r.validation_seconds) + " s\n";
  for (const auto& c : r.validation.commands) {
    out += "    $ " + c.command + "  -> " + (c.ok() ? "ok" : c.timed_out ? "timed out" : "exit " + std::to_string(c.exit_code)) + "\n";
    if (!c.ok() && !c.output.empty()) out += "      " + c.output.substr(0, 2000) + (c.output.back() == '\n' ? "" : "\n");
  }
  out += "  total        " + Fixed(r.total_seconds) + " s\n";
  for (const auto& w : r.warnings) out += "  warning: " + w + "\n";
  for (const auto& f : r.failures) out += "  FAILED: " + f + "\n";
  if (!r.sandbox.empty() && ::access(r.sandbox.c_str(), F_OK) == 0) out += "  sandbox kept at " + r.sandbox + "\n";
  return out;
}

drill::Report RunAndRecordDrill(const policy::Policy& p, const policy::Service& s,
                                const DrillRequest& req, history::History& h) {
  const Clock& clock = TheClock();
  const TimeNs start = clock.Now();
  const std::string tname = !req.target.empty() ? req.target : s.targets.empty() ? "" : s.targets[0].name;
  drill::Report r;
  const policy::Target* t = p.FindTarget(tname);
  if (!t) {
    r.service = s.name;
    r.failures.push_back("service " + s.name + " has no target '" + tname + "'");
  } else {
    auto repo = OpenTarget(*t);
    if (!repo.ok()) {
      r.service = s.name;
      r.repository = t->url;
      r.failures.push_back("target " + t->name + ": " + repo.status().message());
    } else {
      auto lock = repo::Lock::Acquire(**repo, false, "drill " + s.name, clock);
      if (!lock.ok()) {
        r.service = s.name;
        r.repository = t->url;
        r.failures.push_back(lock.status().message());
      } else {
        r = drill::RunDrill(**repo, s, req.options, clock);
      }
    }
  }
  r.ok = r.failures.empty();
  history::Job job;
  job.service = s.name;
  job.kind = "drill";
  job.target = tname;
  job.start = start;
  job.end = clock.Now();
  job.ok = r.ok;
  job.error = r.failures.empty() ? "" : r.failures.front();
  job.bytes = r.bytes;
  job.snapshot_id = r.parts.empty() ? "" : r.parts.front().lineage.snapshot_id;
  nlohmann::json details = DrillReportJson(r);
  for (auto& c : details["validation"]) {
    std::string o = c["output"];
    if (o.size() > 4096) c["output"] = o.substr(0, 4096);
  }
  job.details = DumpJson(details);
  if (auto rec = h.Record(job); !rec.ok())
    r.warnings.push_back("cannot record the drill: " + rec.status().message());
  return r;
}

}  // namespace lb::app
