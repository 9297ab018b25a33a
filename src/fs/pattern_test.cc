#include "fs/pattern.h"

#include <gtest/gtest.h>

namespace lb::fs {
namespace {

TEST(Pattern, BasenamePatterns) {
  EXPECT_TRUE(MatchPattern("*.tmp", "/a/b/c.tmp"));
  EXPECT_FALSE(MatchPattern("*.tmp", "/a/b.tmp/c"));
  EXPECT_TRUE(PatternList({"*.tmp"}).Matches("/a/b.tmp/c"));  // parent dir matches
}

TEST(Pattern, AbsolutePatterns) {
  PatternList p({"/etc/nginx"});
  EXPECT_TRUE(p.Matches("/etc/nginx"));
  EXPECT_TRUE(p.Matches("/etc/nginx/sites/default"));
  EXPECT_FALSE(p.Matches("/etc/nginx2"));
  EXPECT_FALSE(p.Matches("/etc"));
  EXPECT_TRUE(p.MayMatchBelow("/etc"));
  EXPECT_TRUE(p.MayMatchBelow("/"));
  EXPECT_FALSE(p.MayMatchBelow("/usr"));
}

TEST(Pattern, Wildcards) {
  EXPECT_TRUE(MatchPattern("/home/*/cache", "/home/bob/cache"));
  EXPECT_FALSE(MatchPattern("/home/*/cache", "/home/bob/x/cache"));
  EXPECT_TRUE(MatchPattern("/home/**/cache", "/home/bob/x/cache"));
  EXPECT_TRUE(MatchPattern("/home/**/cache", "/home/cache"));
  EXPECT_TRUE(PatternList({"/home/**/cache"}).MayMatchBelow("/home/a/b/c"));
}

TEST(Pattern, TrailingSlashIgnored) {
  EXPECT_TRUE(PatternList({"/srv/data/"}).Matches("/srv/data/x"));
}

}  // namespace
}  // namespace lb::fs
