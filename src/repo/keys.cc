#include "repo/keys.h"

#include <sodium.h>

#include <cstring>

#include <nlohmann/json.hpp>

namespace lb::repo {

using nlohmann::json;

namespace {

constexpr const char* kWrapAd = "lifeboat key v1";

std::string B64(ByteSpan b) {
  std::string out(sodium_base64_ENCODED_LEN(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Result<Bytes> UnB64(const std::string& s) {
  Bytes out(s.size());
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return Corrupt("invalid base64");
  out.resize(len);
  return out;
}

Result<crypto::Key> KeyFromB64(const json& j, const char* field) {
  LB_ASSIGN_OR_RETURN(Bytes b, UnB64(j.at(field).get<std::string>()));
  if (b.size() != 32) return Corrupt(std::string("key field ") + field + " has wrong length");
  crypto::Key k;
  std::copy(b.begin(), b.end(), k.begin());
  return k;
}

json MasterToJson(const MasterKeys& k) {
  json dk = json::array();
  for (const auto& d : k.data_keys)
    dk.push_back({{"version", d.version},
                  {"public", B64(d.pair.public_key)},
                  {"secret", B64(d.pair.secret_key)}});
  return {{"id_key", B64(k.id_key)},
          {"meta_key", B64(k.meta_key)},
          {"data_keys", dk},
          {"current", k.current}};
}

Result<MasterKeys> MasterFromJson(const json& j) {
  MasterKeys k;
  LB_ASSIGN_OR_RETURN(k.id_key, KeyFromB64(j, "id_key"));
  LB_ASSIGN_OR_RETURN(k.meta_key, KeyFromB64(j, "meta_key"));
  for (const json& d : j.at("data_keys")) {
    DataKey dk;
    dk.version = d.at("version").get<uint32_t>();
    LB_ASSIGN_OR_RETURN(dk.pair.public_key, KeyFromB64(d, "public"));
    LB_ASSIGN_OR_RETURN(dk.pair.secret_key, KeyFromB64(d, "secret"));
    k.data_keys.push_back(dk);
  }
  k.current = j.at("current").get<uint32_t>();
  if (k.Find(k.current) == nullptr) return Corrupt("current data key version missing");
  return k;
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

Result<std::string> EncodeKeyFile(const MasterKeys& keys, const std::string& password,
                                  const KdfParams& kdf, const KeyFileInfo& info) {
  Bytes salt(16);
  crypto::RandomBytes(salt);
  LB_ASSIGN_OR_RETURN(crypto::Key kek, crypto::DeriveKey(password, salt, kdf.ops, kdf.mem_bytes));
  std::string secret = MasterToJson(keys).dump();
  Bytes sealed = crypto::Seal(kek, AsBytes(secret), AsBytes(kWrapAd));
  crypto::Wipe({reinterpret_cast<uint8_t*>(secret.data()), secret.size()});
  crypto::Wipe(kek);
  json j = {
      {"version", 1},
      {"created", FormatTimeRfc3339(info.created)},
      {"created_ns", info.created},
      {"host", info.host},
      {"user", info.user},
      {"kdf", {{"algorithm", "argon2id"}, {"ops", kdf.ops}, {"mem", kdf.mem_bytes}, {"salt", B64(salt)}}},
      {"cipher", "aes-256-gcm"},
      {"data", B64(sealed)},
  };
  return j.dump(2) + "\n";
}

Result<MasterKeys> OpenKeyFile(const std::string& text, const std::string& password) {
  try {
    json j = json::parse(text);
    if (j.at("version").get<int>() != 1) return Unsupported("unknown key file version");
    const json& kdf = j.at("kdf");
    if (kdf.at("algorithm").get<std::string>() != "argon2id") return Unsupported("unknown kdf");
    LB_ASSIGN_OR_RETURN(Bytes salt, UnB64(kdf.at("salt").get<std::string>()));
    uint64_t ops = kdf.at("ops").get<uint64_t>();
    uint64_t mem = kdf.at("mem").get<uint64_t>();
    if (salt.size() != crypto_pwhash_SALTBYTES) return Corrupt("kdf salt has wrong length");
    if (ops < crypto_pwhash_OPSLIMIT_MIN || mem < crypto_pwhash_MEMLIMIT_MIN || ops > 100 ||
        mem > (uint64_t{16} << 30))
      return Corrupt("kdf parameters out of range");
    LB_ASSIGN_OR_RETURN(crypto::Key kek, crypto::DeriveKey(password, salt, ops, mem));
    LB_ASSIGN_OR_RETURN(Bytes sealed, UnB64(j.at("data").get<std::string>()));
    auto opened = crypto::Open(kek, sealed, AsBytes(kWrapAd));
    crypto::Wipe(kek);
    if (!opened.ok()) return Status(Code::kWrongPassword, "wrong password or damaged key file");
    json secret = json::parse(opened->begin(), opened->end());
    crypto::Wipe(*opened);
    return MasterFromJson(secret);
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed key file: ") + e.what());
  }
}

Result<KeyFileInfo> ReadKeyFileInfo(const std::string& text) {
  try {
    json j = json::parse(text);
    KeyFileInfo info;
    info.created = j.value("created_ns", int64_t{0});
    info.host = j.value("host", "");
    info.user = j.value("user", "");
    return info;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed key file: ") + e.what());
  }
}

}  // namespace lb::repo
