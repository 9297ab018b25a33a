#include "fs/dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <unordered_map>

#include "base/direct_io.h"

namespace lb::fs {
namespace {

// Owns a raw file descriptor inside this file.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Status Err(const char* op, const std::string& name, int err) {
  return ErrnoStatus(std::string(op) + " '" + name + "'", err);
}

// What a name may be: any component for reading, no ".." for changing the entry
// itself (ApplyMetadata, MakeDir), neither "." nor ".." for creating/removing.
enum class NameUse { kRead, kModify, kEntry };

Status CheckName(const std::string& name, NameUse use) {
  bool bad = name.empty() || name.find('/') != std::string::npos ||
             name.find('\0') != std::string::npos;
  if (use != NameUse::kRead && name == "..") bad = true;
  if (use == NameUse::kEntry && name == ".") bad = true;
  if (bad) return InvalidArgument("invalid file name '" + name + "'");
  return Status::Ok();
}

FileType TypeFromMode(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFDIR: return FileType::kDirectory;
    case S_IFLNK: return FileType::kSymlink;
    case S_IFIFO: return FileType::kFifo;
    case S_IFCHR: return FileType::kCharDevice;
    case S_IFBLK: return FileType::kBlockDevice;
    case S_IFSOCK: return FileType::kSocket;
    default: return FileType::kRegular;
  }
}

int64_t ToNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct timespec FromNs(int64_t ns) {
  int64_t sec = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {  // floor division for times before 1970
    rem += 1000000000;
    sec -= 1;
  }
  struct timespec ts = {};
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(rem);
  return ts;
}

Metadata FromStat(const struct stat& st) {
  Metadata m;
  m.type = TypeFromMode(st.st_mode);
  m.mode = st.st_mode & 07777;
  m.uid = st.st_uid;
  m.gid = st.st_gid;
  if (m.type == FileType::kRegular || m.type == FileType::kSymlink) {
    m.size = static_cast<uint64_t>(st.st_size);
  }
  m.mtime_ns = ToNs(st.st_mtim);
  m.atime_ns = ToNs(st.st_atim);
  m.ctime_ns = ToNs(st.st_ctim);
  m.inode = st.st_ino;
  m.device = st.st_dev;
  m.nlink = st.st_nlink;
  if (m.type == FileType::kCharDevice || m.type == FileType::kBlockDevice) {
    m.rdev = st.st_rdev;
  }
  return m;
}

// lstat of `name` in dirfd; errno preserved on failure.
bool LStat(int dirfd, const std::string& name, struct stat* st) {
  return ::fstatat(dirfd, name.c_str(), st, AT_SYMLINK_NOFOLLOW) == 0;
}

