// Conformance tests every Backend must pass; parameterized over backend factories
// so later backends (S3, erasure-coded) join by adding a factory.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <thread>

#include "storage/backend.h"

namespace lb::storage {
namespace {

struct Factory {
  const char* name;
  std::function<std::unique_ptr<Backend>(const std::string& scratch)> make;
};

class BackendConformance : public ::testing::TestWithParam<Factory> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-backend-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    scratch_ = tmpl;
    be_ = GetParam().make(scratch_);
    ASSERT_TRUE(be_->Create().ok());
    ASSERT_TRUE(be_->Create().ok()) << "Create must be idempotent";
  }
  void TearDown() override { std::filesystem::remove_all(scratch_); }

  std::string scratch_;
  std::unique_ptr<Backend> be_;
};

TEST_P(BackendConformance, SaveLoadRangeSize) {
  Bytes data(100000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  Handle h{FileKind::kData, "ab12cd"};
  ASSERT_TRUE(be_->Save(h, data).ok());
  auto all = be_->Load(h);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, data);
  auto part = be_->Load(h, 1000, 10);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(*part, Bytes(data.begin() + 1000, data.begin() + 1010));
  auto tail = be_->Load(h, 99990, 0);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->size(), 10u);
  auto size = be_->Size(h);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, data.size());
  EXPECT_FALSE(be_->Load(h, 99990, 11).ok());
}

TEST_P(BackendConformance, NeverOverwrites) {
  Handle h{FileKind::kSnapshot, "s1"};
  ASSERT_TRUE(be_->Save(h, AsBytes("one")).ok());
  Status st = be_->Save(h, AsBytes("two"));
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_EQ(ToString(*be_->Load(h)), "one");
}

TEST_P(BackendConformance, NotFoundSemantics) {
  Handle h{FileKind::kIndex, "missing"};
  EXPECT_EQ(be_->Load(h).status().code(), Code::kNotFound);
  EXPECT_EQ(be_->Size(h).status().code(), Code::kNotFound);
  EXPECT_EQ(be_->Remove(h).code(), Code::kNotFound);
}

TEST_P(BackendConformance, ListAndRemove) {
  std::set<std::string> want;
  for (int i = 0; i < 1500; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%04x%04x", i * 37 % 65536, i);
    want.insert(name);
    ASSERT_TRUE(be_->Save({FileKind::kData, name}, AsBytes(name)).ok());
  }
  ASSERT_TRUE(be_->Save({FileKind::kIndex, "other"}, AsBytes("x")).ok());
  std::set<std::string> got;
  ASSERT_TRUE(be_->List(FileKind::kData, [&](const std::string& n, uint64_t size) {
                   got.insert(n);
                   EXPECT_EQ(size, 8u);
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(got, want);
  ASSERT_TRUE(be_->Remove({FileKind::kData, *want.begin()}).ok());
  size_t count = 0;
  ASSERT_TRUE(be_->List(FileKind::kData, [&](const std::string&, uint64_t) {
                   ++count;
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(count, want.size() - 1);
  Status stop = be_->List(FileKind::kData, [](const std::string&, uint64_t) {
    return IoError("stop here");
  });
  EXPECT_EQ(stop.code(), Code::kIoError);
}

TEST_P(BackendConformance, RejectsBadNames) {
  EXPECT_FALSE(be_->Save({FileKind::kKey, "a/b"}, AsBytes("x")).ok());
  EXPECT_FALSE(be_->Save({FileKind::kKey, ""}, AsBytes("x")).ok());
  EXPECT_FALSE(be_->Save({FileKind::kKey, ".."}, AsBytes("x")).ok());
}

TEST_P(BackendConformance, ConcurrentSavesOfOneNameLeaveOneWhole) {
  Bytes a(1 << 20, 'a'), b(1 << 20, 'b');
  Handle h{FileKind::kData, "ffee"};
  Status sa, sb;
  std::thread t1([&] { sa = be_->Save(h, a); });
  std::thread t2([&] { sb = be_->Save(h, b); });
  t1.join();
  t2.join();
  EXPECT_NE(sa.ok(), sb.ok());
  auto got = be_->Load(h);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == a || *got == b);
}

INSTANTIATE_TEST_SUITE_P(All, BackendConformance,
                         ::testing::Values(Factory{"local", [](const std::string& s) {
                           return NewLocalBackend(s + "/repo");
                         }}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace lb::storage

namespace lb::storage {
namespace {

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
