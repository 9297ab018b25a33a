// Byte buffers, hex, and little-endian integer encoding used by every codec.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace lb {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string ToString(ByteSpan b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string HexEncode(ByteSpan b);
// Fails on odd length or a non-hex character.
Result<Bytes> HexDecode(std::string_view hex);

// Appends fixed-width little-endian integers.
void PutU8(Bytes& out, uint8_t v);
void PutU32(Bytes& out, uint32_t v);
void PutU64(Bytes& out, uint64_t v);
void PutBytes(Bytes& out, ByteSpan b);

// Reads fixed-width values with bounds checks; any short read is kCorrupt and
// leaves the reader failed (every later read fails too).
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}
  Result<uint8_t> U8();
  Result<uint32_t> U32();
  Result<uint64_t> U64();
  Result<ByteSpan> Take(size_t n);
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  ByteSpan data_;
  size_t pos_ = 0;
};

}  // namespace lb
