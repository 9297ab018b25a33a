#include <gtest/gtest.h>

#include "audit/audit.h"
#include "crypto/crypto.h"

namespace lb::audit {
namespace {

constexpr TimeNs kSec = 1000000000LL;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    meta_ = crypto::RandomKey();
    alice_ = crypto::SignKeyPairFromSeed(crypto::RandomKey());
    mallory_ = crypto::SignKeyPairFromSeed(crypto::RandomKey());
    signers_["alice-key"] = HexEncode(alice_.public_key);
  }

  // Signs and stores an entry; returns its name.
  std::string Add(Entry e, const crypto::SignKeyPair& by, const std::string& key_id = "alice-key") {
    e.key_id = key_id;
    e.host = "host";
    e.user = "root";
    e.signer = HexEncode(by.public_key);
    e.signature = HexEncode(crypto::Sign(by, AsBytes(Body(e))));
    Bytes file = EncodeFile(meta_, e);
    const std::string name = crypto::Sha256(file).Hex();
    files_[name] = file;
    return name;
  }
  std::string Next(const std::vector<std::string>& prev, uint64_t seq, TimeNs t, const std::string& cmd,
                   const crypto::SignKeyPair* by = nullptr) {
    Entry e;
    e.prev = prev;
    e.seq = seq;
    e.time = t;
    e.command = cmd;
    e.added = {"snapshot:" + cmd};
    return Add(e, by ? *by : alice_);
  }
  Log Run() { return VerifyFiles(meta_, files_, signers_); }
  static std::vector<std::string> Kinds(const Log& l) {
    std::vector<std::string> out;
    for (const auto& f : l.findings) out.push_back(std::string(KindName(f.kind)) + " " + f.entry.substr(0, 8));
    return out;
  }

  crypto::Key meta_;
  crypto::SignKeyPair alice_, mallory_;
  std::map<std::string, Bytes> files_;
  std::map<std::string, std::string> signers_;
};

TEST_F(AuditTest, CleanChainHasOneHeadAndNoFindings) {
  auto a = Next({}, 0, 1 * kSec, "init");
  auto b = Next({a}, 1, 2 * kSec, "backup");
  auto c = Next({b}, 2, 3 * kSec, "forget");
  Log l = Run();
  EXPECT_TRUE(l.findings.empty()) << ::testing::PrintToString(Kinds(l));
  ASSERT_EQ(l.entries.size(), 3u);
  EXPECT_EQ(l.entries[0].second.command, "init");
  EXPECT_EQ(l.entries[2].second.command, "forget");
  EXPECT_EQ(l.heads, std::vector<std::string>{c});
}

TEST_F(AuditTest, ConcurrentWritersForkAndMerge) {
  auto a = Next({}, 0, 1 * kSec, "init");
  auto b1 = Next({a}, 1, 2 * kSec, "backup-1");
  auto b2 = Next({a}, 1, 2 * kSec, "backup-2");
  Log l = Run();
  EXPECT_TRUE(l.findings.empty());
  EXPECT_EQ(l.heads.size(), 2u);
  std::vector<std::string> both = {b1, b2};
  std::sort(both.begin(), both.end());
  auto c = Next(both, 2, 3 * kSec, "prune");
  l = Run();
  EXPECT_TRUE(l.findings.empty()) << ::testing::PrintToString(Kinds(l));
  EXPECT_EQ(l.heads, std::vector<std::string>{c});
}

TEST_F(AuditTest, EditedEntryIsNamed) {
  auto a = Next({}, 0, 1 * kSec, "init");
  auto b = Next({a}, 1, 2 * kSec, "backup");
  Next({b}, 2, 3 * kSec, "forget");
  files_[b][files_[b].size() / 2] ^= 1;
  Log l = Run();
  EXPECT_EQ(Kinds(l), std::vector<std::string>{"edited " + b.substr(0, 8)});
}

TEST_F(AuditTest, RemovedEntryIsNamedByItsSuccessor) {
  auto a = Next({}, 0, 1 * kSec, "init");
  auto b = Next({a}, 1, 2 * kSec, "backup");
  Next({b}, 2, 3 * kSec, "forget");
  files_.erase(b);
  Log l = Run();
  ASSERT_EQ(Kinds(l), std::vector<std::string>{"removed " + b.substr(0, 8)});
  EXPECT_NE(l.findings[0].message.find("forget"), std::string::npos);
}

TEST_F(AuditTest, ForgedEntriesAreCaught) {
  auto a = Next({}, 0, 1 * kSec, "init");
  // Mallory has the meta key (another key's holder) but not alice's signer.
  auto f = Next({a}, 1, 2 * kSec, "forget", &mallory_);
  Log l = Run();
  EXPECT_EQ(Kinds(l), std::vector<std::string>{"forged " + f.substr(0, 8)});
  // A signature over other content.
  files_.erase(f);
  Entry e;
  e.prev = {a};
  e.seq = 1;
  e.time = 2 * kSec;
  e.command = "backup";
  e.key_id = "alice-key";
  e.signer = HexEncode(alice_.public_key);
  e.signature = HexEncode(crypto::Sign(alice_, AsBytes(std::string("something else"))));
  Bytes file = EncodeFile(meta_, e);
  const std::string bad = crypto::Sha256(file).Hex();
  files_[bad] = file;
  l = Run();
  EXPECT_EQ(Kinds(l), std::vector<std::string>{"forged " + bad.substr(0, 8)});
}

TEST_F(AuditTest, KeyWithoutPublishedSignerIsHeldToItsFirstSigner) {
  auto a = Next({}, 0, 1 * kSec, "init");
  Entry e;
  e.prev = {a};
  e.seq = 1;
  e.time = 2 * kSec;
  e.command = "backup";
  auto b = Add(e, alice_, "old-key");
  e.prev = {b};
  e.seq = 2;
  auto c = Add(e, mallory_, "old-key");
  Log l = Run();
  EXPECT_EQ(Kinds(l), std::vector<std::string>{"forged " + c.substr(0, 8)});
}

TEST_F(AuditTest, ReorderedEntriesAreCaught) {
  auto a = Next({}, 0, 1000 * kSec, "init");
  auto b = Next({a}, 5, 2000 * kSec, "backup");  // seq must be 1
  auto c = Next({a}, 1, 10 * kSec, "forget");    // dated long before its predecessor
  auto d = Next({}, 3, 3000 * kSec, "prune");    // no predecessor, yet seq 3
  Log l = Run();
  auto k = Kinds(l);
  std::sort(k.begin(), k.end());
  std::vector<std::string> want = {"reordered " + b.substr(0, 8), "reordered " + c.substr(0, 8),
                                   "reordered " + d.substr(0, 8)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(k, want);
}

}  // namespace
}  // namespace lb::audit
