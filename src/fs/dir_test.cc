#include "fs/dir.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lb::fs {
namespace {

class DirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb_fs_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
    path_ = tmpl;
    auto d = Dir::Open(path_);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    dir_ = std::move(d).value();
  }

  void TearDown() override {
    if (path_.empty()) return;
    auto parent = Dir::Open("/tmp");
    ASSERT_TRUE(parent.ok());
    Status s = parent->Remove(path_.substr(5));
    EXPECT_TRUE(s.ok()) << s.ToString();
    struct stat st;
    EXPECT_NE(::lstat(path_.c_str(), &st), 0) << "temp dir left behind";
  }

  // Writes `data` to a new file `name` in `d`.
  static void WriteFile(const Dir& d, const std::string& name, const std::string& data) {
    auto f = d.CreateFile(name);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE(f->WriteAt(0, AsBytes(data)).ok());
    ASSERT_TRUE(f->Close().ok());
  }

  static std::string ReadFile(const Dir& d, const std::string& name) {
    auto f = d.OpenRead(name);
    if (!f.ok()) return "<error: " + f.status().ToString() + ">";
    std::vector<uint8_t> buf(1 << 16);
    auto n = f->ReadFull(0, buf);
    if (!n.ok()) return "<error: " + n.status().ToString() + ">";
    return std::string(reinterpret_cast<const char*>(buf.data()), *n);
  }

  static Metadata MustStat(const Dir& d, const std::string& name) {
    auto m = d.Stat(name);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : Metadata{};
  }

  // What a Known-state test wants of `name` (as stat'ed now): another mode, a
  // fixed mtime and one xattr.
  static Metadata WantOf(const Dir& dir, const std::string& name, uint32_t mode) {
    Metadata want = MustStat(dir, name);
    want.mode = mode;
    want.mtime_ns = 1234567890123456789;
    want.xattrs = {{"user.a", "1"}};
    return want;
  }

  static void ExpectApplied(const Dir& dir, const std::string& name, const Metadata& want) {
    Metadata got = MustStat(dir, name);
    EXPECT_EQ(got.mode, want.mode) << name;
    EXPECT_EQ(got.mtime_ns, want.mtime_ns) << name;
    EXPECT_EQ(got.xattrs, want.xattrs) << name;
    EXPECT_EQ(got.uid, want.uid) << name;
  }

  std::string path_;
  Dir dir_;
};

TEST(MetadataTest, FileTypeNames) {
  EXPECT_STREQ(FileTypeName(FileType::kRegular), "file");
  EXPECT_STREQ(FileTypeName(FileType::kDirectory), "dir");
  EXPECT_STREQ(FileTypeName(FileType::kSymlink), "symlink");
  EXPECT_STREQ(FileTypeName(FileType::kFifo), "fifo");
  EXPECT_STREQ(FileTypeName(FileType::kCharDevice), "chardev");
  EXPECT_STREQ(FileTypeName(FileType::kBlockDevice), "blockdev");
  EXPECT_STREQ(FileTypeName(FileType::kSocket), "socket");
}

TEST(NamesTest, RootAndCache) {
  EXPECT_EQ(IsRoot(), ::geteuid() == 0);
  EXPECT_EQ(UserName(0), "root");
  EXPECT_EQ(GroupName(0), "root");
  EXPECT_EQ(UserName(0), "root");  // cached
  EXPECT_EQ(UserName(4000000000u), "");
  EXPECT_EQ(GroupName(4000000000u), "");
}

