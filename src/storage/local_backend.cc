#include <cctype>
#include <list>
#include <memory>
#include <mutex>
#include <vector>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

#include "base/direct_io.h"
#include "storage/backend.h"

namespace lb::storage {

bool ValidFileName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name[0] == '.') return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

const char* FileKindDir(FileKind k) {
  switch (k) {
    case FileKind::kConfig: return "config";
    case FileKind::kKey: return "keys";
    case FileKind::kData: return "data";
    case FileKind::kIndex: return "index";
    case FileKind::kSnapshot: return "snapshots";
    case FileKind::kLock: return "locks";
    case FileKind::kAudit: return "audit";
    case FileKind::kKeyring: return "keyring";
  }
  return "?";
}

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open " + dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + dir, errno);
  return Status::Ok();
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("mkdir " + path, errno);
  return Status::Ok();
}

std::string TempSuffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

class LocalBackend final : public Backend {
 public:
  explicit LocalBackend(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }

  std::string Location() const override { return root_; }
  // Each kept pack holds an ordinary and an O_DIRECT descriptor (Open).
  size_t KeptDescriptors() const override { return 2 * kKeptPacks; }

  Status Create() override {
    LB_RETURN_IF_ERROR(MakeDir(root_));
    for (FileKind k : {FileKind::kKey, FileKind::kData, FileKind::kIndex, FileKind::kSnapshot,
                       FileKind::kLock, FileKind::kAudit, FileKind::kKeyring})
      LB_RETURN_IF_ERROR(MakeDir(root_ + "/" + FileKindDir(k)));
    char sub[3];
    for (int i = 0; i < 256; ++i) {
      std::snprintf(sub, sizeof sub, "%02x", i);
      LB_RETURN_IF_ERROR(MakeDir(root_ + "/data/" + sub));
    }
    return SyncDir(root_);
  }

