// The repository server's REST protocol, as pure functions (no I/O): which
// object a request path names, which byte range a Range header asks for, and
// what each role may do. docs/storage.md ("Repository server") describes the
// protocol for clients.
//
//   POST   /NAME/?create=true     create the repository's layout (admin)
//   HEAD   /NAME/config           size;  GET: the bytes;  POST: save;  DELETE: remove
//   GET    /NAME/KIND/            list: JSON [{"name": ..., "size": ...}, ...]
//   HEAD|GET|POST|DELETE /NAME/KIND/FILE   as for config; GET takes Range: bytes=A-B
//
// KIND is storage::FileKindDir of a kind other than config (keys, data, index,
// snapshots, locks, audit, keyring). NAME and FILE follow storage::ValidFileName.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "server/tokens.h"
#include "storage/backend.h"

namespace lb::server {

// What a request path names.
struct Target {
  std::string repo;                     // NAME
  std::optional<storage::FileKind> kind;  // absent: the repository itself ("/NAME/")
  std::string file;                     // empty with a kind: the listing of that kind
  bool IsRepo() const { return !kind; }
  bool IsList() const { return kind && file.empty(); }
};

// kNotFound for a path that names nothing in the protocol, kInvalidArgument for a
// repository or file name that storage::ValidFileName refuses ("..", "a b", ...).
Result<Target> ParseTarget(const std::string& path);

// "bytes=A-B" (inclusive) or "bytes=A-" -> {offset, length}; length 0 means to the
// end. Other forms (suffix ranges, several ranges, B < A) are kInvalidArgument.
struct ByteRange {
  uint64_t offset = 0, length = 0;
};
Result<ByteRange> ParseRange(const std::string& header);

// What a request does to the storage.
enum class Op { kRead, kCreateRepo, kSave, kRemove };

// Whether `role` may do `op` on files of `kind` (ignored for kRead and kCreateRepo).
// `own_lock`: the lock file to remove was created by the same token.
//   read:   kRead; kSave of locks; kRemove of its own locks
//   append: as read, plus kSave of every kind but config
//   admin:  everything
bool Allowed(Role role, Op op, storage::FileKind kind, bool own_lock);

// Whether files of `kind` must be named by the SHA-256 (hex) of their bytes:
// every kind except config and locks (docs/format.md).
bool ContentAddressed(storage::FileKind kind);

}  // namespace lb::server
