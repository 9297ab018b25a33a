#include "snapshot/tree_decoder.h"

#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace lb::snapshot::internal {

namespace {

using nlohmann::json;

constexpr int kTreeVersion = 1;

// One CBOR integer as the reader reported it.
struct IntValue {
  bool is_unsigned = false;
  uint64_t u = 0;
  int64_t i = 0;
  template <typename T>
  std::optional<T> As() const {
    if (is_unsigned) return std::in_range<T>(u) ? std::optional<T>(static_cast<T>(u)) : std::nullopt;
    return std::in_range<T>(i) ? std::optional<T>(static_cast<T>(i)) : std::nullopt;
  }
};

// The keys of a node map this decoder knows; others are ignored.
enum Key { kN, kT, kM, kU, kG, kMt, kCt, kI, kD, kL, kS, kR, kUn, kGn, kE, kLt, kSt, kC, kX, kKeys };
constexpr const char* kKeyNames[kKeys] = {"n", "t", "m", "u", "g", "mt", "ct", "i", "d", "l",
                                          "s", "r", "un", "gn", "e", "lt", "st", "c", "x"};

enum class Kind { kNone, kInt, kText, kBinary, kOther };

// One field as it arrived (the last occurrence wins, as in the DOM decoder).
struct Raw {
  Kind kind = Kind::kNone;
  IntValue i;
  std::string bytes;  // text or byte string
};

struct NodeFields {
  Raw f[kKeys];
  std::vector<fs::Xattr> x;  // valid when f[kX].kind == kOther and x_ok
  bool x_ok = false;
  // For the next node: every field absent (a field's other members are only read
  // when its kind says it was set), buffers kept for reuse.
  void Reset() {
    for (Raw& r : f) r.kind = Kind::kNone;
    x.clear();
    x_ok = false;
  }
};

// Called for every field of every node: keys are one or two characters, so the
// length and the first character pick the candidate.
int KeyIndex(const std::string& k) {
  if (k.empty() || k.size() > 2) return -1;
  for (int i = 0; i < kKeys; ++i)
    if (kKeyNames[i][0] == k[0] && k == kKeyNames[i]) return i;
  return -1;
}

class TreeSax {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  // A node takes more than 16 bytes of CBOR (a map of at least six fields).
  explicit TreeSax(std::size_t input_size) : max_nodes_(input_size / 16) {}

  bool null() { return Scalar(Kind::kOther); }
  bool boolean(bool) { return Scalar(Kind::kOther); }
  bool number_integer(number_integer_t v) {
    int_ = {false, 0, v};
    return Scalar(Kind::kInt);
  }
  bool number_unsigned(number_unsigned_t v) {
    int_ = {true, v, 0};
    return Scalar(Kind::kInt);
  }
  bool number_float(number_float_t, const string_t&) { return Scalar(Kind::kOther); }
  bool string(string_t& v) {
    str_ = std::move(v);
    return Scalar(Kind::kText);
  }
  bool binary(binary_t& v) {
    bin_ = std::move(static_cast<std::vector<uint8_t>&>(v));
    return Scalar(Kind::kBinary);
  }
  bool start_object(std::size_t) { return Open(true); }
  bool start_array(std::size_t n) {
    array_size_ = n;
    return Open(false);
  }
  bool key(string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& ex) {
    parse_error_ = ex.what();
    return false;
  }

  Result<Tree> Finish() &&;

 private:
  enum class Ctx { kTop, kNodes, kNode, kXattrs, kPair, kSkip };

  void Bad(const std::string& why) {
    if (error_.empty()) error_ = why;
  }
  bool Scalar(Kind kind);
  void NodeScalar(Kind kind);
  bool Open(bool is_map);
  bool Close();
  void FinishNode();
  // A (new) "nodes" entry: the last one wins, with its own errors.
  void StartNodes() {
    nodes_seen_ = true;
    tree_.nodes.clear();
    error_.clear();
  }

