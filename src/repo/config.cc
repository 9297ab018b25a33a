#include "repo/config.h"

#include <nlohmann/json.hpp>

namespace lb::repo {

using nlohmann::json;

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
    Config c;
    c.version = j.at("version").get<int>();
    if (c.version > kFormatVersion || c.version < 1)
      return Unsupported("repository format version " + std::to_string(c.version) +
                         " is not supported by this lifeboat (knows up to " +
                         std::to_string(kFormatVersion) + ")");
    c.id = j.at("id").get<std::string>();
    const json& ch = j.at("chunker");
    if (ch.at("algorithm").get<std::string>() != "fastcdc-gear-keyed")
      return Unsupported("unknown chunker algorithm");
    c.chunker.min_size = ch.at("min_size").get<uint32_t>();
    c.chunker.avg_size = ch.at("avg_size").get<uint32_t>();
    c.chunker.max_size = ch.at("max_size").get<uint32_t>();
    LB_RETURN_IF_ERROR(c.chunker.Validate());
    c.pack_size = j.at("pack_size").get<uint32_t>();
    if (c.pack_size < 4096 || c.pack_size > (1u << 30)) return Corrupt("pack size out of range");
    c.created = j.value("created_ns", int64_t{0});
    return c;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed config: ") + e.what());
  }
}

}  // namespace lb::repo
