// Reed-Solomon erasure code over GF(2^8), computed by ISA-L.
//
// k data blocks and m parity blocks of equal length; any k of the k+m blocks
// give back all others. The encoding matrix is ISA-L's Cauchy matrix
// (gf_gen_cauchy1_matrix): its top k rows are the identity, so data blocks are
// stored as they are, and every k-row subset is invertible. The code is
// position-wise: byte i of every parity block depends only on byte i of the data
// blocks, so any byte range can be rebuilt from the same range of k other blocks.
//
// Thread safety: an RsCodec is immutable after Make(); all methods may be called
// concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"

namespace lb::storage {

class RsCodec {
 public:
  static constexpr int kMaxBlocks = 64;  // k + m

  // kInvalidArgument unless 1 <= k, 1 <= m, k + m <= kMaxBlocks.
  static Result<RsCodec> Make(int k, int m);

  int k() const { return k_; }
  int m() const { return m_; }

  // Computes the m parity blocks (len bytes each) from the k data blocks.
  void Encode(size_t len, std::span<const uint8_t* const> data, std::span<uint8_t* const> parity) const;

  // Rebuilds blocks `want` (indices in [0, k+m)) from exactly k distinct blocks
  // `have` (indices `have_idx`, same order), len bytes each, into `out`.
  // kInvalidArgument on wrong counts or indices.
  Status Reconstruct(size_t len, std::span<const int> have_idx, std::span<const uint8_t* const> have,
                     std::span<const int> want, std::span<uint8_t* const> out) const;

 private:
  RsCodec(int k, int m);
  // Applies a rows x k coefficient matrix to k inputs, producing `rows` outputs.
  void Apply(size_t len, int rows, const std::vector<uint8_t>& coeffs,
             std::span<const uint8_t* const> in, std::span<uint8_t* const> out) const;

  int k_, m_;
  std::vector<uint8_t> matrix_;  // (k+m) x k, row-major
  std::shared_ptr<const std::vector<uint8_t>> parity_tables_;  // ec_init_tables of the parity rows
};

}  // namespace lb::storage
