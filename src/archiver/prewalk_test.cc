#include "archiver/prewalk.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>

#include "archiver/archiver.h"
#include "base/clock.h"
#include "repo/repository.h"
#include "snapshot/store.h"
#include "storage/backend.h"

namespace lb::archiver {
namespace {

namespace sfs = std::filesystem;

TEST(DfsLess, ParentsFirstThenSiblingsByName) {
  EXPECT_TRUE(DfsLess("/", "/a"));
  EXPECT_TRUE(DfsLess("/a", "/a/b"));
  EXPECT_TRUE(DfsLess("/a/b", "/a-b"));  // everything in /a before its sibling /a-b
  EXPECT_TRUE(DfsLess("/a/zzz/y", "/a0"));
  EXPECT_TRUE(DfsLess("/a-b", "/b"));
  EXPECT_FALSE(DfsLess("/a", "/a"));
  EXPECT_FALSE(DfsLess("/a-b", "/a/b"));
  EXPECT_FALSE(DfsLess("/a/b", "/a"));
  EXPECT_TRUE(DfsLess("/x/\x01", "/x/\xff"));  // bytewise, unsigned
}

class PrewalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lb-prewalk-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    src_ = (root_ / "src").string();
    // In walk order: src, src/a, src/a/sub, src/a-b, src/b, src/skip, src/skip/x.
    for (const char* d : {"a/sub", "a-b", "b", "skip/x"}) sfs::create_directories(src_ + "/" + d);
    for (const char* f : {"a/f1", "a/f2", "a/sub/g", "a-b/h", "skip/x/y", "top"})
      std::ofstream(src_ + "/" + f) << f;
    for (int i = 0; i < 50; ++i) std::ofstream(src_ + "/b/n" + std::to_string(i)) << std::string(i, 'n');
    sfs::create_directory_symlink("a", src_ + "/link");
  }
  void TearDown() override { sfs::remove_all(root_); }

  static struct stat LStat(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st;
  }

  // Walks `abs` as the walker does (depth first, names sorted, excluded names
  // skipped), taking each directory from `pw`; checks every listing handed out
  // against the file system now. Returns the directories visited.
  std::vector<std::string> Walk(Prewalk& pw, const std::string& abs,
                                const fs::PatternList& excludes, std::vector<std::string>* missed) {
    std::vector<std::string> visited{abs};
    const struct stat self = LStat(abs);
    auto listing = pw.Take(abs, self.st_dev, self.st_ino);
    auto dir = fs::Dir::Open(abs);
    EXPECT_TRUE(dir.ok());
    auto names = dir->List();
    EXPECT_TRUE(names.ok());
    if (!listing) {
      missed->push_back(abs);
    } else {
      EXPECT_EQ(listing->names, *names) << abs;
      EXPECT_EQ(listing->stats(), names->size());
      for (size_t i = 0; i < listing->names.size() && i < listing->stats(); ++i) {
        const std::string child = abs + "/" + listing->names[i];
        const auto got = listing->Stat(i);
        if (excludes.Matches(child)) {
          EXPECT_FALSE(got.ok()) << child << " is excluded: not lstat()ed";
          continue;
        }
        EXPECT_TRUE(got.ok()) << child;
        if (!got.ok()) continue;
        auto now = dir->StatBasic(listing->names[i]);
        EXPECT_TRUE(now.ok()) << child;
        if (!now.ok()) continue;
        EXPECT_EQ(got->type, now->type) << child;
        EXPECT_EQ(got->inode, now->inode) << child;
        EXPECT_EQ(got->size, now->size) << child;
        EXPECT_EQ(got->mtime_ns, now->mtime_ns) << child;
      }
    }
    for (const std::string& n : *names) {
      const std::string child = abs + "/" + n;
      if (excludes.Matches(child) || !S_ISDIR(LStat(child).st_mode)) continue;
      auto more = Walk(pw, child, excludes, missed);
      visited.insert(visited.end(), more.begin(), more.end());
    }
    return visited;
  }

  sfs::path root_;
  std::string src_;
};

