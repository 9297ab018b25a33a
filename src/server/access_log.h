// One access-log record per request, as one JSON line:
//   {"time": "2026-11-20T13:00:05.123456789Z", "token": "backup-host" | null,
//    "role": "append" | null, "remote": "10.0.0.7", "method": "POST",
//    "object": "/main/data/3fa2...", "bytes_in": 1234, "bytes_out": 0, "status": 200}
// "token" and "role" are null when the request carried no valid token. The time is
// UTC (RFC 3339 with nanoseconds). Bytes are body bytes (headers not counted).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/clock.h"
#include "server/tokens.h"

namespace lb::server {

struct AccessRecord {
  TimeNs time = 0;
  std::optional<Token> token;  // the authenticated token, if any
  std::string remote;          // peer address
  std::string method;
  std::string object;  // request path as received (decoded), without the query
  uint64_t bytes_in = 0, bytes_out = 0;
  int status = 0;
};

// The JSON line, '\n'-terminated. Bytes that are not UTF-8 in the path are replaced
// (U+FFFD), so the line is always valid JSON.
std::string FormatAccessRecord(const AccessRecord& r);

}  // namespace lb::server
