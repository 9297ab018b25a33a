#include "base/id.h"

namespace lb {

Result<Id> Id::FromHex(std::string_view hex) {
  if (hex.size() != 64) return InvalidArgument("id must be 64 hex digits: " + std::string(hex));
  LB_ASSIGN_OR_RETURN(Bytes raw, HexDecode(hex));
  return FromBytes(raw);
}

Id Id::FromBytes(ByteSpan s) {
  Id id;
  std::memcpy(id.b.data(), s.data(), kSize);
  return id;
}

bool Id::IsZero() const {
  for (uint8_t x : b)
    if (x) return false;
  return true;
}

}  // namespace lb
