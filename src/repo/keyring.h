// The keyring: data key versions added by `key rotate` after the key files were
// written. Each entry holds a new X25519 key pair whose secret half is
// encrypted under a key derived from the secret of the version it was wrapped
// with (the current one at the time), so every full key can unlock the chain
// from its own versions, while an append-only key (no secrets) cannot, and
// nobody without a secret can forge an entry. Entries are ordinary immutable
// files in keyring/, named by the SHA-256 of their bytes. See docs/format.md.
#pragma once

#include <cstdint>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "repo/keys.h"

namespace lb::repo {

struct KeyringEntry {
  // A retirement marker instead of a key: key files holding only versions below
  // this can no longer open the repository (written by `key rotate --reencrypt`).
  uint32_t retired_below = 0;
  uint32_t version = 0;       // the new version
  uint32_t wrapped_with = 0;  // the version whose secret unlocks it
  TimeNs created = 0;
  std::string text;           // the whole file
};

// The file text for `added`, wrapped with `wrapping` (which must hold a secret).
std::string EncodeKeyringEntry(const DataKey& added, const DataKey& wrapping, TimeNs created);
std::string EncodeRetirement(uint32_t retired_below, TimeNs created);
// The plaintext fields; kCorrupt when malformed.
Result<KeyringEntry> ParseKeyringEntry(const std::string& text);
// The data key inside; kCorrupt when `wrapping` does not open it or the
// public key inside differs from the one outside.
Result<DataKey> OpenKeyringEntry(const KeyringEntry& e, const DataKey& wrapping);

}  // namespace lb::repo
