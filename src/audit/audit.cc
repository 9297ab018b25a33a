#include "audit/audit.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "repo/keys.h"

namespace lb::audit {

namespace {

using nlohmann::json;
constexpr const char* kAd = "lifeboat audit v1";
constexpr TimeNs kClockSlack = 300LL * 1000000000LL;  // hosts' clocks differ a little

json BodyJson(const Entry& e) {
  return {{"v", 1},          {"seq", e.seq},         {"prev", e.prev},       {"time", e.time},
          {"host", e.host},  {"user", e.user},       {"key_id", e.key_id},   {"command", e.command},
          {"added", e.added}, {"removed", e.removed}, {"signer", e.signer}};
}

Result<Bytes> Unhex(const std::string& hex, size_t size) {
  auto b = HexDecode(hex);
  if (!b.ok() || b->size() != size) return Corrupt("bad hex field");
  return b;
}

bool SignatureOk(const Entry& e) {
  auto pub = Unhex(e.signer, 32);
  auto sig = Unhex(e.signature, 64);
  if (!pub.ok() || !sig.ok()) return false;
  crypto::SignPublicKey pk;
  crypto::Signature s;
  std::copy(pub->begin(), pub->end(), pk.begin());
  std::copy(sig->begin(), sig->end(), s.begin());
  return crypto::VerifySignature(pk, AsBytes(Body(e)), s);
}

std::string Short(const std::string& name) { return name.substr(0, 8); }

}  // namespace

const char* KindName(Finding::Kind k) {
  switch (k) {
    case Finding::Kind::kEdited: return "edited";
    case Finding::Kind::kForged: return "forged";
    case Finding::Kind::kRemoved: return "removed";
    case Finding::Kind::kReordered: return "reordered";
  }
  return "?";
}

std::string Body(const Entry& e) { return BodyJson(e).dump(); }

Bytes EncodeFile(const crypto::Key& meta_key, const Entry& e) {
  json j = BodyJson(e);
  j["signature"] = e.signature;
  return crypto::Seal(meta_key, AsBytes(j.dump()), AsBytes(std::string(kAd)));
}

Result<Entry> DecodeFile(const crypto::Key& meta_key, ByteSpan file) {
  auto plain = crypto::Open(meta_key, file, AsBytes(std::string(kAd)));
  if (!plain.ok()) return Corrupt("audit entry does not decrypt");
  try {
    json j = json::parse(plain->begin(), plain->end());
    if (j.at("v").get<int>() != 1) return Unsupported("unknown audit entry version");
    Entry e;
    e.seq = j.at("seq").get<uint64_t>();
    e.prev = j.at("prev").get<std::vector<std::string>>();
    e.time = j.at("time").get<int64_t>();
    e.host = j.at("host").get<std::string>();
    e.user = j.at("user").get<std::string>();
    e.key_id = j.at("key_id").get<std::string>();
    e.command = j.at("command").get<std::string>();
    e.added = j.at("added").get<std::vector<std::string>>();
    e.removed = j.at("removed").get<std::vector<std::string>>();
    e.signer = j.at("signer").get<std::string>();
    e.signature = j.at("signature").get<std::string>();
    return e;
  } catch (const std::exception& ex) {
    return Corrupt(std::string("malformed audit entry: ") + ex.what());
  }
}

Log VerifyFiles(const crypto::Key& meta_key, const std::map<std::string, Bytes>& files,
                const std::map<std::string, std::string>& signers) {
  Log log;
  std::map<std::string, Entry> ok;
  for (const auto& [name, bytes] : files) {
    if (crypto::Sha256(bytes).Hex() != name) {
      log.findings.push_back({Finding::Kind::kEdited, name, "entry " + Short(name) + ": its bytes do not match its name"});
      continue;
    }
    auto e = DecodeFile(meta_key, bytes);
    if (!e.ok()) {
      log.findings.push_back({Finding::Kind::kEdited, name, "entry " + Short(name) + ": " + e.status().message()});
      continue;
    }
    ok[name] = std::move(e).value();
  }
  std::vector<std::pair<std::string, Entry>> sorted(ok.begin(), ok.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.seq, a.second.time, a.first) < std::tie(b.second.seq, b.second.time, b.first);
  });
  std::map<std::string, std::string> seen_signer;  // key id -> signer of its earliest entry
  std::set<std::string> named;
  for (const auto& [name, e] : sorted) {
    const std::string who = "entry " + Short(name) + " (" + e.command + ")";
    if (!SignatureOk(e)) {
      log.findings.push_back({Finding::Kind::kForged, name, who + ": the signature does not verify"});
    } else {
      auto pub = signers.find(e.key_id);
      if (pub != signers.end() && !pub->second.empty() && pub->second != e.signer) {
        log.findings.push_back({Finding::Kind::kForged, name,
                                who + ": not signed by key " + Short(e.key_id) + ", which it names"});
      } else if (auto s = seen_signer.find(e.key_id); s != seen_signer.end() && s->second != e.signer) {
        log.findings.push_back({Finding::Kind::kForged, name,
                                who + ": signed by another signer than key " + Short(e.key_id) + "'s earlier entries"});
      } else {
        seen_signer.emplace(e.key_id, e.signer);
      }
    }
    uint64_t max_seq = 0;
    TimeNs max_time = 0;
    bool any = false;
    for (const auto& p : e.prev) {
      named.insert(p);
      auto it = ok.find(p);
      if (it == ok.end()) {
        if (!files.count(p))
          log.findings.push_back({Finding::Kind::kRemoved, p,
                                  "entry " + Short(p) + " is missing (named as the predecessor of " + who + ")"});
        continue;
      }
      any = true;
      max_seq = std::max(max_seq, it->second.seq);
      max_time = std::max(max_time, it->second.time);
    }
    const uint64_t want = e.prev.empty() ? 0 : max_seq + 1;
    if (any && e.seq != want)
      log.findings.push_back({Finding::Kind::kReordered, name,
                              who + ": sequence number " + std::to_string(e.seq) + ", expected " + std::to_string(want)});
    else if (any && e.time + kClockSlack < max_time)
      log.findings.push_back({Finding::Kind::kReordered, name, who + ": dated before its predecessor"});
    else if (e.prev.empty() && e.seq != 0)
      log.findings.push_back({Finding::Kind::kReordered, name,
                              who + ": sequence number " + std::to_string(e.seq) + " but no predecessor"});
  }
  for (const auto& [name, e] : sorted)
    if (!named.count(name)) log.heads.push_back(name);
  log.entries = std::move(sorted);
  return log;
}

