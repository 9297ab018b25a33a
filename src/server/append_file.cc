#include "server/append_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace lb::server {

Result<std::unique_ptr<AppendFile>> AppendFile::Open(const std::string& path, int mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  return std::unique_ptr<AppendFile>(new AppendFile(path, fd));
}

AppendFile::~AppendFile() { ::close(fd_); }

Status AppendFile::Append(std::string_view text) {
  std::lock_guard<std::mutex> l(mu_);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write " + path_, errno);
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync " + path_, errno);
  return Status::Ok();
}

}  // namespace lb::server
