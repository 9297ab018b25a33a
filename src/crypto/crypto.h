// Cryptographic primitives for the repository layer (the only user of this module).
//
// SHA-256 and HMAC-SHA256 and AES-256-GCM come from OpenSSL; Argon2id and X25519
// sealed boxes from libsodium. All functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/id.h"
#include "base/status.h"

namespace lb::crypto {

using Key = std::array<uint8_t, 32>;

// Must be called once before anything else (idempotent, thread-safe).
Status Init();

Id Sha256(ByteSpan data);

// Incremental SHA-256 (not thread-safe; one per stream).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteSpan data);
  Id Finish();

 private:
  void* ctx_;
};

Id HmacSha256(const Key& key, ByteSpan data);

void RandomBytes(std::span<uint8_t> out);
Key RandomKey();

// AES-256-GCM. Output layout: nonce (12) || ciphertext || tag (16).
constexpr size_t kNonceBytes = 12;
constexpr size_t kAeadOverhead = kNonceBytes + 16;
Bytes Seal(const Key& key, ByteSpan plaintext, ByteSpan associated);
// Appends the sealed form to `out` (avoids a copy in the pack writer).
void SealAppend(const Key& key, ByteSpan plaintext, ByteSpan associated, Bytes& out);
// The same with the caller's nonce, which must never repeat under `key` (the pack
// writer derives one per blob from a random per-pack base, see PackBuilder).
using Nonce = std::array<uint8_t, kNonceBytes>;
void SealAppend(const Key& key, const Nonce& nonce, ByteSpan plaintext, ByteSpan associated,
                Bytes& out);
// kCorrupt when the bytes, the tag or the associated data do not match.
Result<Bytes> Open(const Key& key, ByteSpan sealed, ByteSpan associated);
// Open into `out`, which must hold sealed.size() - kAeadOverhead bytes (the caller
// checks sealed.size() >= kAeadOverhead); on an error `out` holds garbage. `out`
// may be the ciphertext's own place, sealed.data() + kNonceBytes (in place).
Status OpenTo(const Key& key, ByteSpan sealed, ByteSpan associated, uint8_t* out);

// Argon2id password hashing into a 32-byte key. ops >= 1, mem_bytes >= 8 KiB.
Result<Key> DeriveKey(const std::string& password, ByteSpan salt16, uint64_t ops,
                      uint64_t mem_bytes);

// X25519 sealed boxes (anonymous sender): anyone with the public key can seal,
// only the secret key opens. Used to wrap per-pack and per-file data keys.
struct BoxKeyPair {
  Key public_key;
  Key secret_key;
};
BoxKeyPair GenerateBoxKeyPair();
constexpr size_t kSealedBoxOverhead = 48;
Bytes SealToPublic(const Key& public_key, ByteSpan plaintext);
Result<Bytes> OpenSealed(const BoxKeyPair& keys, ByteSpan sealed);

// Ed25519 signatures (libsodium). A key pair is derived from a 32-byte seed.
using SignPublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;
struct SignKeyPair {
  SignPublicKey public_key;
  std::array<uint8_t, 64> secret_key;
};
SignKeyPair SignKeyPairFromSeed(const Key& seed);
Signature Sign(const SignKeyPair& keys, ByteSpan message);
bool VerifySignature(const SignPublicKey& public_key, ByteSpan message, const Signature& sig);

// Constant-time comparison.
bool Equal(ByteSpan a, ByteSpan b);
// Overwrites with zeros in a way the compiler will not elide.
void Wipe(std::span<uint8_t> b);

}  // namespace lb::crypto