TEST_F(DirTest, RegularFileMetadataRoundTrip) {
  WriteFile(dir_, "f", "hello");
  Metadata m = MustStat(dir_, "f");
  EXPECT_EQ(m.type, FileType::kRegular);
  EXPECT_EQ(m.size, 5u);
  EXPECT_EQ(m.mode, 0600u);
  EXPECT_EQ(m.uid, ::geteuid());
  EXPECT_EQ(m.nlink, 1u);
  EXPECT_NE(m.inode, 0u);
  EXPECT_NE(m.ctime_ns, 0);

  Metadata want = m;
  want.mode = IsRoot() ? 04755 : 0755;
  want.mtime_ns = 1234567890123456789;
  want.atime_ns = 1000000000987654321;
  want.xattrs = {{"user.comment", std::string("v\0al\xff", 5)}, {"user.z", ""}};
  Status s = dir_.ApplyMetadata("f", want, IsRoot());
  ASSERT_TRUE(s.ok()) << s.ToString();

  Metadata got = MustStat(dir_, "f");
  EXPECT_EQ(got.mode, want.mode);
  EXPECT_EQ(got.mtime_ns, want.mtime_ns);
  EXPECT_EQ(got.atime_ns, want.atime_ns);
  EXPECT_EQ(got.xattrs, want.xattrs);
  EXPECT_EQ(got.uid, want.uid);
  EXPECT_EQ(got.gid, want.gid);
  EXPECT_EQ(got.user, UserName(got.uid));
  EXPECT_EQ(got.group, GroupName(got.gid));
}

TEST_F(DirTest, ChownKeepsSetuid) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to chown";
  WriteFile(dir_, "f", "x");
  Metadata want = MustStat(dir_, "f");
  want.uid = 12345;
  want.gid = 23456;
  want.mode = 06755;
  ASSERT_TRUE(dir_.ApplyMetadata("f", want, true).ok());
  Metadata got = MustStat(dir_, "f");
  EXPECT_EQ(got.uid, 12345u);
  EXPECT_EQ(got.gid, 23456u);
  EXPECT_EQ(got.mode, 06755u);
}

TEST_F(DirTest, CreateFileTellsNewFromTruncated) {
  bool created = false;
  auto f = dir_.CreateFile("f", 0640, &created);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE(created);
  const auto mask = Umask();
  ASSERT_TRUE(mask.has_value());
  EXPECT_EQ(MustStat(dir_, "f").mode, 0640u & ~*mask);
  ASSERT_TRUE(f->Close().ok());
  auto again = dir_.CreateFile("f", 0600, &created);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(created) << "an existing file was truncated, not created";
  ASSERT_TRUE(dir_.MakeSymlink("l", "nowhere").ok());
  auto replaced = dir_.CreateFile("l", 0600, &created);
  ASSERT_TRUE(replaced.ok());
  EXPECT_TRUE(created) << "a symlink in the way is replaced by a new file";
  ASSERT_TRUE(dir_.MakeDir("d", &created).ok());
  EXPECT_TRUE(created);
  ASSERT_TRUE(dir_.MakeDir("d", &created).ok());
  EXPECT_FALSE(created);
}

TEST_F(DirTest, UmaskIsReadWithoutChangingIt) {
  const mode_t old = ::umask(027);
  EXPECT_EQ(Umask(), std::optional<uint32_t>(027));
  EXPECT_EQ(::umask(old), 027u);
}

TEST_F(DirTest, PassesOnAttributesOnlyWithSetgidOrDefaultAcl) {
  ASSERT_TRUE(dir_.MakeDir("plain").ok());
  auto plain = dir_.OpenDir("plain");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->PassesOnAttributes());
  ASSERT_EQ(::chmod((path_ + "/plain").c_str(), 02700), 0);
  EXPECT_TRUE(plain->PassesOnAttributes()) << "setgid: new entries take the directory's group";
}

// With a Known state, what already matches is not set again, and the result is
// still exactly the wanted metadata (including xattrs and a mode that differs).
TEST_F(DirTest, ApplyMetadataWithKnownStateEndsTheSame) {
  const auto mask = Umask();
  ASSERT_TRUE(mask.has_value());
  for (uint32_t mode : {0644u, 0600u, 0755u, 0444u}) {
    bool created = false;
    auto f = dir_.CreateFile("k", 0644, &created);
    ASSERT_TRUE(f.ok() && created);
    const Known known{::geteuid(), ::getegid(), 0644u & ~*mask};
    const Metadata want = WantOf(dir_, "k", mode);
    ASSERT_TRUE(f->ApplyMetadata(want, IsRoot(), "k", &known).ok());
    ASSERT_TRUE(f->Close().ok());
    ExpectApplied(dir_, "k", want);
    ASSERT_TRUE(dir_.Remove("k").ok());
  }
}

