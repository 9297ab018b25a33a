// Tests for the repository module: config, key files, packs, index files,
// sealed files, the Repository itself and locks.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "base/clock.h"
#include "repo/config.h"
#include "repo/index.h"
#include "repo/keyring.h"
#include "repo/keys.h"
#include "repo/lock.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "storage/backend.h"
#include "storage/wrappers.h"

namespace lb::repo {
namespace {

namespace fs = std::filesystem;

const KdfParams kCheapKdf{1, 8 << 20};

Bytes RandomBlob(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

Bytes CompressibleBlob(std::mt19937_64& rng, size_t n) {
  std::string words[] = {"lifeboat ", "backup ", "repository ", "pack ", "index "};
  std::string s;
  const uint64_t salt = rng();
  s += std::to_string(salt);
  while (s.size() < n) s += words[rng() % 5];
  s.resize(n);
  Bytes b(s.begin(), s.end());
  return b;
}

void ExpectSameEntry(const BlobEntry& a, const BlobEntry& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.compression, b.compression);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.raw_length, b.raw_length);
}

void ExpectSamePack(const PackInfo& a, const PackInfo& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.key_version, b.key_version);
  EXPECT_EQ(a.sealed_key, b.sealed_key);
  EXPECT_EQ(a.size, b.size);
  ASSERT_EQ(a.blobs.size(), b.blobs.size());
  for (size_t i = 0; i < a.blobs.size(); ++i) ExpectSameEntry(a.blobs[i], b.blobs[i]);
}

void ExpectSameKeys(const MasterKeys& a, const MasterKeys& b) {
  EXPECT_EQ(a.id_key, b.id_key);
  EXPECT_EQ(a.meta_key, b.meta_key);
  EXPECT_EQ(a.current, b.current);
  ASSERT_EQ(a.data_keys.size(), b.data_keys.size());
  for (size_t i = 0; i < a.data_keys.size(); ++i) {
    EXPECT_EQ(a.data_keys[i].version, b.data_keys[i].version);
    EXPECT_EQ(a.data_keys[i].pair.public_key, b.data_keys[i].pair.public_key);
    EXPECT_EQ(a.data_keys[i].pair.secret_key, b.data_keys[i].pair.secret_key);
  }
}

// All regular files under `root`, relative path -> contents.
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out[fs::relative(e.path(), root).string()] = data;
  }
  return out;
}

size_t CountFiles(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') ++n;
  return n;
}

void FlipByteInFile(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.read(&c, 1);
  ASSERT_TRUE(f.good());
  c = static_cast<char>(c ^ 0x40);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
  f.close();
  ASSERT_FALSE(f.fail());
}

std::string DataPath(const std::string& root, const Id& pack) {
  const std::string hex = pack.Hex();
  return root + "/data/" + hex.substr(0, 2) + "/" + hex;
}

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    char tmpl[] = "/tmp/lb-repo-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    scratch_ = tmpl;
    dir_ = scratch_ + "/repo";
  }
  void TearDown() override { fs::remove_all(scratch_); }

  InitOptions Options(uint32_t pack_size = 16 * 1024 * 1024) {
    InitOptions o;
    o.pack_size = pack_size;
    o.kdf = kCheapKdf;
    o.who = {1700000000LL * 1000000000, "testhost", "tester"};
    return o;
  }

  std::unique_ptr<Repository> InitRepo(const std::string& password, uint32_t pack_size) {
    auto r = Repository::Init(storage::NewLocalBackend(dir_), password, Options(pack_size));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    return std::move(r).value();
  }

  Result<std::unique_ptr<Repository>> OpenRepo(const std::string& password) {
    return Repository::Open(storage::NewLocalBackend(dir_), password);
  }

  std::string scratch_;
  std::string dir_;
};

// ---------------------------------------------------------------- config

TEST(ConfigTest, RoundTrip) {
  Config c;
  c.id = std::string(64, 'a');
  c.chunker.min_size = 1024;
  c.chunker.avg_size = 4096;
  c.chunker.max_size = 65536;
  c.pack_size = 123456;
  c.created = 1700000000123456789LL;
  auto d = DecodeConfig(EncodeConfig(c));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->version, kFormatVersion);
  EXPECT_EQ(d->id, c.id);
  EXPECT_EQ(d->chunker.min_size, 1024u);
  EXPECT_EQ(d->chunker.avg_size, 4096u);
  EXPECT_EQ(d->chunker.max_size, 65536u);
  EXPECT_EQ(d->pack_size, 123456u);
  EXPECT_EQ(d->created, c.created);
}

TEST(ConfigTest, NewerVersionUnsupported) {
  Config c;
  c.id = std::string(64, 'b');
  c.version = 2;
  auto d = DecodeConfig(EncodeConfig(c));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kUnsupported);
}

TEST(ConfigTest, MalformedIsCorrupt) {
  for (const std::string text : {"{not json", "", "[1,2,3]", "{\"version\": 1}",
                                 "{\"version\": \"one\"}"}) {
    auto d = DecodeConfig(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), Code::kCorrupt) << text;
  }
  // Truncated valid config.
  Config c;
  c.id = std::string(64, 'c');
  std::string text = EncodeConfig(c);
  auto d = DecodeConfig(text.substr(0, text.size() / 2));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kCorrupt);
  // Out-of-range pack size.
  c.pack_size = 100;
  d = DecodeConfig(EncodeConfig(c));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kCorrupt);
}

// ---------------------------------------------------------------- key files

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::Init().ok()); }
};

TEST_F(KeyFileTest, RoundTrip) {
  MasterKeys k = MasterKeys::Generate();
  KeyFileInfo info{1234567890123LL, "host-a", "user-b"};
  auto text = EncodeKeyFile(k, "correct horse", kCheapKdf, info);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto opened = OpenKeyFile(*text, "correct horse");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ExpectSameKeys(k, *opened);
  // The secret keys do not appear in the file in any obvious form.
  EXPECT_EQ(text->find(HexEncode(k.id_key)), std::string::npos);
}

TEST_F(KeyFileTest, WrongPasswordIsDistinctFromCorrupt) {
  MasterKeys k = MasterKeys::Generate();
  auto text = EncodeKeyFile(k, "right", kCheapKdf, {});
  ASSERT_TRUE(text.ok());
  auto bad = OpenKeyFile(*text, "wrong");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kWrongPassword);
  auto empty = OpenKeyFile(*text, "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), Code::kWrongPassword);
}

TEST_F(KeyFileTest, DamagedKeyFileIsCorrupt) {
  MasterKeys k = MasterKeys::Generate();
  auto text = EncodeKeyFile(k, "pw", kCheapKdf, {});
  ASSERT_TRUE(text.ok());
  for (const std::string& bad : std::vector<std::string>{"garbage", "{\"version\": 1", "{}",
                                                          "{\"version\": 1}",
                                                          text->substr(0, text->size() / 2)}) {
    auto r = OpenKeyFile(bad, "pw");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << bad;
  }
  // A salt field that is valid base64 but not 16 bytes long is damage, too.
  std::string t = *text;
  size_t pos = t.find("\"salt\": \"");
  ASSERT_NE(pos, std::string::npos);
  pos += 9;
  size_t end = t.find('"', pos);
  t.replace(pos, end - pos, "AAAA");
  auto r = OpenKeyFile(t, "pw");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().ToString();
  // So are KDF parameters below Argon2id's minimum.
  t = *text;
  pos = t.find("\"ops\": 1");
  ASSERT_NE(pos, std::string::npos);
  t.replace(pos, 8, "\"ops\": 0");
  r = OpenKeyFile(t, "pw");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt) << r.status().ToString();
}

