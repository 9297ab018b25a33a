#include "storage/wrappers.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "storage/conformance.h"

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

size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// The local backend keeps pack files open between reads, as many descriptors as
// it reports (a restore leaves room for them), and wrappers report their inner
// backend's count.
TEST_F(WrappersTest, KeptDescriptorsCoverWhatTheLocalBackendKeepsOpen) {
  auto local = NewLocalBackend(dir_ + "/repo");
  ASSERT_TRUE(local->Create().ok());
  const size_t kept = local->KeptDescriptors();
  ASSERT_GT(kept, 0u);
  const Bytes pack(8192, 7);
  const size_t before = OpenDescriptors();
  for (size_t i = 0; i < kept + 8; ++i) {
    char name[65];
    std::snprintf(name, sizeof name, "%064zx", i);
    ASSERT_TRUE(local->Save({FileKind::kData, name}, pack).ok());
    Bytes back(4096);
    ASSERT_TRUE(local->LoadInto({FileKind::kData, name}, 4096, back).ok());
  }
  const size_t held = OpenDescriptors() - before;
  EXPECT_GT(held, kept / 4) << "the backend keeps no pack open: the test measures nothing";
  EXPECT_LE(held, kept);

  auto meter = std::make_shared<Meter>();
  auto wrapped = NewRetryingBackend(NewLimitingBackend(
      NewCircuitBreakerBackend(NewMeteredBackend(NewFaultyBackend(std::move(local), plan_), meter)), 4));
  EXPECT_EQ(wrapped->KeptDescriptors(), kept);
}

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

