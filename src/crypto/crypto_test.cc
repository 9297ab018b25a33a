#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace lb::crypto {
namespace {

class CryptoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Init().ok()); }
};

TEST_F(CryptoTest, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256(AsBytes("abc")).Hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Stream s;
  s.Update(AsBytes("a"));
  s.Update(AsBytes("bc"));
  EXPECT_EQ(s.Finish(), Sha256(AsBytes("abc")));
}

TEST_F(CryptoTest, HmacDependsOnKey) {
  Key a = RandomKey(), b = RandomKey();
  EXPECT_EQ(HmacSha256(a, AsBytes("x")), HmacSha256(a, AsBytes("x")));
  EXPECT_NE(HmacSha256(a, AsBytes("x")), HmacSha256(b, AsBytes("x")));
}

Key CountingKey() {
  Key k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  return k;
}

// Known answers (Python's hmac module), asked between uses of other keys: each thread
// keeps its HMAC context keyed, and a key change must re-key it.
TEST_F(CryptoTest, HmacKnownAnswerAcrossKeyChanges) {
  const Key k = CountingKey();
  const Bytes big(5000, 'x');
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(HmacSha256(k, AsBytes("abc")).Hex(),
              "f0133729c4163dede81e21cd47839256da58171238c8a0d874397c73b14e1e47");
    EXPECT_EQ(HmacSha256(k, big).Hex(),
              "a80540efa87ec65bec9c11f75e955418e6520dd0972b88a86828c61b7e2dc503");
    HmacSha256(RandomKey(), AsBytes("abc"));
  }
  Id from_other_thread;
  std::thread([&] { from_other_thread = HmacSha256(k, AsBytes("abc")); }).join();
  EXPECT_EQ(from_other_thread, HmacSha256(k, AsBytes("abc")));
}

// A known answer (Python's cryptography AESGCM), sealed and opened between uses of
// other keys and after a failed open: each thread keeps its cipher contexts.
TEST_F(CryptoTest, GcmKnownAnswerAcrossKeyChangesAndFailures) {
  const Key k = CountingKey();
  Nonce nonce;
  for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(100 + i);
  const std::string expected = "6465666768696a6b6c6d6e6f"  // the nonce, then ct || tag
                               "207eb20a16c921f14c0e3b63177a8fa177b09d83e8b08f12023bef";
  for (int round = 0; round < 3; ++round) {
    Bytes sealed;
    SealAppend(k, nonce, AsBytes("hello world"), AsBytes("ad"), sealed);
    EXPECT_EQ(HexEncode(sealed), expected);
    const Key other = RandomKey();
    Bytes other_sealed = Seal(other, AsBytes("other"), {});
    EXPECT_FALSE(Open(k, sealed, AsBytes("bad")).ok());
    auto opened = Open(k, sealed, AsBytes("ad"));
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(ToString(*opened), "hello world");
    EXPECT_FALSE(Open(k, other_sealed, {}).ok());
    auto other_opened = Open(other, other_sealed, {});
    ASSERT_TRUE(other_opened.ok());
    EXPECT_EQ(ToString(*other_opened), "other");
  }
  Bytes sealed_elsewhere;
  std::thread([&] { SealAppend(k, nonce, AsBytes("hello world"), AsBytes("ad"), sealed_elsewhere); })
      .join();
  EXPECT_EQ(HexEncode(sealed_elsewhere), expected);
}

TEST_F(CryptoTest, SealOpenRoundTrip) {
  Key k = RandomKey();
  Bytes ad = {1, 2, 3};
  Bytes sealed = Seal(k, AsBytes("hello world"), ad);
  EXPECT_EQ(sealed.size(), 11 + kAeadOverhead);
  auto opened = Open(k, sealed, ad);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(ToString(*opened), "hello world");
  auto empty = Open(k, Seal(k, {}, ad), ad);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// Opening in place (out = the ciphertext's own bytes) gives the plaintext, for a
// message longer than OpenSSL's blocks, and still checks the tag.
TEST_F(CryptoTest, OpenToInPlace) {
  Key k = RandomKey();
  Bytes ad = {4, 5};
  Bytes plain(100000);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i * 7 + i / 251);
  Bytes sealed = Seal(k, plain, ad);
  Bytes bad = sealed;
  ASSERT_TRUE(OpenTo(k, sealed, ad, sealed.data() + kNonceBytes).ok());
  EXPECT_EQ(Bytes(sealed.begin() + kNonceBytes, sealed.end() - (kAeadOverhead - kNonceBytes)), plain);
  bad[bad.size() - 1] ^= 0x80;  // the tag
  Status st = OpenTo(k, bad, ad, bad.data() + kNonceBytes);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kCorrupt);
}