// Empty base64 fields once reached libsodium as a null pointer (found by fuzz_keyfile).
TEST(MasterKeysTest, EmptyKeyFieldsAreCorrupt) {
  MasterKeys k = MasterKeys::Generate();
  std::string text = EncodeMasterKeys(k);
  ASSERT_TRUE(DecodeMasterKeys(AsBytes(text)).ok());
  for (const char* field : {"\"id_key\"", "\"meta_key\"", "\"public\"", "\"secret\""}) {
    std::string t = text;
    size_t pos = t.find(field);
    ASSERT_NE(pos, std::string::npos) << field;
    size_t open = t.find('"', pos + std::strlen(field));
    size_t close = t.find('"', open + 1);
    t.replace(open + 1, close - open - 1, "");
    auto r = DecodeMasterKeys(AsBytes(t));
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.status().code(), Code::kCorrupt) << field << ": " << r.status().ToString();
  }
}

TEST_F(KeyFileTest, ReadInfoWithoutPassword) {
  MasterKeys k = MasterKeys::Generate();
  KeyFileInfo info{987654321000LL, "the-host", "the-user"};
  auto text = EncodeKeyFile(k, "secret", kCheapKdf, info);
  ASSERT_TRUE(text.ok());
  auto r = ReadKeyFileInfo(*text);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->created, info.created);
  EXPECT_EQ(r->host, "the-host");
  EXPECT_EQ(r->user, "the-user");
  auto bad = ReadKeyFileInfo("not json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorrupt);
}

// ---------------------------------------------------------------- packs

class PackTest : public ::testing::Test {
 protected:
  struct Blob {
    Id id;
    BlobKind kind;
    Compression comp;
    Bytes stored;
  };

  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    keys_ = MasterKeys::Generate();
    std::mt19937_64 rng(42);
    PackBuilder b(keys_.Current());
    for (int i = 0; i < 7; ++i) {
      Blob bl;
      bl.stored = RandomBlob(rng, i == 0 ? 0 : 100 + 517 * i);
      bl.id = crypto::HmacSha256(keys_.id_key, bl.stored);
      bl.kind = i % 2 ? BlobKind::kTree : BlobKind::kData;
      bl.comp = i % 3 == 0 ? Compression::kZstd : Compression::kNone;
      b.Add(bl.id, bl.kind, bl.comp, static_cast<uint32_t>(bl.stored.size() + i), bl.stored);
      blobs_.push_back(bl);
    }
    EXPECT_EQ(b.count(), 7u);
    pack_ = b.Finish(info_);
  }

  MasterKeys keys_;
  std::vector<Blob> blobs_;
  PackInfo info_;
  Bytes pack_;
};

// Blobs of a pack share its key, so each needs its own AES-GCM nonce; two packs
// built alike draw different nonce bases.
TEST_F(PackTest, EveryBlobHasItsOwnNonce) {
  std::set<Bytes> nonces;
  for (const BlobEntry& e : info_.blobs)
    nonces.insert(Bytes(pack_.begin() + e.offset, pack_.begin() + e.offset + 12));
  EXPECT_EQ(nonces.size(), info_.blobs.size());
  PackBuilder again(keys_.Current());
  again.Add(blobs_[1].id, blobs_[1].kind, blobs_[1].comp, 1, blobs_[1].stored);
  PackInfo info;
  Bytes pack = again.Finish(info);
  EXPECT_FALSE(nonces.count(Bytes(pack.begin(), pack.begin() + 12)));
}

// The repository cuts packs by FinishedSizeWith, and reserves their buffers by it.
TEST_F(PackTest, FinishedSizeIsTheSizeOfThePackFile) {
  std::mt19937_64 rng(7);
  Bytes reused(100);  // a spare buffer's old contents do not end up in the pack
  PackBuilder b(keys_.Current(), 4096, std::move(reused));
  EXPECT_EQ(b.size(), 0u);
  const size_t empty = b.FinishedSize();
  for (size_t len : {0, 1, 300, 5000}) {
    const Bytes stored = RandomBlob(rng, len);
    const size_t predicted = b.FinishedSizeWith(len);
    EXPECT_GT(predicted, b.FinishedSize());
    b.Add(crypto::HmacSha256(keys_.id_key, stored), BlobKind::kData, Compression::kNone,
          static_cast<uint32_t>(len), stored);
    EXPECT_EQ(b.FinishedSize(), predicted) << len;
  }
  PackInfo info;
  const size_t predicted = b.FinishedSize();
  Bytes pack = b.Finish(info);
  EXPECT_EQ(pack.size(), predicted);
  EXPECT_EQ(info.size, predicted);
  EXPECT_LT(empty, predicted);
  EXPECT_EQ(info.blobs.front().offset, 0u);
}

TEST_F(PackTest, BuilderAndHeaderRoundTrip) {
  EXPECT_EQ(info_.id, crypto::Sha256(pack_));
  EXPECT_EQ(info_.size, pack_.size());
  EXPECT_EQ(info_.key_version, 1u);
  EXPECT_EQ(info_.sealed_key.size(), 80u);
  ASSERT_EQ(info_.blobs.size(), blobs_.size());
  uint32_t expect_offset = 0;
  for (size_t i = 0; i < blobs_.size(); ++i) {
    const BlobEntry& e = info_.blobs[i];
    EXPECT_EQ(e.id, blobs_[i].id);
    EXPECT_EQ(e.kind, blobs_[i].kind);
    EXPECT_EQ(e.compression, blobs_[i].comp);
    EXPECT_EQ(e.offset, expect_offset);
    EXPECT_EQ(e.length, blobs_[i].stored.size() + crypto::kAeadOverhead);
    EXPECT_EQ(e.raw_length, blobs_[i].stored.size() + i);
    expect_offset += e.length;
  }
  EXPECT_EQ(std::string(pack_.end() - 4, pack_.end()), "LBP1");

  auto h = ReadPackHeader(keys_, info_.id, pack_);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ExpectSamePack(info_, *h);
}

TEST_F(PackTest, OpenBlobsWithPackKey) {
  auto key = OpenPackKey(keys_, info_.key_version, info_.sealed_key);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  ByteSpan pack(pack_);
  for (size_t i = 0; i < blobs_.size(); ++i) {
    const BlobEntry& e = info_.blobs[i];
    auto plain = crypto::Open(*key, pack.subspan(e.offset, e.length), BlobAd(e.id, e.kind));
    ASSERT_TRUE(plain.ok()) << i;
    EXPECT_EQ(*plain, blobs_[i].stored);
    // The ciphertext is bound to its kind and its id.
    BlobKind other = e.kind == BlobKind::kData ? BlobKind::kTree : BlobKind::kData;
    EXPECT_FALSE(crypto::Open(*key, pack.subspan(e.offset, e.length), BlobAd(e.id, other)).ok());
    const Id& other_id = info_.blobs[(i + 1) % blobs_.size()].id;
    EXPECT_FALSE(crypto::Open(*key, pack.subspan(e.offset, e.length), BlobAd(other_id, e.kind)).ok());
  }
  // Unknown key version and another repository's keys fail.
  EXPECT_EQ(OpenPackKey(keys_, 2, info_.sealed_key).status().code(), Code::kCorrupt);
  MasterKeys other = MasterKeys::Generate();
  EXPECT_EQ(OpenPackKey(other, 1, info_.sealed_key).status().code(), Code::kCorrupt);
  EXPECT_EQ(ReadPackHeader(other, info_.id, pack_).status().code(), Code::kCorrupt);
}