Result<Log> Verify(repo::Repository& repo) {
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR_CTX(repo.backend().List(storage::FileKind::kAudit,
                                              [&](const std::string& n, uint64_t) {
                                                names.push_back(n);
                                                return Status::Ok();
                                              }),
                         "list audit entries");
  std::map<std::string, Bytes> files;
  for (const auto& n : names) {
    LB_ASSIGN_OR_RETURN_CTX(Bytes b, repo.backend().Load({storage::FileKind::kAudit, n}), "audit entry " + n);
    files[n] = std::move(b);
  }
  std::map<std::string, std::string> signers;
  LB_ASSIGN_OR_RETURN(auto keys, repo.ListKeys());
  for (const auto& k : keys) {
    auto text = repo.backend().Load({storage::FileKind::kKey, k.id});
    if (!text.ok()) continue;
    auto pub = repo::ReadKeyFileSigner(ToString(*text));
    if (pub.ok()) signers[k.id] = *pub;
  }
  return VerifyFiles(repo.keys().meta_key, files, signers);
}

Result<std::string> Append(repo::Repository& repo, const std::string& command,
                           std::vector<std::string> added, std::vector<std::string> removed,
                           const std::string& host, const std::string& user, const Clock& clock) {
  // Heads: entries no other entry names. Reads every entry (small files).
  std::vector<std::string> names;
  LB_RETURN_IF_ERROR_CTX(repo.backend().List(storage::FileKind::kAudit,
                                              [&](const std::string& n, uint64_t) {
                                                names.push_back(n);
                                                return Status::Ok();
                                              }),
                         "list audit entries");
  std::map<std::string, uint64_t> seq;
  std::set<std::string> named;
  for (const auto& n : names) {
    auto b = repo.backend().Load({storage::FileKind::kAudit, n});
    if (!b.ok()) continue;  // a damaged entry is verify's business, not a reason to stop logging
    auto e = DecodeFile(repo.keys().meta_key, *b);
    if (!e.ok()) continue;
    seq[n] = e->seq;
    named.insert(e->prev.begin(), e->prev.end());
  }
  Entry e;
  for (const auto& [n, s] : seq)
    if (!named.count(n)) {
      e.prev.push_back(n);
      e.seq = std::max(e.seq, s + 1);
    }
  std::sort(e.prev.begin(), e.prev.end());
  e.time = clock.Now();
  e.host = host;
  e.user = user;
  e.key_id = repo.key_id();
  e.command = command;
  e.added = std::move(added);
  e.removed = std::move(removed);
  const crypto::SignKeyPair signer = repo.audit_signer();
  e.signer = HexEncode(signer.public_key);
  e.signature = HexEncode(crypto::Sign(signer, AsBytes(Body(e))));
  const Bytes file = EncodeFile(repo.keys().meta_key, e);
  const std::string name = crypto::Sha256(file).Hex();
  LB_RETURN_IF_ERROR_CTX(repo.backend().Save({storage::FileKind::kAudit, name}, file), "save audit entry");
  return name;
}

}  // namespace lb::audit
