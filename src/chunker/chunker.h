// FastCDC content-defined chunking (gear rolling hash with normalized chunking).
//
// The chunker does no I/O: give it bytes, it returns a split point. Split points
// depend only on the content and the gear table, so inserting bytes before a
// boundary moves at most the chunks around the insertion.
//
// The gear table is derived from a secret 64-bit seed (the repository derives the
// seed from its id key), so chunk sizes do not reveal content to an observer.
// Thread safety: a Chunker is immutable after construction; share it freely.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/status.h"

namespace lb::chunker {

struct Params {
  uint32_t min_size = 512 * 1024;
  uint32_t avg_size = 1024 * 1024;
  uint32_t max_size = 8 * 1024 * 1024;

  // min >= 64, min < avg < max, avg a power of two, max <= 64 MiB.
  Status Validate() const;
};

class Chunker {
 public:
  Chunker(const Params& params, uint64_t seed);

  // Length of the chunk that starts at data[0]. `eof` says no more bytes follow
  // `data`. Returns 0 when more data is needed to decide (only when !eof and
  // data.size() < max_size). With eof, returns min(data.size(), boundary).
  size_t Next(ByteSpan data, bool eof) const;

  // Where a scan for the end of one chunk stopped for want of data. Zero-initialised
  // for a new chunk; owned by the caller.
  struct Scan {
    size_t pos = 0;   // bytes of the chunk already looked at (0: none yet)
    uint64_t hash = 0;
  };
  // Next for data that arrives piece by piece: `data` is the chunk so far (a longer
  // prefix of the same bytes on each call) and `scan` carries on where the last call
  // stopped, so no byte is hashed twice. Returns what Next(data, eof) returns; after
  // a non-zero return, reset `scan` for the next chunk.
  size_t Next(ByteSpan data, bool eof, Scan& scan) const;

  const Params& params() const { return params_; }

 private:
  Params params_;
  uint64_t mask_small_;  // stricter mask before the average size
  uint64_t mask_large_;  // looser mask after it
  std::array<uint64_t, 256> gear_;
};

}  // namespace lb::chunker
