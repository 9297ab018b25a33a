#include "snapshot/snapshot.h"

#include <gtest/gtest.h>

namespace lb::snapshot {
namespace {

Id MakeId(uint8_t x) {
  Id id;
  id.b.fill(x);
  return id;
}

Tree SampleTree() {
  Tree t;
  Node dir;
  dir.name = "dir";
  dir.meta.type = fs::FileType::kDirectory;
  dir.meta.mode = 01777;
  dir.subtree = MakeId(7);
  Node file;
  file.name = std::string("f\xff\nx");
  file.meta.type = fs::FileType::kRegular;
  file.meta.mode = 04755;
  file.meta.uid = 1234;
  file.meta.gid = 5678;
  file.meta.user = "alice";
  file.meta.size = 3 << 20;
  file.meta.mtime_ns = 1700000000123456789;
  file.meta.xattrs = {{"user.a", std::string("\0\1\2", 3)}, {"user.b", ""}};
  file.content = {MakeId(1), MakeId(2), MakeId(1)};
  file.error = "changed while read";
  Node link;
  link.name = "link";
  link.meta.type = fs::FileType::kSymlink;
  link.meta.symlink_target = "../nowhere\xfe";
  link.meta.mtime_ns = -5;
  t.nodes = {dir, file, link};
  return t;
}

TEST(TreeCodec, RoundTripKeepsEveryField) {
  Tree t = SampleTree();
  auto back = DecodeTree(EncodeTree(t));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->nodes.size(), 3u);
  const Node& f = back->nodes[1];
  EXPECT_EQ(f.name, t.nodes[1].name);
  EXPECT_EQ(f.meta.mode, 04755u);
  EXPECT_EQ(f.meta.uid, 1234u);
  EXPECT_EQ(f.meta.user, "alice");
  EXPECT_EQ(f.meta.mtime_ns, 1700000000123456789);
  EXPECT_EQ(f.meta.xattrs, t.nodes[1].meta.xattrs);
  EXPECT_EQ(f.content, t.nodes[1].content);
  EXPECT_EQ(f.error, "changed while read");
  EXPECT_EQ(back->nodes[0].subtree, MakeId(7));
  EXPECT_EQ(back->nodes[2].meta.symlink_target, "../nowhere\xfe");
  EXPECT_EQ(back->nodes[2].meta.mtime_ns, -5);
}

TEST(TreeCodec, EncodingIsDeterministic) {
  EXPECT_EQ(EncodeTree(SampleTree()), EncodeTree(SampleTree()));
}

TEST(TreeCodec, RejectsMalformed) {
  Bytes enc = EncodeTree(SampleTree());
  EXPECT_FALSE(DecodeTree(ByteSpan(enc).subspan(0, enc.size() / 2)).ok());
  EXPECT_FALSE(DecodeTree(AsBytes("garbage")).ok());
  Tree bad = SampleTree();
  std::swap(bad.nodes[0], bad.nodes[1]);
  EXPECT_EQ(DecodeTree(EncodeTree(bad)).status().code(), Code::kCorrupt);
  Tree slash = SampleTree();
  slash.nodes[0].name = "a/b";
  EXPECT_FALSE(DecodeTree(EncodeTree(slash)).ok());
}

TEST(SnapshotCodec, RoundTrip) {
  Snapshot s;
  s.time = 1700000000999999999;
  s.host = "h";
  s.user = "u";
  s.paths = {"/etc", std::string("/odd\xff")};
  s.tags = {"nightly"};
  s.tree = MakeId(3);
  s.parent = MakeId(4);
  s.summary.files_new = 10;
  s.summary.duration_s = 1.5;
  s.partial_files = {"/etc/shadow"};
  s.program_version = "0.1.0";
  auto back = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->time, s.time);
  EXPECT_EQ(back->paths, s.paths);
  EXPECT_EQ(back->tags, s.tags);
  EXPECT_EQ(back->tree, s.tree);
  EXPECT_EQ(back->parent, s.parent);
  EXPECT_EQ(back->summary.files_new, 10u);
  EXPECT_DOUBLE_EQ(back->summary.duration_s, 1.5);
  EXPECT_EQ(back->partial_files, s.partial_files);
  Snapshot orphan = s;
  orphan.parent = Id{};
  auto o = DecodeSnapshot(EncodeSnapshot(orphan));
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->parent.IsZero());
}

}  // namespace
}  // namespace lb::snapshot
