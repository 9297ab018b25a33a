// Running and recording a drill: shared by `lifeboat drill` and the daemon.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "drill/drill.h"
#include "history/history.h"
#include "policy/policy.h"

namespace lb::app {

struct DrillRequest {
  std::string target;  // target name; "" = the service's first target
  drill::Options options;
};

// Opens the target, takes a shared lock, runs the drill and records it in the
// history (kind "drill"), successful or not. A target that cannot be opened is
// a failed drill too. Never throws.
drill::Report RunAndRecordDrill(const policy::Policy& p, const policy::Service& s,
                                const DrillRequest& req, history::History& h);

nlohmann::json DrillReportJson(const drill::Report& r);
// The commands that ran: command, exit_code, timed_out, seconds, output.
nlohmann::json ValidationJson(const drill::ValidationResult& v);
std::string DrillReportText(const drill::Report& r);

}  // namespace lb::app
