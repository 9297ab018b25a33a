#include <gtest/gtest.h>

#include <atomic>

#include "base/budget.h"
#include "base/bytes.h"
#include "base/clock.h"
#include "base/id.h"
#include "base/status.h"
#include "base/thread_pool.h"

namespace lb {
namespace {

Status FailsWith(Code c) { return Status(c, "inner"); }

Status Chain() {
  LB_RETURN_IF_ERROR_CTX(FailsWith(Code::kCorrupt), "outer");
  return Status::Ok();
}

TEST(Status, ContextIsPrepended) {
  Status st = Chain();
  EXPECT_EQ(st.code(), Code::kCorrupt);
  EXPECT_EQ(st.message(), "outer: inner");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(Status, ErrnoMapping) {
  EXPECT_EQ(ErrnoStatus("w", ENOSPC).code(), Code::kNoSpace);
  EXPECT_EQ(ErrnoStatus("w", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(ErrnoStatus("w", EACCES).code(), Code::kPermission);
  EXPECT_EQ(ErrnoStatus("w", EIO).code(), Code::kIoError);
}

TEST(Bytes, HexRoundTripAndErrors) {
  Bytes b = {0, 1, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  EXPECT_EQ(*HexDecode("0001ABff"), b);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(Bytes, ReaderBoundsChecked) {
  Bytes b;
  PutU32(b, 0xdeadbeef);
  PutU64(b, 42);
  ByteReader r(b);
  EXPECT_EQ(*r.U32(), 0xdeadbeefu);
  EXPECT_EQ(*r.U64(), 42u);
  EXPECT_FALSE(r.U8().ok());
}

TEST(Id, HexParse) {
  std::string hex(64, 'a');
  auto id = Id::FromHex(hex);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->Hex(), hex);
  EXPECT_FALSE(Id::FromHex("abcd").ok());
  EXPECT_TRUE(Id{}.IsZero());
}

TEST(Clock, ParseFormats) {
  auto utc = ParseTime("2026-11-20T13:00:05.5Z");
  ASSERT_TRUE(utc.ok());
  EXPECT_EQ(*utc, 1795179605500000000LL);
  EXPECT_EQ(FormatTimeRfc3339(*utc), "2026-11-20T13:00:05.500000000Z");
  auto off = ParseTime("2026-11-20T15:00:05.5+02:00");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(*off, *utc);
  EXPECT_TRUE(ParseTime("2026-11-20 14:00").ok());
  EXPECT_TRUE(ParseTime("2026-11-20").ok());
  EXPECT_FALSE(ParseTime("2026-13-20").ok());
  EXPECT_FALSE(ParseTime("yesterday").ok());
  EXPECT_FALSE(ParseTime("2026-11-20 14:00 junk").ok());
  FakeClock c(5);
  c.Advance(10);
  EXPECT_EQ(c.Now(), 15);
}

TEST(ThreadPool, RunsEverythingAndWaits) {
  ThreadPool pool(3);
  std::atomic<int> n{0};
  for (int i = 0; i < 1000; ++i) pool.Submit([&] { n++; });
  pool.Wait();
  EXPECT_EQ(n.load(), 1000);
}

TEST(BudgetTest, TryAcquireTakesOnlyWhatFits) {
  Budget b(3);
  EXPECT_TRUE(b.TryAcquire(2));
  EXPECT_FALSE(b.TryAcquire(2));  // 2 + 2 > 3
  EXPECT_TRUE(b.TryAcquire(1));
  EXPECT_FALSE(b.TryAcquire(1));
  b.Release(3);
  EXPECT_TRUE(b.TryAcquire(5));  // more than the limit passes when nothing is held
  EXPECT_FALSE(b.TryAcquire(1));
  b.Release(5);
  b.Acquire(3);
  EXPECT_FALSE(b.TryAcquire(1));
  b.Release(3);
}

}  // namespace
}  // namespace lb
