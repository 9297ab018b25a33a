// Key hierarchy. See docs/format.md ("keys").
//
// MasterKeys is the repository's secret material, created once at init:
//   id_key      HMAC-SHA256 key for blob ids (and the chunker seed)
//   meta_key    AES-256-GCM key for index and lock files
//   data_keys   X25519 key pairs, one per key version; packs and snapshots are
//               encrypted under random per-file keys sealed to the current
//               version's public key, so a future write-only credential can hold
//               the public half only.
// A key file wraps MasterKeys with a key derived from one password (Argon2id).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/id.h"
#include "base/status.h"
#include "crypto/crypto.h"

namespace lb::repo {

struct DataKey {
  uint32_t version = 1;
  crypto::BoxKeyPair pair;
};

struct MasterKeys {
  crypto::Key id_key{};
  crypto::Key meta_key{};
  std::vector<DataKey> data_keys;  // ascending versions
  uint32_t current = 1;            // version used for new data

  static MasterKeys Generate();
  const DataKey* Find(uint32_t version) const;
  const DataKey& Current() const;
};

struct KdfParams {
  uint64_t ops = 3;                 // Argon2id iterations
  uint64_t mem_bytes = 256u << 20;  // Argon2id memory
};

struct KeyFileInfo {
  TimeNs created = 0;
  std::string host;
  std::string user;
};

// Encodes a key file (JSON) wrapping `keys` under `password`.
Result<std::string> EncodeKeyFile(const MasterKeys& keys, const std::string& password,
                                  const KdfParams& kdf, const KeyFileInfo& info);
// kWrongPassword when the password does not open it; kCorrupt when malformed.
Result<MasterKeys> OpenKeyFile(const std::string& text, const std::string& password);
// Reads the plaintext fields without the password.
Result<KeyFileInfo> ReadKeyFileInfo(const std::string& text);

}  // namespace lb::repo
