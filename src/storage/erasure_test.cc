#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "storage/conformance.h"
#include "storage/erasure_backend.h"
#include "storage/wrappers.h"

namespace lb::storage {
namespace {

namespace fs = std::filesystem;

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// A member that is down: every call fails with kIoError.
class DeadBackend final : public Backend {
 public:
  std::string Location() const override { return "dead"; }
  Status Create() override { return IoError("member down"); }
  Status Save(const Handle&, ByteSpan) override { return IoError("member down"); }
  Result<Bytes> Load(const Handle&, uint64_t, uint64_t) override { return IoError("member down"); }
  Result<uint64_t> Size(const Handle&) override { return IoError("member down"); }
  Status List(FileKind, const std::function<Status(const std::string&, uint64_t)>&) override {
    return IoError("member down");
  }
  Status Remove(const Handle&) override { return IoError("member down"); }
};

// A member whose state a test switches: up, down (kIoError), or wiped (kNotFound,
// lists nothing).
enum Gate { kUp = 0, kDown = 1, kWiped = 2 };
class GateBackend final : public Backend {
 public:
  GateBackend(std::unique_ptr<Backend> inner, std::shared_ptr<std::atomic<int>> gate)
      : inner_(std::move(inner)), gate_(std::move(gate)) {}
  std::string Location() const override { return inner_->Location(); }
  Status Create() override { return *gate_ == kDown ? IoError("down") : inner_->Create(); }
  Status Save(const Handle& h, ByteSpan d) override {
    return *gate_ == kUp ? inner_->Save(h, d) : IoError("down");
  }
  Result<Bytes> Load(const Handle& h, uint64_t o, uint64_t l) override {
    if (*gate_ == kDown) return IoError("down");
    if (*gate_ == kWiped) return NotFound("wiped");
    return inner_->Load(h, o, l);
  }
  Result<uint64_t> Size(const Handle& h) override {
    if (*gate_ == kDown) return IoError("down");
    if (*gate_ == kWiped) return NotFound("wiped");
    return inner_->Size(h);
  }
  Status List(FileKind k, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    if (*gate_ == kDown) return IoError("down");
    if (*gate_ == kWiped) return Status::Ok();
    return inner_->List(k, fn);
  }
  Status Remove(const Handle& h) override {
    if (*gate_ == kDown) return IoError("down");
    if (*gate_ == kWiped) return NotFound("wiped");
    return inner_->Remove(h);
  }

 private:
  std::unique_ptr<Backend> inner_;
  std::shared_ptr<std::atomic<int>> gate_;
};

// Writes through one backend and reads through another over the same storage:
// lets the conformance suite check reads of a repository that lost members.
class SplitBackend final : public Backend {
 public:
  SplitBackend(std::unique_ptr<Backend> writer, std::unique_ptr<Backend> reader)
      : w_(std::move(writer)), r_(std::move(reader)) {}
  std::string Location() const override { return r_->Location(); }
  Status Create() override { return w_->Create(); }
  Status Save(const Handle& h, ByteSpan d) override { return w_->Save(h, d); }
  Result<Bytes> Load(const Handle& h, uint64_t o, uint64_t l) override { return r_->Load(h, o, l); }
  Result<uint64_t> Size(const Handle& h) override { return r_->Size(h); }
  Status List(FileKind k, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    return r_->List(k, fn);
  }
  Status Remove(const Handle& h) override { return w_->Remove(h); }