  std::vector<Ctx> stack_;
  std::size_t array_size_ = 0;  // of the array being opened (-1: indefinite)
  std::size_t max_nodes_ = 0;   // nodes the input has room for
  std::string key_;
  IntValue int_;
  std::string str_;
  std::vector<uint8_t> bin_;
  // the top-level map
  bool top_is_map_ = false, v_seen_ = false, v_bad_ = false, nodes_seen_ = false;
  IntValue v_;
  // the node being read and the xattr pair being read
  NodeFields node_;
  std::vector<std::string> pair_;
  bool pair_bad_ = false;
  Tree tree_;
  std::string error_;        // first semantic error (reported after the version check)
  std::string parse_error_;  // from the CBOR reader
};

bool TreeSax::Scalar(Kind kind) {
  if (stack_.empty()) {
    Bad("tree is not a map");
    return true;
  }
  switch (stack_.back()) {
    case Ctx::kTop:
      if (key_ == "v") {
        v_seen_ = true;
        v_bad_ = kind != Kind::kInt;
        v_ = int_;
      } else if (key_ == "nodes") {
        StartNodes();
        Bad("nodes is not an array");
      }
      return true;
    case Ctx::kNodes:
      Bad("node is not a map");
      return true;
    case Ctx::kNode:
      NodeScalar(kind);
      return true;
    case Ctx::kXattrs:
      node_.x_ok = false;
      return true;
    case Ctx::kPair:
      if (kind != Kind::kBinary) pair_bad_ = true;
      pair_.emplace_back(bin_.begin(), bin_.end());
      return true;
    case Ctx::kSkip:
      return true;
  }
  return true;
}

void TreeSax::NodeScalar(Kind kind) {
  const int k = KeyIndex(key_);
  if (k < 0) return;  // unknown fields are ignored
  Raw& r = node_.f[k];
  r.kind = kind;
  r.i = int_;
  if (kind == Kind::kText) r.bytes = str_;
  else if (kind == Kind::kBinary) r.bytes.assign(bin_.begin(), bin_.end());
  else r.bytes.clear();
}

bool TreeSax::Open(bool is_map) {
  if (stack_.empty()) {
    top_is_map_ = is_map;
    if (!is_map) Bad("tree is not a map");
    stack_.push_back(is_map ? Ctx::kTop : Ctx::kSkip);
    return true;
  }
  Ctx next = Ctx::kSkip;
  switch (stack_.back()) {
    case Ctx::kTop:
      if (key_ == "nodes") {
        StartNodes();
        if (is_map) {
          Bad("nodes is not an array");
        } else {
          next = Ctx::kNodes;
          // The count is the encoder's; at most what the input could hold.
          if (array_size_ != static_cast<std::size_t>(-1))
            tree_.nodes.reserve(std::min(array_size_, max_nodes_));
        }
      } else if (key_ == "v") {
        v_seen_ = true;
        v_bad_ = true;
      }
      break;
    case Ctx::kNodes:
      if (!is_map) {
        Bad("node is not a map");
      } else {
        node_.Reset();
        next = Ctx::kNode;
      }
      break;
    case Ctx::kNode:
      if (const int k = KeyIndex(key_); k >= 0) {
        node_.f[k] = Raw{Kind::kOther, {}, {}};  // a container: only "x" may be one
        if (k == kX) {
          node_.x.clear();
          node_.x_ok = !is_map;
          if (!is_map) next = Ctx::kXattrs;
        }
      }
      break;
    case Ctx::kXattrs:
      if (is_map) {
        node_.x_ok = false;
      } else {
        pair_.clear();
        pair_bad_ = false;
        next = Ctx::kPair;
      }
      break;
    case Ctx::kPair:
      pair_bad_ = true;
      pair_.emplace_back();
      break;
    case Ctx::kSkip:
      break;
  }
  stack_.push_back(next);
  return true;
}

bool TreeSax::Close() {
  if (stack_.empty()) return false;
  const Ctx done = stack_.back();
  stack_.pop_back();
  if (done == Ctx::kNode) FinishNode();
  if (done == Ctx::kPair) {
    if (pair_.size() != 2 || pair_bad_) node_.x_ok = false;
    else node_.x.push_back({std::move(pair_[0]), std::move(pair_[1])});
  }
  return true;
}

void TreeSax::FinishNode() {
  const Raw* f = node_.f;
  for (int k : {kN, kT, kM, kU, kG, kMt})
    if (f[k].kind == Kind::kNone) return Bad(std::string("node lacks field ") + kKeyNames[k]);
  if (f[kN].kind != Kind::kBinary) return Bad("node name is not a byte string");
  Node n;
  fs::Metadata& m = n.meta;
  n.name = f[kN].bytes;
  if (!ValidNodeName(n.name)) return Bad("invalid node name");
  bool ok = true;
  auto integer = [&ok, f](int k, auto& out) {
    if (f[k].kind == Kind::kNone) return;
    auto v = f[k].kind == Kind::kInt ? f[k].i.As<std::remove_reference_t<decltype(out)>>() : std::nullopt;
    if (v) out = *v;
    else ok = false;
  };
  int type = -1;
  integer(kT, type);
  if (!ok || type < 0 || type > 6) return Bad("unknown node type");
  m.type = static_cast<fs::FileType>(type);
  integer(kM, m.mode);
  m.mode &= 07777;
  integer(kU, m.uid);
  integer(kG, m.gid);
  integer(kMt, m.mtime_ns);
  m.atime_ns = m.mtime_ns;  // access times are not stored
  integer(kCt, m.ctime_ns);
  integer(kI, m.inode);
  integer(kD, m.device);
  integer(kL, m.nlink);
  integer(kS, m.size);
  integer(kR, m.rdev);
  if (!ok) return Bad("node field is not an integer in range");
  auto text = [&ok, f](int k, std::string& out) {
    if (f[k].kind == Kind::kNone) return;
    if (f[k].kind == Kind::kText) out = f[k].bytes;
    else ok = false;
  };
  text(kUn, m.user);
  text(kGn, m.group);
  text(kE, n.error);
  if (!ok) return Bad("node field is not a string");
  if (m.type == fs::FileType::kSymlink && f[kLt].kind != Kind::kNone) {
    if (f[kLt].kind != Kind::kBinary) return Bad("link target is not a byte string");
    m.symlink_target = f[kLt].bytes;
  }
  if (f[kX].kind != Kind::kNone) {
    if (f[kX].kind != Kind::kOther || !node_.x_ok) return Bad("xattrs are not pairs of byte strings");
    m.xattrs = std::move(node_.x);
  }
  if (f[kC].kind != Kind::kNone) {
    if (f[kC].kind != Kind::kBinary) return Bad("content list is not a byte string");
    const std::string& c = f[kC].bytes;
    if (c.size() % 32 != 0) return Bad("content list has partial id");
    n.content.reserve(c.size() / 32);
    for (size_t i = 0; i < c.size(); i += 32) n.content.push_back(Id::FromBytes(AsBytes(c).subspan(i, 32)));
  }
  if (m.type == fs::FileType::kDirectory) {
    if (f[kSt].kind != Kind::kBinary || f[kSt].bytes.size() != 32)
      return Bad("directory lacks a valid subtree id");
    n.subtree = Id::FromBytes(AsBytes(f[kSt].bytes));
  }
  tree_.nodes.push_back(std::move(n));
}

Result<Tree> TreeSax::Finish() && {
  if (!parse_error_.empty()) return Corrupt("malformed tree: " + parse_error_);
  if (!top_is_map_) return Corrupt("malformed tree: tree is not a map");
  if (!v_seen_ || v_bad_) return Corrupt("malformed tree: no valid tree version");
  auto v = v_.As<int>();
  if (!v) return Corrupt("malformed tree: tree version out of range");
  if (*v != kTreeVersion) return Unsupported("unknown tree version");
  if (!nodes_seen_) return Corrupt("malformed tree: no nodes");
  if (!error_.empty()) return Corrupt("malformed tree: " + error_);
  for (size_t i = 1; i < tree_.nodes.size(); ++i)
    if (!(tree_.nodes[i - 1].name < tree_.nodes[i].name)) return Corrupt("tree nodes not sorted/unique");
  return std::move(tree_);
}

}  // namespace

bool ValidNodeName(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
}

Result<Tree> DecodeTreeStreaming(ByteSpan data) {
  if (!CborDepthOk(data)) return Corrupt("malformed tree: nested too deeply");
  TreeSax sax(data.size());
  try {
    json::sax_parse(data.begin(), data.end(), &sax, json::input_format_t::cbor);
  } catch (const std::exception& e) {
    return Corrupt(std::string("malformed tree: ") + e.what());
  }
  return std::move(sax).Finish();
}

}  // namespace lb::snapshot::internal