Result<std::string> ReadLink(int dirfd, const std::string& name, size_t hint) {
  size_t cap = std::max<size_t>(hint + 1, 256);
  for (;;) {
    std::string buf(cap, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return Err("readlink", name, errno);
    if (static_cast<size_t>(n) < cap) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    cap *= 2;  // possibly truncated: grow and retry
  }
}

// --- extended attributes ---
// An entry is addressed either by /proc/self/fd/<dirfd>/<name> (the l* calls: never
// following a symlink) or by an open descriptor of the entry itself (the f* calls).

std::string ProcPath(int dirfd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
}

struct XattrTarget {
  std::string path;  // used when fd < 0
  int fd = -1;

  ssize_t List(char* buf, size_t size) const {
    return fd >= 0 ? ::flistxattr(fd, buf, size) : ::llistxattr(path.c_str(), buf, size);
  }
  ssize_t Get(const std::string& attr, void* buf, size_t size) const {
    return fd >= 0 ? ::fgetxattr(fd, attr.c_str(), buf, size)
                   : ::lgetxattr(path.c_str(), attr.c_str(), buf, size);
  }
  int Set(const std::string& attr, const std::string& value) const {
    return fd >= 0 ? ::fsetxattr(fd, attr.c_str(), value.data(), value.size(), 0)
                   : ::lsetxattr(path.c_str(), attr.c_str(), value.data(), value.size(), 0);
  }
  int Remove(const std::string& attr) const {
    return fd >= 0 ? ::fremovexattr(fd, attr.c_str()) : ::lremovexattr(path.c_str(), attr.c_str());
  }
};

bool NoXattrSupport(int err) { return err == ENOTSUP || err == ENODATA; }

Result<std::vector<std::string>> ListXattrNames(const XattrTarget& target,
                                                const std::string& name) {
  std::vector<std::string> names;
  std::string buf;
  for (;;) {
    ssize_t size = target.List(nullptr, 0);
    if (size < 0) {
      if (NoXattrSupport(errno)) return names;
      return Err("listxattr", name, errno);
    }
    if (size == 0) return names;
    buf.assign(static_cast<size_t>(size), '\0');
    ssize_t n = target.List(buf.data(), buf.size());
    if (n >= 0) {
      buf.resize(static_cast<size_t>(n));
      break;
    }
    if (errno != ERANGE) {
      if (NoXattrSupport(errno)) return names;
      return Err("listxattr", name, errno);
    }
  }
  size_t pos = 0;
  while (pos < buf.size()) {
    size_t end = buf.find('\0', pos);
    if (end == std::string::npos) end = buf.size();
    if (end > pos) names.push_back(buf.substr(pos, end - pos));
    pos = end + 1;
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Reads one xattr value. Returns false in *present when it vanished or cannot be
// read for lack of privilege.
Status GetXattr(const XattrTarget& target, const std::string& name,
                const std::string& attr, std::string* value, bool* present) {
  *present = false;
  for (;;) {
    ssize_t size = target.Get(attr, nullptr, 0);
    if (size < 0) break;
    value->assign(static_cast<size_t>(size), '\0');
    ssize_t n = target.Get(attr, value->data(), value->size());
    if (n >= 0) {
      value->resize(static_cast<size_t>(n));
      *present = true;
      return Status::Ok();
    }
    if (errno != ERANGE) break;
  }
  int err = errno;
  if (NoXattrSupport(err) || err == EPERM || err == EACCES) return Status::Ok();
  return Err("getxattr", name + "' '" + attr, err);
}

Result<std::vector<Xattr>> ReadXattrs(int dirfd, const std::string& name) {
  const XattrTarget target{ProcPath(dirfd, name)};
  LB_ASSIGN_OR_RETURN(std::vector<std::string> names, ListXattrNames(target, name));
  std::vector<Xattr> out;
  for (const std::string& attr : names) {
    Xattr x{attr, {}};
    bool present = false;
    LB_RETURN_IF_ERROR(GetXattr(target, name, attr, &x.value, &present));
    if (present) out.push_back(std::move(x));
  }
  return out;
}

bool IsUserXattr(const std::string& attr) { return attr.rfind("user.", 0) == 0; }

// Removes xattrs present on the entry but absent from `want`: user.* always, other
// namespaces (except security.selinux) only as root.
Status RemoveExtraXattrs(const XattrTarget& target, const std::string& name,
                         const std::vector<Xattr>& want) {
  LB_ASSIGN_OR_RETURN(std::vector<std::string> have, ListXattrNames(target, name));
  std::set<std::string> wanted;
  for (const Xattr& x : want) wanted.insert(x.name);
  for (const std::string& attr : have) {
    if (wanted.count(attr) != 0) continue;
    bool user = IsUserXattr(attr);
    if (!user && (!IsRoot() || attr == "security.selinux")) continue;
    if (target.Remove(attr) == 0) continue;
    int err = errno;
    if (err == ENODATA) continue;
    if (!user && (err == EPERM || err == ENOTSUP || err == EACCES)) continue;
    return Err("removexattr", name + "' '" + attr, err);
  }
  return Status::Ok();
}

// Sets every xattr of `want` (those outside user.* only where permitted).
Status SetWantedXattrs(const XattrTarget& target, const std::string& name,
                       const std::vector<Xattr>& want) {
  for (const Xattr& x : want) {
    if (target.Set(x.name, x.value) == 0) continue;
    int err = errno;
    if (!IsUserXattr(x.name) && (err == EPERM || err == ENOTSUP)) continue;
    return Err("setxattr", name + "' '" + x.name, err);
  }
  return Status::Ok();
}

Status SetXattrs(const XattrTarget& target, const std::string& name,
                 const std::vector<Xattr>& want) {
  LB_RETURN_IF_ERROR(RemoveExtraXattrs(target, name, want));
  return SetWantedXattrs(target, name, want);
}

// --- user and group names ---

template <typename Lookup>
std::string CachedName(std::mutex& mu, std::unordered_map<uint32_t, std::string>& cache,
                       uint32_t id, Lookup lookup) {
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(id);
    if (it != cache.end()) return it->second;
  }
  std::string name = lookup(id);
  std::lock_guard<std::mutex> lock(mu);
  cache.emplace(id, name);
  return name;
}

size_t InitialBufSize(int which) {
  long n = ::sysconf(which);
  return n > 0 ? static_cast<size_t>(n) : 1024;
}

std::string LookupUser(uint32_t uid) {
  std::vector<char> buf(InitialBufSize(_SC_GETPW_R_SIZE_MAX));
  for (;;) {
    struct passwd pw = {};
    struct passwd* res = nullptr;
    int rc = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return (rc == 0 && res != nullptr && res->pw_name != nullptr) ? res->pw_name : "";
  }
}

std::string LookupGroup(uint32_t gid) {
  std::vector<char> buf(InitialBufSize(_SC_GETGR_R_SIZE_MAX));
  for (;;) {
    struct group gr = {};
    struct group* res = nullptr;
    int rc = ::getgrgid_r(gid, &gr, buf.data(), buf.size(), &res);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    return (rc == 0 && res != nullptr && res->gr_name != nullptr) ? res->gr_name : "";
  }
}

}  // namespace

// ---------------------------------------------------------------- File

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    Close().IgnoreError();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

File::~File() { Close().IgnoreError(); }

Result<size_t> File::ReadAt(uint64_t offset, std::span<uint8_t> buf) const {
  for (;;) {
    ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoStatus("read", errno);
  }
}

Result<size_t> File::ReadFull(uint64_t offset, std::span<uint8_t> buf, size_t enough) const {
  size_t done = 0;
  while (done < buf.size()) {
    LB_ASSIGN_OR_RETURN(size_t n, ReadAt(offset + done, buf.subspan(done)));
    if (n == 0) break;
    done += n;
    if (done >= enough) break;
  }
  return done;
}

Status File::WriteAt(uint64_t offset, ByteSpan data) const {
  return WriteAtDirect(fd_, /*direct_fd=*/-1, offset, data, "file");
}

Status File::Truncate(uint64_t size) const {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return ErrnoStatus("truncate", errno);
  return Status::Ok();
}

Status File::Sync() const {
  if (::fsync(fd_) != 0) return ErrnoStatus("fsync", errno);
  return Status::Ok();
}

Result<Metadata> File::Stat() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return ErrnoStatus("fstat", errno);
  return FromStat(st);
}

