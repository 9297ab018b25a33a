#include "base/bytes.h"

namespace lb {

std::string HexEncode(ByteSpan b) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.resize(b.size() * 2);
  for (size_t i = 0; i < b.size(); ++i) {
    out[2 * i] = kDigits[b[i] >> 4];
    out[2 * i + 1] = kDigits[b[i] & 15];
  }
  return out;
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return InvalidArgument("hex string has odd length");
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument("not a hex string");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void PutU8(Bytes& out, uint8_t v) { out.push_back(v); }
void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutBytes(Bytes& out, ByteSpan b) { out.insert(out.end(), b.begin(), b.end()); }

Result<ByteSpan> ByteReader::Take(size_t n) {
  if (n > remaining()) {
    pos_ = data_.size();
    return Corrupt("truncated data");
  }
  ByteSpan s = data_.subspan(pos_, n);
  pos_ += n;
  return s;
}

Result<uint8_t> ByteReader::U8() {
  LB_ASSIGN_OR_RETURN(ByteSpan s, Take(1));
  return s[0];
}

Result<uint32_t> ByteReader::U32() {
  LB_ASSIGN_OR_RETURN(ByteSpan s, Take(4));
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(s[i]) << (8 * i);
  return v;
}

Result<uint64_t> ByteReader::U64() {
  LB_ASSIGN_OR_RETURN(ByteSpan s, Take(8));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(s[i]) << (8 * i);
  return v;
}

}  // namespace lb
