// The conformance suite (conformance.cc) on the local backend, and local-only tests.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "base/direct_io.h"

#include "storage/conformance.h"

namespace lb::storage {
namespace {

INSTANTIATE_TEST_SUITE_P(All, BackendConformance,
                         ::testing::Values(Factory{"local", [](const std::string& s) {
                           return NewLocalBackend(s + "/repo");
                         }}),
                         FactoryName);

// A repository copied by a tool that drops empty directories (git) stays usable.
TEST(LocalBackend, MissingDirectoriesAreEmptyAndRecreated) {
  char tmpl[] = "/tmp/lb-local-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string root = std::string(tmpl) + "/repo";
  auto be = NewLocalBackend(root);
  ASSERT_TRUE(be->Create().ok());
  std::filesystem::remove_all(root + "/data/ab");
  std::filesystem::remove_all(root + "/locks");
  size_t n = 0;
  auto count = [&](const std::string&, uint64_t) {
    ++n;
    return Status::Ok();
  };
  EXPECT_TRUE(be->List(FileKind::kData, count).ok());
  EXPECT_TRUE(be->List(FileKind::kLock, count).ok());
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(be->Save({FileKind::kData, "ab01"}, AsBytes("x")).ok());
  EXPECT_TRUE(be->Save({FileKind::kLock, "l1"}, AsBytes("y")).ok());
  EXPECT_TRUE(be->List(FileKind::kData, count).ok());
  EXPECT_EQ(n, 1u);
  std::filesystem::remove_all(tmpl);
}


// Packs are written and read past the page cache where the file system takes
// O_DIRECT (base/direct_io.h); ranges at any offset read back exactly.
TEST(LocalBackend, PacksBypassThePageCache) {
  char tmpl[] = "/tmp/lb-local-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = std::string(tmpl) + "/repo";
  auto be = NewLocalBackend(root);
  ASSERT_TRUE(be->Create().ok());
  Bytes pack((3u << 20) + 1234);
  std::mt19937_64 rng(3);
  for (auto& b : pack) b = static_cast<uint8_t>(rng());
  ASSERT_TRUE(be->Save({FileKind::kData, "ab02"}, pack).ok());
  const std::string path = root + "/data/ab/ab02";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const int direct = ReopenDirect(fd, O_RDONLY);
  auto resident = [&] {
    auto n = CachedPages(fd, pack.size());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : SIZE_MAX;
  };
  if (direct >= 0) {
    EXPECT_LE(resident(), 1u) << "only the tail page is cached";
  }
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  for (uint64_t off : {0ull, 1ull, 4097ull, (1ull << 20) + 5}) {
    for (uint64_t len : {uint64_t{300u << 10}, uint64_t{(2u << 20) + 3}}) {
      auto got = be->Load({FileKind::kData, "ab02"}, off, len);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_TRUE(std::equal(got->begin(), got->end(), pack.begin() + static_cast<ptrdiff_t>(off)))
          << off << "+" << len;
      EXPECT_EQ(got->size(), len);
    }
  }
  if (direct >= 0) {
    EXPECT_EQ(resident(), 0u) << "large reads leave nothing cached";
  }
  auto whole = be->Load({FileKind::kData, "ab02"}, 0, 0);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, pack);
  if (direct >= 0) ::close(direct);
  ::close(fd);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace lb::storage
