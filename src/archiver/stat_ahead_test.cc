#include "archiver/stat_ahead.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>

namespace lb::archiver {
namespace {

namespace sfs = std::filesystem;

class StatAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-stat-ahead-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    // 200 entries of different sizes (7 chunks), one of them a directory.
    for (int i = 0; i < 199; ++i)
      std::ofstream(root_ / ("f" + std::to_string(1000 + i))) << std::string(i, 'x');
    sfs::create_directory(root_ / "sub");
    auto d = fs::Dir::Open(root_.string());
    ASSERT_TRUE(d.ok());
    dir_ = std::move(d).value();
    auto n = dir_.List();
    ASSERT_TRUE(n.ok());
    names_ = std::move(n).value();
    ASSERT_EQ(names_.size(), 200u);
  }
  void TearDown() override { sfs::remove_all(root_); }

  // Take(i) must give what a Stat now gives.
  void ExpectSame(StatAhead& ahead, size_t i) {
    auto got = ahead.Take(i);
    auto want = dir_.Stat(names_[i]);
    ASSERT_TRUE(got.ok()) << names_[i] << ": " << got.status().ToString();
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(got->type, want->type) << names_[i];
    EXPECT_EQ(got->inode, want->inode) << names_[i];
    EXPECT_EQ(got->size, want->size) << names_[i];
    EXPECT_EQ(got->mtime_ns, want->mtime_ns) << names_[i];
  }

  sfs::path root_;
  fs::Dir dir_;
  std::vector<std::string> names_;
};

TEST_F(StatAheadTest, HelperTakesEveryChunkWhenTheWalkerIsLate) {
  ThreadPool pool(2);
  StatAhead ahead(dir_, names_, std::vector<const fs::Metadata*>(names_.size()), pool, 1);
  pool.Wait();  // the helper ran to the end before the walker asks for anything
  const size_t chunks = (names_.size() + StatAhead::kChunk - 1) / StatAhead::kChunk;
  EXPECT_EQ(ahead.helped_chunks(), chunks);
  for (size_t i = 0; i < names_.size(); ++i) ExpectSame(ahead, i);
}

TEST_F(StatAheadTest, WalkerDoesTheWorkWhileThePoolIsBusyAndHelpersOutliveIt) {
  ThreadPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.Submit([released] { released.wait(); });  // the only worker is busy
  {
    // Names and the StatAhead die before the queued helper task runs; under ASan
    // this fails if the task touches either.
    auto names = std::make_unique<std::vector<std::string>>(names_);
    StatAhead ahead(dir_, *names, std::vector<const fs::Metadata*>(names->size()), pool, 1);
    ExpectSame(ahead, 0);
    ExpectSame(ahead, 150);  // skipping chunks is allowed
    ExpectSame(ahead, 151);
    EXPECT_EQ(ahead.helped_chunks(), 0u);
  }
  release.set_value();
  pool.Wait();
}

TEST_F(StatAheadTest, AVanishedEntryIsAnErrorOfThatEntryOnly) {
  ThreadPool pool(2);
  sfs::remove(root_ / names_[40]);
  StatAhead ahead(dir_, names_, std::vector<const fs::Metadata*>(names_.size()), pool, 1);
  for (size_t i = 0; i < names_.size(); ++i) {
    if (i == 40) {
      auto r = ahead.Take(i);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), Code::kNotFound) << r.status().ToString();
    } else {
      ExpectSame(ahead, i);
    }
  }
}

TEST_F(StatAheadTest, PreviousMetadataIsPassedToStat) {
  // An unchanged entry takes its xattrs from `previous` instead of reading them.
  auto first = dir_.Stat(names_[5]);
  ASSERT_TRUE(first.ok());
  fs::Metadata previous = *first;
  previous.xattrs = {{"user.remembered", "yes"}};
  std::vector<const fs::Metadata*> prev(names_.size());
  prev[5] = &previous;
  ThreadPool pool(2);
  StatAhead ahead(dir_, names_, prev, pool, 1);
  auto r = ahead.Take(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->xattrs, previous.xattrs);
}

}  // namespace
}  // namespace lb::archiver