 private:
  std::unique_ptr<Backend> w_, r_;
};

std::string MemberDir(const std::string& scratch, int i) { return scratch + "/m" + std::to_string(i); }

std::unique_ptr<ErasureBackend> MakeEc(int k, int m, std::vector<std::unique_ptr<Backend>> members) {
  auto ec = ErasureBackend::Make(k, m, std::move(members));
  EXPECT_TRUE(ec.ok()) << ec.status().ToString();
  return ec.ok() ? std::move(ec).value() : nullptr;
}

std::unique_ptr<ErasureBackend> LocalEc(const std::string& scratch, int k = 3, int m = 2) {
  std::vector<std::unique_ptr<Backend>> members;
  for (int i = 0; i < k + m; ++i) members.push_back(NewLocalBackend(MemberDir(scratch, i)));
  return MakeEc(k, m, std::move(members));
}

// ---------------------------------------------------------------- conformance

std::unique_ptr<Backend> MakeLocal3p2(const std::string& scratch) { return LocalEc(scratch); }

std::unique_ptr<Backend> MakeOneMemberDead3p2(const std::string& scratch) {
  std::vector<std::unique_ptr<Backend>> members;
  for (int i = 0; i < 4; ++i) members.push_back(NewLocalBackend(MemberDir(scratch, i)));
  members.push_back(std::make_unique<DeadBackend>());
  return MakeEc(3, 2, std::move(members));
}

// Writes with all five members; reads with member 1's folder deleted (a path
// that does not exist) and member 3 failing every load and listing.
std::unique_ptr<Backend> MakeTwoMembersLostReads3p2(const std::string& scratch) {
  std::vector<std::unique_ptr<Backend>> readers;
  for (int i = 0; i < 5; ++i) {
    if (i == 1) {
      readers.push_back(NewLocalBackend(scratch + "/deleted-member"));
    } else if (i == 3) {
      auto plan = std::make_shared<FaultPlan>();
      plan->fail_loads = 1 << 30;
      plan->fail_lists = 1 << 30;
      plan->fail_saves = 1 << 30;
      readers.push_back(NewFaultyBackend(NewLocalBackend(MemberDir(scratch, i)), plan));
    } else {
      readers.push_back(NewLocalBackend(MemberDir(scratch, i)));
    }
  }
  return std::make_unique<SplitBackend>(LocalEc(scratch), MakeEc(3, 2, std::move(readers)));
}

INSTANTIATE_TEST_SUITE_P(Erasure, BackendConformance,
                         ::testing::Values(Factory{"Local3p2", MakeLocal3p2},
                                           Factory{"OneMemberDead3p2", MakeOneMemberDead3p2},
                                           Factory{"TwoMembersLostReads3p2", MakeTwoMembersLostReads3p2}),
                         FactoryName);

// ---------------------------------------------------------------- codec

TEST(RsCodec, RejectsBadParameters) {
  EXPECT_EQ(RsCodec::Make(0, 2).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(RsCodec::Make(3, 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(RsCodec::Make(60, 10).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(RsCodec::Make(1, 1).ok());
}

// Every set of up to m lost blocks is rebuilt from k survivors.
TEST(RsCodec, EveryLossPatternReconstructs) {
  for (auto [k, m] : std::vector<std::pair<int, int>>{{3, 2}, {4, 3}, {1, 2}, {2, 1}, {6, 3}}) {
    const size_t len = 1000;
    auto codec = RsCodec::Make(k, m);
    ASSERT_TRUE(codec.ok());
    std::vector<Bytes> blocks;
    for (int i = 0; i < k; ++i) blocks.push_back(RandomBytes(len, 17 + i));
    for (int i = 0; i < m; ++i) blocks.emplace_back(len, 0);
    std::vector<const uint8_t*> in;
    std::vector<uint8_t*> out;
    for (int i = 0; i < k; ++i) in.push_back(blocks[i].data());
    for (int i = 0; i < m; ++i) out.push_back(blocks[k + i].data());
    codec->Encode(len, in, out);
    const int n = k + m;
    int patterns = 0;
    for (unsigned lost = 0; lost < (1u << n); ++lost) {
      if (__builtin_popcount(lost) > m) continue;
      std::vector<int> have_idx, want;
      std::vector<const uint8_t*> have;
      for (int i = 0; i < n; ++i) {
        if (lost & (1u << i)) want.push_back(i);
        else if (static_cast<int>(have_idx.size()) < k) {
          have_idx.push_back(i);
          have.push_back(blocks[i].data());
        }
      }
      std::vector<Bytes> rebuilt(want.size(), Bytes(len, 0xee));
      std::vector<uint8_t*> outs;
      for (auto& b : rebuilt) outs.push_back(b.data());
      ASSERT_TRUE(codec->Reconstruct(len, have_idx, have, want, outs).ok());
      for (size_t w = 0; w < want.size(); ++w)
        ASSERT_EQ(rebuilt[w], blocks[want[w]]) << k << "+" << m << " lost mask " << lost << " block " << want[w];
      ++patterns;
    }
    EXPECT_GT(patterns, n);
  }
}

TEST(RsCodec, ReconstructRejectsWrongInputs) {
  auto codec = RsCodec::Make(3, 2);
  ASSERT_TRUE(codec.ok());
  Bytes a(8), b(8), c(8), o(8);
  const uint8_t* have[3] = {a.data(), b.data(), c.data()};
  uint8_t* out[1] = {o.data()};
  const int two[2] = {0, 1}, dup[3] = {0, 0, 1}, ok[3] = {0, 1, 2}, bad_want[1] = {5};
  EXPECT_FALSE(codec->Reconstruct(8, two, std::span(have, 2), std::span(bad_want, 1), out).ok());
  EXPECT_FALSE(codec->Reconstruct(8, dup, have, std::span(bad_want, 1), out).ok());
  EXPECT_FALSE(codec->Reconstruct(8, ok, have, bad_want, out).ok());
}

// ---------------------------------------------------------------- shard format

TEST(ShardFormat, HeaderRoundTripAndDamage) {
  ShardHeader h;
  h.k = 3, h.m = 2, h.index = 4, h.file_size = 1000, h.shard_len = 334;
  h.payload_hash = Sha256Of(AsBytes("p"));
  h.file_hash = Sha256Of(AsBytes("f"));
  Bytes b = EncodeShardHeader(h);
  ASSERT_EQ(b.size(), kShardHeaderSize);
  EXPECT_EQ(b, EncodeShardHeader(h)) << "headers must be deterministic";
  auto back = ParseShardHeader(b);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->SameFile(h));
  EXPECT_EQ(back->index, 4);
  EXPECT_EQ(back->payload_hash, h.payload_hash);
  for (size_t at : {0ul, 9ul, 40ul, 90ul}) {
    Bytes bad = b;
    bad[at] ^= 1;
    EXPECT_EQ(ParseShardHeader(bad).status().code(), Code::kCorrupt) << "flipped byte " << at;
  }
  Bytes v2 = b;
  v2[4] = 2;
  EXPECT_EQ(ParseShardHeader(v2).status().code(), Code::kUnsupported);
  EXPECT_EQ(ParseShardHeader(ByteSpan(b).first(50)).status().code(), Code::kCorrupt);
}

TEST(ShardFormat, ContiguousLayout) {
  EXPECT_EQ(ShardLen(0, 3), 0u);
  EXPECT_EQ(ShardLen(1, 3), 1u);
  EXPECT_EQ(ShardLen(9, 3), 3u);
  EXPECT_EQ(ShardLen(10, 3), 4u);
  // 10 bytes over 3: 4 + 4 + 2, parity 4 each.
  EXPECT_EQ(StoredPayloadLen(10, 3, 0), 4u);
  EXPECT_EQ(StoredPayloadLen(10, 3, 2), 2u);
  EXPECT_EQ(StoredPayloadLen(10, 3, 4), 4u);
  // 1 byte over 3: 1 + 0 + 0.
  EXPECT_EQ(StoredPayloadLen(1, 3, 1), 0u);
  auto codec = RsCodec::Make(3, 2);
  ASSERT_TRUE(codec.ok());
  const Bytes data = RandomBytes(10, 1);
  ShardPlan p = PlanShards(*codec, data);
  ASSERT_EQ(p.payloads.size(), 5u);
  EXPECT_EQ(Bytes(p.payloads[1].begin(), p.payloads[1].end()), Bytes(data.begin() + 4, data.begin() + 8));
  Bytes f = ShardFile(p, 2);
  EXPECT_EQ(f.size(), kShardHeaderSize + 2);
  EXPECT_EQ(ParseShardHeader(f)->index, 2);
}

// ---------------------------------------------------------------- backend

class ErasureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_ = MakeScratchDir("lb-erasure");
    ASSERT_FALSE(scratch_.empty());
  }
  void TearDown() override { fs::remove_all(scratch_); }

  // 3+2 over local folders, each behind a gate the test can switch.
  std::unique_ptr<ErasureBackend> Gated(int k = 3, int m = 2) {
    std::vector<std::unique_ptr<Backend>> members;
    gates_.clear();
    for (int i = 0; i < k + m; ++i) {
      gates_.push_back(std::make_shared<std::atomic<int>>(kUp));
      members.push_back(std::make_unique<GateBackend>(NewLocalBackend(MemberDir(scratch_, i)), gates_.back()));
    }
    auto ec = MakeEc(k, m, std::move(members));
    EXPECT_TRUE(ec->Create().ok());
    return ec;
  }
  // Another backend over the same gated members (as another process would be).
  std::unique_ptr<ErasureBackend> Reader() {
    std::vector<std::unique_ptr<Backend>> members;
    for (size_t i = 0; i < gates_.size(); ++i)
      members.push_back(
          std::make_unique<GateBackend>(NewLocalBackend(MemberDir(scratch_, static_cast<int>(i))), gates_[i]));
    return MakeEc(3, static_cast<int>(gates_.size()) - 3, std::move(members));
  }
  std::string ShardPath(int member, const Handle& h) const {
    std::string d = MemberDir(scratch_, member) + "/" + FileKindDir(h.kind);
    if (h.kind == FileKind::kData) d += "/" + h.name.substr(0, 2);
    return d + "/" + h.name;
  }
  Bytes ReadShard(int member, const Handle& h) const {
    std::ifstream f(ShardPath(member, h), std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  void FlipByte(int member, const Handle& h, size_t at) const {
    std::fstream f(ShardPath(member, h), std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c ^= 0x5a;
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
  }
  void SetGates(unsigned mask, int state) {
    for (size_t i = 0; i < gates_.size(); ++i) *gates_[i] = (mask & (1u << i)) ? state : kUp;
  }

  std::string scratch_;
  std::vector<std::shared_ptr<std::atomic<int>>> gates_;
};

// Every member keeps its own open files: the erasure backend reports their sum.
TEST_F(ErasureTest, KeptDescriptorsAreTheMembersSum) {
  auto ec = LocalEc(scratch_, 3, 2);
  ASSERT_NE(ec, nullptr);
  const size_t one = NewLocalBackend(MemberDir(scratch_, 0))->KeptDescriptors();
  ASSERT_GT(one, 0u);
  EXPECT_EQ(ec->KeptDescriptors(), 5 * one);
}

// Sizes around the shard boundaries, every pattern of up to m members down or
// wiped: whole and ranged reads and sizes come back exact.
TEST_F(ErasureTest, EveryLossPatternReadsBack) {
  auto ec = Gated();
  const int n = 5;
  std::vector<size_t> sizes = {0, 1, 2, 3, 4, 1000, 3u << 20};
  for (size_t size : sizes) {
    const Bytes data = RandomBytes(size, static_cast<uint32_t>(size) + 5);
    const Handle h{FileKind::kData, "aa" + std::to_string(size)};
    SetGates(0, kUp);
    ASSERT_TRUE(ec->Save(h, data).ok());
    for (unsigned lost = 0; lost < (1u << n); ++lost) {
      if (__builtin_popcount(lost) > 2) continue;
      for (int state : {kDown, kWiped}) {
        SetGates(lost, state);
        // The writer (which cached the file's layout) and a fresh reader.
        auto fresh = Reader();
        for (ErasureBackend* be : {ec.get(), fresh.get()}) {
        auto all = be->Load(h);
        ASSERT_TRUE(all.ok()) << size << " lost " << lost << ": " << all.status().ToString();
        ASSERT_EQ(*all, data) << size << " lost " << lost;
        auto sz = be->Size(h);
        ASSERT_TRUE(sz.ok());
        EXPECT_EQ(*sz, size);
        if (size < 3) continue;
        const uint64_t off = size / 3 - 1, len = size / 3 + 2;  // crosses a shard boundary
        auto part = be->Load(h, off, len);
        ASSERT_TRUE(part.ok()) << size << " lost " << lost << ": " << part.status().ToString();
        EXPECT_EQ(*part, Bytes(data.begin() + off, data.begin() + off + len)) << size << " lost " << lost;
        }
      }
    }
  }
}

TEST_F(ErasureTest, ThreeMembersLostIsAnErrorNotNotFound) {
  auto ec = Gated();
  const Handle h{FileKind::kIndex, "idx1"};
  ASSERT_TRUE(ec->Save(h, RandomBytes(5000, 3)).ok());
  SetGates(0b00111, kWiped);
  auto r = ec->Load(h);
  EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().ToString();
  EXPECT_NE(r.status().message().find("only 2 of 5 shards intact"), std::string::npos) << r.status().ToString();
  SetGates(0b00111, kDown);
  EXPECT_EQ(ec->Load(h).status().code(), Code::kIoError);
  EXPECT_EQ(ec->Load({FileKind::kIndex, "none"}).status().code(), Code::kIoError)
      << "with 3 members down, absence cannot be proven";
}

TEST_F(ErasureTest, WriteQuorum) {
  auto ec = Gated();
  EXPECT_EQ(ec->WriteQuorum(FileKind::kData), 4);
  EXPECT_EQ(ec->WriteQuorum(FileKind::kLock), 3);
  SetGates(0b10000, kDown);  // one member down: data still saved, one shard missing
  const Handle one{FileKind::kData, "bb01"};
  const Bytes data = RandomBytes(70000, 9);
  ASSERT_TRUE(ec->Save(one, data).ok());
  SetGates(0b10010, kDown);  // two members down: data refused, nothing left behind
  const Handle two{FileKind::kData, "bb02"};
  Status st = ec->Save(two, data);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("only 3 of 5 shards stored, 4 needed"), std::string::npos) << st.ToString();
  EXPECT_TRUE(ec->Save({FileKind::kLock, "lock1"}, AsBytes("lock")).ok()) << "locks need only k shards";
  SetGates(0, kUp);
  EXPECT_EQ(ec->Load(two).status().code(), Code::kNotFound) << "a refused save leaves no shards";
  EXPECT_FALSE(fs::exists(ShardPath(0, two)));
  auto rep = ec->Inspect();
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->files, 1u);
  ASSERT_EQ(rep->degraded.size(), 1u);
  EXPECT_EQ(rep->degraded[0].name, "bb01");
  EXPECT_EQ(rep->members[4].missing, 1u);
  EXPECT_EQ(rep->members[0].present, 1u);
  auto fixed = ec->RepairAll();
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->shards_written, 1u);
  EXPECT_EQ(fixed->files_repaired, 1u);
  EXPECT_TRUE(ec->Inspect()->whole());
  SetGates(0b00011, kWiped);
  EXPECT_EQ(*ec->Load(one), data) << "the rebuilt parity shard serves reads";
}

TEST_F(ErasureTest, LeftoverShardsDoNotBlockANewSave) {
  auto ec = Gated();
  const Handle h{FileKind::kSnapshot, "s1"};
  ASSERT_TRUE(ec->Save(h, AsBytes("first version")).ok());
  // A crashed write: only two shards of it remain.
  for (int i = 2; i < 5; ++i) fs::remove(ShardPath(i, h));
  auto fresh = Gated();  // another process: no cached knowledge
  EXPECT_EQ(fresh->Load(h).status().code(), Code::kCorrupt);
  ASSERT_TRUE(fresh->Save(h, AsBytes("second version")).ok());
  EXPECT_EQ(ToString(*fresh->Load(h)), "second version");
  EXPECT_EQ(fresh->Save(h, AsBytes("third")).code(), Code::kAlreadyExists);
  EXPECT_TRUE(fresh->Inspect()->whole()) << "the stale shards were replaced";
}

TEST_F(ErasureTest, DamagedShardIsDetectedAndRepaired) {
  auto ec = Gated();
  const Handle h{FileKind::kData, "cc00"};
  const Bytes data = RandomBytes(300000, 4);
  ASSERT_TRUE(ec->Save(h, data).ok());
  const Bytes good = ReadShard(1, h);
  FlipByte(1, h, kShardHeaderSize + 5000);  // payload of data shard 1
  auto fresh = Gated();
  EXPECT_EQ(*fresh->Load(h), data) << "whole loads verify shards and rebuild";
  EXPECT_TRUE(fresh->Inspect()->whole()) << "without --read-data only headers are checked";
  InspectOptions verify;
  verify.verify_payload = true;
  auto rep = fresh->Inspect(verify);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->members[1].damaged, 1u);
  EXPECT_EQ(rep->members[0].damaged, 0u);
  ASSERT_EQ(rep->degraded.size(), 1u);
  auto fixed = fresh->RepairAll();
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->shards_written, 1u);
  EXPECT_EQ(ReadShard(1, h), good) << "the rebuilt shard equals the original";
  EXPECT_TRUE(fresh->Inspect(verify)->whole());
  // A damaged header is seen without reading payloads.
  FlipByte(3, h, 10);
  auto rep2 = fresh->Inspect();
  EXPECT_EQ(rep2->members[3].damaged, 1u);
}

TEST_F(ErasureTest, RepeatedRangedReadIsVerified) {
  auto ec = Gated();
  const Handle h{FileKind::kData, "dd00"};
  const Bytes data = RandomBytes(90000, 5);
  ASSERT_TRUE(ec->Save(h, data).ok());
  FlipByte(0, h, kShardHeaderSize + 100);
  const Bytes want(data.begin() + 50, data.begin() + 250);
  auto first = ec->Load(h, 50, 200);
  ASSERT_TRUE(first.ok());
  EXPECT_NE(*first, want) << "a single ranged read cannot see the damage";
  auto again = ec->Load(h, 50, 200);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, want) << "the repeated read goes through the verified path";
}