// The same through the directory, for a directory made with a mode and a symlink.
TEST_F(DirTest, DirApplyMetadataWithKnownStateEndsTheSame) {
  const auto mask = Umask();
  ASSERT_TRUE(mask.has_value());
  for (uint32_t mode : {0755u, 0700u, 0555u, 0750u}) {
    bool created = false;
    ASSERT_TRUE(dir_.MakeDir("d", &created, 0755).ok());
    ASSERT_TRUE(created);
    EXPECT_EQ(MustStat(dir_, "d").mode, 0755u & ~*mask);
    const Known known{::geteuid(), ::getegid(), 0755u & ~*mask};
    const Metadata want = WantOf(dir_, "d", mode);
    ASSERT_TRUE(dir_.ApplyMetadata("d", want, IsRoot(), &known).ok());
    ExpectApplied(dir_, "d", want);
    ASSERT_TRUE(dir_.Remove("d").ok());
  }
  ASSERT_TRUE(dir_.MakeSymlink("l", "target").ok());
  const Known known{::geteuid(), ::getegid(), 0};
  Metadata want = MustStat(dir_, "l");
  want.mtime_ns = 1234567890123456789;
  ASSERT_TRUE(dir_.ApplyMetadata("l", want, IsRoot(), &known).ok());
  Metadata got = MustStat(dir_, "l");
  EXPECT_EQ(got.type, FileType::kSymlink);
  EXPECT_EQ(got.mtime_ns, want.mtime_ns);
}

TEST_F(DirTest, ApplyMetadataRemovesExtraUserXattr) {
  WriteFile(dir_, "f", "x");
  std::string p = path_ + "/f";
  ASSERT_EQ(::setxattr(p.c_str(), "user.extra", "1", 1, 0), 0) << std::strerror(errno);
  ASSERT_EQ(::setxattr(p.c_str(), "user.keep", "old", 3, 0), 0);
  Metadata want = MustStat(dir_, "f");
  ASSERT_EQ(want.xattrs.size(), 2u);
  EXPECT_EQ(want.xattrs[0].name, "user.extra");  // sorted
  want.xattrs = {{"user.keep", "new"}};
  ASSERT_TRUE(dir_.ApplyMetadata("f", want, false).ok());
  EXPECT_EQ(MustStat(dir_, "f").xattrs, want.xattrs);
  want.xattrs.clear();
  ASSERT_TRUE(dir_.ApplyMetadata("f", want, false).ok());
  EXPECT_TRUE(MustStat(dir_, "f").xattrs.empty());
}

TEST_F(DirTest, StatWithPreviousReusesXattrsOnlyWhileCtimeHolds) {
  WriteFile(dir_, "f", "x");
  std::string p = path_ + "/f";
  ASSERT_EQ(::setxattr(p.c_str(), "user.a", "1", 1, 0), 0) << std::strerror(errno);
  Metadata first = MustStat(dir_, "f");
  ASSERT_EQ(first.xattrs.size(), 1u);
  // Unchanged: the previous xattrs are taken (proved by a marker the disk lacks).
  Metadata marked = first;
  marked.xattrs.push_back({"user.only-in-previous", "m"});
  auto same = dir_.Stat("f", &marked);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->xattrs, marked.xattrs);
  // Setting an xattr changes ctime, so the file is read again.
  ::usleep(20000);
  ASSERT_EQ(::setxattr(p.c_str(), "user.b", "2", 1, 0), 0);
  auto changed = dir_.Stat("f", &marked);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->xattrs, (std::vector<Xattr>{{"user.a", "1"}, {"user.b", "2"}}));
  // A symlink's target comes along the same way, and is read again when replaced.
  ASSERT_EQ(::symlink("target-one", (path_ + "/l").c_str()), 0);
  Metadata link = MustStat(dir_, "l");
  EXPECT_EQ(dir_.Stat("l", &link)->symlink_target, "target-one");
  ASSERT_EQ(::unlink((path_ + "/l").c_str()), 0);
  ASSERT_EQ(::symlink("target-two", (path_ + "/l").c_str()), 0);
  EXPECT_EQ(dir_.Stat("l", &link)->symlink_target, "target-two");
}