TEST_F(PackTest, FlippedBitInBlobRejected) {
  auto key = OpenPackKey(keys_, info_.key_version, info_.sealed_key);
  ASSERT_TRUE(key.ok());
  const BlobEntry& e = info_.blobs[3];
  for (uint32_t pos : {e.offset, e.offset + 5, e.offset + 20, e.offset + e.length - 1}) {
    Bytes bad = pack_;
    bad[pos] ^= 0x01;
    auto plain = crypto::Open(*key, ByteSpan(bad).subspan(e.offset, e.length), BlobAd(e.id, e.kind));
    ASSERT_FALSE(plain.ok()) << pos;
    EXPECT_EQ(plain.status().code(), Code::kCorrupt);
  }
}

TEST_F(PackTest, FlippedBitInHeaderRejected) {
  const BlobEntry& last = info_.blobs.back();
  const size_t header_start = last.offset + last.length;
  const size_t header_end = pack_.size() - kPackTrailerFixed;
  ASSERT_GT(header_end, header_start);
  for (size_t pos = header_start; pos < header_end; pos += 7) {
    Bytes bad = pack_;
    bad[pos] ^= 0x80;
    auto h = ReadPackHeader(keys_, info_.id, bad);
    ASSERT_FALSE(h.ok()) << pos;
    EXPECT_EQ(h.status().code(), Code::kCorrupt);
  }
  // The sealed key and the trailer fields are protected too.
  for (size_t pos = header_end; pos < pack_.size(); ++pos) {
    Bytes bad = pack_;
    bad[pos] ^= 0x01;
    auto h = ReadPackHeader(keys_, info_.id, bad);
    EXPECT_FALSE(h.ok()) << pos;
  }
}

TEST_F(PackTest, TruncatedPackRejected) {
  for (size_t n : {size_t{0}, size_t{10}, kPackTrailerFixed - 1, kPackTrailerFixed,
                   pack_.size() / 2, pack_.size() - 1}) {
    auto h = ReadPackHeader(keys_, info_.id, ByteSpan(pack_).first(n));
    ASSERT_FALSE(h.ok()) << n;
    EXPECT_EQ(h.status().code(), Code::kCorrupt) << n;
  }
  // Bytes missing at the front (trailer and header intact): entries fall outside.
  auto h = ReadPackHeader(keys_, info_.id, ByteSpan(pack_).subspan(100));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Code::kCorrupt);
}

TEST_F(PackTest, WrongMagicRejected) {
  Bytes bad = pack_;
  bad[bad.size() - 1] = '2';
  auto h = ReadPackHeader(keys_, info_.id, bad);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Code::kCorrupt);
  EXPECT_NE(h.status().message().find("magic"), std::string::npos) << h.status().message();
}

// ---------------------------------------------------------------- index files

class IndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    keys_ = MasterKeys::Generate();
    std::mt19937_64 rng(7);
    for (int p = 0; p < 3; ++p) {
      PackBuilder b(keys_.Current());
      for (int i = 0; i < 2 + p; ++i) {
        Bytes data = RandomBlob(rng, 50 + 31 * i);
        b.Add(crypto::HmacSha256(keys_.id_key, data), i % 2 ? BlobKind::kTree : BlobKind::kData,
              i % 3 ? Compression::kNone : Compression::kZstd, 1000 + i, data);
      }
      PackInfo info;
      b.Finish(info);
      index_.packs.push_back(info);
    }
    for (int i = 0; i < 2; ++i) {
      Bytes raw = RandomBlob(rng, 32);
      index_.supersedes.push_back(Id::FromBytes(raw));
    }
    file_ = EncodeIndexFile(keys_, index_);
  }

  MasterKeys keys_;
  IndexFile index_;
  Bytes file_;
};

TEST_F(IndexFileTest, RoundTrip) {
  auto d = DecodeIndexFile(keys_, file_);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->supersedes, index_.supersedes);
  ASSERT_EQ(d->packs.size(), index_.packs.size());
  for (size_t i = 0; i < d->packs.size(); ++i) ExpectSamePack(index_.packs[i], d->packs[i]);

  IndexFile empty;
  auto e = DecodeIndexFile(keys_, EncodeIndexFile(keys_, empty));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->supersedes.empty());
  EXPECT_TRUE(e->packs.empty());
}

TEST_F(IndexFileTest, FlippedByteRejected) {
  for (size_t pos = 0; pos < file_.size(); ++pos) {
    Bytes bad = file_;
    bad[pos] ^= 0x10;
    auto d = DecodeIndexFile(keys_, bad);
    ASSERT_FALSE(d.ok()) << pos;
    EXPECT_EQ(d.status().code(), Code::kCorrupt);
  }
  EXPECT_FALSE(DecodeIndexFile(keys_, ByteSpan(file_).first(file_.size() - 1)).ok());
}

TEST_F(IndexFileTest, OtherKeysRejected) {
  MasterKeys other = MasterKeys::Generate();
  auto d = DecodeIndexFile(other, file_);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kCorrupt);
}

// ---------------------------------------------------------------- sealed files

