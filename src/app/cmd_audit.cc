// lifeboat audit log | verify: the repository's tamper-evident audit log (src/audit).
#include <cstdio>
#include <fstream>
#include <iostream>

#include "app/commands.h"
#include "audit/audit.h"

namespace lb::app {

namespace {

audit::Log LoadLog(const Globals& g) {
  auto s = OpenLocked(g, false, "audit", {}, Access::kAppend);
  auto log = audit::Verify(*s.repo);
  if (!log.ok()) Fail(log.status());
  // The newest entry this machine wrote must still be there: removing the newest
  // entries leaves no dangling predecessor name, so only an anchor kept outside
  // the repository notices it.
  std::ifstream in(AuditAnchorPath(*s.repo));
  std::string anchor;
  if (in && std::getline(in, anchor) && !anchor.empty()) {
    bool found = false;
    for (const auto& [name, e] : log->entries) found |= name == anchor;
    for (const auto& f : log->findings) found |= f.entry == anchor && f.kind != audit::Finding::Kind::kRemoved;
    if (!found)
      log->findings.push_back({audit::Finding::Kind::kRemoved, anchor,
                               "entry " + anchor.substr(0, 8) +
                                   " is missing (the newest entry this machine wrote; its anchor is kept in " +
                                   AuditAnchorPath(*s.repo) + ")"});
  }
  return std::move(log).value();
}

nlohmann::json EntryJson(const std::string& name, const audit::Entry& e) {
  return {{"id", name},          {"seq", e.seq},         {"time", FormatTimeRfc3339(e.time)},
          {"host", e.host},      {"user", e.user},       {"key", e.key_id},
          {"command", e.command}, {"added", e.added},    {"removed", e.removed},
          {"prev", e.prev},      {"signer", e.signer}};
}

nlohmann::json FindingsJson(const audit::Log& log) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& f : log.findings)
    a.push_back({{"kind", audit::KindName(f.kind)}, {"entry", f.entry}, {"message", f.message}});
  return a;
}

std::string Counted(const std::vector<std::string>& objs) {
  std::map<std::string, size_t> n;
  std::string shown;
  for (const auto& o : objs) {
    const std::string kind = o.substr(0, o.find(':'));
    if (kind == "pack") {
      ++n[kind];
      continue;
    }
    const auto colon = o.find(':');
    shown += (shown.empty() ? "" : " ") + (colon == std::string::npos ? o : o.substr(0, colon + 9));
  }
  for (const auto& [k, c] : n) shown += (shown.empty() ? "" : " ") + std::to_string(c) + " " + k + "s";
  return shown.empty() ? "-" : shown;
}

}  // namespace

void RegisterAudit(CLI::App& app, Globals& g, int& exit_code) {
  auto* cmd = app.add_subcommand("audit", "the repository's tamper-evident audit log");
  cmd->require_subcommand(1);
  auto* log = cmd->add_subcommand("log", "print every entry: who (key), host, time, command, objects added and removed");
  log->callback([&g] {
    audit::Log l = LoadLog(g);
    if (g.json) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& [name, e] : l.entries) a.push_back(EntryJson(name, e));
      std::cout << DumpJson({{"message_type", "audit-log"}, {"entries", a}, {"findings", FindingsJson(l)}}) << "\n";
      return;
    }
    std::printf("%-5s %-20s %-9s %-14s %-24s %-22s %s\n", "SEQ", "TIME", "KEY", "HOST", "COMMAND", "ADDED", "REMOVED");
    for (const auto& [name, e] : l.entries)
      std::printf("%-5llu %-20s %-9s %-14s %-24s %-22s %s\n", static_cast<unsigned long long>(e.seq),
                  FormatTimeLocal(e.time).c_str(), e.key_id.substr(0, 8).c_str(), e.host.c_str(), e.command.c_str(),
                  Counted(e.added).c_str(), Counted(e.removed).c_str());
    if (!l.findings.empty())
      std::printf("%zu problems found; run 'lifeboat audit verify'\n", l.findings.size());
  });
  auto* verify = cmd->add_subcommand(
      "verify",
      "check every entry: hash chain, signatures, key binding, order; names each removed, reordered,\n"
      "edited or forged entry (exit 1 when any)");
  verify->callback([&g, &exit_code] {
    audit::Log l = LoadLog(g);
    if (g.json) {
      std::cout << DumpJson({{"message_type", "audit-verify"}, {"ok", l.findings.empty()},
                             {"entries", l.entries.size()}, {"heads", l.heads}, {"findings", FindingsJson(l)}})
                << "\n";
    } else {
      for (const auto& f : l.findings) std::printf("%s: %s\n", audit::KindName(f.kind), f.message.c_str());
      if (!g.quiet)
        std::printf("%zu entries, %zu problems%s\n", l.entries.size(), l.findings.size(),
                    l.findings.empty() ? ": the audit log is intact" : "");
    }
    if (!l.findings.empty()) {
      std::fprintf(stderr, "lifeboat: the audit log has %zu problems\n", l.findings.size());
      exit_code = kExitFatal;
    }
  });
}

}  // namespace lb::app