TEST_F(DirTest, PosixAclRoundTrip) {
  // A minimal access ACL: user::rw- group::r-- mask::r-- other::--- plus user 1000 r--.
  // Built by hand in the kernel's xattr format (version 2, 8-byte entries).
  auto entry = [](uint16_t tag, uint16_t perm, uint32_t id) {
    std::string e(8, '\0');
    e[0] = static_cast<char>(tag & 0xff), e[1] = static_cast<char>(tag >> 8);
    e[2] = static_cast<char>(perm & 0xff), e[3] = static_cast<char>(perm >> 8);
    for (int i = 0; i < 4; ++i) e[4 + i] = static_cast<char>((id >> (8 * i)) & 0xff);
    return e;
  };
  std::string acl = std::string("\x02\x00\x00\x00", 4) + entry(0x01, 6, 0xffffffff) +
                    entry(0x02, 4, 1000) + entry(0x04, 4, 0xffffffff) +
                    entry(0x10, 4, 0xffffffff) + entry(0x20, 0, 0xffffffff);
  WriteFile(dir_, "f", "x");
  Metadata want = MustStat(dir_, "f");
  want.mode = 0640;
  want.xattrs = {{"system.posix_acl_access", acl}};
  Status s = dir_.ApplyMetadata("f", want, false);
  ASSERT_TRUE(s.ok()) << s.ToString();
  Metadata got = MustStat(dir_, "f");
  if (got.xattrs.empty()) GTEST_SKIP() << "file system without POSIX ACLs";
  EXPECT_EQ(got.xattrs, want.xattrs);
  EXPECT_EQ(got.mode, 0640u);
}

TEST_F(DirTest, DanglingSymlinkRoundTrip) {
  std::string target = "no/such\xff\x01target";
  ASSERT_TRUE(dir_.MakeSymlink("l", target).ok());
  Metadata m = MustStat(dir_, "l");
  EXPECT_EQ(m.type, FileType::kSymlink);
  EXPECT_EQ(m.symlink_target, target);
  EXPECT_EQ(m.size, target.size());

  m.mtime_ns = 1500000000123456789;
  m.atime_ns = 1400000000000000001;
  m.mode = 0600;  // must not be applied to (or through) the link
  Status s = dir_.ApplyMetadata("l", m, IsRoot());
  ASSERT_TRUE(s.ok()) << s.ToString();
  Metadata got = MustStat(dir_, "l");
  EXPECT_EQ(got.mtime_ns, m.mtime_ns);
  EXPECT_EQ(got.atime_ns, m.atime_ns);
  EXPECT_EQ(got.mode, 0777u);
  EXPECT_EQ(got.symlink_target, target);

  // Replacing an existing symlink.
  ASSERT_TRUE(dir_.MakeSymlink("l", "other").ok());
  EXPECT_EQ(MustStat(dir_, "l").symlink_target, "other");
}

TEST_F(DirTest, LongSymlinkTarget) {
  std::string target(3000, 'a');
  for (size_t i = 100; i < target.size(); i += 100) target[i] = '/';
  ASSERT_TRUE(dir_.MakeSymlink("l", target).ok());
  EXPECT_EQ(MustStat(dir_, "l").symlink_target, target);
}

