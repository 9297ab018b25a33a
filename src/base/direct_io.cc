#include "base/direct_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace lb {

namespace {

constexpr uint64_t kAlign = 4096;  // covers every device's logical block size here
constexpr size_t kStage = 1u << 20;

// The thread's aligned staging buffer; null when it cannot be allocated.
uint8_t* Stage() {
  thread_local Scratch buf(/*huge=*/false);  // 1 MiB, as before: not rounded to 2
  return buf.Get(kStage);
}

Status PwriteAll(int fd, uint64_t offset, const uint8_t* p, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoStatus("write " + what, errno);
    if (w == 0) return IoError("write " + what + ": no progress");
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

// Writes the aligned [offset, offset + n) from `src` through direct_fd. Returns
// how many bytes it wrote: fewer than n when the file system refused a direct
// write (EINVAL) or wrote a short piece that does not end on a block boundary.
Result<size_t> PwriteDirect(int direct_fd, uint64_t offset, const uint8_t* src, size_t n,
                            const std::string& what) {
  size_t put = 0;
  while (put < n) {
    ssize_t w = ::pwrite(direct_fd, src + put, n - put, static_cast<off_t>(offset + put));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EINVAL) return put;
    if (w < 0) return ErrnoStatus("write " + what, errno);
    // A short direct write ends on a block boundary; anything else is refused.
    if (w == 0 || w % kAlign != 0) return put + static_cast<size_t>(std::max<ssize_t>(w, 0));
    put += static_cast<size_t>(w);
  }
  return put;
}

// Writes the aligned [offset, offset + n) through direct_fd: straight from `p`
// when it is aligned (see AlignedFor), else staged through the thread's
// buffer. Returns how many bytes it wrote (see PwriteDirect); the caller writes
// the rest.
Result<size_t> WriteDirect(int direct_fd, uint64_t offset, const uint8_t* p, size_t n,
                           const std::string& what) {
  if (reinterpret_cast<uintptr_t>(p) % kAlign == 0) return PwriteDirect(direct_fd, offset, p, n, what);
  uint8_t* stage = Stage();
  if (stage == nullptr) return size_t{0};
  size_t done = 0;
  while (done < n) {
    const size_t k = std::min(kStage, n - done);
    std::memcpy(stage, p + done, k);
    LB_ASSIGN_OR_RETURN(size_t put, PwriteDirect(direct_fd, offset + done, stage, k, what));
    done += put;
    if (put < k) return done;
  }
  return done;
}

}  // namespace

uint8_t* AlignedFor(Scratch& buf, size_t size, uint64_t offset) {
  const size_t phase = static_cast<size_t>(offset % kAlign);
  uint8_t* base = buf.Get(size + phase);  // page-aligned
  return base == nullptr ? nullptr : base + phase;
}

int ReopenDirect(int fd, int access) {
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  return ::open(path.c_str(), access | O_DIRECT | O_CLOEXEC);
}

namespace {

// Writes `data` at `offset`: the unaligned head through `fd`, the aligned middle
// with `direct(aligned_offset, p, n)` (which returns how much of it it wrote,
// see PwriteDirect), the rest through `fd`.
template <typename Direct>
Status WriteAround(int fd, uint64_t offset, ByteSpan data, const std::string& what, Direct&& direct) {
  const uint64_t end = offset + data.size();
  const uint64_t a = (offset + kAlign - 1) / kAlign * kAlign;
  const uint64_t b = end / kAlign * kAlign;
  if (a >= b) return PwriteAll(fd, offset, data.data(), data.size(), what);
  LB_RETURN_IF_ERROR(PwriteAll(fd, offset, data.data(), a - offset, what));
  LB_ASSIGN_OR_RETURN(size_t put, direct(a, data.data() + (a - offset), b - a));
  const uint64_t rest = a + put;
  return PwriteAll(fd, rest, data.data() + (rest - offset), end - rest, what);
}

}  // namespace

Status WriteAtDirect(int fd, int direct_fd, uint64_t offset, ByteSpan data, const std::string& what) {
  if (direct_fd < 0) return PwriteAll(fd, offset, data.data(), data.size(), what);
  return WriteAround(fd, offset, data, what, [&](uint64_t a, const uint8_t* p, size_t n) {
    return WriteDirect(direct_fd, a, p, n, what);
  });
}

Status WriteAtDirectSwitched(int fd, uint64_t offset, ByteSpan data, const std::string& what) {
  return WriteAround(fd, offset, data, what, [&](uint64_t a, const uint8_t* p, size_t n) -> Result<size_t> {
    if (::fcntl(fd, F_SETFL, O_DIRECT) != 0) return size_t{0};  // refused: all through the cache
    Result<size_t> put = WriteDirect(fd, a, p, n, what);
    if (::fcntl(fd, F_SETFL, 0) != 0) return ErrnoStatus("write " + what + ": clear O_DIRECT", errno);
    return put;
  });
}

Result<size_t> ReadAtDirect(int fd, int direct_fd, uint64_t offset, std::span<uint8_t> out,
                            const std::string& what) {
  size_t done = 0;
  uint8_t* stage = direct_fd >= 0 ? Stage() : nullptr;
  while (stage != nullptr && done < out.size()) {
    const uint64_t pos = offset + done;
    const uint64_t a = pos / kAlign * kAlign;
    const uint64_t want_end = (pos + (out.size() - done) + kAlign - 1) / kAlign * kAlign;
    const size_t k = static_cast<size_t>(std::min<uint64_t>(kStage, want_end - a));
    ssize_t r = ::pread(direct_fd, stage, k, static_cast<off_t>(a));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EINVAL) break;
    if (r < 0) return ErrnoStatus("read " + what, errno);
    const uint64_t skip = pos - a;
    if (static_cast<uint64_t>(r) <= skip) return done;  // end of file
    const size_t n = std::min(static_cast<size_t>(r - skip), out.size() - done);
    std::memcpy(out.data() + done, stage + skip, n);
    done += n;
    if (static_cast<size_t>(r) < k) return done;  // end of file
  }
  while (done < out.size()) {
    ssize_t r = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoStatus("read " + what, errno);
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

Result<size_t> CachedPages(int fd, uint64_t size) {
  if (size == 0) return size_t{0};
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return ErrnoStatus("mmap", errno);
  std::vector<unsigned char> pages((size + kAlign - 1) / kAlign);
  const int rc = ::mincore(p, size, pages.data());
  const int err = errno;
  ::munmap(p, size);
  if (rc != 0) return ErrnoStatus("mincore", err);
  size_t n = 0;
  for (unsigned char v : pages) n += v & 1;
  return n;
}

}  // namespace lb
