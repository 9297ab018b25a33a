#include "archiver/archiver.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "base/clock.h"
#include "repo/repository.h"
#include "storage/backend.h"
#include "storage/wrappers.h"

namespace lb::archiver {
namespace {

namespace sfs = std::filesystem;

class ArchiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-archiver-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    repo::InitOptions io;
    io.kdf = repo::KdfParams{1, 8 << 20};
    io.pack_size = 1u << 20;
    auto r = repo::Repository::Init(storage::NewLocalBackend(RepoDir()), "pw", io);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void TearDown() override { sfs::remove_all(root_); }
  std::string RepoDir() const { return (root_ / "repo").string(); }

  sfs::path root_;
};

// Trees are stored by the pool while the walker goes on: a tree that cannot be
// stored must still fail the backup, and no snapshot may be written.
TEST_F(ArchiverTest, ATreeThatCannotBeStoredFailsTheBackup) {
  // 20k empty files: no data blobs, and one uncompressed tree larger than a pack,
  // so the pack is written (and fails) while that tree is stored.
  const sfs::path src = root_ / "src";
  sfs::create_directories(src);
  for (int i = 0; i < 20000; ++i) std::ofstream(src / ("empty-file-" + std::to_string(100000 + i)));
  auto plan = std::make_shared<storage::FaultPlan>();
  auto r = repo::Repository::Open(storage::NewFaultyBackend(storage::NewLocalBackend(RepoDir()), plan), "pw");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  (*r)->set_write_options({.compression = {0, 0}});
  plan->fail_saves = 1000000;
  Options o;
  o.paths = {src.string()};
  SystemClock clock;
  auto b = Backup(**r, o, clock);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("store tree"), std::string::npos) << b.status().ToString();
  EXPECT_GT(plan->saves.load(), 0);

  auto again = repo::Repository::Open(storage::NewLocalBackend(RepoDir()), "pw");
  ASSERT_TRUE(again.ok());
  auto ids = (*again)->ListSnapshotIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->empty());
}

}  // namespace
}  // namespace lb::archiver
