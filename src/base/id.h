// Id: a 32-byte identifier (SHA-256 of a file, or keyed HMAC of a blob's plaintext).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/status.h"

namespace lb {

struct Id {
  std::array<uint8_t, 32> b{};

  static constexpr size_t kSize = 32;
  // Parses exactly 64 hex digits.
  static Result<Id> FromHex(std::string_view hex);
  static Id FromBytes(ByteSpan s);  // requires s.size() == 32
  std::string Hex() const { return HexEncode(b); }
  std::string Short() const { return Hex().substr(0, 8); }
  bool IsZero() const;

  auto operator<=>(const Id&) const = default;
  bool operator==(const Id&) const = default;
};

struct IdHash {
  size_t operator()(const Id& id) const {
    size_t h;
    std::memcpy(&h, id.b.data(), sizeof h);  // ids are uniformly random
    return h;
  }
};

}  // namespace lb
