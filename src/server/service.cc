#include "server/service.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace lb::server {

namespace {

using storage::FileKind;

constexpr uint64_t kMaxLockBytes = 64 << 10;  // real lock files are a few hundred bytes

Reply Text(int status, std::string message) {
  Reply r;
  r.status = status;
  r.body = std::move(message) + "\n";
  return r;
}

int HttpStatusOf(Code c) {
  switch (c) {
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kInvalidArgument: return 400;
    case Code::kCorrupt: return 416;  // a range beyond the end
    case Code::kNoSpace: return 507;
    default: return 500;
  }
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string Describe(const Token& who) { return "token '" + who.id + "' (role " + RoleName(who.role) + ")"; }

}  // namespace

Service::Service(ServiceOptions options, TokenStore tokens) : o_(std::move(options)), tokens_(std::move(tokens)) {
  while (o_.root.size() > 1 && o_.root.back() == '/') o_.root.pop_back();
}

std::optional<Token> Service::Authenticate(const std::string& authorization) const {
  const std::string scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return std::nullopt;
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return std::nullopt;
  return tokens_.Find(authorization.substr(scheme.size()));
}

Reply Service::Error(const Status& st) const {
  // Backend messages name server paths; clients see them relative to the root.
  std::string msg = st.message();
  const std::string root = o_.root + "/";
  for (size_t at; (at = msg.find(root)) != std::string::npos;) msg.erase(at, root.size());
  return Text(HttpStatusOf(st.code()), msg);
}

Reply Service::Handle(const Call& call) {
  auto admitted = Admit(call);
  if (auto* refused = std::get_if<Reply>(&admitted)) return std::move(*refused);
  const Admitted& a = std::get<Admitted>(admitted);
  if (a.target.IsRepo()) return Create(a);
  if (a.target.IsList()) return List(a);
  if (call.method == "GET" || call.method == "HEAD") return Get(a, call);
  if (call.method == "POST") return Save(a, call);
  return Remove(a);
}

std::optional<Reply> Service::Refuse(const Call& call) {
  auto admitted = Admit(call);
  if (auto* refused = std::get_if<Reply>(&admitted)) return std::move(*refused);
  return std::nullopt;
}

std::variant<Reply, Service::Admitted> Service::Admit(const Call& call) {
  if (call.authorization.empty()) {
    Reply r = Text(401, "no token: send Authorization: Bearer TOKEN");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"lifeboat\"");
    return r;
  }
  Admitted a;
  if (auto who = Authenticate(call.authorization)) {
    a.who = *who;
  } else {
    Reply r = Text(401, "unknown token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"lifeboat\", error=\"invalid_token\"");
    return r;
  }
  auto target = ParseTarget(call.path);
  if (!target.ok()) return Error(target.status());
  a.target = std::move(*target);
  const bool create = a.target.IsRepo() && call.method == "POST" && call.create;
  if (a.target.IsRepo() && !create)
    return Text(404, "no such object '" + call.path + "' (create a repository with POST /NAME/?create=true)");
  if (a.target.IsList() && call.method != "GET") return Text(405, "a listing is read with GET");
  if (call.method != "GET" && call.method != "HEAD" && call.method != "POST" && call.method != "DELETE")
    return Text(405, "method " + call.method + " is not part of the protocol");
  if (auto denied = Authorize(call, a)) return std::move(*denied);
  if (!create) {
    auto be = Repo(a.target.repo, /*create=*/false);
    if (!be.ok()) return Error(be.status());
    a.backend = *be;
  }
  return a;
}

std::optional<Reply> Service::Authorize(const Call& call, const Admitted& a) {
  const Token& who = a.who;
  if (a.target.IsRepo()) {
    if (Allowed(who.role, Op::kCreateRepo, FileKind::kConfig, false)) return std::nullopt;
    return Text(403, Describe(who) + " may not create repositories");
  }
  const FileKind kind = *a.target.kind;
  const std::string dir = storage::FileKindDir(kind);
  if (call.method == "POST" && !Allowed(who.role, Op::kSave, kind, false))
    return Text(403, Describe(who) + " may not write " + dir);
  if (call.method == "DELETE" && !Allowed(who.role, Op::kRemove, kind, OwnsLock(who, a.target)))
    return Text(403, Describe(who) + " may not delete " + dir + (kind == FileKind::kLock ? " it did not create" : ""));
  return std::nullopt;
}

