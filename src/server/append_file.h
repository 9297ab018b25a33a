// A file that only grows: opened with O_APPEND, every Append writes the whole
// text and fdatasync's it before returning, so a line reported written survives a
// crash. Used by the access log and the tokens file.
//
// Thread safety: Append may be called concurrently (one lock; lines never interleave).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lb::server {

class AppendFile {
 public:
  // Creates the file with `mode` when missing. Errors as ErrnoStatus (kNotFound
  // for a missing directory, kPermission, kIoError).
  static Result<std::unique_ptr<AppendFile>> Open(const std::string& path, int mode = 0600);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  Status Append(std::string_view text);
  const std::string& path() const { return path_; }

 private:
  AppendFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_;
  std::mutex mu_;
};

}  // namespace lb::server
