#include "restorer/restorer.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "archiver/archiver.h"
#include "base/clock.h"
#include "base/direct_io.h"
#include "snapshot/store.h"
#include "storage/backend.h"
#include "storage/wrappers.h"

namespace lb::restorer {
namespace {

namespace sfs = std::filesystem;

const repo::KdfParams kCheapKdf{1, 8 << 20};

// n bytes from a seeded generator (incompressible: each chunk is stored as it is).
std::string RandomString(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(n, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

std::string ReadAll(const sfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class RestorerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-restorer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    src_ = root_ / "src";
    sfs::create_directories(src_ / "a");
    sfs::create_directories(src_ / "b");
    std::mt19937_64 rng(7);
    // 400 small incompressible files in two directories, and one of 3 MiB (several
    // chunks) with a run of zeros: with 1 MiB packs, several files share a pack and
    // the large one spans packs.
    for (int i = 0; i < 400; ++i) {
      std::string data(1000 + rng() % 12000, '\0');
      for (auto& c : data) c = static_cast<char>(rng());
      std::ofstream(src_ / (i % 2 ? "a" : "b") / ("f" + std::to_string(i)), std::ios::binary) << data;
    }
    std::string big(3u << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i)
      if (i < (1u << 20) || i > (2u << 20)) big[i] = static_cast<char>(rng());
    std::ofstream(src_ / "big", std::ios::binary) << big;

    repo::InitOptions o;
    o.kdf = kCheapKdf;
    o.pack_size = 1u << 20;
    auto r = repo::Repository::Init(storage::NewLocalBackend((root_ / "repo").string()), "pw", o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    archiver::Options a;
    a.paths = {src_.string()};
    SystemClock clock;
    auto b = archiver::Backup(**r, a, clock);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    snap_ = b->snapshot;
  }
  void TearDown() override { sfs::remove_all(root_); }

  std::unique_ptr<repo::Repository> Open(std::unique_ptr<storage::Backend> be) {
    auto r = repo::Repository::Open(std::move(be), "pw");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  // Every source file is restored below target with the same bytes.
  void ExpectRestored(const sfs::path& target) {
    size_t n = 0;
    for (const auto& e : sfs::recursive_directory_iterator(src_)) {
      if (!e.is_regular_file()) continue;
      const sfs::path copy = target / e.path().relative_path();
      ASSERT_TRUE(sfs::exists(copy)) << copy;
      ASSERT_EQ(ReadAll(e.path()), ReadAll(copy)) << copy;
      ++n;
    }
    EXPECT_EQ(n, 401u);
  }

  // Restores the fixture's snapshot to root_/out; nullopt when the repository
  // does not open (for tests that must undo a setting before asserting).
  std::optional<Result<Stats>> RestoreSnapshot() {
    auto repo = Open(storage::NewLocalBackend((root_ / "repo").string()));
    if (!repo) return std::nullopt;
    Options o;
    o.target = (root_ / "out").string();
    return Restore(*repo, snap_, o);
  }

  // Backs `dir` up into the fixture's repository and restores that snapshot to
  // root_/out; returns the restore's result (the backup must succeed).
  Result<Stats> BackUpAndRestore(const sfs::path& dir) {
    auto repo = Open(storage::NewLocalBackend((root_ / "repo").string()));
    if (!repo) return Internal("open failed");
    archiver::Options a;
    a.paths = {dir.string()};
    SystemClock clock;
    auto b = archiver::Backup(*repo, a, clock);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (!b.ok()) return b.status();
    Options o;
    o.target = (root_ / "out").string();
    o.threads = 2;
    return Restore(*repo, b->snapshot, o);
  }

  uint64_t PackCount() {
    uint64_t n = 0;
    for (const auto& e : sfs::recursive_directory_iterator(root_ / "repo" / "data"))
      n += e.is_regular_file();
    return n;
  }

  uint64_t PackBytes() {
    uint64_t total = 0;
    for (const auto& e : sfs::recursive_directory_iterator(root_ / "repo" / "data"))
      if (e.is_regular_file()) total += e.file_size();
    return total;
  }

  sfs::path root_, src_;
  snapshot::Snapshot snap_;
};

// Restore plans by pack: nearby blobs are read in one request and no stored byte
// is read twice, where reading blob by blob took one request per chunk.
TEST_F(RestorerTest, ReadsPacksInRunsNotBlobByBlob) {
  auto meter = std::make_shared<storage::Meter>();
  auto repo = Open(storage::NewMeteredBackend(storage::NewLocalBackend((root_ / "repo").string()), meter));
  ASSERT_NE(repo, nullptr);
  const auto before = meter->Snapshot();
  Options o;
  o.target = (root_ / "out").string();
  o.threads = 2;
  auto st = Restore(*repo, snap_, o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->files, 401u);
  const auto after = meter->Snapshot();
  ExpectRestored(root_ / "out");
  const uint64_t loads = after.loads - before.loads;
  // One request per pack (each under 8 MiB, read whole) and one per tree, where
  // reading blob by blob took one per chunk (400+).
  EXPECT_LE(loads, PackCount() + st->dirs + 1) << "requests during the restore";
  EXPECT_LE(after.bytes_down - before.bytes_down, PackBytes()) << "a stored byte was read twice";
}

// A run whose bytes arrive damaged: the blobs it cannot open are loaded again on
// their own (LoadBlob reads once more), so the restore still succeeds.
TEST_F(RestorerTest, DamagedRunFallsBackToLoadingTheBlob) {
  auto plan = std::make_shared<storage::FaultPlan>();
  plan->corrupt_first_read = true;
  auto repo = Open(storage::NewFaultyBackend(storage::NewLocalBackend((root_ / "repo").string()), plan));
  ASSERT_NE(repo, nullptr);
  Options o;
  o.target = (root_ / "out").string();
  auto st = Restore(*repo, snap_, o);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ExpectRestored(root_ / "out");
}

// A pack that is gone: the restore fails naming it, and writes no file past the
// error silently (the error is the result, not a warning).
TEST_F(RestorerTest, MissingPackFailsTheRestore) {
  for (const auto& e : sfs::recursive_directory_iterator(root_ / "repo" / "data")) {
    if (e.is_regular_file() && e.file_size() > (512u << 10)) {
      sfs::remove(e.path());
      break;
    }
  }
  auto repo = Open(storage::NewLocalBackend((root_ / "repo").string()));
  ASSERT_NE(repo, nullptr);
  Options o;
  o.target = (root_ / "out").string();
  auto st = Restore(*repo, snap_, o);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Code::kNotFound) << st.status().ToString();
}

// Few descriptors: batches shrink with the limit and the restore still completes.
TEST_F(RestorerTest, CompletesUnderALowDescriptorLimit) {
  struct rlimit old = {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit low = old;
  low.rlim_cur = 48;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::optional<Result<Stats>> st = RestoreSnapshot();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_TRUE(st.has_value()) << "the repository did not open";
  ASSERT_TRUE(st->ok()) << st->status().ToString();
  ExpectRestored(root_ / "out");
}

// A backend that keeps `count` descriptors open for as long as it lives (as the
// cached packs of an erasure-coded repository's many members would) and reports
// them with its inner backend's.
class HoldingBackend final : public storage::Backend {
 public:
  HoldingBackend(std::unique_ptr<storage::Backend> inner, size_t count) : inner_(std::move(inner)) {
    for (size_t i = 0; i < count; ++i) held_.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  ~HoldingBackend() override {
    for (int fd : held_) ::close(fd);
  }
  bool AllOpen() const { return std::ranges::all_of(held_, [](int fd) { return fd >= 0; }); }

  std::string Location() const override { return inner_->Location(); }
  size_t KeptDescriptors() const override { return inner_->KeptDescriptors() + held_.size(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const storage::Handle& h, ByteSpan d) override { return inner_->Save(h, d); }
  Result<Bytes> Load(const storage::Handle& h, uint64_t o, uint64_t l) override { return inner_->Load(h, o, l); }
  Status LoadInto(const storage::Handle& h, uint64_t o, std::span<uint8_t> out) override {
    return inner_->LoadInto(h, o, out);
  }
  Result<uint64_t> Size(const storage::Handle& h) override { return inner_->Size(h); }
  Status List(storage::FileKind k, const std::function<Status(const std::string&, uint64_t)>& fn) override {
    return inner_->List(k, fn);
  }
  Status Remove(const storage::Handle& h) override { return inner_->Remove(h); }

 private:
  std::unique_ptr<storage::Backend> inner_;
  std::vector<int> held_;
};

size_t OpenDescriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : sfs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// The files a restore keeps open from creation leave room for what the backend
// keeps open: 200 held descriptors and a limit 140 above what is open at the
// start. With the fixed 64 reserved before, the restore kept up to 138 created
// files open and failed 3 runs of 3 ("Too many open files").
TEST_F(RestorerTest, LeavesRoomForTheDescriptorsTheBackendKeeps) {
  auto holding = std::make_unique<HoldingBackend>(storage::NewLocalBackend((root_ / "repo").string()), 200);
  ASSERT_TRUE(holding->AllOpen());
  auto repo = Open(std::move(holding));
  ASSERT_NE(repo, nullptr);
  struct rlimit old = {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  struct rlimit low = old;
  low.rlim_cur = OpenDescriptors() + 140;
  ASSERT_LE(low.rlim_cur, old.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  Options o;
  o.target = (root_ / "out").string();
  o.threads = 2;
  Result<Stats> st = Restore(*repo, snap_, o);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ExpectRestored(root_ / "out");
}

// Later names of a hardlinked file are linked once the first name exists: in the
// same batch, and in other directories and batches (more than 2048 files lie
// between them).
TEST_F(RestorerTest, HardlinksAcrossDirectoriesAndBatchesStayLinked) {
  const sfs::path links = root_ / "links";
  sfs::create_directories(links / "c");
  sfs::create_directories(links / "d");
  sfs::create_directories(links / "e");
  std::ofstream(links / "c" / "first", std::ios::binary) << "linked content";
  for (int i = 0; i < 2100; ++i) std::ofstream(links / "d" / ("f" + std::to_string(10000 + i)));
  sfs::create_hard_link(links / "c" / "first", links / "c" / "second");  // same batch
  sfs::create_hard_link(links / "c" / "first", links / "d" / "zlink");
  sfs::create_hard_link(links / "c" / "first", links / "e" / "link");
  auto st = BackUpAndRestore(links);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const sfs::path out = root_ / "out" / links.relative_path();
  EXPECT_EQ(ReadAll(out / "c" / "first"), "linked content");
  EXPECT_EQ(sfs::hard_link_count(out / "c" / "first"), 4u);
  EXPECT_TRUE(sfs::equivalent(out / "c" / "first", out / "c" / "second"));
  EXPECT_TRUE(sfs::equivalent(out / "c" / "first", out / "d" / "zlink"));
  EXPECT_TRUE(sfs::equivalent(out / "c" / "first", out / "e" / "link"));
  EXPECT_TRUE(sfs::exists(out / "d" / "f12099"));
}

// Sets or clears the immutable attribute (needs CAP_LINUX_IMMUTABLE: root).
bool SetImmutable(const sfs::path& p, bool on) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int flags = 0;
  bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
  ok = ok && ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  ::close(fd);
  return ok;
}

// A file that cannot be created (a directory holding an immutable file is in its
// place) fails the restore with its path; the other files are still restored.
TEST_F(RestorerTest, AFileThatCannotBeCreatedFailsTheRestore) {
  const sfs::path blocked = root_ / "out" / (src_ / "a" / "f1").relative_path();
  sfs::create_directories(blocked);
  std::ofstream(blocked / "pinned") << "x";
  ASSERT_TRUE(SetImmutable(blocked / "pinned", true)) << "chattr +i needs root: " << std::strerror(errno);
  std::optional<Result<Stats>> st = RestoreSnapshot();
  ASSERT_TRUE(SetImmutable(blocked / "pinned", false));
  ASSERT_TRUE(st.has_value()) << "the repository did not open";
  ASSERT_FALSE(st->ok());
  EXPECT_NE(st->status().message().find("/a/f1"), std::string::npos) << st->status().ToString();
  const sfs::path other = root_ / "out" / (src_ / "a" / "f3").relative_path();
  EXPECT_EQ(ReadAll(other), ReadAll(src_ / "a" / "f3"));
}

// Files whose content ends in zeros get their full size (the zeros are not
// written, so the size comes from a truncate), with one chunk or several; a
// file of only zeros too.
TEST_F(RestorerTest, TrailingZerosKeepTheSizeAsAHole) {
  const sfs::path holes = root_ / "holes";
  sfs::create_directories(holes);
  std::mt19937_64 rng(11);
  auto make = [&](const std::string& name, size_t data, size_t zeros) {
    std::string bytes(data + zeros, '\0');
    for (size_t i = 0; i < data; ++i) bytes[i] = static_cast<char>(rng());
    std::ofstream(holes / name, std::ios::binary) << bytes;
  };
  make("small", 5000, 8192);              // one chunk
  make("large", 1u << 20, 3u << 20);      // several chunks
  make("zeros", 0, 2u << 20);             // nothing to write
  make("exact", 8192, 0);                 // ends with data: no truncate needed
  auto st = BackUpAndRestore(holes);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const sfs::path out = root_ / "out" / holes.relative_path();
  for (const char* name : {"small", "large", "zeros", "exact"}) {
    EXPECT_EQ(sfs::file_size(out / name), sfs::file_size(holes / name)) << name;
    EXPECT_EQ(ReadAll(out / name), ReadAll(holes / name)) << name;
  }
  struct stat zs = {};
  ASSERT_EQ(::stat((out / "zeros").c_str(), &zs), 0);
  EXPECT_EQ(zs.st_blocks, 0) << "an all-zero file is restored as a hole";
}


// Large chunks are written past the page cache where the file system takes
// O_DIRECT (base/direct_io.h): only the unaligned edges of each chunk leave
// pages behind. The content is checked either way.
TEST_F(RestorerTest, LargeChunksBypassThePageCache) {
  const sfs::path dir = root_ / "large";
  sfs::create_directories(dir);
  const std::string bytes = RandomString(6u << 20, 5);
  std::ofstream(dir / "f", std::ios::binary) << bytes;
  auto st = BackUpAndRestore(dir);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const sfs::path out = root_ / "out" / dir.relative_path() / "f";
  const int fd = ::open(out.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const int direct = ReopenDirect(fd, O_RDONLY);
  auto cached = CachedPages(fd, bytes.size());
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  const size_t resident = *cached, pages = bytes.size() / 4096;
  if (direct >= 0) {
    // Each chunk leaves at most its edge pages, and a chunk under 256 KiB (only
    // a file's last: the others are at least 512 KiB) all of its pages.
    EXPECT_LT(resident, 128u) << "of " << pages << " pages";
    ::close(direct);
  } else {
    EXPECT_EQ(resident, pages) << "no O_DIRECT here: written through the cache";
  }
  ::close(fd);
  EXPECT_EQ(ReadAll(out), bytes);
}

// Files of 64-256 KiB (one chunk) are written past the page cache too, through
// their own descriptor switched to O_DIRECT: only the tail page stays. A zero
// block inside one is still restored as a hole (the ordinary sparse write).
TEST_F(RestorerTest, MidSizedFilesBypassThePageCacheAndKeepTheirHoles) {
  const sfs::path dir = root_ / "mid";
  sfs::create_directories(dir);
  const std::vector<std::pair<std::string, size_t>> sizes = {
      {"a", (64u << 10) + 123}, {"b", 80u << 10}, {"c", (200u << 10) + 4000}, {"d", (256u << 10) - 1}};
  std::map<std::string, std::string> content;
  uint64_t seed = 21;
  for (const auto& [name, size] : sizes) content[name] = RandomString(size, seed++);
  content["holed"] = RandomString(100u << 10, seed++);
  std::fill_n(content["holed"].begin() + (32u << 10), 8u << 10, '\0');
  for (const auto& [name, bytes] : content) std::ofstream(dir / name, std::ios::binary) << bytes;
  auto st = BackUpAndRestore(dir);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const sfs::path out = root_ / "out" / dir.relative_path();
  for (const auto& [name, bytes] : content) {
    const int fd = ::open((out / name).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << name;
    const int direct = ReopenDirect(fd, O_RDONLY);
    auto cached = CachedPages(fd, bytes.size());
    ASSERT_TRUE(cached.ok()) << cached.status().ToString();
    struct stat s = {};
    ASSERT_EQ(::fstat(fd, &s), 0);
    if (name == "holed") {
      EXPECT_LE(static_cast<uint64_t>(s.st_blocks) * 512, bytes.size() - (8u << 10)) << "the zeros are a hole";
    } else if (direct >= 0) {
      EXPECT_LE(*cached, 1u) << name << ": only the tail goes through the cache";
    }
    if (direct >= 0) ::close(direct);
    ::close(fd);
    EXPECT_EQ(ReadAll(out / name), bytes) << name;
  }
}

// A large chunk is read and opened once and written to every place it goes
// (identical files, a file that holds it twice), each from its own buffer.
TEST_F(RestorerTest, ALargeChunkInSeveralPlacesIsWrittenToEach) {
  const sfs::path dir = root_ / "same";
  sfs::create_directories(dir);
  const std::string bytes = RandomString(3u << 20, 11);
  for (const char* name : {"one", "two", "three"}) std::ofstream(dir / name, std::ios::binary) << bytes;
  std::ofstream(dir / "twice", std::ios::binary) << bytes << bytes;
  auto st = BackUpAndRestore(dir);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const sfs::path out = root_ / "out" / dir.relative_path();
  for (const char* name : {"one", "two", "three"}) EXPECT_EQ(ReadAll(out / name), bytes) << name;
  EXPECT_EQ(ReadAll(out / "twice"), bytes + bytes);
}

// Files are created with their own mode where the umask keeps all of it, and
// chmod, chown and the xattr listing are skipped when what they would set is
// there already: whatever the umask, every mode, owner and xattr ends exact.
TEST_F(RestorerTest, ModesOwnersAndXattrsAreExactWhateverTheUmask) {
  const sfs::path dir = root_ / "modes";
  sfs::create_directories(dir);
  const std::vector<std::pair<std::string, mode_t>> files = {
      {"rw-r--r--", 0644}, {"rw-rw-r--", 0664}, {"r--r--r--", 0444}, {"rw-------", 0600},
      {"rwxr-xr-x", 0755}, {"setuid", 04755}, {"rwxrwxrwx", 0777}};
  for (const auto& [name, mode] : files) {
    std::ofstream(dir / name) << name;
    ASSERT_EQ(::chmod((dir / name).c_str(), mode), 0);
  }
  ASSERT_EQ(::setxattr((dir / "rw-r--r--").c_str(), "user.kept", "v", 1, 0), 0) << std::strerror(errno);
  const mode_t old_mask = ::umask(022);
  auto st = BackUpAndRestore(dir);
  ::umask(old_mask);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  for (const auto& [name, mode] : files) {
    struct stat a, b;
    ASSERT_EQ(::lstat((dir / name).c_str(), &a), 0);
    ASSERT_EQ(::lstat((root_ / "out" / (dir / name).relative_path()).c_str(), &b), 0) << name;
    EXPECT_EQ(b.st_mode & 07777, mode) << name;
    EXPECT_EQ(b.st_uid, a.st_uid) << name;
    EXPECT_EQ(b.st_gid, a.st_gid) << name;
    EXPECT_EQ(b.st_mtim.tv_sec, a.st_mtim.tv_sec) << name;
  }
  char v[8] = {};
  const sfs::path kept = root_ / "out" / (dir / "rw-r--r--").relative_path();
  EXPECT_EQ(::getxattr(kept.c_str(), "user.kept", v, sizeof v), 1) << std::strerror(errno);
  EXPECT_EQ(::getxattr((root_ / "out" / (dir / "rw-rw-r--").relative_path()).c_str(), "user.kept", v, sizeof v),
            -1);
}

// Directories are made with their own mode where the umask keeps it, and symlinks
// get their times without a stat or xattr listing; what ends on disk is exact.
TEST_F(RestorerTest, DirectoryAndSymlinkMetadataIsExactWhateverTheUmask) {
  const sfs::path dir = root_ / "dirmodes";
  const std::vector<std::pair<std::string, mode_t>> dirs = {
      {"d755", 0755}, {"d700", 0700}, {"d555", 0555}, {"d777", 0777},
      {"d1777", 01777}, {"d2755", 02755}, {"d750", 0750}};
  sfs::create_directories(dir);
  const struct timespec old_times[2] = {{1500000000, 0}, {1500000000, 0}};
  for (const auto& [name, mode] : dirs) {
    sfs::create_directories(dir / name);
    std::ofstream(dir / name / "f") << name;
    sfs::create_symlink("f", dir / name / "link");
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir / name / "link").c_str(), old_times, AT_SYMLINK_NOFOLLOW), 0);
    ASSERT_EQ(::chmod((dir / name).c_str(), mode), 0);
  }
  ASSERT_EQ(::setxattr((dir / "d755").c_str(), "user.kept", "v", 1, 0), 0) << std::strerror(errno);
  const mode_t old_mask = ::umask(022);
  auto st = BackUpAndRestore(dir);
  ::umask(old_mask);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  for (const auto& [name, mode] : dirs) {
    for (const sfs::path& p : {dir / name, dir / name / "link"}) {
      struct stat a, b;
      ASSERT_EQ(::lstat(p.c_str(), &a), 0);
      ASSERT_EQ(::lstat((root_ / "out" / p.relative_path()).c_str(), &b), 0) << p;
      EXPECT_EQ(b.st_mode, a.st_mode) << p;
      EXPECT_EQ(b.st_uid, a.st_uid) << p;
      EXPECT_EQ(b.st_gid, a.st_gid) << p;
      EXPECT_EQ(b.st_mtim.tv_sec, a.st_mtim.tv_sec) << p;
      EXPECT_EQ(b.st_mtim.tv_nsec, a.st_mtim.tv_nsec) << p;
    }
  }
  char v[8] = {};
  EXPECT_EQ(::getxattr((root_ / "out" / (dir / "d755").relative_path()).c_str(), "user.kept", v, sizeof v), 1);
  EXPECT_EQ(::getxattr((root_ / "out" / (dir / "d750").relative_path()).c_str(), "user.kept", v, sizeof v), -1);
  for (const sfs::path& top : {dir, root_ / "out" / dir.relative_path()})
    for (const auto& [name, mode] : dirs) ::chmod((top / name).c_str(), 0755);  // for the clean-up
}

// A setgid target passes its group on to new entries: the restored files must
// still get the snapshot's group (chown is not skipped there).
TEST_F(RestorerTest, SetgidTargetDoesNotLendItsGroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the target another group";
  const sfs::path out = root_ / "out";
  sfs::create_directories(out);
  ASSERT_EQ(::chown(out.c_str(), 0, 54321), 0);
  ASSERT_EQ(::chmod(out.c_str(), 02755), 0);
  auto st = RestoreSnapshot();
  ASSERT_TRUE(st.has_value() && st->ok());
  size_t n = 0;
  for (const auto& e : sfs::recursive_directory_iterator(out)) {
    struct stat a, b;
    const std::string rel = e.path().string().substr(out.string().size());
    ASSERT_EQ(::lstat(rel.c_str(), &a), 0) << rel;
    ASSERT_EQ(::lstat(e.path().c_str(), &b), 0);
    EXPECT_EQ(b.st_gid, a.st_gid) << e.path();
    ++n;
  }
  EXPECT_GT(n, 400u);
}

}  // namespace
}  // namespace lb::restorer
