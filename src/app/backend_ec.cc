#include "app/backends.h"

namespace lb::app {

Result<std::unique_ptr<storage::Backend>> OpenErasureBackend(const std::string& url) {
  return Unsupported("repository location " + url + ": erasure coding is not built yet");
}

}  // namespace lb::app
