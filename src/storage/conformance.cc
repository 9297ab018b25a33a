#include "storage/conformance.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

namespace lb::storage {

std::string MakeScratchDir(const std::string& prefix) {
  const char* base = std::getenv("LB_TEST_SCRATCH");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  return mkdtemp(tmpl.data()) ? tmpl : std::string();
}

void BackendConformance::SetUp() {
  scratch_ = MakeScratchDir("lb-backend");
  ASSERT_FALSE(scratch_.empty()) << "cannot create a scratch directory";
  be_ = GetParam().make(scratch_);
  ASSERT_NE(be_, nullptr);
  ASSERT_TRUE(be_->Create().ok());
  ASSERT_TRUE(be_->Create().ok()) << "Create must be idempotent";
}

void BackendConformance::TearDown() {
  be_.reset();
  std::filesystem::remove_all(scratch_);
}

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

// LoadInto fills exactly the caller's memory; a range past the end fails.
TEST_P(BackendConformance, LoadIntoFillsTheCallersMemory) {
  Bytes data(100000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13 + 5);
  Handle h{FileKind::kData, "cd34ef"};
  ASSERT_TRUE(be_->Save(h, data).ok());
  Bytes buf(50010, 0xAA);
  ASSERT_TRUE(be_->LoadInto(h, 1000, std::span<uint8_t>(buf.data(), 50000)).ok());
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 50000, data.begin() + 1000));
  EXPECT_EQ(buf[50000], 0xAA) << "wrote past the span";
  ASSERT_TRUE(be_->LoadInto(h, 99000, std::span<uint8_t>(buf.data(), 1000)).ok());
  EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + 1000, data.begin() + 99000));
  EXPECT_FALSE(be_->LoadInto(h, 99990, std::span<uint8_t>(buf.data(), 11)).ok());
  EXPECT_EQ(be_->LoadInto({FileKind::kData, "cd34f0"}, 0, std::span<uint8_t>(buf.data(), 1)).code(),
            Code::kNotFound);
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


TEST_P(BackendConformance, LargeObjectsAndRanges) {
  // Larger than one S3 multipart part and than any single pack.
  Bytes data(40u << 20);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < data.size(); ++i) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    data[i] = static_cast<uint8_t>(x);
  }
  Handle h{FileKind::kData, "ee00large"};
  ASSERT_TRUE(be_->Save(h, data).ok());
  auto size = be_->Size(h);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, data.size());
  auto all = be_->Load(h);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(*all == data);
  const uint64_t off = (17u << 20) + 12345, len = 3u << 20;
  auto part = be_->Load(h, off, len);
  ASSERT_TRUE(part.ok());
  EXPECT_TRUE(*part == Bytes(data.begin() + off, data.begin() + off + len));
}

TEST_P(BackendConformance, EveryAllowedNameCharacter) {
  const std::string all = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
  ASSERT_TRUE(ValidFileName(all));
  for (FileKind k : {FileKind::kKey, FileKind::kData, FileKind::kSnapshot}) {
    ASSERT_TRUE(be_->Save({k, all}, AsBytes("payload")).ok());
    EXPECT_EQ(ToString(*be_->Load({k, all})), "payload");
    std::vector<std::string> names;
    ASSERT_TRUE(be_->List(k, [&](const std::string& n, uint64_t) {
                     names.push_back(n);
                     return Status::Ok();
                   }).ok());
    EXPECT_EQ(names, std::vector<std::string>{all});
  }
  for (const char* bad : {"a b", "a%2f", "a\\b", "\xc3\xa9", "a+b", "a?b", "a#b"}) {
    EXPECT_FALSE(ValidFileName(bad)) << bad;
    EXPECT_EQ(be_->Save({FileKind::kKey, bad}, AsBytes("x")).code(), Code::kInvalidArgument) << bad;
  }
}

TEST_P(BackendConformance, EmptyFile) {
  Handle h{FileKind::kLock, "empty"};
  ASSERT_TRUE(be_->Save(h, ByteSpan{}).ok());
  auto got = be_->Load(h);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
  EXPECT_EQ(*be_->Size(h), 0u);
}

}  // namespace lb::storage
