// Pack files and index files: the binary formats of data/ and index/.
// See docs/format.md ("packs", "index").
//
// Pack file layout:
//   blob_0 .. blob_n-1      each AES-256-GCM(pack_key, stored bytes, ad = id || kind)
//   header                  AES-256-GCM(pack_key, entries, ad = "lifeboat pack header v1")
//   u32 key_version         data key version the pack key is sealed to
//   sealed_key (80 bytes)   X25519 sealed box of pack_key
//   u32 header_length
//   "LBP1"                  magic
// Entry (46 bytes): kind u8, compression u8, id[32], offset u32, length u32, raw_length u32.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/bytes.h"
#include "base/id.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "repo/keys.h"

namespace lb::repo {

enum class BlobKind : uint8_t { kData = 0, kTree = 1 };
enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

const char* BlobKindName(BlobKind k);

struct BlobEntry {
  Id id;
  BlobKind kind = BlobKind::kData;
  Compression compression = Compression::kNone;
  uint32_t offset = 0;      // within the pack
  uint32_t length = 0;      // stored (encrypted) length
  uint32_t raw_length = 0;  // plaintext length
};

struct PackInfo {
  Id id;  // SHA-256 of the pack file
  uint32_t key_version = 0;
  Bytes sealed_key;  // pack key sealed to the data key of key_version
  uint64_t size = 0;  // pack file size
  std::vector<BlobEntry> blobs;
};

constexpr size_t kPackTrailerFixed = 4 + 80 + 4 + 4;  // version, sealed key, header len, magic

// Associated data binding a blob's ciphertext to its id and kind.
// (A fixed-size value: it is built for every blob sealed or opened.)
using BlobAdBytes = std::array<uint8_t, sizeof(Id::b) + 1>;
BlobAdBytes BlobAd(const Id& id, BlobKind kind);

// Accumulates one pack in memory. Not thread-safe.
class PackBuilder {
 public:
  // `expected_size` reserves the buffer once (the whole pack file, header and
  // trailer included), so a pack cut by FinishedSizeWith never reallocates.
  // `buffer` (any contents; its capacity is what counts) is reused for the pack.
  explicit PackBuilder(const DataKey& key, size_t expected_size = 0, Bytes buffer = {});
  // Encrypts `stored` (already compressed, if compression says so) into the pack.
  void Add(const Id& id, BlobKind kind, Compression compression, uint32_t raw_length,
           ByteSpan stored);
  size_t size() const { return data_.size(); }
  size_t count() const { return entries_.size(); }
  // The size of the pack file Finish would return now, and after one more blob
  // of `stored_length` bytes.
  size_t FinishedSize() const;
  size_t FinishedSizeWith(size_t stored_length) const;
  // Appends header and trailer; returns the pack bytes. info.id is filled in.
  Bytes Finish(PackInfo& info);

 private:
  uint32_t key_version_;
  crypto::Key pack_key_;
  // Blob i is sealed with nonce_base_ XOR i (in its last 8 bytes): unique under the
  // pack's own key without a system call per blob; the random base keeps nonces
  // unique even if a key were ever used twice.
  crypto::Nonce nonce_base_;
  uint64_t sealed_blobs_ = 0;
  Bytes sealed_key_;
  Bytes data_;
  std::vector<BlobEntry> entries_;
};

// Opens the pack key sealed in `info` (needs the data key's secret half).
Result<crypto::Key> OpenPackKey(const MasterKeys& keys, uint32_t key_version, ByteSpan sealed_key);

// The fixed-size end of a pack file (no crypto involved).
struct PackTrailer {
  uint32_t key_version = 0;
  ByteSpan sealed_key;         // 80 bytes; points into the pack passed to DecodePackTrailer
  uint64_t header_offset = 0;  // where the sealed header starts (= end of the blob data)
  uint32_t header_length = 0;  // length of the sealed header
};
// Checks the magic and that the sealed header fits in front of the trailer. kCorrupt otherwise.
Result<PackTrailer> DecodePackTrailer(ByteSpan pack);

// The plaintext pack header: 46-byte entries back to back.
Bytes EncodePackHeaderEntries(const std::vector<BlobEntry>& entries);
// Decodes a plaintext pack header; every entry must lie within [0, data_end).
// kCorrupt on a partial entry, an unknown kind or compression, or an entry out of range.
Result<std::vector<BlobEntry>> DecodePackHeaderEntries(ByteSpan plain, uint64_t data_end);

// Parses a whole pack file's header (for check and repair). Verifies the magic and
// the header's authentication; entries are checked to lie inside the pack.
Result<PackInfo> ReadPackHeader(const MasterKeys& keys, const Id& pack_id, ByteSpan pack);

// Index file: Seal(meta_key, payload, "lifeboat index v1"), payload:
//   "LBX1" u32 n_supersedes, ids[32]..., u32 n_packs, per pack: id[32],
//   u32 key_version, u32 sealed_len, sealed_key, u64 size, u32 n_blobs, entries.
struct IndexFile {
  std::vector<Id> supersedes;  // index files this one replaces (written by prune/repair)
  std::vector<PackInfo> packs;
};
Bytes EncodeIndexFile(const MasterKeys& keys, const IndexFile& index);
Result<IndexFile> DecodeIndexFile(const MasterKeys& keys, ByteSpan file);
// The plaintext payload inside an index file (what EncodeIndexFile seals). The
// encoding is canonical: DecodeIndexPayload accepts exactly what EncodeIndexPayload
// produces (kCorrupt for anything else: bad magic, counts beyond the data, wrong
// sealed-key size, entries outside their pack, trailing bytes).
Bytes EncodeIndexPayload(const IndexFile& index);
Result<IndexFile> DecodeIndexPayload(ByteSpan plain);

// Files encrypted for the holders of a data key's secret (snapshots):
//   u32 key_version, sealed file key (80), AES-256-GCM(file key, payload, ad).
Bytes SealFile(const DataKey& key, ByteSpan payload, ByteSpan ad);
Result<Bytes> OpenFile(const MasterKeys& keys, ByteSpan file, ByteSpan ad);

}  // namespace lb::repo
