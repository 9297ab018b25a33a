#include "snapshot/snapshot.h"

#include <limits>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/json_checked.h"
#include "snapshot/tree_decoder.h"

namespace lb::snapshot {

using nlohmann::json;
using json_checked::Int;
using json_checked::OptInt;
using json_checked::Str;

namespace {

constexpr int kTreeVersion = 1;
constexpr int kSnapshotVersion = 1;

json Bin(const std::string& s) { return json::binary(std::vector<uint8_t>(s.begin(), s.end())); }
json Bin(const Id& id) { return json::binary(std::vector<uint8_t>(id.b.begin(), id.b.end())); }

std::string StrFromBin(const json& j) {
  const auto& b = j.get_binary();
  return std::string(b.begin(), b.end());
}

Id IdFromBin(const json& j) {
  const auto& b = j.get_binary();
  if (b.size() != 32) throw std::runtime_error("id has wrong length");
  return Id::FromBytes(b);
}



const json& Array(const json& j, const char* what) {
  if (!j.is_array()) throw std::runtime_error(std::string(what) + " is not an array");
  return j;
}

const json& Map(const json& j, const char* what) {
  if (!j.is_object()) throw std::runtime_error(std::string(what) + " is not a map");
  return j;
}

// nlohmann's CBOR reader recurses once per nesting level, so a few thousand nested
// arrays overflow the stack. Trees nest 5 levels deep, snapshots 2. Returns false
// when `data` nests deeper than kMaxCborDepth; other damage is left to the decoder.
constexpr size_t kMaxCborDepth = 32;

}  // namespace

bool internal::CborDepthOk(ByteSpan data) {
  constexpr uint64_t kIndefinite = std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> open;  // items still due in each open container
  // One item is complete: count it against the containers it completes.
  auto item_done = [&open] {
    while (!open.empty() && open.back() != kIndefinite) {
      if (--open.back() > 0) return;
      open.pop_back();
    }
  };
  auto push = [&open](uint64_t items) {
    open.push_back(items);
    return open.size() <= kMaxCborDepth;
  };
  size_t pos = 0;
  while (pos < data.size()) {
    const uint8_t major = data[pos] >> 5, ai = data[pos] & 31;
    ++pos;
    uint64_t arg = ai;
    if (ai >= 24 && ai <= 27) {
      const size_t n = size_t{1} << (ai - 24);
      if (data.size() - pos < n) return true;
      arg = 0;
      for (size_t i = 0; i < n; ++i) arg = arg << 8 | data[pos++];
    } else if (ai > 27 && ai < 31) {
      return true;  // reserved: malformed
    }
    const bool indefinite = ai == 31;
    switch (major) {
      case 0:
      case 1:
        item_done();
        break;
      case 2:
      case 3:
        if (indefinite) {
          if (!push(kIndefinite)) return false;
        } else {
          if (arg > data.size() - pos) return true;
          pos += arg;
          item_done();
        }
        break;
      case 4:
      case 5:
        if (indefinite) {
          if (!push(kIndefinite)) return false;
        } else if (arg > data.size()) {
          return true;  // more items than bytes: malformed
        } else if (arg == 0) {
          item_done();
        } else if (!push(major == 5 ? 2 * arg : arg)) {
          return false;
        }
        break;
      case 6:
        if (!push(1)) return false;  // a tag wraps one item
        break;
      default:  // 7: simple values, floats, break
        if (indefinite) {
          if (open.empty() || open.back() != kIndefinite) return true;
          open.pop_back();
        }
        item_done();
        break;
    }
  }
  return true;
}

namespace {

using internal::CborDepthOk;

json NodeToJson(const Node& n) {
  const fs::Metadata& m = n.meta;
  json j = {{"n", Bin(n.name)}, {"t", static_cast<int>(m.type)}, {"m", m.mode},
            {"u", m.uid},       {"g", m.gid},                     {"mt", m.mtime_ns},
            {"ct", m.ctime_ns},               {"i", m.inode},
            {"d", m.device},    {"l", m.nlink}};
  if (!m.user.empty()) j["un"] = m.user;
  if (!m.group.empty()) j["gn"] = m.group;
  if (m.size) j["s"] = m.size;
  if (m.rdev) j["r"] = m.rdev;
  if (m.type == fs::FileType::kSymlink) j["lt"] = Bin(m.symlink_target);
  if (!m.xattrs.empty()) {
    json xs = json::array();
    for (const auto& x : m.xattrs) xs.push_back(json::array({Bin(x.name), Bin(x.value)}));
    j["x"] = xs;
  }
  if (!n.content.empty()) {
    std::vector<uint8_t> ids;
    ids.reserve(n.content.size() * 32);
    for (const Id& id : n.content) ids.insert(ids.end(), id.b.begin(), id.b.end());
    j["c"] = json::binary(std::move(ids));
  }
  if (m.type == fs::FileType::kDirectory) j["st"] = Bin(n.subtree);
  if (!n.error.empty()) j["e"] = n.error;
  return j;
}

Node NodeFromJson(const json& j) {
  Map(j, "node");
  Node n;
  fs::Metadata& m = n.meta;
  n.name = StrFromBin(j.at("n"));
  if (!internal::ValidNodeName(n.name)) throw std::runtime_error("invalid node name");
  int t = Int<int>(j.at("t"), "node type");
  if (t < 0 || t > 6) throw std::runtime_error("unknown node type");
  m.type = static_cast<fs::FileType>(t);
  m.mode = Int<uint32_t>(j.at("m"), "mode") & 07777;
  m.uid = Int<uint32_t>(j.at("u"), "uid");
  m.gid = Int<uint32_t>(j.at("g"), "gid");
  m.mtime_ns = Int<int64_t>(j.at("mt"), "mtime");
  m.atime_ns = m.mtime_ns;  // access times are not stored: reading would change every tree
  m.ctime_ns = OptInt<int64_t>(j, "ct", 0);
  m.inode = OptInt<uint64_t>(j, "i", 0);
  m.device = OptInt<uint64_t>(j, "d", 0);
  m.nlink = OptInt<uint64_t>(j, "l", 0);
  m.user = j.value("un", "");
  m.group = j.value("gn", "");
  m.size = OptInt<uint64_t>(j, "s", 0);
  m.rdev = OptInt<uint64_t>(j, "r", 0);
  // Like "st", a link target belongs to one type only (the encoder writes it for symlinks).
  if (m.type == fs::FileType::kSymlink && j.contains("lt"))
    m.symlink_target = StrFromBin(j.at("lt"));
  if (j.contains("x"))
    for (const json& x : Array(j.at("x"), "xattrs")) {
      if (!x.is_array() || x.size() != 2) throw std::runtime_error("xattr is not a pair");
      m.xattrs.push_back({StrFromBin(x.at(0)), StrFromBin(x.at(1))});
    }
  if (j.contains("c")) {
    const auto& ids = j.at("c").get_binary();
    if (ids.size() % 32 != 0) throw std::runtime_error("content list has partial id");
    for (size_t i = 0; i < ids.size(); i += 32)
      n.content.push_back(Id::FromBytes(ByteSpan(ids.data() + i, 32)));
  }
  if (m.type == fs::FileType::kDirectory) n.subtree = IdFromBin(j.at("st"));
  n.error = j.value("e", "");
  return n;
}

json SummaryToJson(const Summary& s) {
  json j = json::object();
  for (const auto& c : kSummaryCounters) j[c.name] = s.*c.field;
  j["duration_s"] = s.duration_s;
  return j;
}

Summary SummaryFromJson(const json& j) {
  Map(j, "summary");
  Summary s;
  for (const auto& c : kSummaryCounters) s.*c.field = OptInt<uint64_t>(j, c.name, 0);
  s.duration_s = j.value("duration_s", 0.0);
  return s;
}

json StringsToBin(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(Bin(s));
  return a;
}

std::vector<std::string> StringsFromBin(const json& j) {
  std::vector<std::string> out;
  for (const json& x : Array(j, "string list")) out.push_back(StrFromBin(x));
  return out;
}

}  // namespace

// The CBOR head of an array of n items (major type 4), in the shortest form, as
// nlohmann's writer emits it.
void PutCborArrayHead(Bytes& out, uint64_t n) {
  auto be = [&](uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  if (n < 24) {
    out.push_back(static_cast<uint8_t>(0x80 + n));
  } else if (n <= 0xff) {
    out.push_back(0x98);
    be(n, 1);
  } else if (n <= 0xffff) {
    out.push_back(0x99);
    be(n, 2);
  } else if (n <= 0xffffffff) {
    out.push_back(0x9a);
    be(n, 4);
  } else {
    out.push_back(0x9b);
    be(n, 8);
  }
}

Bytes internal::EncodeTreeDom(const Tree& tree) {
  json nodes = json::array();
  for (const Node& n : tree.nodes) nodes.push_back(NodeToJson(n));
  return json::to_cbor(json{{"v", kTreeVersion}, {"nodes", nodes}});
}

// Byte for byte what EncodeTreeDom writes, one node's JSON at a time: a DOM of a
// directory of 100k files cost tens of MiB at the peak of a backup. The map
// {"nodes": [...], "v": N} is written by nlohmann with an empty array (its
// keys sorted: "nodes" first), and the nodes are spliced in where that array's
// one-byte head (0x80) was: CBOR items are self-delimiting and concatenate.
Bytes EncodeTree(const Tree& tree) {
  static const Bytes frame = json::to_cbor(json{{"v", kTreeVersion}, {"nodes", json::array()}});
  static const size_t at = [] {
    const Bytes name = json::to_cbor(json("nodes"));
    return 1 + name.size();  // map head (0xa2), then the key "nodes"
  }();
  Bytes out(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(at));
  PutCborArrayHead(out, tree.nodes.size());
  for (const Node& n : tree.nodes) json::to_cbor(NodeToJson(n), out);
  out.insert(out.end(), frame.begin() + static_cast<ptrdiff_t>(at) + 1, frame.end());
  return out;
}

Result<Tree> DecodeTree(ByteSpan data) { return internal::DecodeTreeStreaming(data); }

Result<Tree> internal::DecodeTreeDom(ByteSpan data) {
  try {
    if (!CborDepthOk(data)) return Corrupt("malformed tree: nested too deeply");
    json j = json::from_cbor(data.begin(), data.end());
    if (Int<int>(Map(j, "tree").at("v"), "tree version") != kTreeVersion)
      return Unsupported("unknown tree version");
    Tree t;
    for (const json& n : Array(j.at("nodes"), "nodes")) t.nodes.push_back(NodeFromJson(n));
    for (size_t i = 1; i < t.nodes.size(); ++i)
      if (!(t.nodes[i - 1].name < t.nodes[i].name)) return Corrupt("tree nodes not sorted/unique");
    return t;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed tree: ") + e.what());
  }
}

Bytes EncodeSnapshot(const Snapshot& s) {
  json j = {{"v", kSnapshotVersion},
            {"time", s.time},
            {"host", s.host},
            {"user", s.user},
            {"uid", s.uid},
            {"gid", s.gid},
            {"paths", StringsToBin(s.paths)},
            {"tags", s.tags},
            {"tree", Bin(s.tree)},
            {"summary", SummaryToJson(s.summary)},
            {"partial", StringsToBin(s.partial_files)},
            {"program_version", s.program_version}};
  if (!s.parent.IsZero()) j["parent"] = Bin(s.parent);
  if (!s.original.IsZero()) j["original"] = Bin(s.original);
  if (!s.copied_from.IsZero()) {
    j["copied_from"] = Bin(s.copied_from);
    j["copied_from_repo"] = s.copied_from_repo;
  }
  return json::to_cbor(j);
}

Result<Snapshot> DecodeSnapshot(ByteSpan data) {
  try {
    if (!CborDepthOk(data)) return Corrupt("malformed snapshot: nested too deeply");
    json j = json::from_cbor(data.begin(), data.end());
    if (Int<int>(Map(j, "snapshot").at("v"), "snapshot version") != kSnapshotVersion)
      return Unsupported("unknown snapshot version");
    Snapshot s;
    s.time = Int<int64_t>(j.at("time"), "time");
    s.host = j.at("host").get<std::string>();
    s.user = j.at("user").get<std::string>();
    s.uid = OptInt<uint32_t>(j, "uid", 0);
    s.gid = OptInt<uint32_t>(j, "gid", 0);
    s.paths = StringsFromBin(j.at("paths"));
    s.tags = j.at("tags").get<std::vector<std::string>>();
    s.tree = IdFromBin(j.at("tree"));
    if (j.contains("parent")) s.parent = IdFromBin(j.at("parent"));
    if (j.contains("original")) s.original = IdFromBin(j.at("original"));
    if (j.contains("copied_from")) {
      s.copied_from = IdFromBin(j.at("copied_from"));
      s.copied_from_repo = j.at("copied_from_repo").get<std::string>();
    }
    s.summary = SummaryFromJson(j.at("summary"));
    s.partial_files = StringsFromBin(j.at("partial"));
    s.program_version = j.value("program_version", "");
    return s;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed snapshot: ") + e.what());
  }
}

}  // namespace lb::snapshot
