// File metadata as lifeboat records it: everything needed to recreate a file
// exactly (type, permission bits incl. setuid/setgid/sticky, owner, times with
// nanoseconds, extended attributes incl. POSIX ACLs stored as system.* xattrs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lb::fs {

enum class FileType : uint8_t {
  kRegular = 0,
  kDirectory = 1,
  kSymlink = 2,
  kFifo = 3,
  kCharDevice = 4,
  kBlockDevice = 5,
  kSocket = 6,
};

const char* FileTypeName(FileType t);  // "file", "dir", "symlink", "fifo", "chardev", "blockdev", "socket"

struct Xattr {
  std::string name;   // e.g. "user.comment", "system.posix_acl_access"
  std::string value;  // raw bytes
  bool operator==(const Xattr&) const = default;
};

struct Metadata {
  FileType type = FileType::kRegular;
  uint32_t mode = 0;  // st_mode & 07777 (permission, setuid, setgid, sticky)
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string user;   // name of uid at backup time, "" if unknown
  std::string group;  // name of gid at backup time, "" if unknown
  uint64_t size = 0;  // st_size (regular files, symlinks)
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;  // st_dev (to tell file systems apart and group hardlinks)
  uint64_t nlink = 0;
  uint64_t rdev = 0;    // device nodes only
  std::string symlink_target;  // symlinks only, raw bytes
  std::vector<Xattr> xattrs;   // sorted by name
};

}  // namespace lb::fs
