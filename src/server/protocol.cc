#include "server/protocol.h"

#include <charconv>

namespace lb::server {

namespace {

using storage::FileKind;

constexpr FileKind kKindsWithFiles[] = {FileKind::kKey,  FileKind::kData,  FileKind::kIndex,  FileKind::kSnapshot,
                                        FileKind::kLock, FileKind::kAudit, FileKind::kKeyring};

std::optional<FileKind> KindOfDir(const std::string& dir) {
  for (FileKind k : kKindsWithFiles)
    if (dir == storage::FileKindDir(k)) return k;
  return std::nullopt;
}

bool ParseU64(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<Target> ParseTarget(const std::string& path) {
  if (path.size() < 2 || path[0] != '/') return NotFound("no such object '" + path + "'");
  const auto slash = path.find('/', 1);
  Target t;
  t.repo = path.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
  if (!storage::ValidFileName(t.repo)) return InvalidArgument("invalid repository name '" + t.repo + "'");
  if (slash == std::string::npos || slash + 1 == path.size()) return t;  // "/NAME" or "/NAME/"
  const std::string rest = path.substr(slash + 1);
  if (rest == "config") {
    t.kind = FileKind::kConfig;
    t.file = "config";
    return t;
  }
  const auto slash2 = rest.find('/');
  if (slash2 == std::string::npos) return NotFound("no such object '" + path + "'");
  t.kind = KindOfDir(rest.substr(0, slash2));
  if (!t.kind) return NotFound("no such kind of file '" + rest.substr(0, slash2) + "'");
  t.file = rest.substr(slash2 + 1);
  if (!t.file.empty() && !storage::ValidFileName(t.file))
    return InvalidArgument("invalid file name '" + t.file + "'");
  return t;
}

Result<ByteRange> ParseRange(const std::string& header) {
  const std::string prefix = "bytes=";
  auto bad = [&] { return InvalidArgument("unsupported range '" + header + "' (use bytes=A-B or bytes=A-)"); };
  if (header.rfind(prefix, 0) != 0) return bad();
  const std::string spec = header.substr(prefix.size());
  const auto dash = spec.find('-');
  if (dash == std::string::npos || dash == 0) return bad();
  ByteRange r;
  if (!ParseU64(std::string_view(spec).substr(0, dash), r.offset)) return bad();
  const std::string_view last = std::string_view(spec).substr(dash + 1);
  if (last.empty()) return r;
  uint64_t end = 0;
  if (!ParseU64(last, end) || end < r.offset) return bad();
  r.length = end - r.offset + 1;
  return r;
}

bool Allowed(Role role, Op op, FileKind kind, bool own_lock) {
  if (role == Role::kAdmin || op == Op::kRead) return true;
  switch (op) {
    case Op::kSave:
      return kind == FileKind::kLock || (role == Role::kAppend && kind != FileKind::kConfig);
    case Op::kRemove:
      return kind == FileKind::kLock && own_lock;
    default:
      return false;
  }
}

bool ContentAddressed(FileKind kind) { return kind != FileKind::kConfig && kind != FileKind::kLock; }

}  // namespace lb::server
