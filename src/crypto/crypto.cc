#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace lb::crypto {

Status Init() {
  static int rc = sodium_init();
  if (rc < 0) return Internal("libsodium failed to initialise");
  return Status::Ok();
}

Id Sha256(ByteSpan data) {
  Id id;
  SHA256(data.data(), data.size(), id.b.data());
  return id;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256Stream::Update(ByteSpan data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
Id Sha256Stream::Finish() {
  Id id;
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), id.b.data(), &len);
  return id;
}

namespace {

// One HMAC context per thread, kept keyed with the key it last used: a one-shot HMAC()
// fetches the algorithm and expands the key on every call, which costs about as much
// as hashing 2 KiB, and blob ids are computed per chunk and checked per blob read.
class ThreadHmac {
 public:
  ThreadHmac() {
    static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // never freed
    if (mac != nullptr) ctx_ = EVP_MAC_CTX_new(mac);
  }
  ~ThreadHmac() {
    EVP_MAC_CTX_free(ctx_);
    OPENSSL_cleanse(key_.data(), key_.size());
  }
  ThreadHmac(const ThreadHmac&) = delete;
  ThreadHmac& operator=(const ThreadHmac&) = delete;

  // False when OpenSSL could not provide a context (the caller falls back to HMAC()).
  bool Mac(const Key& key, ByteSpan data, Id& out) {
    if (ctx_ == nullptr || !Init(key)) return false;
    size_t len = 0;
    return EVP_MAC_update(ctx_, data.data(), data.size()) == 1 &&
           EVP_MAC_final(ctx_, out.b.data(), &len, out.b.size()) == 1 && len == out.b.size();
  }

 private:
  bool Init(const Key& key) {
    if (keyed_ && key == key_) return EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    keyed_ = EVP_MAC_init(ctx_, key.data(), key.size(), params) == 1;
    key_ = key;
    return keyed_;
  }

  EVP_MAC_CTX* ctx_ = nullptr;
  Key key_{};
  bool keyed_ = false;
};

}  // namespace

Id HmacSha256(const Key& key, ByteSpan data) {
  thread_local ThreadHmac hmac;
  Id id;
  if (hmac.Mac(key, data, id)) return id;
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
       id.b.data(), &len);
  return id;
}

void RandomBytes(std::span<uint8_t> out) { randombytes_buf(out.data(), out.size()); }

Key RandomKey() {
  Key k;
  RandomBytes(k);
  return k;
}

namespace {

// One AES-256-GCM context per thread and direction, kept with the key schedule of the
// key it last used: blobs of one pack share a key, and setting up a fresh context per
// blob (allocation, key expansion, GHASH tables) costs as much as sealing a few KiB.
class ThreadGcm {
 public:
  ThreadGcm() : ctx(EVP_CIPHER_CTX_new()) {}
  ~ThreadGcm() {
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key_.data(), key_.size());
  }
  ThreadGcm(const ThreadGcm&) = delete;
  ThreadGcm& operator=(const ThreadGcm&) = delete;

  // Starts a message under `key` and `nonce` (12 bytes); false on an OpenSSL failure.
  bool Start(bool encrypt, const Key& key, const uint8_t* nonce) {
    if (ctx == nullptr) return false;
    const bool same = keyed_ && key == key_;
    keyed_ = false;  // until this init succeeds
    if (EVP_CipherInit_ex(ctx, same ? nullptr : EVP_aes_256_gcm(), nullptr, same ? nullptr : key.data(),
                          nonce, encrypt ? 1 : 0) != 1)
      return false;
    keyed_ = true;
    key_ = key;
    return true;
  }

  EVP_CIPHER_CTX* ctx;

 private:
  Key key_{};
  bool keyed_ = false;
};

ThreadGcm& SealCtx() {
  thread_local ThreadGcm gcm;
  return gcm;
}
ThreadGcm& OpenCtx() {
  thread_local ThreadGcm gcm;
  return gcm;
}

}  // namespace

void SealAppend(const Key& key, ByteSpan plaintext, ByteSpan associated, Bytes& out) {
  Nonce nonce;
  RandomBytes(nonce);
  SealAppend(key, nonce, plaintext, associated, out);
}

