#include "server/access_log.h"

#include <nlohmann/json.hpp>

namespace lb::server {

std::string FormatAccessRecord(const AccessRecord& r) {
  nlohmann::ordered_json j;
  j["time"] = FormatTimeRfc3339(r.time);
  j["token"] = r.token ? nlohmann::ordered_json(r.token->id) : nullptr;
  j["role"] = r.token ? nlohmann::ordered_json(RoleName(r.token->role)) : nullptr;
  j["remote"] = r.remote;
  j["method"] = r.method;
  j["object"] = r.object;
  j["bytes_in"] = r.bytes_in;
  j["bytes_out"] = r.bytes_out;
  j["status"] = r.status;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace lb::server
