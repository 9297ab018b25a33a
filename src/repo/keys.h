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

#include "base/bytes.h"
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
  // An append-only credential: the data keys' secret halves are absent (zero),
  // so it can seal new packs and snapshots but open none. id_key and meta_key
  // are kept: blob ids (deduplication) and the index need them.
  bool append_only = false;

  static MasterKeys Generate();
  // This key set without the secret halves of the data keys.
  MasterKeys AppendOnly() const;
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

// The outer JSON of a key file, decoded and validated but not decrypted.
struct KeyFileFields {
  KeyFileInfo info;  // created_ns, host, user
  KdfParams kdf;     // Argon2id ops and memory (within the accepted range)
  Bytes salt;        // 16 bytes
  Bytes data;        // AES-256-GCM(kek, master-keys JSON, "lifeboat key v1")
  // Hex Ed25519 public key that signs this key file's audit entries; "" in key
  // files written before audit logs existed.
  std::string sign_public;
};
// The key file text for `f` (version 1, kdf argon2id, cipher aes-256-gcm).
std::string EncodeKeyFileFields(const KeyFileFields& f);
// kUnsupported for an unknown version, kdf or cipher; kCorrupt for anything else
// malformed (bad JSON, missing or mistyped fields, bad base64, salt not 16 bytes,
// KDF parameters out of range, data shorter than the AEAD overhead).
Result<KeyFileFields> ParseKeyFile(const std::string& text);

// The secret master-keys JSON inside a key file. Callers wipe the result of
// EncodeMasterKeys after use. DecodeMasterKeys: kCorrupt when malformed (keys not
// 32 bytes, no data keys, versions not ascending, `current` missing).
std::string EncodeMasterKeys(const MasterKeys& keys);
Result<MasterKeys> DecodeMasterKeys(ByteSpan json);

// Encodes a key file (JSON) wrapping `keys` under `password`.
Result<std::string> EncodeKeyFile(const MasterKeys& keys, const std::string& password,
                                  const KdfParams& kdf, const KeyFileInfo& info);
// kWrongPassword when the password does not open it; kCorrupt when malformed.
Result<MasterKeys> OpenKeyFile(const std::string& text, const std::string& password);
// The audit signer of a key file is an Ed25519 key pair derived from the key
// file's own wrapping key (seed = HMAC-SHA256(kek, "lifeboat audit signer v1")),
// so only holders of that password can sign as that key, even though every key
// file wraps the same master keys.
struct OpenedKey {
  MasterKeys keys;
  crypto::Key sign_seed{};
};
Result<OpenedKey> OpenKeyFileWithSigner(const std::string& text, const std::string& password);
// EncodeKeyFile, also returning the new key file's signing seed.
Result<std::pair<std::string, crypto::Key>> EncodeKeyFileWithSigner(const MasterKeys& keys,
                                                                    const std::string& password,
                                                                    const KdfParams& kdf,
                                                                    const KeyFileInfo& info);
// Reads the hex sign_public field ("" when absent) without the password.
Result<std::string> ReadKeyFileSigner(const std::string& text);

// Reads the plaintext fields without the password.
Result<KeyFileInfo> ReadKeyFileInfo(const std::string& text);

}  // namespace lb::repo
