// The repository config file: plaintext JSON, written once by init.
// See docs/format.md ("config").
#pragma once

#include <cstdint>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "chunker/chunker.h"

namespace lb::repo {

constexpr int kFormatVersion = 1;

struct Config {
  int version = kFormatVersion;
  std::string id;  // 64 hex digits, random
  chunker::Params chunker;
  uint32_t pack_size = 16 * 1024 * 1024;  // target pack size in bytes
  TimeNs created = 0;
};

std::string EncodeConfig(const Config& c);
// kUnsupported for a newer format version; kCorrupt for malformed JSON or values.
Result<Config> DecodeConfig(const std::string& text);

}  // namespace lb::repo