Status File::Close() {
  if (fd_ < 0) return Status::Ok();
  int fd = fd_;
  fd_ = -1;
  // Linux always releases the descriptor, even on EINTR: never retry.
  if (::close(fd) != 0 && errno != EINTR) return ErrnoStatus("close", errno);
  return Status::Ok();
}

Status File::ApplyMetadata(const Metadata& meta, bool chown, const std::string& name,
                           const Known* known) const {
  // Same order as Dir::ApplyMetadata: chown clears setuid/setgid, chmod rewrites
  // the ACL mask, every change touches the times. A known mode without
  // setuid/setgid bits survives a chown.
  const uint32_t mode = meta.mode & 07777;
  const bool owner_known = known && known->uid == meta.uid && known->gid == meta.gid;
  const bool mode_known = known && known->mode == mode && (mode & 06000) == 0;
  if (chown && !owner_known && ::fchown(fd_, meta.uid, meta.gid) != 0) return Err("chown", name, errno);
  if (!mode_known && ::fchmod(fd_, mode) != 0) return Err("chmod", name, errno);
  const XattrTarget xattrs{{}, fd_};
  LB_RETURN_IF_ERROR(known ? SetWantedXattrs(xattrs, name, meta.xattrs) : SetXattrs(xattrs, name, meta.xattrs));
  struct timespec times[2] = {FromNs(meta.atime_ns), FromNs(meta.mtime_ns)};
  if (::futimens(fd_, times) != 0) return Err("utimes", name, errno);
  return Status::Ok();
}