TEST_F(WrappersTest, CircuitBreakerOpensOnTheFirstTransientFailure) {
  auto be = NewCircuitBreakerBackend(Retrying());
  ASSERT_TRUE(be->Save({FileKind::kData, "ab01"}, AsBytes("x")).ok());
  EXPECT_EQ(be->Load({FileKind::kIndex, "missing"}).status().code(), Code::kNotFound) << "not a reason to open";
  plan_->fail_loads = 100;
  EXPECT_EQ(be->Load({FileKind::kData, "ab01"}).status().code(), Code::kIoError);
  const int loads = plan_->loads.load(), saves = plan_->saves.load();
  plan_->fail_loads = 0;  // the member is back, but this run no longer asks it
  Status st = be->Save({FileKind::kData, "ab02"}, AsBytes("y"));
  EXPECT_EQ(st.code(), Code::kIoError);
  EXPECT_NE(st.message().find("treated as down"), std::string::npos) << st.message();
  EXPECT_EQ(be->Load({FileKind::kData, "ab01"}).status().code(), Code::kIoError);
  EXPECT_EQ(plan_->loads.load(), loads);
  EXPECT_EQ(plan_->saves.load(), saves);
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

// The conformance suite holds through the retrying, limiting, metered and circuit
// breaker wrappers (stacked: one instantiation keeps the unit run short).
INSTANTIATE_TEST_SUITE_P(Wrappers, BackendConformance,
                         ::testing::Values(Factory{"retrying_limiting_metered_breaker",
                                                   [](const std::string& s) {
                                                     return NewRetryingBackend(NewLimitingBackend(
                                                         NewMeteredBackend(
                                                             NewCircuitBreakerBackend(
                                                                 NewLocalBackend(s + "/repo")),
                                                             std::make_shared<Meter>()),
                                                         2));
                                                   }}),
                         FactoryName);

// Passes calls through to a local backend, holding each Save for a while and
// recording how many were inside at once.
class ConcurrencyProbe final : public Backend {
 public:
  explicit ConcurrencyProbe(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  std::string Location() const override { return inner_->Location(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const Handle& h, ByteSpan data) override {
    int now = ++inside_;
    int seen = max_.load();
    while (now > seen && !max_.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    --inside_;
    return inner_->Save(h, data);
  }
  Result<Bytes> Load(const Handle& h, uint64_t o, uint64_t l) override { return inner_->Load(h, o, l); }
  Result<uint64_t> Size(const Handle& h) override { return inner_->Size(h); }
  Status List(FileKind k, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    return inner_->List(k, fn);
  }
  Status Remove(const Handle& h) override { return inner_->Remove(h); }

  std::atomic<int>& max() { return max_; }

 private:
  std::unique_ptr<Backend> inner_;
  std::atomic<int> inside_{0}, max_{0};
};

int MaxInFlight(const std::string& root, unsigned limit) {
  auto probe = std::make_unique<ConcurrencyProbe>(NewLocalBackend(root));
  auto* p = probe.get();
  std::unique_ptr<Backend> be = limit ? NewLimitingBackend(std::move(probe), limit) : std::move(probe);
  EXPECT_TRUE(be->Create().ok());
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i)
    threads.emplace_back([&, i] { EXPECT_TRUE(be->Save({FileKind::kIndex, "f" + std::to_string(i)}, AsBytes("x")).ok()); });
  for (auto& t : threads) t.join();
  return p->max().load();
}

TEST_F(WrappersTest, LimitingBackendBoundsCallsInFlight) {
  EXPECT_GT(MaxInFlight(dir_ + "/free", 0), 3) << "without a limit the probe must see more than 3 at once";
  EXPECT_EQ(MaxInFlight(dir_ + "/limited", 3), 3);
  EXPECT_EQ(MaxInFlight(dir_ + "/one", 1), 1);
}

TEST_F(WrappersTest, LimitingListCallbackMayCallTheBackend) {
  auto be = NewLimitingBackend(NewLocalBackend(dir_ + "/repo"), 1);
  ASSERT_TRUE(be->Create().ok());
  ASSERT_TRUE(be->Save({FileKind::kSnapshot, "s1"}, AsBytes("abc")).ok());
  std::string got;
  ASSERT_TRUE(be->List(FileKind::kSnapshot, [&](const std::string& n, uint64_t) {
                   auto r = be->Load({FileKind::kSnapshot, n});  // would deadlock if List held the slot
                   if (!r.ok()) return r.status();
                   got = ToString(*r);
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(got, "abc");
}

TEST_F(WrappersTest, MeteredBackendCountsCallsAndBytes) {
  auto meter = std::make_shared<Meter>();
  auto be = NewMeteredBackend(NewLocalBackend(dir_ + "/repo"), meter);
  ASSERT_TRUE(be->Create().ok());
  ASSERT_TRUE(be->Save({FileKind::kData, "ab01"}, AsBytes("0123456789")).ok());
  ASSERT_TRUE(be->Save({FileKind::kIndex, "i1"}, AsBytes("xyz")).ok());
  EXPECT_EQ(be->Save({FileKind::kIndex, "i1"}, AsBytes("again")).code(), Code::kAlreadyExists);
  ASSERT_TRUE(be->Load({FileKind::kData, "ab01"}, 2, 4).ok());
  EXPECT_EQ(be->Load({FileKind::kData, "missing"}).status().code(), Code::kNotFound);
  ASSERT_TRUE(be->Size({FileKind::kIndex, "i1"}).ok());
  ASSERT_TRUE(be->List(FileKind::kIndex, [](const std::string&, uint64_t) { return Status::Ok(); }).ok());
  ASSERT_TRUE(be->Remove({FileKind::kIndex, "i1"}).ok());
  const Meter::Counts c = meter->Snapshot();
  EXPECT_EQ(c.creates, 1u);
  EXPECT_EQ(c.saves, 3u);
  EXPECT_EQ(c.loads, 2u);
  EXPECT_EQ(c.sizes, 1u);
  EXPECT_EQ(c.lists, 1u);
  EXPECT_EQ(c.removes, 1u);
  EXPECT_EQ(c.errors, 2u);
  EXPECT_EQ(c.bytes_up, 13u) << "only successful saves count";
  EXPECT_EQ(c.bytes_down, 4u);
  EXPECT_EQ(c.calls(), 9u);
}

TEST_F(WrappersTest, MeteredBackendIsExactUnderConcurrency) {
  auto meter = std::make_shared<Meter>();
  auto be = NewMeteredBackend(NewLocalBackend(dir_ + "/repo"), meter);
  ASSERT_TRUE(be->Create().ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const Handle h{FileKind::kIndex, "t" + std::to_string(t) + "-" + std::to_string(i)};
        EXPECT_TRUE(be->Save(h, AsBytes("12345")).ok());
        EXPECT_TRUE(be->Load(h).ok());
      }
    });
  for (auto& th : threads) th.join();
  const Meter::Counts c = meter->Snapshot();
  EXPECT_EQ(c.saves, 400u);
  EXPECT_EQ(c.loads, 400u);
  EXPECT_EQ(c.bytes_up, 2000u);
  EXPECT_EQ(c.bytes_down, 2000u);
  EXPECT_EQ(c.errors, 0u);
}

}  // namespace
}  // namespace lb::storage
