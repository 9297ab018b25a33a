#include "storage/erasure_codec.h"

#include <isa-l.h>

#include <algorithm>
#include <string>

namespace lb::storage {

namespace {

// ec_encode_data takes an int length: work in pieces well below INT_MAX.
constexpr size_t kPiece = size_t{1} << 26;

void EncodeWithTables(size_t len, int k, int rows, const std::vector<uint8_t>& tables,
                      std::span<const uint8_t* const> in, std::span<uint8_t* const> out) {
  std::vector<uint8_t*> src(static_cast<size_t>(k)), dst(static_cast<size_t>(rows));
  auto* tbl = const_cast<unsigned char*>(tables.data());  // ISA-L reads it only
  for (size_t done = 0; done < len; done += kPiece) {
    const size_t n = std::min(kPiece, len - done);
    for (int i = 0; i < k; ++i) src[i] = const_cast<uint8_t*>(in[i]) + done;
    for (int i = 0; i < rows; ++i) dst[i] = out[i] + done;
    ec_encode_data(static_cast<int>(n), k, rows, tbl, src.data(), dst.data());
  }
}

}  // namespace

RsCodec::RsCodec(int k, int m) : k_(k), m_(m), matrix_(static_cast<size_t>((k + m) * k)) {
  gf_gen_cauchy1_matrix(matrix_.data(), k + m, k);
  auto tables = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(32 * k * m));
  ec_init_tables(k, m, matrix_.data() + k * k, tables->data());
  parity_tables_ = std::move(tables);
}

Result<RsCodec> RsCodec::Make(int k, int m) {
  if (k < 1 || m < 1 || k + m > kMaxBlocks)
    return InvalidArgument("erasure code " + std::to_string(k) + "+" + std::to_string(m) +
                           ": need k >= 1, m >= 1 and k + m <= " + std::to_string(kMaxBlocks));
  return RsCodec(k, m);
}

void RsCodec::Encode(size_t len, std::span<const uint8_t* const> data,
                     std::span<uint8_t* const> parity) const {
  if (len == 0) return;
  EncodeWithTables(len, k_, m_, *parity_tables_, data, parity);
}

void RsCodec::Apply(size_t len, int rows, const std::vector<uint8_t>& coeffs,
                    std::span<const uint8_t* const> in, std::span<uint8_t* const> out) const {
  std::vector<uint8_t> tables(static_cast<size_t>(32 * k_ * rows));
  ec_init_tables(k_, rows, const_cast<unsigned char*>(coeffs.data()), tables.data());
  EncodeWithTables(len, k_, rows, tables, in, out);
}

Status RsCodec::Reconstruct(size_t len, std::span<const int> have_idx, std::span<const uint8_t* const> have,
                            std::span<const int> want, std::span<uint8_t* const> out) const {
  const int n = k_ + m_;
  if (have_idx.size() != static_cast<size_t>(k_) || have.size() != have_idx.size() ||
      want.size() != out.size())
    return InvalidArgument("reconstruct: need exactly k blocks and one output per wanted block");
  std::vector<bool> seen(static_cast<size_t>(n), false);
  for (int i : have_idx) {
    if (i < 0 || i >= n || seen[i]) return InvalidArgument("reconstruct: bad or repeated block index");
    seen[i] = true;
  }
  for (int w : want)
    if (w < 0 || w >= n) return InvalidArgument("reconstruct: bad wanted block index");
  if (want.empty() || len == 0) return Status::Ok();
  // Rows of the encoding matrix for the blocks we have; its inverse maps them
  // back to the data blocks.
  const size_t kk = static_cast<size_t>(k_);
  std::vector<uint8_t> sub(kk * kk), inv(kk * kk);
  for (size_t r = 0; r < kk; ++r)
    std::copy_n(matrix_.begin() + have_idx[r] * k_, kk, sub.begin() + r * kk);
  if (gf_invert_matrix(sub.data(), inv.data(), k_) != 0)
    return Internal("reconstruct: singular decoding matrix");
  // Coefficients of each wanted block over the blocks we have: data row j of the
  // inverse, or encoding row w times the inverse.
  std::vector<uint8_t> coeffs(want.size() * kk, 0);
  for (size_t r = 0; r < want.size(); ++r) {
    const size_t w = static_cast<size_t>(want[r]);
    for (size_t c = 0; c < kk; ++c) {
      uint8_t v = 0;
      for (size_t j = 0; j < kk; ++j) v ^= gf_mul(matrix_[w * kk + j], inv[j * kk + c]);
      coeffs[r * kk + c] = v;
    }
  }
  Apply(len, static_cast<int>(want.size()), coeffs, have, out);
  return Status::Ok();
}

}  // namespace lb::storage
