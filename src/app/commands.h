// Each Register* adds one subcommand (or group) to the CLI. The callback runs the
// command; failures throw app::Failure, which main() turns into an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include "app/common.h"

namespace lb::app {

void RegisterInit(CLI::App& app, Globals& g);
void RegisterKey(CLI::App& app, Globals& g);
void RegisterBackup(CLI::App& app, Globals& g, int& exit_code);
void RegisterRestore(CLI::App& app, Globals& g);
void RegisterSnapshots(CLI::App& app, Globals& g);
void RegisterLs(CLI::App& app, Globals& g);
void RegisterDiff(CLI::App& app, Globals& g);

}  // namespace lb::app
