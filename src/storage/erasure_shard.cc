#include "storage/erasure_shard.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace lb::storage {

namespace {
constexpr char kMagic[4] = {'L', 'B', 'E', 'C'};
constexpr size_t kCheckOffset = 88;
}  // namespace

Digest Sha256Of(ByteSpan data) {
  Digest d{};
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

uint64_t ShardLen(uint64_t size, int k) {
  const uint64_t kk = static_cast<uint64_t>(k);
  return size / kk + (size % kk != 0 ? 1 : 0);
}

uint64_t StoredPayloadLen(uint64_t size, int k, int index) {
  const uint64_t len = ShardLen(size, k);
  if (index >= k) return len;
  const uint64_t start = DataShardOffset(len, index);
  return start >= size ? 0 : std::min(len, size - start);
}

Bytes EncodeShardHeader(const ShardHeader& h) {
  Bytes out;
  out.reserve(kShardHeaderSize);
  PutBytes(out, AsBytes(std::string_view(kMagic, 4)));
  PutU8(out, kShardVersion);
  PutU8(out, h.k);
  PutU8(out, h.m);
  PutU8(out, h.index);
  PutU64(out, h.file_size);
  PutU64(out, h.shard_len);
  PutBytes(out, h.payload_hash);
  PutBytes(out, h.file_hash);
  const Digest check = Sha256Of(out);
  PutBytes(out, ByteSpan(check.data(), kShardHeaderSize - kCheckOffset));
  return out;
}

Result<ShardHeader> ParseShardHeader(ByteSpan bytes) {
  if (bytes.size() < kShardHeaderSize) return Corrupt("shard header is truncated");
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) return Corrupt("not a shard file (bad magic)");
  if (bytes[4] != kShardVersion)
    return Unsupported("shard format version " + std::to_string(bytes[4]) + " is not supported");
  const Digest check = Sha256Of(bytes.first(kCheckOffset));
  if (std::memcmp(check.data(), bytes.data() + kCheckOffset, kShardHeaderSize - kCheckOffset) != 0)
    return Corrupt("shard header checksum mismatch");
  ByteReader r(bytes.subspan(5, kCheckOffset - 5));
  ShardHeader h;
  LB_ASSIGN_OR_RETURN(h.k, r.U8());
  LB_ASSIGN_OR_RETURN(h.m, r.U8());
  LB_ASSIGN_OR_RETURN(h.index, r.U8());
  LB_ASSIGN_OR_RETURN(h.file_size, r.U64());
  LB_ASSIGN_OR_RETURN(h.shard_len, r.U64());
  LB_ASSIGN_OR_RETURN(ByteSpan ph, r.Take(32));
  LB_ASSIGN_OR_RETURN(ByteSpan fh, r.Take(32));
  std::copy(ph.begin(), ph.end(), h.payload_hash.begin());
  std::copy(fh.begin(), fh.end(), h.file_hash.begin());
  if (h.k == 0 || h.m == 0 || h.index >= h.k + h.m || h.shard_len != ShardLen(h.file_size, h.k))
    return Corrupt("shard header fields are inconsistent");
  return h;
}

ShardPlan PlanShards(const RsCodec& codec, ByteSpan data) {
  const int k = codec.k(), m = codec.m();
  ShardPlan p;
  p.ref.k = static_cast<uint8_t>(k);
  p.ref.m = static_cast<uint8_t>(m);
  p.ref.file_size = data.size();
  p.ref.shard_len = ShardLen(data.size(), k);
  p.ref.file_hash = Sha256Of(data);
  const size_t len = p.ref.shard_len;
  std::vector<const uint8_t*> in(static_cast<size_t>(k));
  p.padded.reserve(static_cast<size_t>(k));
  for (int j = 0; j < k; ++j) {
    const uint64_t stored = StoredPayloadLen(data.size(), k, j);
    const ByteSpan part = data.subspan(static_cast<size_t>(DataShardOffset(len, j)), stored);
    p.payloads.push_back(part);
    if (stored == len) {
      in[j] = part.data();
    } else {
      p.padded.emplace_back(len, 0);
      std::copy(part.begin(), part.end(), p.padded.back().begin());
      in[j] = p.padded.back().data();
    }
  }
  p.parity.assign(static_cast<size_t>(m), Bytes(len));
  std::vector<uint8_t*> out;
  for (auto& b : p.parity) out.push_back(b.data());
  codec.Encode(len, in, out);
  for (const auto& b : p.parity) p.payloads.emplace_back(b);
  return p;
}

Bytes ShardFile(const ShardPlan& p, int i) {
  ShardHeader h = p.ref;
  h.index = static_cast<uint8_t>(i);
  h.payload_hash = Sha256Of(p.payloads[i]);
  Bytes out = EncodeShardHeader(h);
  out.insert(out.end(), p.payloads[i].begin(), p.payloads[i].end());
  return out;
}

}  // namespace lb::storage
