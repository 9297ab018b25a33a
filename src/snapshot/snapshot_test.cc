#include "snapshot/snapshot.h"

#include <gtest/gtest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "snapshot/tree_decoder.h"

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

// EncodeTree writes node by node; the bytes must be those of the one-DOM encoding
// (tree ids, and so deduplication of unchanged directories, depend on them), for
// every length of the CBOR array head.
TEST(TreeCodec, NodeByNodeEncodingMatchesDom) {
  const Tree sample = SampleTree();
  for (size_t n : {0, 1, 2, 23, 24, 255, 256, 65535, 65536}) {
    Tree t;
    t.nodes.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      Node node = sample.nodes[i % sample.nodes.size()];
      std::string name = std::to_string(i);
      node.name = "n" + std::string(8 - std::min<size_t>(8, name.size()), '0') + name;
      t.nodes.push_back(std::move(node));
    }
    const Bytes enc = EncodeTree(t);
    ASSERT_EQ(enc, internal::EncodeTreeDom(t)) << n << " nodes";
    auto back = DecodeTree(enc);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->nodes.size(), n);
  }
}

// The streaming decoder against the DOM reference: same verdict, same code, same nodes.
void ExpectSameDecoding(const Bytes& data, const std::string& what) {
  auto a = internal::DecodeTreeStreaming(data);
  auto b = internal::DecodeTreeDom(data);
  ASSERT_EQ(a.ok(), b.ok()) << what << ": streaming " << a.status().ToString() << " / dom "
                            << b.status().ToString();
  if (!a.ok()) {
    EXPECT_EQ(a.status().code(), b.status().code()) << what;
    return;
  }
  ASSERT_EQ(a->nodes.size(), b->nodes.size()) << what;
  for (size_t i = 0; i < a->nodes.size(); ++i) {
    const Node &x = a->nodes[i], &y = b->nodes[i];
    EXPECT_EQ(x.name, y.name) << what;
    EXPECT_EQ(x.content, y.content) << what;
    EXPECT_EQ(x.subtree, y.subtree) << what;
    EXPECT_EQ(x.error, y.error) << what;
    EXPECT_EQ(EncodeTree(Tree{{x}}), EncodeTree(Tree{{y}})) << what;  // every metadata field
  }
}

TEST(TreeCodec, StreamingDecoderMatchesDomOnEveryFieldType) {
  using nlohmann::json;
  const json base = json::from_cbor(EncodeTree(SampleTree()));
  const std::vector<json> values = {
      json(7),  json(-7), json(uint64_t{1} << 63), json(int64_t{1} << 40), json("text"),
      json::binary(std::vector<uint8_t>(32, 1)), json::binary(std::vector<uint8_t>(3, 2)),
      json::array(), json::array({json::binary({1}), json::binary({2})}),
      json::array({json::array({json::binary({1}), json::binary({2})})}),
      json::array({json::array({json::binary({1})})}), json::object(), json(nullptr), json(true), json(1.5)};
  const std::vector<std::string> keys = {"n", "t", "m", "u", "g", "mt", "ct", "i", "d", "l",
                                         "s", "r", "un", "gn", "e", "lt", "st", "c", "x", "zz"};
  int cases = 0;
  for (size_t node = 0; node < base["nodes"].size(); ++node)
    for (const auto& k : keys)
      for (size_t v = 0; v <= values.size(); ++v) {
        json j = base;
        if (v == values.size()) j["nodes"][node].erase(k);
        else j["nodes"][node][k] = values[v];
        ExpectSameDecoding(json::to_cbor(j), "node " + std::to_string(node) + " key " + k + " value " +
                                                 (v == values.size() ? "absent" : values[v].dump()));
        ++cases;
      }
  for (const auto& v : values) {
    json j = base;
    j["v"] = v;
    ExpectSameDecoding(json::to_cbor(j), "v = " + v.dump());
    j = base;
    j["nodes"] = v;
    ExpectSameDecoding(json::to_cbor(j), "nodes = " + v.dump());
    j = base;
    j["nodes"].push_back(v);
    ExpectSameDecoding(json::to_cbor(j), "extra node " + v.dump());
    ExpectSameDecoding(json::to_cbor(v), "top = " + v.dump());
  }
  json j = base;
  j.erase("nodes");
  ExpectSameDecoding(json::to_cbor(j), "no nodes");
  j = base;
  j.erase("v");
  ExpectSameDecoding(json::to_cbor(j), "no v");
  EXPECT_EQ(cases, 3 * 20 * 16);  // nodes x keys x (values + absent)
}

TEST(TreeCodec, StreamingDecoderMatchesDomOnDamagedBytes) {
  const Bytes good = EncodeTree(SampleTree());
  std::mt19937 rng(42);
  for (int round = 0; round < 20000; ++round) {
    Bytes d = good;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !d.empty(); ++e) {
      const size_t at = rng() % d.size();
      switch (rng() % 4) {
        case 0: d[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: d[at] = static_cast<uint8_t>(rng()); break;
        case 2: d.erase(d.begin() + static_cast<std::ptrdiff_t>(at)); break;
        default: d.resize(at); break;
      }
    }
    ExpectSameDecoding(d, "round " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
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