TEST(SealFileTest, RoundTripAndWrongAd) {
  ASSERT_TRUE(crypto::Init().ok());
  MasterKeys k = MasterKeys::Generate();
  Bytes payload(5000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13);
  Bytes file = SealFile(k.Current(), payload, AsBytes("ad one"));
  EXPECT_EQ(file.size(), 4 + 80 + payload.size() + crypto::kAeadOverhead);
  auto r = OpenFile(k, file, AsBytes("ad one"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, payload);

  auto wrong = OpenFile(k, file, AsBytes("ad two"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kCorrupt);

  MasterKeys other = MasterKeys::Generate();
  EXPECT_EQ(OpenFile(other, file, AsBytes("ad one")).status().code(), Code::kCorrupt);
  EXPECT_EQ(OpenFile(k, ByteSpan(file).first(50), AsBytes("ad one")).status().code(),
            Code::kCorrupt);
  Bytes bad = file;
  bad[bad.size() / 2] ^= 1;
  EXPECT_EQ(OpenFile(k, bad, AsBytes("ad one")).status().code(), Code::kCorrupt);

  // Empty payload.
  auto e = OpenFile(k, SealFile(k.Current(), {}, AsBytes("x")), AsBytes("x"));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
}

// ---------------------------------------------------------------- Index

TEST(IndexTest, FirstLocationWins) {
  ASSERT_TRUE(crypto::Init().ok());
  Index idx;
  PackInfo a, b;
  a.id = crypto::Sha256(AsBytes("a"));
  b.id = crypto::Sha256(AsBytes("b"));
  BlobEntry e1{crypto::Sha256(AsBytes("x")), BlobKind::kData, Compression::kNone, 0, 40, 12};
  BlobEntry e2{crypto::Sha256(AsBytes("y")), BlobKind::kTree, Compression::kNone, 40, 40, 12};
  a.blobs = {e1};
  BlobEntry e1b = e1;
  e1b.offset = 100;
  b.blobs = {e1b, e2};
  idx.AddPack(a);
  idx.AddPack(b);
  idx.AddPack(a);  // duplicate pack ignored
  EXPECT_EQ(idx.pack_count(), 2u);
  EXPECT_EQ(idx.blob_count(), 2u);
  auto f = idx.Find(e1.id);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->pack->id, a.id);
  EXPECT_EQ(f->entry.offset, 0u);
  EXPECT_TRUE(idx.HasPack(b.id));
  EXPECT_FALSE(idx.Has(crypto::Sha256(AsBytes("z"))));
  EXPECT_FALSE(idx.Find(crypto::Sha256(AsBytes("z"))).has_value());
}

TEST(IndexTest, ManyBlobsCopiesAndRemoval) {
  ASSERT_TRUE(crypto::Init().ok());
  Index idx;
  std::vector<PackInfo> packs(50);
  for (size_t p = 0; p < packs.size(); ++p) {
    packs[p].id = crypto::Sha256(AsBytes("pack" + std::to_string(p)));
    for (uint32_t b = 0; b < 1000; ++b)
      packs[p].blobs.push_back({crypto::Sha256(AsBytes(std::to_string(p) + "/" + std::to_string(b))),
                                BlobKind::kData, Compression::kNone, b * 10, 10, 10});
  }
  // pack 50 repeats the first 10 blobs of pack 0 at other offsets
  PackInfo dup;
  dup.id = crypto::Sha256(AsBytes("dup"));
  for (uint32_t b = 0; b < 10; ++b) {
    BlobEntry e = packs[0].blobs[b];
    e.offset = 5000 + b;
    dup.blobs.push_back(e);
  }
  for (const auto& p : packs) idx.AddPack(p);
  idx.AddPack(dup);
  EXPECT_EQ(idx.blob_count(), 50'000u);
  for (const auto& p : packs)
    for (const auto& b : p.blobs) {
      auto f = idx.Find(b.id);
      ASSERT_TRUE(f.has_value());
      ASSERT_EQ(f->pack->id, p.id);
      ASSERT_EQ(f->entry.offset, b.offset);
    }
  for (int i = 0; i < 1000; ++i) ASSERT_FALSE(idx.Has(crypto::Sha256(AsBytes("absent" + std::to_string(i)))));
  auto all = idx.FindAll(packs[0].blobs[3].id);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].pack->id, packs[0].id);
  EXPECT_EQ(all[1].entry.offset, 5003u);
  // Without pack 0 the copies become the primary locations; its other blobs are gone.
  idx.RemovePacks({packs[0].id});
  EXPECT_EQ(idx.blob_count(), 49'010u);
  auto moved = idx.Find(packs[0].blobs[3].id);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->pack->id, dup.id);
  EXPECT_FALSE(idx.Has(packs[0].blobs[500].id));
  EXPECT_TRUE(idx.Has(packs[49].blobs[999].id));
}

// ---------------------------------------------------------------- Repository

TEST_F(RepoTest, InitTwiceAndOpen) {
  auto repo = InitRepo("pw", 64 * 1024);
  ASSERT_NE(repo, nullptr);
  EXPECT_TRUE(fs::exists(dir_ + "/config"));
  EXPECT_EQ(repo->config().pack_size, 64u * 1024);
  EXPECT_EQ(repo->config().id.size(), 64u);

  auto again = Repository::Init(storage::NewLocalBackend(dir_), "other", Options());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);

  auto opened = OpenRepo("pw");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ((*opened)->config().id, repo->config().id);
  ExpectSameKeys(repo->keys(), (*opened)->keys());
  // Blob ids are keyed with the same key.
  EXPECT_EQ((*opened)->BlobId(AsBytes("hello")), repo->BlobId(AsBytes("hello")));
  EXPECT_NE(repo->BlobId(AsBytes("hello")), crypto::Sha256(AsBytes("hello")));
}

TEST_F(RepoTest, WrongPasswordChangesNothing) {
  {
    auto repo = InitRepo("pw", 64 * 1024);
    ASSERT_NE(repo, nullptr);
    Bytes data(1000, 7);
    ASSERT_TRUE(repo->SaveBlob(BlobKind::kData, repo->BlobId(data), data).ok());
    ASSERT_TRUE(repo->Flush().ok());
  }
  auto before = Snapshot(dir_);
  ASSERT_FALSE(before.empty());
  auto r = OpenRepo("not the password");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kWrongPassword);
  EXPECT_EQ(Snapshot(dir_), before);
}