// ---------------------------------------------------------------- Dir

Dir& Dir::operator=(Dir&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Dir::~Dir() {
  if (fd_ >= 0) ::close(fd_);
}

Result<Dir> Dir::Open(const std::string& path) {
  if (path.empty()) return InvalidArgument("open '': empty path");
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Err("open", path, errno);
  return Dir(fd);
}

Result<Dir> Dir::OpenOrCreate(const std::string& path) {
  if (path.empty()) return InvalidArgument("open '': empty path");
  // Walks component by component with *at() calls, so long paths work too.
  int fd = ::open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Err("open", path, errno);
  Dir cur(fd);
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string comp = path.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (::mkdirat(cur.fd_, comp.c_str(), 0700) != 0 && errno != EEXIST) {
      return Err("mkdir", path, errno);
    }
    int next = ::openat(cur.fd_, comp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (next < 0) return Err("open", path, errno);
    cur = Dir(next);
  }
  return cur;
}

Result<std::vector<std::string>> Dir::List() const {
  // getdents64 on our own descriptor: three calls for a small directory, where
  // dup + fdopendir + rewinddir + readdir + closedir made seven.
  if (::lseek(fd_, 0, SEEK_SET) < 0) return ErrnoStatus("list: rewind", errno);
  std::vector<std::string> names;
  alignas(8) char buf[32768];
  for (;;) {
    const ssize_t n = ::getdents64(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("list: getdents", errno);
    if (n == 0) break;
    for (ssize_t pos = 0; pos < n;) {
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[]
      uint16_t reclen;
      std::memcpy(&reclen, buf + pos + 16, sizeof reclen);
      const char* name = buf + pos + 19;
      if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) names.emplace_back(name);
      pos += reclen;
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<Metadata> Dir::StatBasic(const std::string& name) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kRead));
  struct stat st;
  if (!LStat(fd_, name, &st)) return Err("stat", name, errno);
  return FromStat(st);
}

Result<Metadata> Dir::Stat(const std::string& name) const { return Stat(name, nullptr); }

Result<Metadata> Dir::Stat(const std::string& name, const Metadata* previous) const {
  LB_ASSIGN_OR_RETURN(Metadata m, StatBasic(name));
  return Complete(name, std::move(m), previous);
}

Result<Metadata> Dir::Complete(const std::string& name, Metadata m, const Metadata* previous) const {
  m.user = UserName(m.uid);
  m.group = GroupName(m.gid);
  if (previous && previous->type == m.type && previous->inode == m.inode && previous->device == m.device &&
      previous->ctime_ns == m.ctime_ns && previous->mtime_ns == m.mtime_ns && m.inode != 0 &&
      (m.type == FileType::kSymlink ? previous->symlink_target.size() == m.size : previous->size == m.size)) {
    m.symlink_target = previous->symlink_target;
    if (m.type == FileType::kSymlink) m.size = m.symlink_target.size();
    m.xattrs = previous->xattrs;
    return m;
  }
  if (m.type == FileType::kSymlink) {
    LB_ASSIGN_OR_RETURN(m.symlink_target, ReadLink(fd_, name, m.size));
    m.size = m.symlink_target.size();
  }
  LB_ASSIGN_OR_RETURN(m.xattrs, ReadXattrs(fd_, name));
  return m;
}

Result<Dir> Dir::OpenDir(const std::string& name) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kRead));
  int fd = ::openat(fd_, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Err("open", name, errno);
  return Dir(fd);
}

Result<File> Dir::OpenRead(const std::string& name) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kRead));
  const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(fd_, name.c_str(), flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(fd_, name.c_str(), flags);
  if (fd < 0) return Err("open", name, errno);
  return File(fd);
}