TEST_F(PrewalkTest, HandsOutEveryDirectoryInWalkOrder) {
  Prewalk pw({src_}, fs::PatternList(), false);
  pw.Start();
  std::vector<std::string> missed;
  auto visited = Walk(pw, src_, fs::PatternList(), &missed);
  EXPECT_EQ(visited, (std::vector<std::string>{src_, src_ + "/a", src_ + "/a/sub", src_ + "/a-b",
                                               src_ + "/b", src_ + "/skip", src_ + "/skip/x"}));
  EXPECT_TRUE(missed.empty()) << missed.front();
  EXPECT_EQ(pw.taken(), 7u);
}

TEST_F(PrewalkTest, ExcludedEntriesAreNotReadOrEntered) {
  fs::PatternList ex({"skip", "*.none"});
  Prewalk pw({src_}, ex, false);
  pw.Start();
  std::vector<std::string> missed;
  auto visited = Walk(pw, src_, ex, &missed);
  EXPECT_EQ(visited.size(), 5u);
  EXPECT_TRUE(missed.empty()) << missed.front();
  EXPECT_EQ(pw.taken(), 5u);
  // It never read the excluded directory.
  const struct stat x = LStat(src_ + "/skip/x");
  EXPECT_FALSE(pw.Take(src_ + "/skip/x", x.st_dev, x.st_ino));
}

TEST_F(PrewalkTest, AReplacedDirectoryIsNotHandedOut) {
  Prewalk pw({src_}, fs::PatternList(), false);
  pw.Start();
  const struct stat top = LStat(src_);
  ASSERT_TRUE(pw.Take(src_, top.st_dev, top.st_ino));
  const struct stat a = LStat(src_ + "/a");
  EXPECT_FALSE(pw.Take(src_ + "/a", a.st_dev, a.st_ino + 1)) << "another inode: read again";
  const struct stat sub = LStat(src_ + "/a/sub");
  EXPECT_TRUE(pw.Take(src_ + "/a/sub", sub.st_dev, sub.st_ino)) << "the rest is still good";
}

TEST_F(PrewalkTest, HoldsAtMostMaxEntriesAndLeavesLargerDirectoriesToTheWalker) {
  // 4 entries at most: src (7 names) and b (50) are too large; the others fit
  // one at a time, so the prewalk must wait for the walker to take each.
  Prewalk pw({src_ + "/a", src_ + "/b", src_ + "/a-b"}, fs::PatternList(), false, 4);
  pw.Start();
  std::vector<std::string> missed;
  for (const char* top : {"/a", "/a-b", "/b"}) Walk(pw, src_ + top, fs::PatternList(), &missed);
  EXPECT_EQ(missed, std::vector<std::string>{src_ + "/b"});
  EXPECT_EQ(pw.taken(), 3u);  // a, a/sub, a-b
}

TEST_F(PrewalkTest, AWalkerThatSkipsDirectoriesGetsTheRest) {
  // max 8 entries: what the walker skips must not keep the prewalk waiting.
  Prewalk pw({src_}, fs::PatternList(), false, 8);
  pw.Start();
  std::vector<std::string> missed;
  for (const char* d : {"", "/a-b", "/skip", "/skip/x"}) {
    const struct stat st = LStat(src_ + d);
    if (!pw.Take(src_ + d, st.st_dev, st.st_ino)) missed.push_back(d);
  }
  EXPECT_EQ(missed, std::vector<std::string>{});
  EXPECT_EQ(pw.taken(), 4u);
}

