// Shard files of the erasure-coded backend (docs/format.md, "Erasure-coded
// storage (shard files)"): a 96-byte header followed by the shard's payload.
//
// Layout of a file of `size` bytes over k data shards: L = ceil(size / k); data
// shard j holds bytes [j*L, min((j+1)*L, size)) of the file, stored without
// padding (it is zero-padded to L only for coding); parity shards hold L bytes.
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/erasure_codec.h"

namespace lb::storage {

using Digest = std::array<uint8_t, 32>;
Digest Sha256Of(ByteSpan data);

inline constexpr size_t kShardHeaderSize = 96;
inline constexpr uint8_t kShardVersion = 1;

struct ShardHeader {
  uint8_t k = 0, m = 0, index = 0;
  uint64_t file_size = 0;
  uint64_t shard_len = 0;  // L
  Digest payload_hash{};   // SHA-256 of the stored payload
  Digest file_hash{};      // SHA-256 of the whole original file

  bool SameFile(const ShardHeader& o) const {
    return k == o.k && m == o.m && file_size == o.file_size && shard_len == o.shard_len &&
           file_hash == o.file_hash;
  }
};

// L for a file of `size` bytes over k data shards.
uint64_t ShardLen(uint64_t size, int k);
// Bytes of payload stored in shard `index` (data shards may be short or empty).
uint64_t StoredPayloadLen(uint64_t size, int k, int index);
// Where data shard j starts in the file.
inline uint64_t DataShardOffset(uint64_t shard_len, int j) { return shard_len * static_cast<uint64_t>(j); }

// The header's 96 bytes (deterministic: the same shard always gets the same bytes).
Bytes EncodeShardHeader(const ShardHeader& h);
// kCorrupt for a short buffer, wrong magic or checksum, or inconsistent fields;
// kUnsupported for an unknown version.
Result<ShardHeader> ParseShardHeader(ByteSpan bytes);

// The shards of one file: stored payloads (data shards point into the file) and
// computed parity. `data` must outlive the plan.
struct ShardPlan {
  ShardHeader ref;                 // index 0, payload_hash unset
  std::vector<Bytes> padded;       // data shards shorter than L, zero padded, for coding
  std::vector<Bytes> parity;
  std::vector<ByteSpan> payloads;  // stored payload of each of the k+m shards
};
ShardPlan PlanShards(const RsCodec& codec, ByteSpan data);
// Header + payload of shard i.
Bytes ShardFile(const ShardPlan& p, int i);

}  // namespace lb::storage