TEST_F(DirTest, FifoRoundTrip) {
  Metadata spec;
  spec.type = FileType::kFifo;
  ASSERT_TRUE(dir_.MakeNode("p", spec).ok());
  Metadata m = MustStat(dir_, "p");
  EXPECT_EQ(m.type, FileType::kFifo);
  m.mode = 0640;
  m.mtime_ns = 1600000000000000007;
  ASSERT_TRUE(dir_.ApplyMetadata("p", m, IsRoot()).ok());
  Metadata got = MustStat(dir_, "p");
  EXPECT_EQ(got.mode, 0640u);
  EXPECT_EQ(got.mtime_ns, m.mtime_ns);
  // Existing entry is replaced.
  ASSERT_TRUE(dir_.MakeNode("p", spec).ok());
  EXPECT_EQ(MustStat(dir_, "p").mode, 0600u);
  // Regular files are not nodes.
  spec.type = FileType::kRegular;
  EXPECT_EQ(dir_.MakeNode("r", spec).code(), Code::kInvalidArgument);
}

TEST_F(DirTest, CharDeviceRoundTrip) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to mknod a device";
  Metadata spec;
  spec.type = FileType::kCharDevice;
  spec.rdev = makedev(1, 3);  // like /dev/null
  Status s = dir_.MakeNode("null", spec);
  if (s.code() == Code::kPermission) GTEST_SKIP() << "mknod not permitted here";
  ASSERT_TRUE(s.ok()) << s.ToString();
  Metadata m = MustStat(dir_, "null");
  EXPECT_EQ(m.type, FileType::kCharDevice);
  EXPECT_EQ(m.rdev, spec.rdev);
}

TEST_F(DirTest, OddNames) {
  const std::string bad_utf8 = "bad\xff\xfe\xc3(name\nline2";
  const std::string long_name(255, 'n');
  const std::string dashes = "-rf";
  WriteFile(dir_, bad_utf8, "one");
  WriteFile(dir_, long_name, "two");
  WriteFile(dir_, dashes, "three");
  auto names = dir_.List();
  ASSERT_TRUE(names.ok());
  std::vector<std::string> want = {dashes, bad_utf8, long_name};
  EXPECT_EQ(*names, want);  // bytewise: '-' < 'b' < 'n'
  EXPECT_EQ(ReadFile(dir_, bad_utf8), "one");
  EXPECT_EQ(ReadFile(dir_, long_name), "two");

  Metadata m = MustStat(dir_, bad_utf8);
  m.mtime_ns = 42;
  m.xattrs = {{"user.x", "y"}};
  ASSERT_TRUE(dir_.ApplyMetadata(bad_utf8, m, false).ok());
  EXPECT_EQ(MustStat(dir_, bad_utf8).xattrs, m.xattrs);
  EXPECT_EQ(MustStat(dir_, bad_utf8).mtime_ns, 42);

  // 256 bytes is too long; names with '/' or NUL are refused before any syscall.
  EXPECT_FALSE(dir_.CreateFile(long_name + "x").ok());
  EXPECT_EQ(dir_.Stat("a/b").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(dir_.Stat(std::string("a\0b", 3)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(dir_.Remove("..").code(), Code::kInvalidArgument);
  EXPECT_EQ(dir_.Remove(".").code(), Code::kInvalidArgument);
  EXPECT_EQ(dir_.CreateFile("").status().code(), Code::kInvalidArgument);
}

TEST_F(DirTest, DeeperThanPathMax) {
  const int kLevels = 40;
  const std::string comp(200, 'd');
  static_assert(40 * 201 > PATH_MAX);
  {
    auto cur = dir_.OpenDir(".");
    ASSERT_TRUE(cur.ok());
    Dir d = std::move(cur).value();
    for (int i = 0; i < kLevels; ++i) {
      std::string name = comp + std::to_string(i % 10);
      Status s = d.MakeDir(name);
      ASSERT_TRUE(s.ok()) << "level " << i << ": " << s.ToString();
      auto next = d.OpenDir(name);
      ASSERT_TRUE(next.ok()) << "level " << i << ": " << next.status().ToString();
      d = std::move(next).value();
    }
    WriteFile(d, "leaf", "deep");
    Metadata m = MustStat(d, "leaf");
    m.xattrs = {{"user.deep", "1"}};
    m.mtime_ns = 7;
    ASSERT_TRUE(d.ApplyMetadata("leaf", m, false).ok());
  }
  // Walk back down, listing each level.
  Dir d = std::move(dir_.OpenDir(".")).value();
  for (int i = 0; i < kLevels; ++i) {
    auto names = d.List();
    ASSERT_TRUE(names.ok());
    ASSERT_EQ(names->size(), 1u) << "level " << i;
    EXPECT_EQ((*names)[0], comp + std::to_string(i % 10));
    auto next = d.OpenDir((*names)[0]);
    ASSERT_TRUE(next.ok());
    d = std::move(next).value();
  }
  auto names = d.List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"leaf"});
  EXPECT_EQ(ReadFile(d, "leaf"), "deep");
  Metadata m = MustStat(d, "leaf");
  EXPECT_EQ(m.mtime_ns, 7);
  EXPECT_EQ(m.xattrs, (std::vector<Xattr>{{"user.deep", "1"}}));
  // The whole chain goes away (TearDown also checks).
  EXPECT_TRUE(dir_.Remove(comp + "0").ok());
  EXPECT_TRUE(dir_.List()->empty());
}

TEST_F(DirTest, RefusesToFollowSymlinks) {
  ASSERT_TRUE(dir_.MakeDir("real").ok());
  WriteFile(dir_, "file", "secret");
  ASSERT_TRUE(dir_.MakeSymlink("dirlink", "real").ok());
  ASSERT_TRUE(dir_.MakeSymlink("filelink", "file").ok());
  EXPECT_FALSE(dir_.OpenDir("dirlink").ok());
  EXPECT_TRUE(dir_.OpenDir("real").ok());
  auto f = dir_.OpenRead("filelink");
  EXPECT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("filelink"), std::string::npos)
      << f.status().ToString();
  EXPECT_FALSE(dir_.OpenWrite("filelink").ok());
  EXPECT_FALSE(dir_.OpenDir("file").ok());
  // Dir::Open on a user-named path does follow.
  EXPECT_TRUE(Dir::Open(path_ + "/dirlink").ok());
}

