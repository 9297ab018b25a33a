// Backend: where repository files live. Knows nothing about the repository format.
//
// Contract every implementation keeps (the conformance tests check it):
// - Save is atomic: a reader sees the whole file or nothing, never a partial one.
//   Save never replaces an existing file: it fails with kAlreadyExists.
// - A file that Save reported as stored is durable (fsync'ed locally).
// - Load of a missing file is kNotFound; a range beyond the end is kCorrupt.
// - List reports every file of a kind or fails; it never returns a short list.
// - Remove of a missing file is kNotFound.
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace lb::storage {

enum class FileKind { kConfig, kKey, kData, kIndex, kSnapshot, kLock, kAudit, kKeyring };

const char* FileKindDir(FileKind k);  // "config", "keys", "data", "index", "snapshots", "locks", "audit", "keyring"

// A file name every backend accepts: 1-255 characters of [A-Za-z0-9_.-], not starting
// with '.'. Save of any other name is kInvalidArgument.
bool ValidFileName(const std::string& name);

struct Handle {
  FileKind kind;
  std::string name;  // for kConfig, "config"; otherwise a file name without '/'
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Human-readable location, e.g. "/srv/backup" or "s3:http://host/bucket".
  virtual std::string Location() const = 0;
  // Creates whatever layout the backend needs (directories). Idempotent.
  virtual Status Create() = 0;
  virtual Status Save(const Handle& h, ByteSpan data) = 0;
  // Reads `length` bytes at `offset`; length 0 means "to the end".
  virtual Result<Bytes> Load(const Handle& h, uint64_t offset = 0, uint64_t length = 0) = 0;
  // Reads exactly out.size() (> 0) bytes at `offset` into `out` (caller memory,
  // not zeroed first: a restore reads every pack range this way into buffers it
  // reuses). Fails like Load, and also when fewer bytes could be read; `out` then
  // holds garbage. The default goes through Load.
  virtual Status LoadInto(const Handle& h, uint64_t offset, std::span<uint8_t> out) {
    Result<Bytes> r = Load(h, offset, out.size());
    if (!r.ok()) return r.status();
    if (r->size() != out.size()) return Corrupt("short read of " + h.name);
    std::memcpy(out.data(), r->data(), out.size());
    return Status::Ok();
  }
  virtual Result<uint64_t> Size(const Handle& h) = 0;
  // Calls fn(name, size) for every file of `kind`; stops and returns fn's first error.
  virtual Status List(FileKind kind,
                      const std::function<Status(const std::string&, uint64_t)>& fn) = 0;
  virtual Status Remove(const Handle& h) = 0;
  // How many file descriptors the backend may keep open between calls (a cache
  // of open files), so that a caller sizing its own use of descriptors against
  // RLIMIT_NOFILE (a restore keeping created files open) leaves room for them.
  // Wrappers add their member backends' counts. Thread safety: any thread.
  virtual size_t KeptDescriptors() const { return 0; }
};

// The repository on a local (or mounted) file system. Files are written to a
// temporary name, fsync'ed, renamed into place with RENAME_NOREPLACE, and the
// directory is fsync'ed. Data files live in data/XX/ where XX are the first two
// characters of the name.
std::unique_ptr<Backend> NewLocalBackend(const std::string& root);

}  // namespace lb::storage