  Status Save(const Handle& h, ByteSpan data) override {
    LB_RETURN_IF_ERROR(CheckName(h));
    const std::string dir = DirOf(h);
    const std::string final_path = PathOf(h);
    const std::string tmp = dir + "/.tmp-" + TempSuffix();
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0 && errno == ENOENT) {
      // A directory may be missing when a repository was copied by a tool that
      // drops empty directories (git, some sync tools): create it on demand.
      LB_RETURN_IF_ERROR(MakeDir(dir));
      fd = Fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    }
    if (fd.get() < 0) return ErrnoStatus("create " + tmp, errno);
    Status st = Write(fd.get(), h.kind, data, tmp);
    if (st.ok() && ::fsync(fd.get()) != 0) st = ErrnoStatus("fsync " + tmp, errno);
    if (st.ok() && ::close(fd.release()) != 0) st = ErrnoStatus("close " + tmp, errno);
    if (st.ok() && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_path.c_str(),
                               RENAME_NOREPLACE) != 0) {
      st = ErrnoStatus("rename to " + final_path, errno);
    }
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
    return SyncDir(dir);
  }

  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override {
    Bytes out;
    LB_RETURN_IF_ERROR(Read(h, offset, length, [&](uint64_t n) {
      out.resize(n);
      return std::span<uint8_t>(out);
    }));
    return out;
  }

  Status LoadInto(const Handle& h, uint64_t offset, std::span<uint8_t> out) override {
    if (out.empty()) return InvalidArgument("LoadInto needs a length");
    return Read(h, offset, out.size(), [&](uint64_t) { return out; });
  }

  Result<uint64_t> Size(const Handle& h) override {
    LB_RETURN_IF_ERROR(CheckName(h));
    struct stat st;
    const std::string path = PathOf(h);
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat " + path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status List(FileKind kind,
              const std::function<Status(const std::string&, uint64_t)>& fn) override {
    if (kind == FileKind::kConfig) {
      auto size = Size({kind, "config"});
      if (!size.ok()) return size.status().code() == Code::kNotFound ? Status::Ok() : size.status();
      return fn("config", *size);
    }
    const std::string dir = root_ + "/" + FileKindDir(kind);
    if (kind != FileKind::kData) return ListDir(dir, fn, /*allow_missing=*/true);
    // data/XX/ for every two-character prefix present (names are usually hex ids).
    std::vector<std::string> subs;
    LB_RETURN_IF_ERROR(ListDir(dir, [&](const std::string& n, uint64_t) {
      if (n.size() == 2) subs.push_back(n);
      return Status::Ok();
    }, /*allow_missing=*/true));
    for (const auto& sub : subs) LB_RETURN_IF_ERROR(ListDir(dir + "/" + sub, fn, /*allow_missing=*/true));
    return Status::Ok();
  }

  Status Remove(const Handle& h) override {
    LB_RETURN_IF_ERROR(CheckName(h));
    const std::string path = PathOf(h);
    if (h.kind == FileKind::kData) Forget(path);
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("remove " + path, errno);
    // A lock that a crash brings back is a stale lock, as a crash during the
    // command leaves anyway; skipping its fsync spares a restore's last moment a
    // device cache flush behind everything it wrote. Other removals are durable.
    if (h.kind == FileKind::kLock) return Status::Ok();
    return SyncDir(DirOf(h));
  }

 private:
  // Reads [offset, offset + length) (length 0: to the end) into the memory
  // `dest(length)` returns once the length is known.
  template <typename Dest>
  Status Read(const Handle& h, uint64_t offset, uint64_t length, Dest&& dest) {
    LB_RETURN_IF_ERROR(CheckName(h));
    const std::string path = PathOf(h);
    LB_ASSIGN_OR_RETURN(OpenFile file, Open(h, path));
    const uint64_t size = file.size;
    if (offset > size || (length > 0 && offset + length > size))
      return Corrupt("read beyond end of " + path);
    if (length == 0) length = size - offset;
    const std::span<uint8_t> out = dest(length);
    const int direct = length >= kDirectMin && file.direct ? file.direct->get() : -1;
    LB_ASSIGN_OR_RETURN(size_t done, ReadAtDirect(file.fd->get(), direct, offset, out, path));
    if (done < length) return Corrupt("short read of " + path);
    return Status::Ok();
  }

  static Status CheckName(const Handle& h) {
    if (!ValidFileName(h.name))
      return InvalidArgument("invalid file name '" + h.name + "'");
    if (h.kind == FileKind::kData && h.name.size() < 2)
      return InvalidArgument("data file name too short: '" + h.name + "'");
    return Status::Ok();
  }

  std::string DirOf(const Handle& h) const {
    if (h.kind == FileKind::kConfig) return root_;
    std::string d = root_ + "/" + FileKindDir(h.kind);
    if (h.kind == FileKind::kData) d += "/" + h.name.substr(0, 2);
    return d;
  }

  std::string PathOf(const Handle& h) const {
    if (h.kind == FileKind::kConfig) return root_ + "/config";
    return DirOf(h) + "/" + h.name;
  }

  static Status ListDir(const std::string& dir,
                        const std::function<Status(const std::string&, uint64_t)>& fn,
                        bool allow_missing = false) {
    DIR* d = ::opendir(dir.c_str());
    if (!d && errno == ENOENT && allow_missing) return Status::Ok();
    if (!d) return ErrnoStatus("list " + dir, errno);
    Status result;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;  // ".", "..", temporary files
      struct stat st;
      if (::fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while listing
        result = ErrnoStatus("stat " + dir + "/" + e->d_name, errno);
        break;
      }
      result = fn(e->d_name, static_cast<uint64_t>(st.st_size));
      if (!result.ok()) break;
      errno = 0;
    }
    if (result.ok() && errno != 0) result = ErrnoStatus("list " + dir, errno);
    ::closedir(d);
    return result;
  }

  // Packs (written once, read back only by a restore or check) bypass the page
  // cache where the file system allows it; see base/direct_io.h.
  static Status Write(int fd, FileKind kind, ByteSpan data, const std::string& what) {
    const bool bulk = kind == FileKind::kData && data.size() >= kDirectMin;
    Fd direct(bulk ? ReopenDirect(fd, O_WRONLY) : -1);
    return WriteAtDirect(fd, direct.get(), 0, data, what);
  }

  // Open pack files, kept for the next read of the same pack: a restore or check
  // reads many blobs from each pack, and open + fstat + close per blob cost more
  // than the read. Packs are never rewritten in place (content-addressed, written
  // by rename), and Remove() drops its entry, so a kept descriptor reads what a
  // fresh open would. Other kinds are opened per read.
  struct OpenFile {
    std::shared_ptr<Fd> fd;
    std::shared_ptr<Fd> direct;  // packs: O_DIRECT for large reads (null if unsupported)
    uint64_t size = 0;
  };
  static constexpr size_t kKeptPacks = 32;

  Result<OpenFile> Open(const Handle& h, const std::string& path) {
    if (h.kind == FileKind::kData) {
      std::lock_guard<std::mutex> l(open_mu_);
      for (auto it = open_.begin(); it != open_.end(); ++it) {
        if (it->first != path) continue;
        if (it != open_.begin()) open_.splice(open_.begin(), open_, it);  // most recent first
        return open_.front().second;
      }
    }
    auto fd = std::make_shared<Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd->get() < 0) return ErrnoStatus("open " + path, errno);
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return ErrnoStatus("stat " + path, errno);
    OpenFile file{fd, nullptr, static_cast<uint64_t>(st.st_size)};
    if (h.kind == FileKind::kData) {
      // A restore or check reads a pack once: past the page cache (base/direct_io.h).
      auto direct = std::make_shared<Fd>(ReopenDirect(fd->get(), O_RDONLY));
      if (direct->get() >= 0) file.direct = std::move(direct);
      std::lock_guard<std::mutex> l(open_mu_);
      open_.emplace_front(path, file);
      if (open_.size() > kKeptPacks) open_.pop_back();
    }
    return file;
  }

  void Forget(const std::string& path) {
    std::lock_guard<std::mutex> l(open_mu_);
    open_.remove_if([&](const auto& e) { return e.first == path; });
  }

  std::string root_;
  std::mutex open_mu_;
  std::list<std::pair<std::string, OpenFile>> open_;  // most recently used first
};

}  // namespace

std::unique_ptr<Backend> NewLocalBackend(const std::string& root) {
  return std::make_unique<LocalBackend>(root);
}

}  // namespace lb::storage
