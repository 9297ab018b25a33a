#include "storage/block_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "storage/conformance.h"
#include "storage/wrappers.h"

namespace lb::storage {
namespace {

// Small blocks so the suite's objects span many of them.
INSTANTIATE_TEST_SUITE_P(BlockCache, BackendConformance,
                         ::testing::Values(Factory{"block_cache",
                                                   [](const std::string& s) {
                                                     return NewBlockCacheBackend(NewLocalBackend(s + "/repo"),
                                                                                 {4096, 64 * 1024});
                                                   }}),
                         FactoryName);

class BlockCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-bcache-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    meter_ = std::make_shared<Meter>();
    be_ = NewBlockCacheBackend(NewMeteredBackend(NewLocalBackend(dir_), meter_), {1000, 4000});
    ASSERT_TRUE(be_->Create().ok());
    data_.resize(10'500);
    std::mt19937 rng(7);
    for (auto& b : data_) b = static_cast<uint8_t>(rng());
    ASSERT_TRUE(be_->Save({FileKind::kData, "aa01"}, data_).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Bytes Want(uint64_t off, uint64_t len) const { return Bytes(data_.begin() + off, data_.begin() + off + len); }

  std::string dir_;
  std::shared_ptr<Meter> meter_;
  std::unique_ptr<Backend> be_;
  Bytes data_;
};

TEST_F(BlockCacheTest, SmallReadsInOneBlockCostOneRead) {
  for (uint64_t off = 0; off < 900; off += 50) {
    auto r = be_->Load({FileKind::kData, "aa01"}, off, 60);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, Want(off, 60));
  }
  EXPECT_EQ(meter_->Snapshot().loads, 1u) << "every range lies in block 0";
  ASSERT_TRUE(be_->Load({FileKind::kData, "aa01"}, 990, 20).ok());
  EXPECT_EQ(meter_->Snapshot().loads, 2u) << "a range crossing into block 1 reads only block 1";
  EXPECT_EQ(meter_->Snapshot().sizes, 1u);
}

TEST_F(BlockCacheTest, RangesAcrossBlocksAndTheShortLastBlock) {
  auto r = be_->Load({FileKind::kData, "aa01"}, 950, 2100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Want(950, 2100));
  r = be_->Load({FileKind::kData, "aa01"}, 10'000, 500);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Want(10'000, 500));
  EXPECT_EQ(be_->Load({FileKind::kData, "aa01"}, 10'000, 501).status().code(), Code::kCorrupt);
  EXPECT_EQ(be_->Load({FileKind::kData, "aa01"}, 20'000, 1).status().code(), Code::kCorrupt);
  EXPECT_EQ(be_->Load({FileKind::kData, "none"}, 0, 1).status().code(), Code::kNotFound);
}

TEST_F(BlockCacheTest, LeastRecentlyUsedBlocksAreEvicted) {
  for (uint64_t b = 0; b < 6; ++b) ASSERT_TRUE(be_->Load({FileKind::kData, "aa01"}, b * 1000, 10).ok());
  const uint64_t after_fill = meter_->Snapshot().loads;
  EXPECT_EQ(after_fill, 6u);
  ASSERT_TRUE(be_->Load({FileKind::kData, "aa01"}, 5000, 10).ok());  // still cached
  EXPECT_EQ(meter_->Snapshot().loads, after_fill);
  ASSERT_TRUE(be_->Load({FileKind::kData, "aa01"}, 0, 10).ok());  // evicted (capacity 4 blocks)
  EXPECT_EQ(meter_->Snapshot().loads, after_fill + 1);
}

TEST_F(BlockCacheTest, RemoveDropsTheBlocks) {
  ASSERT_TRUE(be_->Load({FileKind::kData, "aa01"}, 0, 10).ok());
  ASSERT_TRUE(be_->Remove({FileKind::kData, "aa01"}).ok());
  EXPECT_EQ(be_->Load({FileKind::kData, "aa01"}, 0, 10).status().code(), Code::kNotFound);
}

TEST_F(BlockCacheTest, ConcurrentReadersGetTheRightBytes) {
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < 300; ++i) {
        const uint64_t off = rng() % 10'000, len = 1 + rng() % std::min<uint64_t>(1500, 10'500 - off);
        auto r = be_->Load({FileKind::kData, "aa01"}, off, len);
        if (!r.ok() || *r != Want(off, len)) ++bad;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(BlockCacheTest, WholeFileLoadsAndOtherKindsPassThrough) {
  auto r = be_->Load({FileKind::kData, "aa01"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, data_);
  EXPECT_EQ(meter_->Snapshot().sizes, 0u);
}

}  // namespace
}  // namespace lb::storage