// Every seal draws a new nonce: the same plaintext under the same key never gives
// the same bytes (a repeated AES-GCM nonce would leak the plaintexts' XOR).
TEST_F(CryptoTest, EverySealHasItsOwnNonce) {
  Key k = RandomKey();
  std::set<Bytes> nonces;
  for (int i = 0; i < 1000; ++i) {
    Bytes sealed = Seal(k, AsBytes("same"), {});
    nonces.insert(Bytes(sealed.begin(), sealed.begin() + 12));
  }
  EXPECT_EQ(nonces.size(), 1000u);
}

TEST_F(CryptoTest, AnyFlippedBitIsRejected) {
  Key k = RandomKey();
  Bytes ad = {9, 9};
  Bytes sealed = Seal(k, AsBytes("sixteen byte msg"), ad);
  for (size_t i = 0; i < sealed.size() * 8; ++i) {
    Bytes bad = sealed;
    bad[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    auto r = Open(k, bad, ad);
    ASSERT_FALSE(r.ok()) << "bit " << i;
    EXPECT_EQ(r.status().code(), Code::kCorrupt);
  }
}

TEST_F(CryptoTest, WrongAssociatedDataOrKeyIsRejected) {
  Key k = RandomKey();
  Bytes sealed = Seal(k, AsBytes("payload"), AsBytes("id-1"));
  EXPECT_FALSE(Open(k, sealed, AsBytes("id-2")).ok());
  EXPECT_FALSE(Open(RandomKey(), sealed, AsBytes("id-1")).ok());
  EXPECT_FALSE(Open(k, ByteSpan(sealed).subspan(0, 20), AsBytes("id-1")).ok());
}

TEST_F(CryptoTest, DeriveKeyIsDeterministicPerPasswordAndSalt) {
  Bytes salt(16, 7);
  auto a = DeriveKey("pw", salt, 1, 8 << 20);
  auto b = DeriveKey("pw", salt, 1, 8 << 20);
  auto c = DeriveKey("pw2", salt, 1, 8 << 20);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_FALSE(DeriveKey("pw", Bytes(3), 1, 8 << 20).ok());
}

TEST_F(CryptoTest, SealedBoxRoundTripAndTamper) {
  BoxKeyPair kp = GenerateBoxKeyPair();
  Bytes sealed = SealToPublic(kp.public_key, AsBytes("data key"));
  EXPECT_EQ(sealed.size(), 8 + kSealedBoxOverhead);
  auto opened = OpenSealed(kp, sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(ToString(*opened), "data key");
  sealed[20] ^= 1;
  EXPECT_FALSE(OpenSealed(kp, sealed).ok());
  EXPECT_FALSE(OpenSealed(GenerateBoxKeyPair(), SealToPublic(kp.public_key, AsBytes("x"))).ok());
}

TEST(Ed25519, SignsVerifiesAndRejectsAnyChange) {
  ASSERT_TRUE(Init().ok());
  Key seed{};
  seed[0] = 7;
  const SignKeyPair k = SignKeyPairFromSeed(seed);
  EXPECT_EQ(SignKeyPairFromSeed(seed).public_key, k.public_key) << "deterministic from the seed";
  const std::string msg = "audit entry 1";
  const Signature sig = Sign(k, AsBytes(msg));
  EXPECT_TRUE(VerifySignature(k.public_key, AsBytes(msg), sig));
  EXPECT_FALSE(VerifySignature(k.public_key, AsBytes(std::string("audit entry 2")), sig));
  Signature bad = sig;
  bad[10] ^= 1;
  EXPECT_FALSE(VerifySignature(k.public_key, AsBytes(msg), bad));
  seed[0] = 8;
  EXPECT_FALSE(VerifySignature(SignKeyPairFromSeed(seed).public_key, AsBytes(msg), sig));
}

}  // namespace
}  // namespace lb::crypto
