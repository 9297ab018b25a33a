// The repository on a lifeboat repository server (`lifeboat serve`), spoken to
// over HTTP(S) with the REST protocol of src/server/protocol.h through the pooled
// libcurl client (http.h). Location: rest:http[s]://HOST[:PORT]/NAME.
//
// Requests: Save POST /NAME/KIND/FILE (the server never overwrites: 409), Load GET
// with Range: bytes=A-B, Size HEAD, List GET /NAME/KIND/ (a JSON array of
// {"name","size"}; config by a HEAD), Remove DELETE, Create POST /NAME/?create=true.
// Every request carries "Authorization: Bearer TOKEN".
//
// Errors: 404 -> kNotFound, 409 -> kAlreadyExists, 400/413 -> kInvalidArgument,
// 401/403 -> kPermission (the token is missing, unknown, or its role forbids the
// request; with the server's reason), 416 -> kCorrupt (range beyond the end),
// 507 -> kNoSpace, 408/429/5xx and transport failures -> kIoError (transient: the
// RetryingBackend retries only these), other answers -> kUnsupported.
// Thread safety: all methods may be called concurrently; at most `connections`
// requests are in flight.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "storage/backend.h"

namespace lb::storage {

struct RestLocation {
  std::string scheme;  // "http" or "https"
  std::string host;    // "HOST[:PORT]" as written
  std::string repo;    // NAME: storage::ValidFileName
};

// kInvalidArgument with a message that shows the expected form.
Result<RestLocation> ParseRestLocation(const std::string& url);

struct RestConfig {
  RestLocation where;
  std::string token;    // the secret sent as a Bearer token; empty: none (the server answers 401)
  std::string ca_file;  // PEM bundle for https (empty: system default)
  unsigned connections = 8;
};

// No request is made here; kInvalidArgument for a bad scheme or repository name.
Result<std::unique_ptr<Backend>> NewRestBackend(RestConfig config);

}  // namespace lb::storage