// With an index cache, a second open reads no index file from the repository; a
// damaged cached copy is replaced from the repository; copies of index files the
// repository no longer has are removed.
TEST_F(RepoTest, IndexCacheSavesIndexReads) {
  std::vector<Id> ids;
  {
    auto repo = InitRepo("pw", 64 * 1024);
    ASSERT_NE(repo, nullptr);
    for (int i = 0; i < 3; ++i) {  // three index files
      Bytes data(1000, static_cast<uint8_t>(i));
      ids.push_back(repo->BlobId(data));
      ASSERT_TRUE(repo->SaveBlob(BlobKind::kData, ids.back(), data).ok());
      ASSERT_TRUE(repo->Flush().ok());
    }
  }
  const std::string cache = scratch_ + "/cache";
  OpenOptions with_cache;
  with_cache.index_cache = cache;
  // Index loads of one open (other kinds are loaded the same number of times).
  auto loads = [&](const OpenOptions& o, std::unique_ptr<Repository>* out = nullptr) {
    auto plan = std::make_shared<storage::FaultPlan>();
    auto r = Repository::Open(storage::NewFaultyBackend(storage::NewLocalBackend(dir_), plan), "pw", o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    for (const Id& id : ids) EXPECT_TRUE(r.ok() && (*r)->index().Has(id));
    if (out && r.ok()) *out = std::move(r).value();
    return plan->loads.load();
  };
  const int plain = loads({});
  EXPECT_EQ(loads(with_cache), plain);  // first open fills the cache
  std::unique_ptr<Repository> repo;
  EXPECT_EQ(loads(with_cache, &repo), plain - 3);
  ASSERT_NE(repo, nullptr);
  const std::string index_dir = cache + "/" + repo->config().id + "/index";
  ASSERT_EQ(CountFiles(index_dir), 3u);

  const std::string first = repo->index_file_names().front();
  FlipByteInFile(index_dir + "/" + first, 10);
  EXPECT_EQ(loads(with_cache), plain - 2);  // the damaged copy is read again
  EXPECT_EQ(loads(with_cache), plain - 3);  // and was replaced

  repo.reset();
  fs::remove(dir_ + "/index/" + first);  // as prune does (its blobs are listed elsewhere then)
  ids.erase(ids.begin(), ids.end());
  loads(with_cache);
  EXPECT_EQ(CountFiles(index_dir), 2u);
  EXPECT_FALSE(fs::exists(index_dir + "/" + first));
}

// Forwards to a local backend; pack saves are slowed down and counted, so a test
// can see how many are written at once, and the next `fail_packs` of them fail.
class SlowPackBackend final : public storage::Backend {
 public:
  explicit SlowPackBackend(std::unique_ptr<storage::Backend> inner) : inner_(std::move(inner)) {}
  std::string Location() const override { return inner_->Location(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const storage::Handle& h, ByteSpan data) override {
    if (h.kind != storage::FileKind::kData) return inner_->Save(h, data);
    const int now = ++writing;
    for (int seen = most; now > seen && !most.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    Status st = fail_packs.fetch_sub(1) > 0 ? IoError("injected pack write failure")
                                            : inner_->Save(h, data);
    --writing;
    return st;
  }
  Result<Bytes> Load(const storage::Handle& h, uint64_t offset, uint64_t length) override {
    return inner_->Load(h, offset, length);
  }
  Result<uint64_t> Size(const storage::Handle& h) override { return inner_->Size(h); }
  Status List(storage::FileKind kind,
              const std::function<Status(const std::string&, uint64_t)>& fn) override {
    return inner_->List(kind, fn);
  }
  Status Remove(const storage::Handle& h) override { return inner_->Remove(h); }

  std::atomic<int> writing{0}, most{0}, fail_packs{0};

 private:
  std::unique_ptr<storage::Backend> inner_;
};

// WriteOptions::max_pack_buffers bounds the packs that are open or being
// written, whatever the number of threads storing blobs; a failed pack write
// gives its buffer back, so the other threads go on instead of waiting forever.
TEST_F(RepoTest, MaxPackBuffersBoundsThePacksInFlight) {
  ASSERT_NE(InitRepo("pw", 64 * 1024), nullptr);
  for (unsigned cap : {1u, 2u}) {
    auto backend = std::make_unique<SlowPackBackend>(storage::NewLocalBackend(dir_));
    SlowPackBackend* slow = backend.get();
    auto repo = Repository::Open(std::move(backend), "pw");
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    (*repo)->set_write_options({kDefaultCompression, cap});
    std::vector<std::vector<std::pair<Id, Bytes>>> saved(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < saved.size(); ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(cap * 100 + t);
        for (int i = 0; i < 40; ++i) {
          Bytes data = RandomBlob(rng, 8000 + rng() % 12000);
          const Id id = (*repo)->BlobId(data);
          auto r = (*repo)->SaveBlob(BlobKind::kData, id, data);
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          saved[t].emplace_back(id, std::move(data));
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE((*repo)->Flush().ok());
    EXPECT_GE((*repo)->index().pack_count(), 20u) << "cap " << cap;
    EXPECT_GE(slow->most.load(), 1);
    EXPECT_LE(slow->most.load(), static_cast<int>(cap)) << "cap " << cap;
    for (const auto& per_thread : saved)
      for (const auto& [id, data] : per_thread) {
        auto back = (*repo)->LoadBlob(id);
        ASSERT_TRUE(back.ok()) << back.status().ToString();
        EXPECT_TRUE(*back == data);
      }
  }

  // A failed write: its thread gets the error, the others finish.
  auto backend = std::make_unique<SlowPackBackend>(storage::NewLocalBackend(dir_));
  backend->fail_packs = 1;
  auto repo = Repository::Open(std::move(backend), "pw");
  ASSERT_TRUE(repo.ok());
  (*repo)->set_write_options({kDefaultCompression, 1});
  std::atomic<int> failed{0}, stored{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      for (int i = 0; i < 20; ++i) {
        Bytes data = RandomBlob(rng, 20000);
        auto r = (*repo)->SaveBlob(BlobKind::kData, (*repo)->BlobId(data), data);
        if (r.ok()) {
          ++stored;
        } else {
          EXPECT_NE(r.status().message().find("injected pack write failure"), std::string::npos);
          ++failed;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 1);
  EXPECT_EQ(stored.load(), 59);
}

TEST_F(RepoTest, OpenMissing) {
  auto r = Repository::Open(storage::NewLocalBackend(scratch_ + "/nope"), "pw");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(scratch_ + "/nope"));
}

struct SavedBlob {
  Bytes data;
  Id id;
  BlobKind kind;
  bool compressible;
};

class RepoBlobTest : public RepoTest {
 protected:
  // Saves 200 blobs (some duplicates) with a 64 KiB pack size and flushes.
  void Populate() {
    repo_ = InitRepo("pw", 64 * 1024);
    ASSERT_NE(repo_, nullptr);
    std::mt19937_64 rng(1234);
    std::set<Id> seen;
    uint64_t reported = 0;
    for (int i = 0; i < 200; ++i) {
      SavedBlob b;
      b.kind = i % 3 == 0 ? BlobKind::kTree : BlobKind::kData;
      b.compressible = false;
      switch (i % 5) {
        case 0:
        case 1:
          b.data = RandomBlob(rng, 20000 + rng() % 25000);
          break;
        case 2:
          b.data = CompressibleBlob(rng, 1000 + rng() % 100000);
          b.compressible = true;
          break;
        case 3:
          b.data = RandomBlob(rng, i == 3 ? 0 : rng() % 64);
          break;
        case 4: {
          const SavedBlob& earlier = blobs_[rng() % blobs_.size()];
          b.data = earlier.data;
          b.compressible = earlier.compressible;
          break;
        }
      }
      b.id = repo_->BlobId(b.data);
      const bool is_new = seen.insert(b.id).second;
      EXPECT_EQ(repo_->HasBlob(b.id), !is_new) << i;
      auto r = repo_->SaveBlob(b.kind, b.id, b.data);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->added, is_new) << i;
      if (!is_new) {
        EXPECT_EQ(r->stored_bytes, 0u);
      }
      reported += r->stored_bytes;
      EXPECT_TRUE(repo_->HasBlob(b.id));
      blobs_.push_back(std::move(b));
    }
    unique_ = seen.size();
    ASSERT_LT(unique_, 200u);
    ASSERT_TRUE(repo_->Flush().ok());

    uint64_t in_packs = 0;
    repo_->index().ForEachPack([&](const PackInfo& p) {
      for (const auto& e : p.blobs) in_packs += e.length;
    });
    EXPECT_EQ(reported, in_packs);
    EXPECT_EQ(repo_->index().blob_count(), unique_);
  }

  std::unique_ptr<Repository> repo_;
  std::vector<SavedBlob> blobs_;
  size_t unique_ = 0;
};

// A pack is cut before the blob that would take it past pack_size; only a blob
// larger than a pack makes a larger one. Packs are still filled (about pack_size).
TEST_F(RepoBlobTest, PacksAreCutBeforeTheyPassPackSize) {
  Populate();
  ASSERT_FALSE(HasFailure());
  const uint64_t pack_size = 64 * 1024;
  std::vector<uint64_t> sizes;
  repo_->index().ForEachPack([&](const PackInfo& p) {
    sizes.push_back(p.size);
    if (p.blobs.size() > 1) {
      EXPECT_LE(p.size, pack_size) << p.id.Hex();
    }
    EXPECT_EQ(p.size, std::filesystem::file_size(DataPath(dir_, p.id)));
  });
  ASSERT_GT(sizes.size(), 32u);
  std::sort(sizes.begin(), sizes.end());
  EXPECT_GT(sizes[sizes.size() / 2], pack_size / 2) << "packs are cut far too early";
}

TEST_F(RepoBlobTest, SaveFlushReopenLoad) {
  Populate();
  ASSERT_FALSE(HasFailure());
  const size_t packs = CountFiles(dir_ + "/data");
  const size_t index_files = CountFiles(dir_ + "/index");
  EXPECT_GT(packs, 32u) << "expected several packs";
  EXPECT_GE(index_files, 2u) << "expected an index file after 32 packs and one at flush";
  EXPECT_EQ(repo_->index().pack_count(), packs);

  // Compression is used only where it pays.
  for (const auto& b : blobs_) {
    auto loc = repo_->index().Find(b.id);
    ASSERT_TRUE(loc.has_value());
    EXPECT_EQ(loc->entry.raw_length, b.data.size());
    const Compression want = b.compressible ? Compression::kZstd : Compression::kNone;
    EXPECT_EQ(loc->entry.compression, want);
  }

  repo_.reset();
  auto opened = OpenRepo("pw");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& repo = *opened;
  EXPECT_EQ(repo->index().blob_count(), unique_);
  EXPECT_EQ(repo->index().pack_count(), packs);
  for (size_t i = 0; i < blobs_.size(); ++i) {
    EXPECT_TRUE(repo->HasBlob(blobs_[i].id));
    auto data = repo->LoadBlob(blobs_[i].id);
    ASSERT_TRUE(data.ok()) << i << ": " << data.status().ToString();
    EXPECT_EQ(*data, blobs_[i].data) << i;
  }

  // Known blobs are not stored again, and a Flush with nothing new writes nothing.
  auto files = Snapshot(dir_);
  for (size_t i = 0; i < 10; ++i) {
    auto r = repo->SaveBlob(blobs_[i].kind, blobs_[i].id, blobs_[i].data);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->added);
    EXPECT_EQ(r->stored_bytes, 0u);
  }
  ASSERT_TRUE(repo->Flush().ok());
  EXPECT_EQ(Snapshot(dir_), files);

  // Unknown blob.
  auto missing = repo->LoadBlob(repo->BlobId(AsBytes("never saved")));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(RepoBlobTest, NoCompressionWhenDisabled) {
  repo_ = InitRepo("pw", 64 * 1024);
  ASSERT_NE(repo_, nullptr);
  repo_->set_write_options({.compression = {0, 0}});
  std::mt19937_64 rng(5);
  Bytes data = CompressibleBlob(rng, 50000);
  Id id = repo_->BlobId(data);
  auto r = repo_->SaveBlob(BlobKind::kData, id, data);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stored_bytes, data.size() + crypto::kAeadOverhead);
  ASSERT_TRUE(repo_->Flush().ok());
  auto loc = repo_->index().Find(id);
  ASSERT_TRUE(loc.has_value());
  EXPECT_EQ(loc->entry.compression, Compression::kNone);
  auto back = repo_->LoadBlob(id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
}

// Text-like bytes: lines drawn from a vocabulary of 4096 random lines, so matches
// lie anywhere in the blob and the size of zstd's match table shows.
Bytes LineText(std::mt19937_64& rng, size_t n) {
  std::vector<std::string> lines(4096);
  for (auto& l : lines) {
    l.resize(20 + rng() % 60);
    for (auto& c : l) c = static_cast<char>('a' + rng() % 26);
    l += '\n';
  }
  std::string s;
  while (s.size() < n) s += lines[rng() % lines.size()];
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

// CompressionSettings::hash_log applies to blobs over 256 KiB only, and what it
// stores reads back like any other zstd blob.
TEST_F(RepoBlobTest, CompressionHashLogAppliesToLargeBlobsOnly) {
  auto plain = InitRepo("pw", 16 * 1024 * 1024);
  ASSERT_NE(plain, nullptr);
  plain->set_write_options({.compression = {kDefaultCompressionLevel, 0}});
  dir_ = scratch_ + "/repo2";
  auto tuned = InitRepo("pw", 16 * 1024 * 1024);
  ASSERT_NE(tuned, nullptr);
  tuned->set_write_options({.compression = {kDefaultCompressionLevel, 14}});
  std::mt19937_64 rng(21);
  for (size_t size : {kLargeBlobCompression, kLargeBlobCompression + 1, size_t{2} << 20}) {
    const Bytes data = LineText(rng, size);
    auto a = plain->SaveBlob(BlobKind::kData, plain->BlobId(data), data);
    auto b = tuned->SaveBlob(BlobKind::kData, tuned->BlobId(data), data);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_LT(a->stored_bytes, size / 2) << size;
    if (size > kLargeBlobCompression) {
      EXPECT_NE(a->stored_bytes, b->stored_bytes) << size;
    } else {
      EXPECT_EQ(a->stored_bytes, b->stored_bytes) << size;
    }
    ASSERT_TRUE(tuned->Flush().ok());
    auto back = tuned->LoadBlob(tuned->BlobId(data));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, data) << size;
  }
}

TEST_F(RepoBlobTest, DamagedPackDetected) {
  Populate();
  ASSERT_FALSE(HasFailure());
  repo_.reset();
  auto opened = OpenRepo("pw");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& repo = *opened;

  // Pick a large blob whose pack holds other blobs too.
  const SavedBlob* victim = nullptr;
  std::optional<BlobLocation> vloc;
  for (const auto& b : blobs_) {
    if (b.data.size() < 20000) continue;
    auto loc = repo->index().Find(b.id);
    ASSERT_TRUE(loc.has_value());
    if (loc->pack->blobs.size() >= 2) {
      victim = &b;
      vloc = loc;
      break;
    }
  }
  ASSERT_NE(victim, nullptr);
  FlipByteInFile(DataPath(dir_, vloc->pack->id), vloc->entry.offset + vloc->entry.length / 2);

  auto bad = repo->LoadBlob(victim->id);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorrupt) << bad.status().ToString();

  size_t other_packs = 0;
  for (const auto& b : blobs_) {
    if (b.id == victim->id) continue;
    auto loc = repo->index().Find(b.id);
    ASSERT_TRUE(loc.has_value());
    if (loc->pack->id != vloc->pack->id) ++other_packs;
    auto data = repo->LoadBlob(b.id);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    EXPECT_EQ(*data, b.data);
  }
  EXPECT_GT(other_packs, 100u);
}

// OpenBlobInPlace (the restorer's path) gives the same bytes as LoadBlob for
// blobs stored compressed and stored raw, and calls a damaged one corrupt.
TEST_F(RepoBlobTest, OpenBlobInPlaceMatchesLoadBlob) {
  Populate();
  ASSERT_FALSE(HasFailure());
  size_t compressed = 0, raw = 0;
  for (const auto& b : blobs_) {
    auto loc = repo_->index().Find(b.id);
    ASSERT_TRUE(loc.has_value());
    auto sealed = repo_->backend().Load({storage::FileKind::kData, loc->pack->id.Hex()},
                                        loc->entry.offset, loc->entry.length);
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    Bytes copy = *sealed;
    auto plain = repo_->OpenBlobInPlace(*loc->pack, loc->entry, std::span<uint8_t>(*sealed));
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(Bytes(plain->begin(), plain->end()), b.data);
    (loc->entry.compression == Compression::kZstd ? compressed : raw)++;

    copy[copy.size() / 2] ^= 0x01;
    auto bad = repo_->OpenBlobInPlace(*loc->pack, loc->entry, std::span<uint8_t>(copy));
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), Code::kCorrupt) << bad.status().ToString();
  }
  EXPECT_GT(compressed, 10u);
  EXPECT_GT(raw, 10u);
}

TEST_F(RepoTest, DamagedIndexFileIsReportedOrFailsOpen) {
  Bytes data(5000, 3);
  Id id;
  {
    auto repo = InitRepo("pw", 64 * 1024);
    ASSERT_NE(repo, nullptr);
    id = repo->BlobId(data);
    ASSERT_TRUE(repo->SaveBlob(BlobKind::kData, id, data).ok());
    ASSERT_TRUE(repo->Flush().ok());
  }
  std::string index_file;
  for (const auto& e : fs::directory_iterator(dir_ + "/index")) index_file = e.path();
  ASSERT_FALSE(index_file.empty());
  FlipByteInFile(index_file, 40);
  // Strict opening refuses the repository.
  OpenOptions strict;
  strict.tolerate_damaged_index = false;
  auto r = Repository::Open(storage::NewLocalBackend(dir_), "pw", strict);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  // The default opens what it can and names the damaged file.
  auto t = OpenRepo("pw");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ((*t)->damaged_index_files().size(), 1u);
  EXPECT_EQ((*t)->damaged_index_files()[0].first, fs::path(index_file).filename().string());
  EXPECT_FALSE((*t)->index().Has(id));
}

TEST_F(RepoTest, Snapshots) {
  auto repo = InitRepo("pw", 64 * 1024);
  ASSERT_NE(repo, nullptr);
  auto none = repo->ListSnapshotIds();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  std::vector<Id> ids;
  std::vector<std::string> payloads = {"first snapshot", "", std::string(10000, 's')};
  for (const auto& p : payloads) {
    auto id = repo->SaveSnapshotFile(AsBytes(p));
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back(*id);
  }
  auto listed = repo->ListSnapshotIds();
  ASSERT_TRUE(listed.ok());
  std::vector<Id> a = *listed, b = ids;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);

  repo.reset();
  auto opened = OpenRepo("pw");
  ASSERT_TRUE(opened.ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto p = (*opened)->LoadSnapshotFile(ids[i]);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(ToString(*p), payloads[i]);
  }
  auto missing = (*opened)->LoadSnapshotFile(crypto::Sha256(AsBytes("nope")));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  // Tampered snapshot file.
  FlipByteInFile(dir_ + "/snapshots/" + ids[0].Hex(), 100);
  auto bad = (*opened)->LoadSnapshotFile(ids[0]);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorrupt);

  // A file sealed by someone else, stored under its correct name, does not open.
  MasterKeys other = MasterKeys::Generate();
  Bytes forged = SealFile(other.Current(), AsBytes("forged"), AsBytes("lifeboat snapshot v1"));
  Id fid = crypto::Sha256(forged);
  ASSERT_TRUE((*opened)->backend().Save({storage::FileKind::kSnapshot, fid.Hex()}, forged).ok());
  auto f = (*opened)->LoadSnapshotFile(fid);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kCorrupt);
}

