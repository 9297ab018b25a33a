#include "repo/config.h"

#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/json_checked.h"

namespace lb::repo {

using nlohmann::json;
using json_checked::Int;
using json_checked::OptInt;
using json_checked::Str;

namespace {


bool IsLowerHex(const std::string& s) {
  for (char ch : s)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  return true;
}

}  // namespace

std::string EncodeConfig(const Config& c) {
  json j = {
      {"version", c.version},
      {"id", c.id},
      {"chunker",
       {{"algorithm", "fastcdc-gear-keyed"},
        {"min_size", c.chunker.min_size},
        {"avg_size", c.chunker.avg_size},
        {"max_size", c.chunker.max_size}}},
      {"pack_size", c.pack_size},
      {"hash", "hmac-sha256"},
      {"cipher", "aes-256-gcm"},
      {"compression", "zstd"},
      {"created", FormatTimeRfc3339(c.created)},
      {"created_ns", c.created},
  };
  return j.dump(2) + "\n";
}

Result<Config> DecodeConfig(const std::string& text) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Corrupt("malformed config: not a JSON object");
    Config c;
    c.version = Int<int>(j.at("version"), "version");
    if (c.version > kFormatVersion || c.version < 1)
      return Unsupported("repository format version " + std::to_string(c.version) +
                         " is not supported by this lifeboat (knows up to " +
                         std::to_string(kFormatVersion) + ")");
    c.id = j.at("id").get<std::string>();
    if (c.id.size() != 64 || !IsLowerHex(c.id)) return Corrupt("config id is not 64 hex digits");
    const json& ch = j.at("chunker");
    if (ch.at("algorithm").get<std::string>() != "fastcdc-gear-keyed")
      return Unsupported("unknown chunker algorithm");
    c.chunker.min_size = Int<uint32_t>(ch.at("min_size"), "min_size");
    c.chunker.avg_size = Int<uint32_t>(ch.at("avg_size"), "avg_size");
    c.chunker.max_size = Int<uint32_t>(ch.at("max_size"), "max_size");
    if (Status st = c.chunker.Validate(); !st.ok()) return Corrupt("config: " + st.message());
    c.pack_size = Int<uint32_t>(j.at("pack_size"), "pack_size");
    if (c.pack_size < 4096 || c.pack_size > (1u << 30)) return Corrupt("pack size out of range");
    if (j.contains("created_ns")) c.created = Int<int64_t>(j.at("created_ns"), "created_ns");
    return c;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed config: ") + e.what());
  }
}

}  // namespace lb::repo
