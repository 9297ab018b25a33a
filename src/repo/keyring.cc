#include "repo/keyring.h"

#include <nlohmann/json.hpp>

#include "base/json_checked.h"
#include "crypto/crypto.h"

namespace lb::repo {

namespace {

using nlohmann::json;

crypto::Key WrapKey(const DataKey& wrapping) {
  const Id h = crypto::HmacSha256(wrapping.pair.secret_key, AsBytes(std::string("lifeboat keyring v1")));
  crypto::Key k;
  std::copy(h.b.begin(), h.b.end(), k.begin());
  return k;
}

std::string Ad(uint32_t version, uint32_t wrapped_with) {
  return "lifeboat keyring v1 " + std::to_string(version) + " " + std::to_string(wrapped_with);
}

}  // namespace

std::string EncodeKeyringEntry(const DataKey& added, const DataKey& wrapping, TimeNs created) {
  Bytes inner(added.pair.secret_key.begin(), added.pair.secret_key.end());
  inner.insert(inner.end(), added.pair.public_key.begin(), added.pair.public_key.end());
  crypto::Key k = WrapKey(wrapping);
  Bytes sealed = crypto::Seal(k, inner, AsBytes(Ad(added.version, wrapping.version)));
  crypto::Wipe(k);
  crypto::Wipe(inner);
  json j = {{"v", 1},
            {"version", added.version},
            {"wrapped_with", wrapping.version},
            {"created_ns", created},
            {"created", FormatTimeRfc3339(created)},
            {"public", HexEncode(added.pair.public_key)},
            {"data", HexEncode(sealed)}};
  return j.dump(2) + "\n";
}

std::string EncodeRetirement(uint32_t retired_below, TimeNs created) {
  json j = {{"v", 1}, {"retired_below", retired_below}, {"created_ns", created}, {"created", FormatTimeRfc3339(created)}};
  return j.dump(2) + "\n";
}

Result<KeyringEntry> ParseKeyringEntry(const std::string& text) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return Corrupt("keyring entry is not a JSON object");
    if (json_checked::Int<int>(j.at("v"), "v") != 1) return Unsupported("unknown keyring entry version");
    KeyringEntry e;
    if (j.contains("retired_below")) {
      e.retired_below = json_checked::Int<uint32_t>(j.at("retired_below"), "retired_below");
      e.created = json_checked::Int<int64_t>(j.at("created_ns"), "created_ns");
      e.text = text;
      return e;
    }
    e.version = json_checked::Int<uint32_t>(j.at("version"), "version");
    e.wrapped_with = json_checked::Int<uint32_t>(j.at("wrapped_with"), "wrapped_with");
    e.created = json_checked::Int<int64_t>(j.at("created_ns"), "created_ns");
    if (e.version <= e.wrapped_with) return Corrupt("keyring entry wraps a newer version with an older one");
    e.text = text;
    return e;
  } catch (const std::exception& ex) {
    return Corrupt(std::string("malformed keyring entry: ") + ex.what());
  }
}

Result<DataKey> OpenKeyringEntry(const KeyringEntry& e, const DataKey& wrapping) {
  if (wrapping.version != e.wrapped_with) return InvalidArgument("wrong wrapping version");
  json j = json::parse(e.text);
  LB_ASSIGN_OR_RETURN(Bytes sealed, HexDecode(j.at("data").get<std::string>()));
  crypto::Key k = WrapKey(wrapping);
  auto inner = crypto::Open(k, sealed, AsBytes(Ad(e.version, e.wrapped_with)));
  crypto::Wipe(k);
  if (!inner.ok() || inner->size() != 64) return Corrupt("keyring entry for version " + std::to_string(e.version) +
                                                         " does not open");
  DataKey d;
  d.version = e.version;
  std::copy(inner->begin(), inner->begin() + 32, d.pair.secret_key.begin());
  std::copy(inner->begin() + 32, inner->end(), d.pair.public_key.begin());
  crypto::Wipe(*inner);
  if (HexEncode(d.pair.public_key) != j.at("public").get<std::string>())
    return Corrupt("keyring entry for version " + std::to_string(e.version) + ": public key mismatch");
  return d;
}

}  // namespace lb::repo