void SealAppend(const Key& key, const Nonce& nonce_in, ByteSpan plaintext, ByteSpan associated,
                Bytes& out) {
  const size_t start = out.size();
  out.resize(start + kAeadOverhead + plaintext.size());
  uint8_t* nonce = out.data() + start;
  uint8_t* ct = nonce + kNonceBytes;
  uint8_t* tag = ct + plaintext.size();
  std::memcpy(nonce, nonce_in.data(), nonce_in.size());
  ThreadGcm& c = SealCtx();
  // Only an allocation failure inside OpenSSL fails here; sealing on regardless would
  // store a blob nobody can open, so stop instead.
  if (!c.Start(/*encrypt=*/true, key, nonce)) std::abort();
  int len = 0;
  if (!associated.empty())
    EVP_EncryptUpdate(c.ctx, nullptr, &len, associated.data(), static_cast<int>(associated.size()));
  if (!plaintext.empty())
    EVP_EncryptUpdate(c.ctx, ct, &len, plaintext.data(), static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(c.ctx, ct + plaintext.size(), &len);
  EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
}

Bytes Seal(const Key& key, ByteSpan plaintext, ByteSpan associated) {
  Bytes out;
  SealAppend(key, plaintext, associated, out);
  return out;
}

Result<Bytes> Open(const Key& key, ByteSpan sealed, ByteSpan associated) {
  if (sealed.size() < kAeadOverhead) return Corrupt("ciphertext too short");
  Bytes out(sealed.size() - kAeadOverhead);
  LB_RETURN_IF_ERROR(OpenTo(key, sealed, associated, out.data()));
  return out;
}

Status OpenTo(const Key& key, ByteSpan sealed, ByteSpan associated, uint8_t* out) {
  if (sealed.size() < kAeadOverhead) return Corrupt("ciphertext too short");
  const uint8_t* nonce = sealed.data();
  const uint8_t* ct = nonce + kNonceBytes;
  const size_t ct_len = sealed.size() - kAeadOverhead;
  const uint8_t* tag = ct + ct_len;
  ThreadGcm& c = OpenCtx();
  if (!c.Start(/*encrypt=*/false, key, nonce)) return Internal("AES-GCM context set-up failed");
  int len = 0;
  if (!associated.empty())
    EVP_DecryptUpdate(c.ctx, nullptr, &len, associated.data(), static_cast<int>(associated.size()));
  if (ct_len > 0) EVP_DecryptUpdate(c.ctx, out, &len, ct, static_cast<int>(ct_len));
  EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(tag));
  if (EVP_DecryptFinal_ex(c.ctx, out + ct_len, &len) != 1)
    return Corrupt("authentication failed (data damaged or wrong key)");
  return Status::Ok();
}

Result<Key> DeriveKey(const std::string& password, ByteSpan salt16, uint64_t ops,
                      uint64_t mem_bytes) {
  LB_RETURN_IF_ERROR(Init());
  if (salt16.size() != crypto_pwhash_SALTBYTES) return InvalidArgument("salt must be 16 bytes");
  if (ops < crypto_pwhash_OPSLIMIT_MIN || mem_bytes < crypto_pwhash_MEMLIMIT_MIN)
    return InvalidArgument("argon2id parameters too small");
  Key k;
  if (crypto_pwhash(k.data(), k.size(), password.data(), password.size(), salt16.data(), ops,
                    static_cast<size_t>(mem_bytes), crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status(Code::kIoError, "argon2id failed (out of memory?)");
  return k;
}

BoxKeyPair GenerateBoxKeyPair() {
  BoxKeyPair kp;
  crypto_box_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

Bytes SealToPublic(const Key& public_key, ByteSpan plaintext) {
  Bytes out(plaintext.size() + crypto_box_SEALBYTES);
  crypto_box_seal(out.data(), plaintext.data(), plaintext.size(), public_key.data());
  return out;
}

Result<Bytes> OpenSealed(const BoxKeyPair& keys, ByteSpan sealed) {
  if (sealed.size() < crypto_box_SEALBYTES) return Corrupt("sealed box too short");
  Bytes out(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(out.data(), sealed.data(), sealed.size(), keys.public_key.data(),
                           keys.secret_key.data()) != 0)
    return Corrupt("sealed box authentication failed");
  return out;
}

bool Equal(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

SignKeyPair SignKeyPairFromSeed(const Key& seed) {
  SignKeyPair k;
  crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
  return k;
}

Signature Sign(const SignKeyPair& keys, ByteSpan message) {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), keys.secret_key.data());
  return sig;
}

bool VerifySignature(const SignPublicKey& public_key, ByteSpan message, const Signature& sig) {
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), public_key.data()) == 0;
}

void Wipe(std::span<uint8_t> b) { sodium_memzero(b.data(), b.size()); }

}  // namespace lb::crypto