Status Dir::MakeDir(const std::string& name, bool* created, uint32_t mode) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kModify));
  if (created) *created = false;
  if (::mkdirat(fd_, name.c_str(), mode) == 0) {
    if (created) *created = true;
    return Status::Ok();
  }
  if (errno != EEXIST) return Err("mkdir", name, errno);
  struct stat st;
  if (!LStat(fd_, name, &st)) return Err("stat", name, errno);
  if (S_ISDIR(st.st_mode)) return Status::Ok();
  // A file or symlink stands where the directory belongs: replace it.
  LB_RETURN_IF_ERROR(Remove(name));
  if (::mkdirat(fd_, name.c_str(), mode) != 0) return Err("mkdir", name, errno);
  if (created) *created = true;
  return Status::Ok();
}

Result<File> Dir::CreateFile(const std::string& name, uint32_t mode, bool* created) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kEntry));
  if (created) *created = false;
  // The common case (nothing there yet) costs one call; O_EXCL never follows a
  // symlink and never opens a device or FIFO that is in the way.
  int fd = ::openat(fd_, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd >= 0) {
    if (created) *created = true;
    return File(fd);
  }
  if (errno != EEXIST) return Err("create", name, errno);
  struct stat st;
  const bool replace = LStat(fd_, name, &st) && !S_ISREG(st.st_mode);
  if (replace) LB_RETURN_IF_ERROR(Remove(name));
  fd = ::openat(fd_, name.c_str(), O_WRONLY | O_CREAT | (replace ? O_EXCL : O_TRUNC) | O_NOFOLLOW | O_CLOEXEC,
                mode);
  if (fd < 0) return Err("create", name, errno);
  if (created) *created = replace;
  return File(fd);
}

Result<File> Dir::OpenWrite(const std::string& name) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kEntry));
  int fd = ::openat(fd_, name.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Err("open", name, errno);
  return File(fd);
}

Status Dir::MakeSymlink(const std::string& name, const std::string& target) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kEntry));
  if (::symlinkat(target.c_str(), fd_, name.c_str()) == 0) return Status::Ok();
  if (errno != EEXIST) return Err("symlink", name, errno);
  LB_RETURN_IF_ERROR(Remove(name));
  if (::symlinkat(target.c_str(), fd_, name.c_str()) != 0) return Err("symlink", name, errno);
  return Status::Ok();
}

Status Dir::MakeNode(const std::string& name, const Metadata& meta) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kEntry));
  mode_t type = 0;
  switch (meta.type) {
    case FileType::kFifo: type = S_IFIFO; break;
    case FileType::kCharDevice: type = S_IFCHR; break;
    case FileType::kBlockDevice: type = S_IFBLK; break;
    case FileType::kSocket: type = S_IFSOCK; break;
    default:
      return InvalidArgument("mknod '" + name + "': not a special file type (" +
                             FileTypeName(meta.type) + ")");
  }
  const mode_t mode = type | 0600;
  const dev_t rdev = static_cast<dev_t>(meta.rdev);
  if (::mknodat(fd_, name.c_str(), mode, rdev) == 0) return Status::Ok();
  if (errno != EEXIST) return Err("mknod", name, errno);
  LB_RETURN_IF_ERROR(Remove(name));
  if (::mknodat(fd_, name.c_str(), mode, rdev) != 0) return Err("mknod", name, errno);
  return Status::Ok();
}

Status Dir::MakeHardlink(const Dir& from_dir, const std::string& from_name,
                         const std::string& name) const {
  LB_RETURN_IF_ERROR(CheckName(from_name, NameUse::kEntry));
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kEntry));
  if (::linkat(from_dir.fd_, from_name.c_str(), fd_, name.c_str(), 0) == 0) {
    return Status::Ok();
  }
  if (errno != EEXIST) return Err("link", name, errno);
  struct stat from_st, to_st;
  if (!LStat(from_dir.fd_, from_name, &from_st)) return Err("stat", from_name, errno);
  if (LStat(fd_, name, &to_st) && from_st.st_dev == to_st.st_dev &&
      from_st.st_ino == to_st.st_ino) {
    return Status::Ok();  // already linked (or the very same entry): never remove it
  }
  LB_RETURN_IF_ERROR(Remove(name));
  if (::linkat(from_dir.fd_, from_name.c_str(), fd_, name.c_str(), 0) != 0) {
    return Err("link", name, errno);
  }
  return Status::Ok();
}

