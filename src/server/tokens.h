// Access tokens of the repository server and the roles they carry.
//
// Tokens file (text, one token per line; blank lines and lines starting with '#'
// are ignored):
//
//     ID ROLE SHA256HEX
//
// ID is 1-64 characters of [A-Za-z0-9_.-], unique in the file; ROLE is read,
// append or admin; SHA256HEX is the SHA-256 (64 lowercase hex digits) of the
// secret the client sends as "Authorization: Bearer SECRET". The secret itself
// is never stored: AddToken generates it, returns it once and appends the line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/id.h"
#include "base/status.h"

namespace lb::server {

// read: GET/HEAD/list, plus its own lock files. append: read + create new files
// (never overwrite, never delete but its own locks). admin: everything.
enum class Role { kRead, kAppend, kAdmin };

const char* RoleName(Role r);  // "read", "append", "admin"
// kInvalidArgument for any other name.
Result<Role> ParseRole(std::string_view name);
bool ValidTokenId(std::string_view id);

struct Token {
  std::string id;
  Role role = Role::kRead;
  Id hash;  // SHA-256 of the secret
};

// An immutable set of tokens. Thread safety: const methods may be called concurrently.
class TokenStore {
 public:
  // kInvalidArgument naming the line for a malformed entry or a duplicate id.
  static Result<TokenStore> Parse(std::string_view text, const std::string& what);
  // kNotFound when the file is missing, kIoError when unreadable, else as Parse.
  static Result<TokenStore> Load(const std::string& path);

  // The token whose hash is SHA-256(secret). Every entry is compared in constant
  // time (no early exit), so timing says nothing about which hashes are stored.
  std::optional<Token> Find(std::string_view secret) const;
  bool HasId(std::string_view id) const;
  size_t size() const { return tokens_.size(); }

 private:
  std::vector<Token> tokens_;
};

// Generates a random secret (32 bytes, 64 hex digits), appends "ID ROLE HASH" to
// `path` (created with mode 0600 when missing; written with O_APPEND and fsync'ed)
// and returns the secret, which is shown nowhere else. kAlreadyExists when the id
// is taken, kInvalidArgument for a bad id, kIoError/kPermission from the file system.
Result<std::string> AddToken(const std::string& path, const std::string& id, Role role);

}  // namespace lb::server
