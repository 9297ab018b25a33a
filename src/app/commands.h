// Each Register* adds one subcommand (or group) to the CLI. The callback runs the
// command; failures throw app::Failure, which main() turns into an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include "app/common.h"
#include "history/history.h"
#include "policy/objectives.h"
#include "policy/policy.h"

namespace lb::app {

void RegisterInit(CLI::App& app, Globals& g);
void RegisterKey(CLI::App& app, Globals& g);
void RegisterBackup(CLI::App& app, Globals& g, int& exit_code);
void RegisterRestore(CLI::App& app, Globals& g);
void RegisterSnapshots(CLI::App& app, Globals& g);
void RegisterLs(CLI::App& app, Globals& g);
void RegisterDiff(CLI::App& app, Globals& g);
void RegisterCheck(CLI::App& app, Globals& g);
void RegisterPrune(CLI::App& app, Globals& g);
void RegisterForget(CLI::App& app, Globals& g);
void RegisterRepair(CLI::App& app, Globals& g);
void RegisterUnlock(CLI::App& app, Globals& g);
void RegisterPolicy(CLI::App& app, Globals& g);
void RegisterPlan(CLI::App& app, Globals& g);
void RegisterRun(CLI::App& app, Globals& g, int& exit_code);
void RegisterStatus(CLI::App& app, Globals& g, int& exit_code);
void RegisterDaemon(CLI::App& app, Globals& g);
void RegisterDrill(CLI::App& app, Globals& g, int& exit_code);
void RegisterDrills(CLI::App& app, Globals& g, int& exit_code);
void RegisterRecover(CLI::App& app, Globals& g, int& exit_code);
void RegisterCopy(CLI::App& app, Globals& g);
void RegisterAudit(CLI::App& app, Globals& g, int& exit_code);
void RegisterServe(CLI::App& app, Globals& g);

// Shared by run and daemon (cmd_policy.cc).
std::string DefaultHistoryPath();
std::unique_ptr<history::History> OpenHistory(const std::string& path);
policy::Zone ZoneOf(const policy::Policy& p);
policy::Policy LoadPolicy(const std::string& path);  // throws Failure on any error
// How long the repository's current data key version has been in use.
int64_t KeyAge(const repo::Repository& repo);
// Rotates the data key of every target whose rotate_keys_every has passed
// (daemon); returns one log line per target acted on or failed.
std::vector<std::string> RotateDueKeys(const policy::Policy& p);
Result<std::string> TargetPassword(const policy::Target& t);
Result<std::unique_ptr<repo::Repository>> OpenTarget(const policy::Target& t);
// The facts `plan`/`status` need, from the history database.
policy::History BuildHistory(const policy::Policy& p, history::History& h);
std::pair<int, int> RunService(const policy::Policy& p, const policy::Service& s, history::History& h,
                               const Globals& g);

// Runs prune with an existing exclusive session (forget --prune) or its own.
// "5%" or "5" -> 5.0; anything else is a usage error.
double ParsePercent(const std::string& s);
void RunPrune(Globals& g, double max_unused, bool dry_run, Session* existing);

}  // namespace lb::app