TEST_F(PrewalkTest, AnEmptyDirectoryBehindALargeOneIsStillHandedOut) {
  // A directory of more than kWalkingEntries is held whole once the walker has
  // started, so the prewalk then waits for room even for an empty directory
  // (0 entries wanted). It hung there for good: taking the large listing did not
  // wake it, since "0 entries wanted" read as "not waiting" (a backup of
  // /usr/lib/x86_64-linux-gnu stopped at the empty krb5/plugins/libkrb5).
  const std::string first = root_ / "w" / "a", big = root_ / "w" / "big";
  sfs::create_directories(first);
  sfs::create_directories(big + "/z");
  for (size_t i = 0; i < Prewalk::kWalkingEntries + 100; ++i)
    std::ofstream(big + "/f" + std::to_string(i));
  Prewalk pw({first, big}, fs::PatternList(), false);
  pw.Start();
  const struct stat a = LStat(first), b = LStat(big), z = LStat(big + "/z");
  ASSERT_TRUE(pw.Take(first, a.st_dev, a.st_ino));  // the walk has begun: 4k held at most
  // Let the prewalk publish big (more than the limit, as nothing else is held)
  // and reach z, where it must wait for the walker.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(pw.Take(big, b.st_dev, b.st_ino));
  auto last = std::async(std::launch::async, [&] { return pw.Take(big + "/z", z.st_dev, z.st_ino); });
  if (last.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    pw.Stop();  // frees the walker, so the test fails instead of hanging
    ADD_FAILURE() << "the walker waited 20 s for an empty directory";
  }
  EXPECT_TRUE(last.get()) << "the empty directory is handed out";
  EXPECT_EQ(pw.taken(), 3u);
}

TEST_F(PrewalkTest, NothingIsHandedOutBeforeStartOrAfterStop) {
  Prewalk pw({src_}, fs::PatternList(), false);
  const struct stat top = LStat(src_);
  EXPECT_FALSE(pw.Take(src_, top.st_dev, top.st_ino));
  pw.Stop();
  pw.Start();
  const struct stat a = LStat(src_ + "/a");
  EXPECT_FALSE(pw.Take(src_ + "/a", a.st_dev, a.st_ino));
  EXPECT_EQ(pw.taken(), 0u);
}

// A backup that takes its listings from a prewalk stores the same trees as one
// that reads every directory itself, for a first backup and for a re-backup.
TEST_F(PrewalkTest, BackupStoresTheSameTreesWithAndWithoutIt) {
  repo::InitOptions io;
  io.kdf = repo::KdfParams{1, 8 << 20};
  auto r = repo::Repository::Init(storage::NewLocalBackend((root_ / "repo").string()), "pw", io);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  repo::Repository& repo = **r;
  SystemClock clock;
  auto options = [&] {
    Options o;
    o.paths = {src_ + "/a", src_ + "/b", src_ + "/skip", src_ + "/top", src_ + "/link"};
    o.excludes = fs::PatternList({"g"});
    return o;
  };
  // The tree of src, not the snapshot's root: the root holds the metadata of
  // src's ancestors, and /tmp's mtime changes whenever a test running beside
  // this one creates or removes something there.
  auto src_tree = [&](const snapshot::Snapshot& snap) -> Id {
    auto node = snapshot::FindNode(repo, snap, src_);
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    return node.ok() ? node->subtree : Id();
  };
  auto backup = [&](bool with_prewalk, std::optional<Id> parent) -> Id {
    Options o = options();
    o.parent = parent;
    std::optional<Prewalk> pw;
    if (with_prewalk) {
      pw.emplace(o.paths, o.excludes, o.one_file_system);
      pw->Start();
      o.prewalk = &*pw;
    }
    auto b = Backup(repo, o, clock);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (with_prewalk) {
      EXPECT_EQ(pw->taken(), 5u);  // a, a/sub, b, skip, skip/x
    }
    return b.ok() ? src_tree(b->snapshot) : Id();
  };
  const Id plain = backup(false, std::nullopt);
  EXPECT_EQ(backup(true, std::nullopt), plain);
  // Changed since: a file's content, a new file, a mode.
  std::ofstream(src_ + "/b/n3") << "other content";
  std::ofstream(src_ + "/a/sub/new") << "new";
  ::chmod((src_ + "/a/f1").c_str(), 0600);
  auto first = Backup(repo, options(), clock);
  ASSERT_TRUE(first.ok());
  const Id changed = src_tree(first->snapshot);
  EXPECT_NE(changed, plain);
  EXPECT_EQ(backup(true, first->snapshot_id), changed);
  EXPECT_EQ(backup(true, std::nullopt), changed);
}

}  // namespace
}  // namespace lb::archiver
