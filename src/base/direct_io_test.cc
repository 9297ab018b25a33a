// Direct I/O against the real file system of the working directory (the build
// tree: ext4, xfs or btrfs on every machine this builds on; all take O_DIRECT).
#include "base/direct_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace lb {
namespace {

class DirectIo : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "direct_io_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  // A new empty file open read-write, and its direct twin (which must open here).
  void Fresh(int* fd, int* direct, int access = O_WRONLY) {
    const std::string path = dir_ + "/f" + std::to_string(n_++);
    *fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    ASSERT_GE(*fd, 0);
    *direct = ReopenDirect(*fd, access);
    ASSERT_GE(*direct, 0) << "O_DIRECT refused in " << dir_;
  }

  static Bytes Pattern(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 131 + (i >> 12));
    return b;
  }

  static Bytes ReadAll(int fd) {
    Bytes out(static_cast<size_t>(::lseek(fd, 0, SEEK_END)));
    EXPECT_EQ(::pread(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
  }

  static size_t Resident(int fd, size_t n) {
    auto got = CachedPages(fd, n);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : SIZE_MAX;
  }

  std::string dir_;
  int n_ = 0;
};

TEST_F(DirectIo, WritesLandAtTheirOffsetWhateverTheAlignment) {
  for (uint64_t offset : {0ull, 1ull, 4095ull, 4096ull, 5000ull}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{8195},
                        size_t{(1u << 20) + 12345}, size_t{3u << 20}}) {
      for (bool direct_on : {true, false}) {
        int fd = -1, direct = -1;
        Fresh(&fd, &direct);
        const Bytes data = Pattern(size, static_cast<uint8_t>(offset + size));
        ASSERT_TRUE(WriteAtDirect(fd, direct_on ? direct : -1, offset, data, "f").ok());
        Bytes want(size ? offset + size : 0, 0);
        std::copy(data.begin(), data.end(), want.begin() + static_cast<ptrdiff_t>(size ? offset : 0));
        EXPECT_EQ(ReadAll(fd), want) << "offset " << offset << " size " << size << " direct " << direct_on;
        ::close(direct);
        ::close(fd);
      }
    }
  }
}

// Bytes placed by AlignedFor lie in memory as their file offset lies on disk:
// their aligned middle goes to the device straight from them (no staging) and
// lands in place.
TEST_F(DirectIo, AlignedForIsWrittenFromItselfAtItsOffset) {
  for (uint64_t offset : {0ull, 1ull, 4095ull, 4096ull, 5000ull, 12345ull}) {
    for (size_t size : {size_t{1}, size_t{4095}, size_t{8195}, size_t{(1u << 20) + 12345}, size_t{3u << 20}}) {
      Scratch scratch;
      uint8_t* const buf = AlignedFor(scratch, size, offset);
      ASSERT_NE(buf, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(buf) % 4096, offset % 4096);
      const Bytes data = Pattern(size, static_cast<uint8_t>(offset * 3 + size));
      std::copy(data.begin(), data.end(), buf);
      int fd = -1, direct = -1;
      Fresh(&fd, &direct);
      ASSERT_TRUE(WriteAtDirect(fd, direct, offset, ByteSpan(buf, size), "f").ok());
      // Only the unaligned head and tail pages went through the page cache.
      EXPECT_LE(Resident(fd, offset + size), 2u) << "offset " << offset << " size " << size;
      Bytes want(offset + size, 0);
      std::copy(data.begin(), data.end(), want.begin() + static_cast<ptrdiff_t>(offset));
      EXPECT_EQ(ReadAll(fd), want) << "offset " << offset << " size " << size;
      ::close(direct);
      ::close(fd);
    }
  }
}

// The same through the one descriptor, switched to O_DIRECT and back (from
// unaligned memory: staged), at any offset; the descriptor ends without O_DIRECT.
TEST_F(DirectIo, SwitchedDescriptorWritesTheMiddleDirect) {
  for (uint64_t offset : {0ull, 100ull, 4096ull}) {
    for (size_t size : {size_t{4095}, size_t{(64u << 10) + 123}, size_t{(2u << 20) + 5}}) {
      int fd = -1, direct = -1;
      Fresh(&fd, &direct);
      ::close(direct);  // Fresh checked that O_DIRECT is allowed here
      const Bytes data = Pattern(size, static_cast<uint8_t>(offset + size));
      ASSERT_TRUE(WriteAtDirectSwitched(fd, offset, data, "f").ok());
      EXPECT_EQ(::fcntl(fd, F_GETFL) & O_DIRECT, 0);
      EXPECT_LE(Resident(fd, offset + size), 2u) << "offset " << offset << " size " << size;
      Bytes want(offset + size, 0);
      std::copy(data.begin(), data.end(), want.begin() + static_cast<ptrdiff_t>(offset));
      EXPECT_EQ(ReadAll(fd), want) << "offset " << offset << " size " << size;
      ::close(fd);
    }
  }
}

TEST_F(DirectIo, AlignedMiddleBypassesThePageCache) {
  int fd = -1, direct = -1;
  Fresh(&fd, &direct);
  const Bytes data = Pattern(2u << 20, 7);
  ASSERT_TRUE(WriteAtDirect(fd, direct, 100, data, "f").ok());
  // Only the head page [0, 4096) and the tail page went through the cache.
  EXPECT_LE(Resident(fd, data.size() + 100), 2u);
  ::close(direct);
  ::close(fd);
}

TEST_F(DirectIo, ReadsAnyRangeAndStopsAtTheEnd) {
  int fd = -1, direct = -1;
  Fresh(&fd, &direct, O_RDONLY);
  const Bytes data = Pattern((3u << 20) + 777, 3);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::fsync(fd), 0);
  struct Case {
    uint64_t offset;
    size_t n;
  };
  const uint64_t size = data.size();
  for (Case c : {Case{0, data.size()}, Case{1, 5000}, Case{4095, (1u << 20) + 2}, Case{size - 10, 100},
                 Case{size, 10}, Case{size + 5, 10}, Case{4096, 4096}}) {
    for (bool direct_on : {true, false}) {
      Bytes out(c.n, 0xEE);
      auto got = ReadAtDirect(fd, direct_on ? direct : -1, c.offset, out, "f");
      ASSERT_TRUE(got.ok());
      const size_t want = c.offset >= size ? 0 : std::min<size_t>(c.n, size - c.offset);
      ASSERT_EQ(*got, want) << "offset " << c.offset << " n " << c.n;
      EXPECT_TRUE(std::equal(out.begin(), out.begin() + static_cast<ptrdiff_t>(want),
                             data.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(c.offset, size))))
          << "offset " << c.offset << " n " << c.n << " direct " << direct_on;
    }
  }
  // A direct read leaves nothing behind in the cache.
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ASSERT_EQ(Resident(fd, data.size()), 0u);
  Bytes out(2u << 20);
  ASSERT_TRUE(ReadAtDirect(fd, direct, 4096, out, "f").ok());
  EXPECT_EQ(Resident(fd, data.size()), 0u);
  ::close(direct);
  ::close(fd);
}

TEST_F(DirectIo, ReopenFailsCleanlyForABadDescriptor) { EXPECT_LT(ReopenDirect(-1, O_RDONLY), 0); }

}  // namespace
}  // namespace lb
