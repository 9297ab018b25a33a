// Dir and File: file-system access relative to directory file descriptors.
//
// Every operation takes a single path component (a name, any bytes except '/' and
// NUL) relative to an open directory, so trees deeper than PATH_MAX work and no
// operation ever follows a symlink: names are opened with O_NOFOLLOW, metadata is
// read and written with the AT_SYMLINK_NOFOLLOW / l* variants. This is what makes
// restore unable to escape its target directory through a symlink.
//
// Thread safety: a Dir or File may be used from one thread at a time; distinct
// objects are independent. File::ReadAt / WriteAt (pread/pwrite) may be called
// concurrently on one File.
// Errors: every failure is a Status from ErrnoStatus() naming the operation and
// the entry, e.g. "open 'foo': No such file or directory" (kNotFound).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "fs/metadata.h"

namespace lb::fs {

// What an entry just created is known to hold (see Dir::CreateFile, MakeDir,
// MakeSymlink): its owner and mode, and no extended attributes. ApplyMetadata
// skips the calls that would set what is already there.
struct Known {
  uint32_t uid = 0, gid = 0;
  uint32_t mode = 0;  // & 07777
};

class File {
 public:
  File() = default;
  explicit File(int fd) : fd_(fd) {}
  File(File&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  File& operator=(File&& o) noexcept;
  ~File();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Reads up to buf.size() bytes at offset; returns the count (0 at EOF). Retries EINTR.
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> buf) const;
  // Reads until buf is full or EOF; returns the count. With `enough`, also stops once
  // that many bytes are read (after at least one read): a caller that expects n bytes
  // and asks for n + 1 to see growth is then spared the read that would return EOF.
  Result<size_t> ReadFull(uint64_t offset, std::span<uint8_t> buf,
                          size_t enough = SIZE_MAX) const;
  // Writes all of data at offset.
  Status WriteAt(uint64_t offset, ByteSpan data) const;
  Status Truncate(uint64_t size) const;
  Status Sync() const;
  // fstat of the open file (to detect a file that changed while it was read).
  Result<Metadata> Stat() const;
  // Dir::ApplyMetadata through the descriptor (no path lookups): owner when
  // `chown`, mode, the exact xattr set, then atime/mtime. Call after the last
  // write. `name` is only for error messages. With `known` (what the file holds
  // already; the caller vouches for it), an owner or mode that is already right
  // is not set again, and xattrs are only set, never listed.
  Status ApplyMetadata(const Metadata& meta, bool chown, const std::string& name,
                       const Known* known = nullptr) const;
  Status Close();

 private:
  int fd_ = -1;
};

struct DirEntry {
  std::string name;
};

class Dir {
 public:
  Dir() = default;
  Dir(Dir&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Dir& operator=(Dir&& o) noexcept;
  ~Dir();

  // Opens a directory by path (absolute or relative to the cwd). Follows symlinks in
  // `path` itself (it is what the user named), O_DIRECTORY.
  static Result<Dir> Open(const std::string& path);
  // Creates the directory (and parents, mode 0700) if missing, then opens it.
  static Result<Dir> OpenOrCreate(const std::string& path);

  int fd() const { return fd_; }

  // Names in this directory except "." and "..", sorted bytewise.
  Result<std::vector<std::string>> List() const;
  // lstat + user/group names + xattrs + symlink target of `name`. xattrs that cannot
  // be read for lack of privilege (e.g. trusted.* as non-root) are skipped.
  Result<Metadata> Stat(const std::string& name) const;
  // The same, but when `previous` (the entry's metadata from an earlier read) has the
  // same type, inode, device, size, mtime and ctime, its xattrs and symlink target are
  // taken instead of read again: changing either changes ctime. Saves two syscalls per
  // unchanged entry on re-backups.
  Result<Metadata> Stat(const std::string& name, const Metadata* previous) const;
  // lstat only: no names, xattrs or link target (cheap; for scanning).
  Result<Metadata> StatBasic(const std::string& name) const;
  // Finishes `basic` (a StatBasic of `name`, possibly taken a while ago) into what
  // Stat(name, previous) returns: user/group names, then xattrs and link target,
  // read now unless `previous` matches as described there.
  Result<Metadata> Complete(const std::string& name, Metadata basic, const Metadata* previous) const;
  // Opens a child directory, never following a symlink (ELOOP/ENOTDIR -> error).
  Result<Dir> OpenDir(const std::string& name) const;
  // Opens a child regular file read-only (O_NOFOLLOW, O_NOATIME when permitted).
  Result<File> OpenRead(const std::string& name) const;

  // --- creating (restore) ---
  // mkdirat(name, mode) (less the umask); an existing directory is fine (and
  // keeps its mode). Any other existing entry with that name (file, symlink:
  // never followed) is removed and replaced. `created` (when given) tells
  // whether this call made the directory.
  Status MakeDir(const std::string& name, bool* created = nullptr, uint32_t mode = 0700) const;
  // Creates or truncates a regular file for writing (O_NOFOLLOW; `mode` applies,
  // less the umask, only to a new file). An existing non-regular entry with that
  // name is removed first. `created` (when given) tells whether the file is new
  // (O_EXCL succeeded) rather than an existing one truncated.
  Result<File> CreateFile(const std::string& name, uint32_t mode = 0600, bool* created = nullptr) const;
  // True unless new entries here are known to get nothing but the creator's
  // owner and the umasked mode: false when the directory has neither the setgid
  // bit (new entries would take its group) nor a default ACL (they would take
  // it as their ACL). True when that cannot be told.
  bool PassesOnAttributes() const;
  // Opens an existing regular file for writing without truncating (O_NOFOLLOW).
  Result<File> OpenWrite(const std::string& name) const;
  // symlinkat; an existing entry with that name is removed first.
  Status MakeSymlink(const std::string& name, const std::string& target) const;
  // mknodat for FIFOs, char/block devices and sockets; existing entry removed first.
  Status MakeNode(const std::string& name, const Metadata& meta) const;
  // linkat(from_dir/from_name -> this/name), never following symlinks; an existing
  // entry with that name is removed first.
  Status MakeHardlink(const Dir& from_dir, const std::string& from_name,
                      const std::string& name) const;
  // Removes a file, symlink or (recursively) a directory; missing is fine.
  Status Remove(const std::string& name) const;

  // Applies owner (only when `chown` is true: root, or ids equal to ours), mode,
  // xattrs (the exact set: extra user.* xattrs are removed), then atime/mtime, to
  // `name` without following symlinks. Mode is not applied to symlinks. Failures
  // to set security/trusted/system xattrs without privilege are skipped. With
  // `known` (what the entry holds already, and that it is of meta.type: the
  // caller made it and vouches for it), it is not stat'ed, an owner or mode that
  // is already right is not set again, and xattrs are only set, never listed.
  Status ApplyMetadata(const std::string& name, const Metadata& meta, bool chown,
                       const Known* known = nullptr) const;

 private:
  explicit Dir(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Returns the user name for uid / group name for gid, "" if none. Cached, thread-safe.
std::string UserName(uint32_t uid);
std::string GroupName(uint32_t gid);

// True when the process runs with effective uid 0.
bool IsRoot();

// The process's umask, read without changing it (/proc/self/status); empty when
// it cannot be read.
std::optional<uint32_t> Umask();

}  // namespace lb::fs
