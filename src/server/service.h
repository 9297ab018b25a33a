// The repository server's request handling, independent of the HTTP library:
// one Call in, one Reply out. Serves every repository below `root` (ROOT/NAME),
// each through storage::NewLocalBackend, so files are written exactly as a local
// repository writes them (temporary file, fsync, rename without replace).
//
// Every request is authenticated (Authorization: Bearer SECRET) and checked
// against the token's role (protocol.h) before storage is touched:
//   401 no or unknown token, 403 the role forbids it, 400 bad name or a file whose
//   name is not the SHA-256 of its bytes, 404 missing repository or file,
//   409 the file exists (Save never overwrites), 413 an oversized lock from a
//   non-admin token, 416 a range beyond the end, 507 no space, 500 other failures.
// Error bodies are one line of text; server paths are not revealed.
//
// Lock ownership (which token created which lock file, so read and append tokens
// may remove their own locks only) is kept in memory: after a restart, locks from
// before can be removed by an admin token only, or are ignored once stale.
//
// Thread safety: Handle and Authenticate may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "server/protocol.h"
#include "server/tokens.h"
#include "storage/backend.h"

namespace lb::server {

struct Call {
  std::string method;         // GET, HEAD, POST, DELETE
  std::string path;           // decoded path without the query
  bool create = false;        // the query has create=true
  std::string authorization;  // the Authorization header ("" when absent)
  std::string range;          // the Range header ("" when absent)
  ByteSpan body;              // not owned
};

struct Reply {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

struct ServiceOptions {
  std::string root;  // directory holding one repository per subdirectory
  // Refuse content-addressed files whose name is not the SHA-256 of their bytes.
  // Only the generic backend tests turn this off (their file names are arbitrary).
  bool verify_names = true;
};

class Service {
 public:
  Service(ServiceOptions options, TokenStore tokens);

  Reply Handle(const Call& call);
  // The checks that need no body (token, path, repository, role): the reply to send
  // instead of performing the call, or nullopt when it may go ahead. Lets the HTTP
  // layer refuse an upload before reading it into memory.
  std::optional<Reply> Refuse(const Call& call);
  // The token an Authorization header carries, if it is valid.
  std::optional<Token> Authenticate(const std::string& authorization) const;

 private:
  // A call that passed every check that needs no body.
  struct Admitted {
    Token who;
    Target target;
    storage::Backend* backend = nullptr;  // null for a repository creation
  };
  std::variant<Reply, Admitted> Admit(const Call& call);
  std::optional<Reply> Authorize(const Call& call, const Admitted& a);
  Reply Create(const Admitted& a);
  Reply List(const Admitted& a);
  Reply Get(const Admitted& a, const Call& call);
  Reply Save(const Admitted& a, const Call& call);
  Reply Remove(const Admitted& a);
  // The backend of an existing repository; kNotFound when ROOT/NAME is no directory.
  Result<storage::Backend*> Repo(const std::string& name, bool create);
  bool OwnsLock(const Token& who, const Target& t);
  Reply Error(const Status& st) const;

  ServiceOptions o_;
  TokenStore tokens_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<storage::Backend>> repos_;  // by NAME
  std::map<std::string, std::string> lock_owner_;                    // "NAME/FILE" -> token id
};

}  // namespace lb::server
