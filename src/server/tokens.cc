#include "server/tokens.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "crypto/crypto.h"
#include "server/append_file.h"

namespace lb::server {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kRead: return "read";
    case Role::kAppend: return "append";
    case Role::kAdmin: return "admin";
  }
  return "?";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role r : {Role::kRead, Role::kAppend, Role::kAdmin})
    if (name == RoleName(r)) return r;
  return InvalidArgument("unknown role '" + std::string(name) + "' (use read, append or admin)");
}

bool ValidTokenId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (unsigned char c : id)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

namespace {

Result<Token> ParseLine(const std::string& line) {
  std::istringstream in(line);
  std::string id, role, hash, extra;
  in >> id >> role >> hash;
  if (hash.empty() || (in >> extra)) return InvalidArgument("expected 'ID ROLE SHA256HEX'");
  if (!ValidTokenId(id)) return InvalidArgument("invalid token id '" + id + "'");
  Token t;
  t.id = id;
  LB_ASSIGN_OR_RETURN(t.role, ParseRole(role));
  auto h = Id::FromHex(hash);
  if (!h.ok() || h->Hex() != hash) return InvalidArgument("the hash is not 64 lowercase hex digits");
  t.hash = *h;
  return t;
}

}  // namespace

Result<TokenStore> TokenStore::Parse(std::string_view text, const std::string& what) {
  TokenStore store;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    auto t = ParseLine(line);
    if (!t.ok()) return t.status().WithContext(what + " line " + std::to_string(n));
    if (store.HasId(t->id))
      return InvalidArgument(what + " line " + std::to_string(n) + ": duplicate token id '" + t->id + "'");
    store.tokens_.push_back(std::move(*t));
  }
  return store;
}

Result<TokenStore> TokenStore::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus("open tokens file " + path, errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return IoError("read tokens file " + path);
  return Parse(text.str(), path);
}

std::optional<Token> TokenStore::Find(std::string_view secret) const {
  const Id h = crypto::Sha256(AsBytes(secret));
  std::optional<Token> found;
  for (const Token& t : tokens_)
    if (crypto::Equal(t.hash.b, h.b) && !found) found = t;
  return found;
}

bool TokenStore::HasId(std::string_view id) const {
  for (const Token& t : tokens_)
    if (t.id == id) return true;
  return false;
}

Result<std::string> AddToken(const std::string& path, const std::string& id, Role role) {
  if (!ValidTokenId(id)) return InvalidArgument("invalid token id '" + id + "': use 1-64 of [A-Za-z0-9_.-]");
  auto existing = TokenStore::Load(path);
  if (!existing.ok() && existing.status().code() != Code::kNotFound) return existing.status();
  if (existing.ok() && existing->HasId(id))
    return Status(Code::kAlreadyExists, "token id '" + id + "' exists in " + path);
  Bytes secret(32);
  crypto::RandomBytes(secret);
  const std::string secret_hex = HexEncode(secret);
  const std::string line =
      id + " " + RoleName(role) + " " + crypto::Sha256(AsBytes(secret_hex)).Hex() + "\n";
  LB_ASSIGN_OR_RETURN(auto file, AppendFile::Open(path, 0600));
  LB_RETURN_IF_ERROR(file->Append(line));
  return secret_hex;
}

}  // namespace lb::server