TEST_F(RepoTest, Keys) {
  auto repo = InitRepo("pw", 64 * 1024);
  ASSERT_NE(repo, nullptr);
  auto added = repo->AddKey("second", kCheapKdf, {42, "h2", "u2"});
  ASSERT_TRUE(added.ok()) << added.status().ToString();

  auto via_new = OpenRepo("second");
  ASSERT_TRUE(via_new.ok()) << via_new.status().ToString();
  ExpectSameKeys(repo->keys(), (*via_new)->keys());

  auto keys = repo->ListKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  int current = 0;
  std::string current_id;
  for (const auto& k : *keys) {
    if (k.current) {
      ++current;
      current_id = k.id;
      EXPECT_EQ(k.info.host, "testhost");
      EXPECT_EQ(k.info.user, "tester");
    } else {
      EXPECT_EQ(k.id, *added);
      EXPECT_EQ(k.info.host, "h2");
      EXPECT_EQ(k.info.user, "u2");
      EXPECT_EQ(k.info.created, 42);
    }
  }
  EXPECT_EQ(current, 1);
  EXPECT_NE(current_id, *added);

  // The repository opened with "second" sees that key as current.
  auto keys2 = (*via_new)->ListKeys();
  ASSERT_TRUE(keys2.ok());
  for (const auto& k : *keys2) EXPECT_EQ(k.current, k.id == *added);

  Status st = repo->RemoveKey(current_id);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(fs::exists(dir_ + "/keys/" + current_id));
  ASSERT_TRUE(OpenRepo("pw").ok());

  // Removing the other key works; its password stops working.
  ASSERT_TRUE(repo->RemoveKey(*added).ok());
  auto gone = OpenRepo("second");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::kWrongPassword);
  EXPECT_EQ(repo->RemoveKey(*added).code(), Code::kNotFound);
}

