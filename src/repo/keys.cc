#include "repo/keys.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
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

constexpr const char* kWrapAd = "lifeboat key v1";

std::string B64(ByteSpan b) {
  std::string out(sodium_base64_ENCODED_LEN(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<Bytes> UnB64(const std::string& s) {
  // An empty vector's data() may be null, which libsodium must not be given.
  if (s.empty()) return Bytes{};
  Bytes out(s.size());
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return Corrupt("invalid base64");
  out.resize(len);
  return out;
}



Result<crypto::Key> KeyFromB64(const json& j, const char* field) {
  LB_ASSIGN_OR_RETURN(Bytes b, UnB64(Str(j.at(field), field)));
  if (b.size() != 32) return Corrupt(std::string("key field ") + field + " has wrong length");
  crypto::Key k;
  std::copy(b.begin(), b.end(), k.begin());
  crypto::Wipe(b);
  return k;
}

json MasterToJson(const MasterKeys& k) {
  json dk = json::array();
  for (const auto& d : k.data_keys) {
    json e = {{"version", d.version}, {"public", B64(d.pair.public_key)}};
    if (!k.append_only) e["secret"] = B64(d.pair.secret_key);
    dk.push_back(e);
  }
  json out = {{"id_key", B64(k.id_key)},
              {"meta_key", B64(k.meta_key)},
              {"data_keys", dk},
              {"current", k.current}};
  if (k.append_only) out["append_only"] = true;
  return out;
}

Result<MasterKeys> MasterFromJson(const json& j) {
  if (!j.is_object()) return Corrupt("master keys are not a JSON object");
  MasterKeys k;
  LB_ASSIGN_OR_RETURN(k.id_key, KeyFromB64(j, "id_key"));
  LB_ASSIGN_OR_RETURN(k.meta_key, KeyFromB64(j, "meta_key"));
  if (j.contains("append_only")) {
    if (!j.at("append_only").is_boolean()) return Corrupt("append_only is not a boolean");
    k.append_only = j.at("append_only").get<bool>();
  }
  const json& dks = j.at("data_keys");
  if (!dks.is_array() || dks.empty()) return Corrupt("data_keys is not a non-empty array");
  for (const json& d : dks) {
    if (!d.is_object()) return Corrupt("data key is not a JSON object");
    DataKey dk;
    dk.version = Int<uint32_t>(d.at("version"), "data key version");
    if (!k.data_keys.empty() && dk.version <= k.data_keys.back().version)
      return Corrupt("data key versions not ascending");
    LB_ASSIGN_OR_RETURN(dk.pair.public_key, KeyFromB64(d, "public"));
    dk.pair.secret_key.fill(0);
    if (!k.append_only) {
      LB_ASSIGN_OR_RETURN(dk.pair.secret_key, KeyFromB64(d, "secret"));
    } else if (d.contains("secret")) {
      return Corrupt("append-only key carries a secret data key");
    }
    k.data_keys.push_back(dk);
  }
  k.current = Int<uint32_t>(j.at("current"), "current");
  if (k.Find(k.current) == nullptr) return Corrupt("current data key version missing");
  return k;
}

// The plaintext fields; all optional, but typed when present.
KeyFileInfo InfoFromJson(const json& j) {
  KeyFileInfo info;
  if (j.contains("created_ns")) info.created = Int<int64_t>(j.at("created_ns"), "created_ns");
  if (j.contains("host")) info.host = Str(j.at("host"), "host");
  if (j.contains("user")) info.user = Str(j.at("user"), "user");
  return info;
}

}  // namespace

MasterKeys MasterKeys::Generate() {
  MasterKeys k;
  k.id_key = crypto::RandomKey();
  k.meta_key = crypto::RandomKey();
  k.data_keys.push_back({1, crypto::GenerateBoxKeyPair()});
  k.current = 1;
  return k;
}

const DataKey* MasterKeys::Find(uint32_t version) const {
  for (const auto& d : data_keys)
    if (d.version == version) return &d;
  return nullptr;
}

const DataKey& MasterKeys::Current() const { return *Find(current); }

MasterKeys MasterKeys::AppendOnly() const {
  MasterKeys k = *this;
  k.append_only = true;
  for (auto& d : k.data_keys) d.pair.secret_key.fill(0);
  return k;
}

std::string EncodeKeyFileFields(const KeyFileFields& f) {
  json j = {
      {"version", 1},
      {"created", FormatTimeRfc3339(f.info.created)},
      {"created_ns", f.info.created},
      {"host", f.info.host},
      {"user", f.info.user},
      {"kdf",
       {{"algorithm", "argon2id"},
        {"ops", f.kdf.ops},
        {"mem", f.kdf.mem_bytes},
        {"salt", B64(f.salt)}}},
      {"cipher", "aes-256-gcm"},
      {"data", B64(f.data)},
      {"sign_public", f.sign_public},
  };
  // Host and user names come from the system and need not be UTF-8.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<KeyFileFields> ParseKeyFile(const std::string& text) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Corrupt("malformed key file: not a JSON object");
    const int64_t version = Int<int64_t>(j.at("version"), "version");
    if (version != 1) return Unsupported("unknown key file version " + std::to_string(version));
    KeyFileFields f;
    f.info = InfoFromJson(j);
    const json& kdf = j.at("kdf");
    if (!kdf.is_object()) return Corrupt("malformed key file: kdf is not an object");
    if (Str(kdf.at("algorithm"), "kdf algorithm") != "argon2id") return Unsupported("unknown kdf");
    if (j.contains("cipher") && Str(j.at("cipher"), "cipher") != "aes-256-gcm")
      return Unsupported("unknown key file cipher");
    LB_ASSIGN_OR_RETURN(f.salt, UnB64(Str(kdf.at("salt"), "salt")));
    f.kdf.ops = Int<uint64_t>(kdf.at("ops"), "kdf ops");
    f.kdf.mem_bytes = Int<uint64_t>(kdf.at("mem"), "kdf mem");
    if (f.salt.size() != crypto_pwhash_SALTBYTES) return Corrupt("kdf salt has wrong length");
    if (f.kdf.ops < crypto_pwhash_OPSLIMIT_MIN || f.kdf.mem_bytes < crypto_pwhash_MEMLIMIT_MIN ||
        f.kdf.ops > 100 || f.kdf.mem_bytes > (uint64_t{16} << 30))
      return Corrupt("kdf parameters out of range");
    LB_ASSIGN_OR_RETURN(f.data, UnB64(Str(j.at("data"), "data")));
    if (j.contains("sign_public")) f.sign_public = Str(j.at("sign_public"), "sign_public");
    if (f.data.size() < crypto::kAeadOverhead) return Corrupt("key file data too short");
    return f;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed key file: ") + e.what());
  }
}

std::string EncodeMasterKeys(const MasterKeys& keys) { return MasterToJson(keys).dump(); }

Result<MasterKeys> DecodeMasterKeys(ByteSpan text) {
  try {
    json j = json::parse(text.begin(), text.end());
    return MasterFromJson(j);
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed master keys: ") + e.what());
  }
}

namespace {

crypto::Key SignSeed(const crypto::Key& kek) {
  const Id h = crypto::HmacSha256(kek, AsBytes(std::string("lifeboat audit signer v1")));
  crypto::Key seed;
  std::copy(h.b.begin(), h.b.end(), seed.begin());
  return seed;
}

}  // namespace

Result<std::pair<std::string, crypto::Key>> EncodeKeyFileWithSigner(const MasterKeys& keys,
                                                                    const std::string& password,
                                                                    const KdfParams& kdf,
                                                                    const KeyFileInfo& info) {
  KeyFileFields f;
  f.info = info;
  f.kdf = kdf;
  f.salt.resize(crypto_pwhash_SALTBYTES);
  crypto::RandomBytes(f.salt);
  LB_ASSIGN_OR_RETURN(crypto::Key kek, crypto::DeriveKey(password, f.salt, kdf.ops, kdf.mem_bytes));
  std::string secret = EncodeMasterKeys(keys);
  f.data = crypto::Seal(kek, AsBytes(secret), AsBytes(kWrapAd));
  const crypto::Key seed = SignSeed(kek);
  f.sign_public = HexEncode(crypto::SignKeyPairFromSeed(seed).public_key);
  crypto::Wipe({reinterpret_cast<uint8_t*>(secret.data()), secret.size()});
  crypto::Wipe(kek);
  return std::make_pair(EncodeKeyFileFields(f), seed);
}

Result<std::string> EncodeKeyFile(const MasterKeys& keys, const std::string& password,
                                  const KdfParams& kdf, const KeyFileInfo& info) {
  LB_ASSIGN_OR_RETURN(auto r, EncodeKeyFileWithSigner(keys, password, kdf, info));
  return std::move(r.first);
}

Result<OpenedKey> OpenKeyFileWithSigner(const std::string& text, const std::string& password) {
  LB_ASSIGN_OR_RETURN(KeyFileFields f, ParseKeyFile(text));
  LB_ASSIGN_OR_RETURN(crypto::Key kek,
                      crypto::DeriveKey(password, f.salt, f.kdf.ops, f.kdf.mem_bytes));
  auto opened = crypto::Open(kek, f.data, AsBytes(kWrapAd));
  OpenedKey out;
  out.sign_seed = SignSeed(kek);
  crypto::Wipe(kek);
  if (!opened.ok()) return Status(Code::kWrongPassword, "wrong password or damaged key file");
  auto keys = DecodeMasterKeys(*opened);
  crypto::Wipe(*opened);
  if (!keys.ok()) return keys.status();
  out.keys = std::move(keys).value();
  return out;
}

Result<MasterKeys> OpenKeyFile(const std::string& text, const std::string& password) {
  LB_ASSIGN_OR_RETURN(OpenedKey k, OpenKeyFileWithSigner(text, password));
  return std::move(k.keys);
}

Result<std::string> ReadKeyFileSigner(const std::string& text) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Corrupt("malformed key file: not a JSON object");
    return j.contains("sign_public") ? Str(j.at("sign_public"), "sign_public") : std::string();
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed key file: ") + e.what());
  }
}

// Deliberately lenient: only the plaintext fields must be well-formed, so that
// `key list` still shows a key file this version cannot open (damaged or newer).
Result<KeyFileInfo> ReadKeyFileInfo(const std::string& text) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Corrupt("malformed key file: not a JSON object");
    return InfoFromJson(j);
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed key file: ") + e.what());
  }
}

}  // namespace lb::repo