TEST_F(DirTest, MakeDirReplacesNonDirectory) {
  ASSERT_TRUE(dir_.MakeDir("sub").ok());
  WriteFile(*dir_.OpenDir("sub"), "keep", "k");
  ASSERT_TRUE(dir_.MakeDir("sub").ok());  // existing dir is fine, contents kept
  EXPECT_EQ(*dir_.OpenDir("sub")->List(), std::vector<std::string>{"keep"});

  ASSERT_TRUE(dir_.MakeDir("target").ok());
  ASSERT_TRUE(dir_.MakeSymlink("link", "target").ok());
  ASSERT_TRUE(dir_.MakeDir("link").ok());
  EXPECT_EQ(MustStat(dir_, "link").type, FileType::kDirectory);
  EXPECT_EQ(MustStat(dir_, "target").type, FileType::kDirectory);

  WriteFile(dir_, "f", "x");
  ASSERT_TRUE(dir_.MakeDir("f").ok());
  EXPECT_EQ(MustStat(dir_, "f").type, FileType::kDirectory);
  EXPECT_EQ(MustStat(dir_, "f").mode, 0700u);
}

TEST_F(DirTest, Hardlink) {
  ASSERT_TRUE(dir_.MakeDir("a").ok());
  ASSERT_TRUE(dir_.MakeDir("b").ok());
  Dir a = std::move(dir_.OpenDir("a")).value();
  Dir b = std::move(dir_.OpenDir("b")).value();
  WriteFile(a, "orig", "data");
  WriteFile(b, "link", "to be replaced");
  Status s = b.MakeHardlink(a, "orig", "link");
  ASSERT_TRUE(s.ok()) << s.ToString();
  Metadata m1 = MustStat(a, "orig"), m2 = MustStat(b, "link");
  EXPECT_EQ(m1.inode, m2.inode);
  EXPECT_EQ(m1.device, m2.device);
  EXPECT_EQ(m2.nlink, 2u);
  EXPECT_EQ(ReadFile(b, "link"), "data");
  // Linking again, and linking an entry onto itself, keep the data.
  ASSERT_TRUE(b.MakeHardlink(a, "orig", "link").ok());
  ASSERT_TRUE(a.MakeHardlink(a, "orig", "orig").ok());
  EXPECT_EQ(ReadFile(a, "orig"), "data");
  // A symlink is linked itself, not its target.
  ASSERT_TRUE(a.MakeSymlink("sl", "orig").ok());
  ASSERT_TRUE(b.MakeHardlink(a, "sl", "sl2").ok());
  EXPECT_EQ(MustStat(b, "sl2").type, FileType::kSymlink);
  EXPECT_EQ(MustStat(b, "sl2").inode, MustStat(a, "sl").inode);
}