TEST_F(RepoTest, ChangePassword) {
  auto repo = InitRepo("old", 64 * 1024);
  ASSERT_NE(repo, nullptr);
  Bytes data(3000, 9);
  Id id = repo->BlobId(data);
  ASSERT_TRUE(repo->SaveBlob(BlobKind::kData, id, data).ok());
  ASSERT_TRUE(repo->Flush().ok());

  auto nid = repo->ChangePassword("new", kCheapKdf, {1, "h", "u"});
  ASSERT_TRUE(nid.ok()) << nid.status().ToString();
  auto keys = repo->ListKeys();
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].id, *nid);
  EXPECT_TRUE((*keys)[0].current);

  auto old = OpenRepo("old");
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), Code::kWrongPassword);
  auto fresh = OpenRepo("new");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  auto back = (*fresh)->LoadBlob(id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
  // The new key is the one in use: removing it is refused.
  EXPECT_FALSE(repo->RemoveKey(*nid).ok());
}

// ---------------------------------------------------------------- locks

class LockTest : public RepoTest {
 protected:
  void SetUp() override {
    RepoTest::SetUp();
    repo_ = InitRepo("pw", 64 * 1024);
    ASSERT_NE(repo_, nullptr);
  }
  void TearDown() override {
    repo_.reset();
    RepoTest::TearDown();
  }
  size_t LockCount() {
    auto l = ListLocks(*repo_);
    EXPECT_TRUE(l.ok());
    return l.ok() ? l->size() : 0;
  }
  std::unique_ptr<Repository> repo_;
  SystemClock clock_;
};

TEST_F(LockTest, SharedAndExclusive) {
  auto s1 = Lock::Acquire(*repo_, false, "backup one", clock_);
  ASSERT_TRUE(s1.ok()) << s1.status().ToString();
  auto s2 = Lock::Acquire(*repo_, false, "backup two", clock_);
  ASSERT_TRUE(s2.ok()) << s2.status().ToString();
  EXPECT_EQ(LockCount(), 2u);
  EXPECT_TRUE((*s1)->healthy());

  auto locks = ListLocks(*repo_);
  ASSERT_TRUE(locks.ok());
  for (const auto& [name, info] : *locks) {
    EXPECT_EQ(info.pid, ::getpid());
    EXPECT_FALSE(info.exclusive);
    EXPECT_FALSE(IsStale(info, clock_.Now()));
  }

  auto ex = Lock::Acquire(*repo_, true, "prune", clock_);
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), Code::kLocked);
  EXPECT_NE(ex.status().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << ex.status().message();
  EXPECT_EQ(LockCount(), 2u) << "a refused lock leaves no file behind";

  ASSERT_TRUE((*s1)->Release().ok());
  ASSERT_TRUE((*s1)->Release().ok()) << "Release is idempotent";
  EXPECT_EQ(LockCount(), 1u);
  EXPECT_EQ(Lock::Acquire(*repo_, true, "prune", clock_).status().code(), Code::kLocked);
  ASSERT_TRUE((*s2)->Release().ok());
  EXPECT_EQ(LockCount(), 0u);

  {
    auto ex2 = Lock::Acquire(*repo_, true, "prune", clock_);
    ASSERT_TRUE(ex2.ok()) << ex2.status().ToString();
    EXPECT_EQ(LockCount(), 1u);
    // While exclusive is held, neither shared nor exclusive can be taken.
    auto sh = Lock::Acquire(*repo_, false, "backup", clock_);
    ASSERT_FALSE(sh.ok());
    EXPECT_EQ(sh.status().code(), Code::kLocked);
    EXPECT_NE(sh.status().message().find("exclusively"), std::string::npos);
  }
  // The destructor released it.
  EXPECT_EQ(LockCount(), 0u);
  auto sh = Lock::Acquire(*repo_, false, "backup", clock_);
  EXPECT_TRUE(sh.ok());
}