Status Dir::Remove(const std::string& name) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kEntry));
  if (::unlinkat(fd_, name.c_str(), 0) == 0) return Status::Ok();
  int err = errno;
  if (err == ENOENT) return Status::Ok();
  if (err != EISDIR && err != EPERM) return Err("remove", name, err);
  struct stat st;
  if (!LStat(fd_, name, &st)) return errno == ENOENT ? Status::Ok() : Err("stat", name, errno);
  if (!S_ISDIR(st.st_mode)) return Err("remove", name, err);
  // Make sure we may list and delete the contents (matters when not root).
  if ((st.st_mode & 0700) != 0700) ::fchmodat(fd_, name.c_str(), 0700, 0);
  {
    LB_ASSIGN_OR_RETURN(Dir sub, OpenDir(name));
    LB_ASSIGN_OR_RETURN(std::vector<std::string> names, sub.List());
    for (const std::string& child : names) LB_RETURN_IF_ERROR(sub.Remove(child));
  }
  if (::unlinkat(fd_, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return Err("rmdir", name, errno);
  }
  return Status::Ok();
}

Status Dir::ApplyMetadata(const std::string& name, const Metadata& meta, bool chown,
                          const Known* known) const {
  LB_RETURN_IF_ERROR(CheckName(name, NameUse::kModify));
  bool is_link = meta.type == FileType::kSymlink;  // known: the caller made it so
  if (known == nullptr) {
    struct stat st;
    if (!LStat(fd_, name, &st)) return Err("stat", name, errno);
    is_link = S_ISLNK(st.st_mode);
  }
  // chown first: it clears setuid/setgid, which chmod then sets again. A known
  // mode without setuid/setgid bits survives a chown (as in File::ApplyMetadata).
  const uint32_t mode = meta.mode & 07777;
  const bool owner_known = known && known->uid == meta.uid && known->gid == meta.gid;
  const bool mode_known = known && known->mode == mode && (mode & 06000) == 0;
  if (chown && !owner_known &&
      ::fchownat(fd_, name.c_str(), meta.uid, meta.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return Err("chown", name, errno);
  }
  if (!is_link && !mode_known) {
    int rc = ::fchmodat(fd_, name.c_str(), mode, AT_SYMLINK_NOFOLLOW);
    if (rc != 0 && (errno == ENOTSUP || errno == ENOSYS)) {
      rc = ::fchmodat(fd_, name.c_str(), mode, 0);  // checked above: not a symlink
    }
    if (rc != 0) return Err("chmod", name, errno);
  }
  // After chmod, which rewrites the ACL mask. A known entry has no xattrs to list.
  if (known == nullptr) {
    LB_RETURN_IF_ERROR(SetXattrs(XattrTarget{ProcPath(fd_, name)}, name, meta.xattrs));
  } else if (!meta.xattrs.empty()) {
    LB_RETURN_IF_ERROR(SetWantedXattrs(XattrTarget{ProcPath(fd_, name)}, name, meta.xattrs));
  }
  // Times last: every change above touches them.
  struct timespec times[2] = {FromNs(meta.atime_ns), FromNs(meta.mtime_ns)};
  if (::utimensat(fd_, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Err("utimes", name, errno);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- names

std::string UserName(uint32_t uid) {
  static std::mutex mu;
  static std::unordered_map<uint32_t, std::string> cache;
  return CachedName(mu, cache, uid, LookupUser);
}

std::string GroupName(uint32_t gid) {
  static std::mutex mu;
  static std::unordered_map<uint32_t, std::string> cache;
  return CachedName(mu, cache, gid, LookupGroup);
}

bool IsRoot() { return ::geteuid() == 0; }

std::optional<uint32_t> Umask() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (f == nullptr) return std::nullopt;
  char line[256];
  std::optional<uint32_t> mask;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned v = 0;
    if (std::sscanf(line, "Umask: %o", &v) == 1) {
      mask = v & 0777;
      break;
    }
  }
  std::fclose(f);
  return mask;
}

bool Dir::PassesOnAttributes() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0 || (st.st_mode & S_ISGID) != 0) return true;
  if (::fgetxattr(fd_, "system.posix_acl_default", nullptr, 0) >= 0) return true;
  return errno != ENODATA && errno != ENOTSUP;
}

}  // namespace lb::fs
