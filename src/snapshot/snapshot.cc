#include "snapshot/snapshot.h"

#include <nlohmann/json.hpp>

namespace lb::snapshot {

using nlohmann::json;

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
  Node n;
  fs::Metadata& m = n.meta;
  n.name = StrFromBin(j.at("n"));
  if (n.name.empty() || n.name.find('/') != std::string::npos || n.name == "." || n.name == "..")
    throw std::runtime_error("invalid node name");
  int t = j.at("t").get<int>();
  if (t < 0 || t > 6) throw std::runtime_error("unknown node type");
  m.type = static_cast<fs::FileType>(t);
  m.mode = j.at("m").get<uint32_t>() & 07777;
  m.uid = j.at("u").get<uint32_t>();
  m.gid = j.at("g").get<uint32_t>();
  m.mtime_ns = j.at("mt").get<int64_t>();
  m.atime_ns = m.mtime_ns;  // access times are not stored: reading would change every tree
  m.ctime_ns = j.value("ct", int64_t{0});
  m.inode = j.value("i", uint64_t{0});
  m.device = j.value("d", uint64_t{0});
  m.nlink = j.value("l", uint64_t{0});
  m.user = j.value("un", "");
  m.group = j.value("gn", "");
  m.size = j.value("s", uint64_t{0});
  m.rdev = j.value("r", uint64_t{0});
  if (j.contains("lt")) m.symlink_target = StrFromBin(j.at("lt"));
  if (j.contains("x"))
    for (const json& x : j.at("x")) m.xattrs.push_back({StrFromBin(x.at(0)), StrFromBin(x.at(1))});
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
  return {{"files_new", s.files_new},       {"files_changed", s.files_changed},
          {"files_unmodified", s.files_unmodified}, {"dirs_new", s.dirs_new},
          {"dirs_changed", s.dirs_changed}, {"dirs_unmodified", s.dirs_unmodified},
          {"data_blobs", s.data_blobs},     {"tree_blobs", s.tree_blobs},
          {"bytes_read", s.bytes_read},     {"bytes_added", s.bytes_added},
          {"bytes_stored", s.bytes_stored}, {"total_files", s.total_files},
          {"total_bytes", s.total_bytes},   {"duration_s", s.duration_s}};
}

Summary SummaryFromJson(const json& j) {
  Summary s;
  s.files_new = j.value("files_new", uint64_t{0});
  s.files_changed = j.value("files_changed", uint64_t{0});
  s.files_unmodified = j.value("files_unmodified", uint64_t{0});
  s.dirs_new = j.value("dirs_new", uint64_t{0});
  s.dirs_changed = j.value("dirs_changed", uint64_t{0});
  s.dirs_unmodified = j.value("dirs_unmodified", uint64_t{0});
  s.data_blobs = j.value("data_blobs", uint64_t{0});
  s.tree_blobs = j.value("tree_blobs", uint64_t{0});
  s.bytes_read = j.value("bytes_read", uint64_t{0});
  s.bytes_added = j.value("bytes_added", uint64_t{0});
  s.bytes_stored = j.value("bytes_stored", uint64_t{0});
  s.total_files = j.value("total_files", uint64_t{0});
  s.total_bytes = j.value("total_bytes", uint64_t{0});
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
  for (const json& x : j) out.push_back(StrFromBin(x));
  return out;
}

}  // namespace

Bytes EncodeTree(const Tree& tree) {
  json nodes = json::array();
  for (const Node& n : tree.nodes) nodes.push_back(NodeToJson(n));
  return json::to_cbor(json{{"v", kTreeVersion}, {"nodes", nodes}});
}

Result<Tree> DecodeTree(ByteSpan data) {
  try {
    json j = json::from_cbor(data.begin(), data.end());
    if (j.at("v").get<int>() != kTreeVersion) return Unsupported("unknown tree version");
    Tree t;
    for (const json& n : j.at("nodes")) t.nodes.push_back(NodeFromJson(n));
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
  return json::to_cbor(j);
}

Result<Snapshot> DecodeSnapshot(ByteSpan data) {
  try {
    json j = json::from_cbor(data.begin(), data.end());
    if (j.at("v").get<int>() != kSnapshotVersion) return Unsupported("unknown snapshot version");
    Snapshot s;
    s.time = j.at("time").get<int64_t>();
    s.host = j.at("host").get<std::string>();
    s.user = j.at("user").get<std::string>();
    s.uid = j.value("uid", 0u);
    s.gid = j.value("gid", 0u);
    s.paths = StringsFromBin(j.at("paths"));
    s.tags = j.at("tags").get<std::vector<std::string>>();
    s.tree = IdFromBin(j.at("tree"));
    if (j.contains("parent")) s.parent = IdFromBin(j.at("parent"));
    s.summary = SummaryFromJson(j.at("summary"));
    s.partial_files = StringsFromBin(j.at("partial"));
    s.program_version = j.value("program_version", "");
    return s;
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed snapshot: ") + e.what());
  }
}

}  // namespace lb::snapshot