TEST_F(DirTest, CreateFileReplacesSymlinkWithoutWritingThrough) {
  WriteFile(dir_, "victim", "original");
  ASSERT_TRUE(dir_.MakeSymlink("out", "victim").ok());
  WriteFile(dir_, "out", "new content");
  EXPECT_EQ(ReadFile(dir_, "victim"), "original");
  EXPECT_EQ(MustStat(dir_, "out").type, FileType::kRegular);
  EXPECT_EQ(ReadFile(dir_, "out"), "new content");
  // A directory in the way is removed too; an existing file is truncated.
  ASSERT_TRUE(dir_.MakeDir("d").ok());
  WriteFile(*dir_.OpenDir("d"), "x", "y");
  WriteFile(dir_, "d", "file now");
  EXPECT_EQ(ReadFile(dir_, "d"), "file now");
  WriteFile(dir_, "d", "f");
  EXPECT_EQ(ReadFile(dir_, "d"), "f");
  // OpenWrite does not truncate.
  auto w = dir_.OpenWrite("victim");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->WriteAt(0, AsBytes("O")).ok());
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(ReadFile(dir_, "victim"), "Original");
}

TEST_F(DirTest, RemoveTree) {
  ASSERT_TRUE(dir_.MakeDir("t").ok());
  {
    Dir t = std::move(dir_.OpenDir("t")).value();
    ASSERT_TRUE(t.MakeDir("sub").ok());
    Dir sub = std::move(t.OpenDir("sub")).value();
    WriteFile(sub, "f", "x");
    ASSERT_TRUE(sub.MakeSymlink("l", "/").ok());
    Metadata fifo;
    fifo.type = FileType::kFifo;
    ASSERT_TRUE(sub.MakeNode("p", fifo).ok());
    ASSERT_TRUE(sub.MakeDir("locked").ok());
    WriteFile(*sub.OpenDir("locked"), "g", "y");
    Metadata ro = MustStat(sub, "locked");
    ro.mode = 0500;
    ASSERT_TRUE(sub.ApplyMetadata("locked", ro, false).ok());
    WriteFile(t, "top", "z");
  }
  ASSERT_TRUE(dir_.Remove("t").ok());
  EXPECT_TRUE(dir_.List()->empty());
  EXPECT_TRUE(dir_.Remove("t").ok());  // missing is fine
  // Removing a symlink to a directory removes only the link.
  ASSERT_TRUE(dir_.MakeDir("keep").ok());
  WriteFile(*dir_.OpenDir("keep"), "f", "x");
  ASSERT_TRUE(dir_.MakeSymlink("link", "keep").ok());
  ASSERT_TRUE(dir_.Remove("link").ok());
  EXPECT_EQ(*dir_.OpenDir("keep")->List(), std::vector<std::string>{"f"});
}