TEST_F(LockTest, StaleLockDoesNotBlock) {
  const TimeNs now = clock_.Now();
  const TimeNs minute = 60LL * 1000000000;
  FakeClock old_clock(now - 31 * minute);
  auto old = Lock::Acquire(*repo_, true, "old prune", old_clock);
  ASSERT_TRUE(old.ok()) << old.status().ToString();

  auto locks = ListLocks(*repo_);
  ASSERT_TRUE(locks.ok());
  ASSERT_EQ(locks->size(), 1u);
  const LockInfo& info = (*locks)[0].second;
  EXPECT_EQ(info.time, now - 31 * minute);
  EXPECT_TRUE(info.exclusive);
  EXPECT_EQ(info.command, "old prune");
  EXPECT_TRUE(IsStale(info, now));
  EXPECT_FALSE(IsStale(info, now - 2 * minute)) << "29 minutes old and holder alive";

  auto ex = Lock::Acquire(*repo_, true, "prune", clock_);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  auto sh = Lock::Acquire(*repo_, false, "backup", clock_);
  EXPECT_EQ(sh.status().code(), Code::kLocked) << "the fresh exclusive lock still blocks";
}

TEST_F(LockTest, LockOfDeadProcessIsStale) {
  LockInfo l;
  l.host = "";
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  l.host = buf;
  l.time = clock_.Now();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  l.pid = child;
  EXPECT_TRUE(IsStale(l, clock_.Now()));
  l.host = "some-other-host";
  EXPECT_FALSE(IsStale(l, clock_.Now()));
}

}  // namespace
}  // namespace lb::repo

namespace lb::repo {
namespace {

// An append-only key holds no secret data key: it seals new content that the
// full key reads, and opens nothing itself, not even what it wrote, except the
// trees and snapshots it keeps in its own cache.
TEST_F(RepoTest, AppendOnlyKeyWritesButCannotRead) {
  auto full = InitRepo("full", 64 * 1024);
  ASSERT_NE(full, nullptr);
  const Bytes old_data(5000, 'o');
  const Id old_id = full->BlobId(old_data);
  ASSERT_TRUE(full->SaveBlob(BlobKind::kData, old_id, old_data).ok());
  ASSERT_TRUE(full->Flush().ok());
  auto old_snap = full->SaveSnapshotFile(AsBytes("full key's snapshot"));
  ASSERT_TRUE(old_snap.ok());
  auto ao_id = full->AddKey("writer", kCheapKdf, {}, /*append_only=*/true);
  ASSERT_TRUE(ao_id.ok());
  std::string key_text;
  {
    std::ifstream in(dir_ + "/keys/" + *ao_id);
    key_text.assign(std::istreambuf_iterator<char>(in), {});
  }
  full.reset();

  auto ao = OpenRepo("writer");
  ASSERT_TRUE(ao.ok()) << ao.status().ToString();
  EXPECT_TRUE((*ao)->keys().append_only);
  for (const auto& dk : (*ao)->keys().data_keys)
    EXPECT_EQ(dk.pair.secret_key, crypto::Key{}) << "no secret half in an append-only key";
  EXPECT_EQ((*ao)->LoadBlob(old_id).status().code(), Code::kPermission);
  EXPECT_EQ((*ao)->LoadSnapshotFile(*old_snap).status().code(), Code::kPermission);
  EXPECT_TRUE((*ao)->HasBlob(old_id)) << "the index stays readable: deduplication works";
  EXPECT_EQ((*ao)->AddKey("x", kCheapKdf, {}).status().code(), Code::kPermission);
  EXPECT_EQ((*ao)->RemoveKey("whatever").code(), Code::kPermission);
  // It writes new data and a tree; with its cache it reads back its own tree only.
  ASSERT_TRUE((*ao)->UseOwnCache(scratch_ + "/own").ok());
  const Bytes data(7000, 'n');
  const std::string tree_text = "a tree blob";
  const Bytes tree(tree_text.begin(), tree_text.end());
  const Id data_id = (*ao)->BlobId(data), tree_id = (*ao)->BlobId(tree);
  ASSERT_TRUE((*ao)->SaveBlob(BlobKind::kData, data_id, data).ok());
  ASSERT_TRUE((*ao)->SaveBlob(BlobKind::kTree, tree_id, tree).ok());
  ASSERT_TRUE((*ao)->Flush().ok());
  auto new_snap = (*ao)->SaveSnapshotFile(AsBytes("append-only snapshot"));
  ASSERT_TRUE(new_snap.ok());
  EXPECT_EQ(*(*ao)->LoadBlob(tree_id), tree);
  EXPECT_EQ((*ao)->LoadBlob(data_id).status().code(), Code::kPermission);
  auto listed = (*ao)->ListSnapshotIds();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<Id>{*new_snap}) << "only its own snapshots";
  ao->reset();

  auto again = OpenRepo("full");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*(*again)->LoadBlob(data_id), data);
  EXPECT_EQ(*(*again)->LoadBlob(tree_id), tree);
  EXPECT_EQ(ToString(*(*again)->LoadSnapshotFile(*new_snap)), "append-only snapshot");
  EXPECT_EQ(key_text.find("\"secret\""), std::string::npos);
}

}  // namespace
}  // namespace lb::repo

namespace lb::repo {
namespace {

TEST(KeyringTest, EntryOpensOnlyWithItsWrappingVersion) {
  ASSERT_TRUE(crypto::Init().ok());
  const DataKey v1{1, crypto::GenerateBoxKeyPair()}, v2{2, crypto::GenerateBoxKeyPair()};
  const DataKey other{1, crypto::GenerateBoxKeyPair()};
  const std::string text = EncodeKeyringEntry(v2, v1, 1234);
  auto e = ParseKeyringEntry(text);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->version, 2u);
  EXPECT_EQ(e->wrapped_with, 1u);
  EXPECT_EQ(e->created, 1234);
  auto opened = OpenKeyringEntry(*e, v1);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->pair.secret_key, v2.pair.secret_key);
  EXPECT_EQ(opened->pair.public_key, v2.pair.public_key);
  EXPECT_EQ(OpenKeyringEntry(*e, other).status().code(), Code::kCorrupt) << "another version-1 secret";
  // A swapped public key outside the sealed part is caught.
  std::string forged = text;
  const std::string pub = HexEncode(v2.pair.public_key);
  forged.replace(forged.find(pub), pub.size(), HexEncode(other.pair.public_key));
  EXPECT_EQ(OpenKeyringEntry(*ParseKeyringEntry(forged), v1).status().code(), Code::kCorrupt);
  auto marker = ParseKeyringEntry(EncodeRetirement(3, 99));
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(marker->retired_below, 3u);
  EXPECT_FALSE(ParseKeyringEntry("{\"v\":1,\"version\":1,\"wrapped_with\":2,\"created_ns\":0}").ok());
}

}  // namespace
}  // namespace lb::repo