bool Service::OwnsLock(const Token& who, const Target& t) {
  if (t.kind != FileKind::kLock) return false;
  std::lock_guard<std::mutex> l(mu_);
  auto it = lock_owner_.find(t.repo + "/" + t.file);
  return it != lock_owner_.end() && it->second == who.id;
}

Reply Service::Create(const Admitted& a) {
  auto be = Repo(a.target.repo, /*create=*/true);
  if (!be.ok()) return Error(be.status());
  if (Status st = (*be)->Create(); !st.ok()) return Error(st.WithContext("create repository " + a.target.repo));
  return Text(200, "created");
}

Reply Service::List(const Admitted& a) {
  const FileKind kind = *a.target.kind;
  nlohmann::json out = nlohmann::json::array();
  Status st = a.backend->List(kind, [&](const std::string& name, uint64_t size) {
    out.push_back({{"name", name}, {"size", size}});
    return Status::Ok();
  });
  if (!st.ok()) {  // never a short list
    Reply e = Error(st.WithContext("list " + std::string(storage::FileKindDir(kind))));
    e.status = 500;
    return e;
  }
  Reply r;
  r.content_type = "application/json";
  r.body = out.dump();
  return r;
}

Reply Service::Get(const Admitted& a, const Call& call) {
  const storage::Handle h{*a.target.kind, a.target.file};
  auto size = a.backend->Size(h);
  if (!size.ok()) return Error(size.status());
  Reply r;
  r.content_type = "application/octet-stream";
  if (call.method == "HEAD") {
    r.headers.emplace_back("Content-Length", std::to_string(*size));
    return r;
  }
  ByteRange range;
  if (!call.range.empty()) {
    auto parsed = ParseRange(call.range);
    if (!parsed.ok()) return Error(parsed.status());
    range = *parsed;
    if (range.length == 0 && range.offset < *size) range.length = *size - range.offset;
    if (range.length == 0 || range.offset + range.length > *size) {
      Reply bad = Text(416, "range " + call.range + " is beyond the end (size " + std::to_string(*size) + ")");
      bad.headers.emplace_back("Content-Range", "bytes */" + std::to_string(*size));
      return bad;
    }
    r.status = 206;
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(range.offset) + "-" +
                                                std::to_string(range.offset + range.length - 1) + "/" +
                                                std::to_string(*size));
  }
  auto data = a.backend->Load(h, range.offset, range.length);
  if (!data.ok()) return Error(data.status());
  r.body = ToString(*data);
  return r;
}

Reply Service::Save(const Admitted& a, const Call& call) {
  const FileKind kind = *a.target.kind;
  const std::string& name = a.target.file;
  if (kind == FileKind::kLock && a.who.role != Role::kAdmin && call.body.size() > kMaxLockBytes)
    return Text(413, "a lock file is at most " + std::to_string(kMaxLockBytes) + " bytes");
  if (o_.verify_names && ContentAddressed(kind) && crypto::Sha256(call.body).Hex() != name)
    return Text(400, std::string(storage::FileKindDir(kind)) + "/" + name +
                         ": the name is not the SHA-256 of the content");
  if (Status st = a.backend->Save({kind, name}, call.body); !st.ok()) return Error(st);
  if (kind == FileKind::kLock) {
    std::lock_guard<std::mutex> l(mu_);
    lock_owner_[a.target.repo + "/" + name] = a.who.id;
  }
  return Text(200, "saved");
}

Reply Service::Remove(const Admitted& a) {
  const FileKind kind = *a.target.kind;
  if (Status st = a.backend->Remove({kind, a.target.file}); !st.ok()) return Error(st);
  if (kind == FileKind::kLock) {
    std::lock_guard<std::mutex> l(mu_);
    lock_owner_.erase(a.target.repo + "/" + a.target.file);
  }
  return Text(200, "removed");
}

Result<storage::Backend*> Service::Repo(const std::string& name, bool create) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = repos_.find(name);
  if (it != repos_.end()) return it->second.get();
  const std::string dir = o_.root + "/" + name;
  if (!create && !IsDirectory(dir)) return NotFound("no such repository '" + name + "'");
  auto& be = repos_[name];
  be = storage::NewLocalBackend(dir);
  return be.get();
}

}  // namespace lb::server
