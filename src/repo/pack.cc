#include "repo/pack.h"

#include <algorithm>
#include <cstring>

namespace lb::repo {

namespace {
constexpr const char* kHeaderAd = "lifeboat pack header v1";
constexpr const char* kIndexAd = "lifeboat index v1";
constexpr size_t kEntrySize = 1 + 1 + 32 + 4 + 4 + 4;
constexpr size_t kSealedKeySize = 32 + crypto::kSealedBoxOverhead;

void PutEntry(Bytes& out, const BlobEntry& e) {
  PutU8(out, static_cast<uint8_t>(e.kind));
  PutU8(out, static_cast<uint8_t>(e.compression));
  PutBytes(out, e.id.b);
  PutU32(out, e.offset);
  PutU32(out, e.length);
  PutU32(out, e.raw_length);
}

Result<BlobEntry> ReadEntry(ByteReader& r) {
  BlobEntry e;
  LB_ASSIGN_OR_RETURN(uint8_t kind, r.U8());
  LB_ASSIGN_OR_RETURN(uint8_t comp, r.U8());
  if (kind > 1) return Corrupt("unknown blob kind " + std::to_string(kind));
  if (comp > 1) return Corrupt("unknown compression " + std::to_string(comp));
  e.kind = static_cast<BlobKind>(kind);
  e.compression = static_cast<Compression>(comp);
  LB_ASSIGN_OR_RETURN(ByteSpan id, r.Take(32));
  e.id = Id::FromBytes(id);
  LB_ASSIGN_OR_RETURN(e.offset, r.U32());
  LB_ASSIGN_OR_RETURN(e.length, r.U32());
  LB_ASSIGN_OR_RETURN(e.raw_length, r.U32());
  if (e.length < crypto::kAeadOverhead) return Corrupt("blob entry too short");
  return e;
}

Result<uint32_t> ReadCount(ByteReader& r, size_t min_item_size) {
  LB_ASSIGN_OR_RETURN(uint32_t n, r.U32());
  if (min_item_size > 0 && n > r.remaining() / min_item_size) return Corrupt("count exceeds data");
  return n;
}

}  // namespace

const char* BlobKindName(BlobKind k) { return k == BlobKind::kTree ? "tree" : "data"; }

BlobAdBytes BlobAd(const Id& id, BlobKind kind) {
  BlobAdBytes ad;
  std::copy(id.b.begin(), id.b.end(), ad.begin());
  ad.back() = static_cast<uint8_t>(kind);
  return ad;
}

PackBuilder::PackBuilder(const DataKey& key, size_t expected_size, Bytes buffer)
    : key_version_(key.version), pack_key_(crypto::RandomKey()), data_(std::move(buffer)) {
  data_.clear();
  sealed_key_ = crypto::SealToPublic(key.pair.public_key, pack_key_);
  crypto::RandomBytes(nonce_base_);
  if (expected_size) data_.reserve(expected_size);
}

void PackBuilder::Add(const Id& id, BlobKind kind, Compression compression, uint32_t raw_length,
                      ByteSpan stored) {
  BlobEntry e;
  e.id = id;
  e.kind = kind;
  e.compression = compression;
  e.offset = static_cast<uint32_t>(data_.size());
  e.raw_length = raw_length;
  crypto::Nonce nonce = nonce_base_;
  const uint64_t n = sealed_blobs_++;
  for (int i = 0; i < 8; ++i) nonce[4 + i] ^= static_cast<uint8_t>(n >> (8 * i));
  crypto::SealAppend(pack_key_, nonce, stored, BlobAd(id, kind), data_);
  e.length = static_cast<uint32_t>(data_.size() - e.offset);
  entries_.push_back(e);
}

size_t PackBuilder::FinishedSize() const {
  return data_.size() + entries_.size() * kEntrySize + crypto::kAeadOverhead + kPackTrailerFixed;
}

size_t PackBuilder::FinishedSizeWith(size_t stored_length) const {
  return FinishedSize() + stored_length + crypto::kAeadOverhead + kEntrySize;
}

Bytes PackBuilder::Finish(PackInfo& info) {
  Bytes header = EncodePackHeaderEntries(entries_);
  Bytes sealed_header = crypto::Seal(pack_key_, header, AsBytes(kHeaderAd));
  Bytes out = std::move(data_);
  PutBytes(out, sealed_header);
  PutU32(out, key_version_);
  PutBytes(out, sealed_key_);
  PutU32(out, static_cast<uint32_t>(sealed_header.size()));
  PutBytes(out, AsBytes("LBP1"));
  info.id = crypto::Sha256(out);
  info.key_version = key_version_;
  info.sealed_key = sealed_key_;
  info.size = out.size();
  info.blobs = std::move(entries_);
  crypto::Wipe(pack_key_);
  return out;
}

Result<crypto::Key> OpenPackKey(const MasterKeys& keys, uint32_t key_version, ByteSpan sealed_key) {
  if (keys.append_only)
    return Status(Code::kPermission, "the key in use is append-only: it can add backups but not read them");
  const DataKey* dk = keys.Find(key_version);
  if (dk == nullptr) return Corrupt("unknown data key version " + std::to_string(key_version));
  LB_ASSIGN_OR_RETURN(Bytes raw, crypto::OpenSealed(dk->pair, sealed_key));
  if (raw.size() != 32) return Corrupt("pack key has wrong length");
  crypto::Key k;
  std::memcpy(k.data(), raw.data(), 32);
  crypto::Wipe(raw);
  return k;
}

Result<PackTrailer> DecodePackTrailer(ByteSpan pack) {
  if (pack.size() < kPackTrailerFixed) return Corrupt("pack too short");
  ByteReader tail(pack.subspan(pack.size() - kPackTrailerFixed));
  PackTrailer t;
  LB_ASSIGN_OR_RETURN(t.key_version, tail.U32());
  LB_ASSIGN_OR_RETURN(t.sealed_key, tail.Take(kSealedKeySize));
  LB_ASSIGN_OR_RETURN(t.header_length, tail.U32());
  LB_ASSIGN_OR_RETURN(ByteSpan magic, tail.Take(4));
  if (std::memcmp(magic.data(), "LBP1", 4) != 0) return Corrupt("bad pack magic");
  if (t.header_length > pack.size() - kPackTrailerFixed)
    return Corrupt("pack header length too large");
  t.header_offset = pack.size() - kPackTrailerFixed - t.header_length;
  return t;
}

Bytes EncodePackHeaderEntries(const std::vector<BlobEntry>& entries) {
  Bytes header;
  header.reserve(entries.size() * kEntrySize);
  for (const auto& e : entries) PutEntry(header, e);
  return header;
}

Result<std::vector<BlobEntry>> DecodePackHeaderEntries(ByteSpan plain, uint64_t data_end) {
  if (plain.size() % kEntrySize != 0) return Corrupt("pack header has partial entry");
  std::vector<BlobEntry> entries;
  entries.reserve(plain.size() / kEntrySize);
  ByteReader r(plain);
  while (r.remaining() > 0) {
    LB_ASSIGN_OR_RETURN(BlobEntry e, ReadEntry(r));
    if (uint64_t{e.offset} + e.length > data_end) return Corrupt("pack entry outside pack data");
    entries.push_back(e);
  }
  return entries;
}

Result<PackInfo> ReadPackHeader(const MasterKeys& keys, const Id& pack_id, ByteSpan pack) {
  LB_ASSIGN_OR_RETURN(PackTrailer t, DecodePackTrailer(pack));
  LB_ASSIGN_OR_RETURN(crypto::Key key, OpenPackKey(keys, t.key_version, t.sealed_key));
  auto header =
      crypto::Open(key, pack.subspan(t.header_offset, t.header_length), AsBytes(kHeaderAd));
  crypto::Wipe(key);
  if (!header.ok()) return header.status();
  PackInfo info;
  info.id = pack_id;
  info.key_version = t.key_version;
  info.sealed_key.assign(t.sealed_key.begin(), t.sealed_key.end());
  info.size = pack.size();
  LB_ASSIGN_OR_RETURN(info.blobs, DecodePackHeaderEntries(*header, t.header_offset));
  return info;
}

Bytes EncodeIndexPayload(const IndexFile& index) {
  Bytes p;
  PutBytes(p, AsBytes("LBX1"));
  PutU32(p, static_cast<uint32_t>(index.supersedes.size()));
  for (const Id& id : index.supersedes) PutBytes(p, id.b);
  PutU32(p, static_cast<uint32_t>(index.packs.size()));
  for (const PackInfo& pk : index.packs) {
    PutBytes(p, pk.id.b);
    PutU32(p, pk.key_version);
    PutU32(p, static_cast<uint32_t>(pk.sealed_key.size()));
    PutBytes(p, pk.sealed_key);
    PutU64(p, pk.size);
    PutU32(p, static_cast<uint32_t>(pk.blobs.size()));
    for (const auto& e : pk.blobs) PutEntry(p, e);
  }
  return p;
}

Bytes EncodeIndexFile(const MasterKeys& keys, const IndexFile& index) {
  Bytes p = EncodeIndexPayload(index);
  return crypto::Seal(keys.meta_key, p, AsBytes(kIndexAd));
}

Result<IndexFile> DecodeIndexPayload(ByteSpan plain) {
  ByteReader r(plain);
  LB_ASSIGN_OR_RETURN(ByteSpan magic, r.Take(4));
  if (std::memcmp(magic.data(), "LBX1", 4) != 0) return Corrupt("bad index magic");
  IndexFile index;
  LB_ASSIGN_OR_RETURN(uint32_t ns, ReadCount(r, 32));
  index.supersedes.reserve(ns);
  for (uint32_t i = 0; i < ns; ++i) {
    LB_ASSIGN_OR_RETURN(ByteSpan id, r.Take(32));
    index.supersedes.push_back(Id::FromBytes(id));
  }
  LB_ASSIGN_OR_RETURN(uint32_t np, ReadCount(r, 32 + 4 + 4 + kSealedKeySize + 8 + 4));
  index.packs.reserve(np);
  for (uint32_t i = 0; i < np; ++i) {
    PackInfo pk;
    LB_ASSIGN_OR_RETURN(ByteSpan id, r.Take(32));
    pk.id = Id::FromBytes(id);
    LB_ASSIGN_OR_RETURN(pk.key_version, r.U32());
    LB_ASSIGN_OR_RETURN(uint32_t sl, r.U32());
    if (sl != kSealedKeySize) return Corrupt("sealed pack key has wrong size");
    LB_ASSIGN_OR_RETURN(ByteSpan sk, r.Take(sl));
    pk.sealed_key.assign(sk.begin(), sk.end());
    LB_ASSIGN_OR_RETURN(pk.size, r.U64());
    LB_ASSIGN_OR_RETURN(uint32_t nb, ReadCount(r, kEntrySize));
    pk.blobs.reserve(nb);
    for (uint32_t j = 0; j < nb; ++j) {
      LB_ASSIGN_OR_RETURN(BlobEntry e, ReadEntry(r));
      if (uint64_t{e.offset} + e.length > pk.size) return Corrupt("index entry outside its pack");
      pk.blobs.push_back(e);
    }
    index.packs.push_back(std::move(pk));
  }
  if (r.remaining() != 0) return Corrupt("trailing bytes in index");
  return index;
}

Result<IndexFile> DecodeIndexFile(const MasterKeys& keys, ByteSpan file) {
  LB_ASSIGN_OR_RETURN(Bytes p, crypto::Open(keys.meta_key, file, AsBytes(kIndexAd)));
  return DecodeIndexPayload(p);
}

Bytes SealFile(const DataKey& key, ByteSpan payload, ByteSpan ad) {
  crypto::Key file_key = crypto::RandomKey();
  Bytes out;
  PutU32(out, key.version);
  PutBytes(out, crypto::SealToPublic(key.pair.public_key, file_key));
  crypto::SealAppend(file_key, payload, ad, out);
  crypto::Wipe(file_key);
  return out;
}

Result<Bytes> OpenFile(const MasterKeys& keys, ByteSpan file, ByteSpan ad) {
  ByteReader r(file);
  LB_ASSIGN_OR_RETURN(uint32_t version, r.U32());
  LB_ASSIGN_OR_RETURN(ByteSpan sealed_key, r.Take(kSealedKeySize));
  LB_ASSIGN_OR_RETURN(crypto::Key key, OpenPackKey(keys, version, sealed_key));
  auto out = crypto::Open(key, file.subspan(r.position()), ad);
  crypto::Wipe(key);
  return out;
}

}  // namespace lb::repo