TEST_F(DirTest, SparseFileReadWrite) {
  const uint64_t kHole = 64ull << 20;
  auto f = dir_.CreateFile("sparse");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->WriteAt(0, AsBytes("head")).ok());
  ASSERT_TRUE(f->WriteAt(kHole, AsBytes("tail")).ok());
  ASSERT_TRUE(f->Truncate(kHole * 2).ok());
  ASSERT_TRUE(f->Sync().ok());
  auto fm = f->Stat();
  ASSERT_TRUE(fm.ok());
  EXPECT_EQ(fm->size, kHole * 2);
  EXPECT_EQ(fm->type, FileType::kRegular);
  ASSERT_TRUE(f->Close().ok());
  EXPECT_FALSE(f->is_open());

  struct stat st;
  ASSERT_EQ(::stat((path_ + "/sparse").c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "file is not sparse";

  auto r = dir_.OpenRead("sparse");
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> buf(8);
  auto n = r->ReadFull(kHole - 4, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 8u);
  EXPECT_EQ(std::string(buf.begin(), buf.end()), std::string("\0\0\0\0tail", 8));
  n = r->ReadFull(kHole * 2 - 3, buf);  // short read at EOF
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  n = r->ReadFull(kHole * 2 + 100, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  // Large reads straddling data and holes.
  std::vector<uint8_t> big(3 << 20);
  n = r->ReadFull(kHole - (1 << 20), big);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, big.size());
  EXPECT_EQ(big[(1 << 20)], 't');
  EXPECT_EQ(big[0], 0);
}

TEST_F(DirTest, ListIsRepeatableAndSorted) {
  for (const char* n : {"b", "a", "C", "\xe9", "aa"}) WriteFile(dir_, n, "");
  std::vector<std::string> want = {"C", "a", "aa", "b", "\xe9"};
  EXPECT_EQ(*dir_.List(), want);
  EXPECT_EQ(*dir_.List(), want);  // second listing sees everything again
}

TEST_F(DirTest, ErrorsNameTheEntry) {
  auto m = dir_.Stat("missing");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kNotFound);
  EXPECT_EQ(m.status().message(), "stat 'missing': No such file or directory");
  auto d = dir_.OpenDir("nodir");
  EXPECT_EQ(d.status().code(), Code::kNotFound);
  EXPECT_NE(d.status().message().find("'nodir'"), std::string::npos);
  EXPECT_EQ(Dir::Open(path_ + "/nope").status().code(), Code::kNotFound);
}

TEST_F(DirTest, OpenOrCreateMakesParents) {
  std::string p = path_ + "/x/y//z/";
  auto d = Dir::OpenOrCreate(p);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  WriteFile(*d, "f", "1");
  auto again = Dir::OpenOrCreate(path_ + "/x/y/z");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again->List(), std::vector<std::string>{"f"});
  struct stat st;
  ASSERT_EQ(::stat((path_ + "/x/y").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  WriteFile(dir_, "file", "");
  EXPECT_FALSE(Dir::OpenOrCreate(path_ + "/file/sub").ok());
}

TEST_F(DirTest, DirectoryMetadata) {
  ASSERT_TRUE(dir_.MakeDir("d").ok());
  Metadata m = MustStat(dir_, "d");
  EXPECT_EQ(m.type, FileType::kDirectory);
  EXPECT_EQ(m.size, 0u);
  m.mode = 01777;
  m.mtime_ns = -1500000001;  // before 1970, negative nanosecond part
  m.xattrs = {{"user.a", "1"}};
  Status s = dir_.ApplyMetadata("d", m, IsRoot());
  ASSERT_TRUE(s.ok()) << s.ToString();
  Metadata got = MustStat(dir_, "d");
  EXPECT_EQ(got.mode, 01777u);
  EXPECT_EQ(got.mtime_ns, -1500000001);
  EXPECT_EQ(got.xattrs, m.xattrs);
}

TEST_F(DirTest, MoveSemantics) {
  WriteFile(dir_, "f", "abc");
  File a = std::move(dir_.OpenRead("f")).value();
  int fd = a.fd();
  File b(std::move(a));
  EXPECT_FALSE(a.is_open());
  EXPECT_EQ(b.fd(), fd);
  File c;
  c = std::move(b);
  EXPECT_EQ(c.fd(), fd);
  c = File();
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed
  Dir d1 = std::move(dir_.OpenDir(".")).value();
  Dir d2;
  d2 = std::move(d1);
  EXPECT_EQ(d1.fd(), -1);
  EXPECT_EQ(*d2.List(), std::vector<std::string>{"f"});
}

}  // namespace
}  // namespace lb::fs
