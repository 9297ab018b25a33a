#include "app/backends.h"

namespace lb::app {

Result<std::unique_ptr<storage::Backend>> OpenS3Backend(const std::string& url) {
  return Unsupported("repository location " + url + ": S3 support is not built yet");
}

}  // namespace lb::app
