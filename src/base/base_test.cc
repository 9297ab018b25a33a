#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/budget.h"
#include "base/bytes.h"
#include "base/clock.h"
#include "base/id.h"
#include "base/scratch.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "base/work_share.h"

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

// A scratch buffer keeps its memory (and so its contents) while the sizes asked
// for fit, grows when they do not, and is page-aligned (huge-page-aligned from
// 1 MiB on), which AlignedFor and direct writes rely on.
TEST(Scratch, KeepsItsMemoryUntilItHasToGrow) {
  Scratch s;
  EXPECT_EQ(s.capacity(), 0u);
  uint8_t* a = s.Get(100);
  ASSERT_NE(a, nullptr);
  EXPECT_GE(s.capacity(), 100u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 4096, 0u);
  std::memset(a, 0xab, 100);
  EXPECT_EQ(s.Get(50), a);
  EXPECT_EQ(s.Get(s.capacity()), a);
  EXPECT_EQ(a[99], 0xab);
  const size_t before = s.capacity();
  uint8_t* b = s.Get(before + 1);
  ASSERT_NE(b, nullptr);
  EXPECT_GE(s.capacity(), 2 * before);
  uint8_t* big = s.Get(3u << 20);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % (2u << 20), 0u);
  EXPECT_EQ(s.capacity() % (2u << 20), 0u);
  std::memset(big, 1, 3u << 20);  // all of it is usable
  EXPECT_EQ(big[(3u << 20) - 1], 1);

  Scratch small_pages(/*huge=*/false);
  uint8_t* c = small_pages.Get((3u << 20) + 1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % 4096, 0u);
  EXPECT_EQ(small_pages.capacity() % 4096, 0u);
  EXPECT_LT(small_pages.capacity(), (4u << 20));  // page-rounded, not huge-page-rounded
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

TEST(ThreadPool, SubmitFrontRunsBeforeQueuedTasks) {
  ThreadPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::mutex mu;
  std::vector<int> order;
  pool.Submit([released] { released.wait(); });  // the only worker is busy
  for (int i = 1; i <= 3; ++i)
    pool.Submit([&, i] {
      std::lock_guard<std::mutex> l(mu);
      order.push_back(i);
    });
  pool.SubmitFront([&] {
    std::lock_guard<std::mutex> l(mu);
    order.push_back(0);
  });
  release.set_value();
  pool.Wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

// Counts how often each item was done; every item must be done exactly once.
struct Tally {
  explicit Tally(size_t n) : done(n) {}
  WorkShare::Fn Fn() {
    return [this](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) done[i]++;
    };
  }
  bool AllOnce() const {
    for (const auto& d : done)
      if (d.load() != 1) return false;
    return true;
  }
  std::vector<std::atomic<int>> done;
};

TEST(WorkShare, FinishDoesEverythingOnceWithHelpers) {
  ThreadPool pool(2);
  for (size_t items : {0u, 1u, 7u, 100u, 1001u}) {
    Tally t(items);
    WorkShare w(items, 3, t.Fn(), pool, 2, /*urgent=*/true);
    w.Finish();
    EXPECT_TRUE(t.AllOnce()) << items;
  }
  pool.Wait();
}

TEST(WorkShare, HelpersTakeTheBackAndTheOwnerWaitsOnlyForStartedChunks) {
  ThreadPool pool(1);
  Tally t(50);
  WorkShare w(50, 10, t.Fn(), pool, 1);
  pool.Wait();  // the helper ran first and took every chunk
  EXPECT_EQ(w.helped_chunks(), 5u);
  w.Ensure(3);
  w.Finish();
  EXPECT_TRUE(t.AllOnce());
}

TEST(WorkShare, OwnerDoesSkippedAndRemainingChunksWhileThePoolIsBusy) {
  ThreadPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.Submit([released] { released.wait(); });
  {
    // The Tally dies before the queued helper runs: under ASan this fails if the
    // helper touches it.
    auto t = std::make_unique<Tally>(95);
    WorkShare w(95, 10, t->Fn(), pool, 1);
    w.Ensure(0);
    w.Ensure(55);  // chunks 1-4 skipped
    w.Finish();    // does them, and 6-9
    EXPECT_TRUE(t->AllOnce());
    EXPECT_EQ(w.helped_chunks(), 0u);
  }
  release.set_value();
  pool.Wait();
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

// A waiter with a wake slack goes on only when the slack is free as well.
TEST(BudgetTest, SlackDelaysTheWaiterUntilEnoughIsFree) {
  Budget b(10, 4);
  b.Acquire(10);
  std::atomic<bool> through{false};
  std::thread waiter([&] {
    b.Acquire(2);  // needs 2 + 4 free: at most 4 held
    through = true;
  });
  while (b.waiters() == 0) std::this_thread::yield();
  b.Release(2);  // 8 held: 2 would fit, but not with the slack
  b.Release(1);  // 7
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(through.load());
  EXPECT_EQ(b.waiters(), 1u);
  b.Release(3);  // 4 held
  waiter.join();
  EXPECT_TRUE(through.load());
  EXPECT_FALSE(b.TryAcquire(5));  // 4 + 2 held; 5 more do not fit under 10
  EXPECT_TRUE(b.TryAcquire(4));
}

}  // namespace
}  // namespace lb
