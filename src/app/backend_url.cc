#include "app/backends.h"
#include <algorithm>

#include "storage/block_cache.h"
#include "storage/wrappers.h"

namespace lb::app {

BackendOptions& TheBackendOptions() {
  static BackendOptions options;
  return options;
}

Status AddExtendedOption(BackendOptions& o, const std::string& key_value) {
  const auto eq = key_value.find('=');
  if (eq == std::string::npos || eq == 0)
    return InvalidArgument("option '" + key_value + "' is not key=value");
  o.extended[key_value.substr(0, eq)] = key_value.substr(eq + 1);
  return Status::Ok();
}

std::unique_ptr<storage::Backend> WrapRemote(std::unique_ptr<storage::Backend> be, unsigned connections) {
  storage::BlockCacheOptions cache;
  cache.capacity = std::max<uint64_t>(64u << 20, 2ull * connections * cache.block_size);
  return storage::NewBlockCacheBackend(storage::NewRetryingBackend(std::move(be)), cache);
}

static bool HasScheme(const std::string& s, const char* scheme) {
  return s.rfind(scheme, 0) == 0;
}

bool IsRemoteLocation(const std::string& location) {
  return HasScheme(location, "s3:") || HasScheme(location, "rest:") || HasScheme(location, "ec:");
}

Result<std::unique_ptr<storage::Backend>> OpenBackend(const std::string& location) {
  if (location.empty()) return InvalidArgument("empty repository location");
  if (HasScheme(location, "s3:")) return OpenS3Backend(location);
  if (HasScheme(location, "ec:")) return OpenErasureBackend(location);
  if (HasScheme(location, "rest:")) return OpenRestBackend(location);
  return std::unique_ptr<storage::Backend>(
      storage::NewRetryingBackend(storage::NewLocalBackend(location)));
}

}  // namespace lb::app
