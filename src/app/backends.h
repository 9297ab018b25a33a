// Repository locations -> storage stacks. One function per URL scheme, each in its own
// file, so schemes are added without touching the others:
//   /path or file path      local directory            (backend_url.cc)
//   s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]            (backend_s3.cc)
//   rest:http[s]://HOST[:PORT]/NAME  a repository server (backend_rest.cc)
//   ec:K+M:LOC1,LOC2,...    erasure coding over K+M member locations (backend_ec.cc)
// Errors: kInvalidArgument for a malformed location (exit 2), other codes as the backend
// reports them. Every returned backend is safe for concurrent use.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "base/status.h"
#include "storage/backend.h"

namespace lb::storage {
class ErasureBackend;  // storage/erasure_backend.h
}

namespace lb::app {

// How backends are opened, from the global flags. main() fills the process-wide
// instance (TheBackendOptions) while parsing, before any command runs; OpenBackend
// reads it. Not for concurrent modification.
struct BackendOptions {
  unsigned connections = 8;                    // --connections: requests in flight
  std::map<std::string, std::string> extended;  // -o key=value, e.g. s3.ca-file=F
  // Set by `init --object-lock-days/--object-lock-mode` only (s3: locations).
  int object_lock_days = 0;
  std::string object_lock_mode = "compliance";
  bool no_cache = false;  // --no-cache: no local copy of a remote repository's index
};
BackendOptions& TheBackendOptions();
// Parses one "-o key=value"; kInvalidArgument when there is no '=' or no key.
Status AddExtendedOption(BackendOptions& o, const std::string& key_value);

// True for locations on another machine (s3:, rest:, and ec: with shards there or
// not): their index files are worth a local cache.
bool IsRemoteLocation(const std::string& location);
// The full stack for a location: the scheme's backend wrapped in retries.
Result<std::unique_ptr<storage::Backend>> OpenBackend(const std::string& location);
// The stack for a remote (latency-bound) backend: retries, and in front a block read
// cache sized to `connections` (storage/block_cache.h), so restores read packs in
// 4 MiB blocks instead of one request per blob.
std::unique_ptr<storage::Backend> WrapRemote(std::unique_ptr<storage::Backend> be, unsigned connections);

Result<std::unique_ptr<storage::Backend>> OpenS3Backend(const std::string& url);
Result<std::unique_ptr<storage::Backend>> OpenErasureBackend(const std::string& url);
// Token from -o rest.token-file=FILE or env LIFEBOAT_REST_TOKEN (none: kInvalidArgument).
Result<std::unique_ptr<storage::Backend>> OpenRestBackend(const std::string& url);
// The same as the concrete type, for check and repair shards (Inspect, RepairAll).
// kInvalidArgument for a malformed ec: location or a nested ec: member.
Result<std::unique_ptr<storage::ErasureBackend>> OpenErasureBackendConcrete(const std::string& url);
bool IsErasureLocation(const std::string& location);  // starts with "ec:"

}  // namespace lb::app
