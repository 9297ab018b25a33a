// The conformance suite (conformance.cc) on the local backend, and local-only tests.
#include <stdlib.h>

#include <filesystem>

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

}  // namespace
}  // namespace lb::storage
