#include "storage/wrappers.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace lb::storage {
namespace {

class WrappersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-wrap-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    plan_ = std::make_shared<FaultPlan>();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Backend> Faulty() {
    auto be = NewFaultyBackend(NewLocalBackend(dir_ + "/repo"), plan_);
    EXPECT_TRUE(be->Create().ok());
    return be;
  }
  std::unique_ptr<Backend> Retrying() {
    RetryPolicy p;
    p.first_delay = std::chrono::milliseconds(1);
    return NewRetryingBackend(Faulty(), p);
  }

  std::string dir_;
  std::shared_ptr<FaultPlan> plan_;
};

TEST_F(WrappersTest, TransientSaveFailuresAreRetried) {
  auto be = Retrying();
  plan_->fail_saves = 2;
  EXPECT_TRUE(be->Save({FileKind::kIndex, "a"}, AsBytes("x")).ok());
  EXPECT_EQ(plan_->saves.load(), 3);
  plan_->fail_saves = 100;
  Status st = be->Save({FileKind::kIndex, "b"}, AsBytes("x"));
  EXPECT_EQ(st.code(), Code::kIoError);
  EXPECT_EQ(plan_->saves.load(), 3 + 5);
}

TEST_F(WrappersTest, PermanentErrorsAreNotRetried) {
  auto be = Retrying();
  EXPECT_EQ(be->Load({FileKind::kIndex, "missing"}).status().code(), Code::kNotFound);
  EXPECT_EQ(plan_->loads.load(), 1);
}

TEST_F(WrappersTest, ShortReadIsRetried) {
  auto be = Retrying();
  ASSERT_TRUE(be->Save({FileKind::kData, "ab01"}, AsBytes("0123456789")).ok());
  plan_->short_reads = 1;
  auto r = be->Load({FileKind::kData, "ab01"}, 2, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ToString(*r), "23456");
  EXPECT_EQ(plan_->loads.load(), 2);
}

TEST_F(WrappersTest, FailedListingIsAnErrorNeverAShortList) {
  auto faulty = Faulty();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(faulty->Save({FileKind::kSnapshot, "s" + std::to_string(i)}, AsBytes("x")).ok());
  plan_->fail_lists = 1;
  size_t seen = 0;
  Status st = faulty->List(FileKind::kSnapshot, [&](const std::string&, uint64_t) {
    ++seen;
    return Status::Ok();
  });
  EXPECT_FALSE(st.ok());
  // Through the retrying wrapper the caller sees the whole list exactly once.
  auto be = NewRetryingBackend(NewFaultyBackend(NewLocalBackend(dir_ + "/repo"), plan_),
                               RetryPolicy{5, std::chrono::milliseconds(1), std::chrono::milliseconds(2)});
  plan_->fail_lists = 2;
  seen = 0;
  EXPECT_TRUE(be->List(FileKind::kSnapshot, [&](const std::string&, uint64_t) {
                   ++seen;
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(seen, 5u);
}

TEST_F(WrappersTest, CorruptFirstReadOnlyOnce) {
  auto be = Faulty();
  ASSERT_TRUE(be->Save({FileKind::kData, "cd02"}, AsBytes("hello world")).ok());
  plan_->corrupt_first_read = true;
  auto first = be->Load({FileKind::kData, "cd02"});
  auto second = be->Load({FileKind::kData, "cd02"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(ToString(*first), "hello world");
  EXPECT_EQ(ToString(*second), "hello world");
}

}  // namespace
}  // namespace lb::storage