TEST_F(ErasureTest, ListNeedsMoreThanKMembersListing) {
  auto ec = Gated();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(ec->Save({FileKind::kIndex, "i" + std::to_string(i)}, RandomBytes(i * 7, i)).ok());
  auto count = [&]() -> Result<int> {
    int n = 0;
    LB_RETURN_IF_ERROR(ec->List(FileKind::kIndex, [&](const std::string& name, uint64_t size) {
      EXPECT_EQ(size, std::stoul(name.substr(1)) * 7) << name;
      ++n;
      return Status::Ok();
    }));
    return n;
  };
  EXPECT_EQ(*count(), 20);
  SetGates(0b00110, kDown);
  EXPECT_EQ(*count(), 20) << "two members down: sizes come from shard headers";
  SetGates(0b01110, kDown);
  auto r = count();
  EXPECT_FALSE(r.ok()) << "three members failing must not give a short list";
  EXPECT_NE(r.status().message().find("3 of 5 members failed"), std::string::npos) << r.status().ToString();
  // With a FaultyBackend member interrupting listings part-way.
  std::vector<std::unique_ptr<Backend>> members;
  for (int i = 0; i < 5; ++i) {
    auto plan = std::make_shared<FaultPlan>();
    plan->fail_lists = i < 3 ? 1 : 0;
    members.push_back(NewFaultyBackend(NewLocalBackend(MemberDir(scratch_, i)), plan));
  }
  auto faulty = MakeEc(3, 2, std::move(members));
  EXPECT_FALSE(faulty->List(FileKind::kIndex, [](const std::string&, uint64_t) { return Status::Ok(); }).ok());
}

TEST_F(ErasureTest, RemoveSemantics) {
  auto ec = Gated();
  const Handle h{FileKind::kLock, "l1"};
  ASSERT_TRUE(ec->Save(h, AsBytes("x")).ok());
  SetGates(0b00001, kDown);
  EXPECT_TRUE(ec->Remove(h).ok()) << "one shard left on a down member is harmless";
  SetGates(0, kUp);
  EXPECT_EQ(ec->Load(h).status().code(), Code::kCorrupt) << "a lone leftover shard is not a file";
  bool listed = false;
  ASSERT_TRUE(ec->List(FileKind::kLock, [&](const std::string&, uint64_t) {
                   listed = true;
                   return Status::Ok();
                 }).ok());
  EXPECT_FALSE(listed);
  EXPECT_TRUE(ec->Remove(h).ok());
  EXPECT_EQ(ec->Remove(h).code(), Code::kNotFound);
}

TEST(ErasureMake, RejectsWrongMemberCount) {
  std::vector<std::unique_ptr<Backend>> members;
  members.push_back(std::make_unique<DeadBackend>());
  EXPECT_EQ(ErasureBackend::Make(3, 2, std::move(members)).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace lb::storage
