#include "storage/rest_backend.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "base/json_checked.h"
#include "storage/http.h"

namespace lb::storage {

Result<RestLocation> ParseRestLocation(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("repository location " + url + ": " + why + " (expected rest:http[s]://HOST[:PORT]/NAME)");
  };
  if (url.rfind("rest:", 0) != 0) return bad("not a rest: location");
  auto endpoint = http::ParseEndpoint(url.substr(5));
  if (!endpoint.ok()) return bad(endpoint.status().message());
  RestLocation loc{endpoint->scheme, endpoint->host, endpoint->path.empty() ? "" : endpoint->path.substr(1)};
  if (!loc.repo.empty() && loc.repo.back() == '/') loc.repo.pop_back();
  if (loc.repo.empty()) return bad("no repository name");
  if (!ValidFileName(loc.repo)) return bad("invalid repository name '" + loc.repo + "': use [A-Za-z0-9_.-]");
  return loc;
}

namespace {

// The first line of the server's error text, bounded.
std::string Reason(const http::Response& resp) {
  std::string text = ToString(resp.body);
  text = text.substr(0, std::min(text.find('\n'), size_t{300}));
  return text.empty() ? "" : ": " + text;
}

Status StatusOf(const http::Response& resp, const std::string& what) {
  const long s = resp.status;
  std::string detail = what + ": HTTP " + std::to_string(s) + Reason(resp);
  if (s == 401) detail += " (set LIFEBOAT_REST_TOKEN or -o rest.token-file=FILE)";
  if (s == 404) return NotFound(detail);
  if (s == 409) return Status(Code::kAlreadyExists, detail);
  if (s == 400 || s == 413) return InvalidArgument(detail);
  if (s == 401 || s == 403) return Status(Code::kPermission, detail);
  if (s == 416) return Corrupt(detail);
  if (s == 507) return Status(Code::kNoSpace, detail);
  if (s == 408 || s == 429 || s >= 500) return IoError(detail);
  return Unsupported(detail);
}

class RestBackend final : public Backend {
 public:
  explicit RestBackend(RestConfig c)
      : c_(std::move(c)), http_(http::Options{c_.connections, c_.ca_file}),
        base_(c_.where.scheme + "://" + c_.where.host + "/" + c_.where.repo) {}

  std::string Location() const override { return "rest:" + base_; }
  Status Create() override { return Call("POST", "/?create=true", {}, {}, "create repository").status(); }
  Status Save(const Handle& h, ByteSpan data) override;
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override;
  Result<uint64_t> Size(const Handle& h) override;
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override;
  Status Remove(const Handle& h) override {
    LB_ASSIGN_OR_RETURN(const std::string path, PathOf(h));
    return Call("DELETE", path, {}, {}, "remove " + path.substr(1)).status();
  }

 private:
  static Result<std::string> PathOf(const Handle& h) {
    if (h.kind == FileKind::kConfig) return std::string("/config");
    if (!ValidFileName(h.name)) return InvalidArgument("invalid file name '" + h.name + "'");
    return "/" + std::string(FileKindDir(h.kind)) + "/" + h.name;
  }
  // Sends one request; every answer that is not 2xx becomes StatusOf(answer).
  Result<http::Response> Call(const std::string& method, const std::string& path, ByteSpan body,
                              std::vector<std::pair<std::string, std::string>> headers, const std::string& what);

  RestConfig c_;
  http::Client http_;
  std::string base_;  // scheme://host/NAME
};

Result<http::Response> RestBackend::Call(const std::string& method, const std::string& path, ByteSpan body,
                                         std::vector<std::pair<std::string, std::string>> headers,
                                         const std::string& what) {
  http::Request req{method, base_ + path, std::move(headers), body};
  if (!c_.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + c_.token);
  auto resp = http_.Do(req);
  if (!resp.ok()) return resp.status().WithContext(what);
  if (resp->status < 200 || resp->status > 299) return StatusOf(*resp, what + " (" + Location() + ")");
  return resp;
}

Status RestBackend::Save(const Handle& h, ByteSpan data) {
  LB_ASSIGN_OR_RETURN(const std::string path, PathOf(h));
  return Call("POST", path, data, {{"Content-Type", "application/octet-stream"}}, "save " + path.substr(1)).status();
}

Result<Bytes> RestBackend::Load(const Handle& h, uint64_t offset, uint64_t length) {
  LB_ASSIGN_OR_RETURN(const std::string path, PathOf(h));
  const std::string what = "load " + path.substr(1);
  const bool ranged = offset > 0 || length > 0;
  std::vector<std::pair<std::string, std::string>> headers;
  if (ranged)
    headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-" +
                                      (length ? std::to_string(offset + length - 1) : ""));
  LB_ASSIGN_OR_RETURN(auto resp, Call("GET", path, {}, std::move(headers), what));
  if (ranged && resp.status != 206) return Unsupported(what + ": the server ignored the range");
  if (length && resp.body.size() != length)
    return Corrupt(what + ": " + std::to_string(resp.body.size()) + " bytes instead of " + std::to_string(length));
  return std::move(resp.body);
}

Result<uint64_t> RestBackend::Size(const Handle& h) {
  LB_ASSIGN_OR_RETURN(const std::string path, PathOf(h));
  const std::string what = "stat " + path.substr(1);
  LB_ASSIGN_OR_RETURN(auto resp, Call("HEAD", path, {}, {}, what));
  const std::string len = resp.Header("content-length");
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
  if (len.empty() || ec != std::errc() || p != len.data() + len.size())
    return Unsupported(what + ": no valid Content-Length");
  return v;
}

Status RestBackend::List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) {
  if (kind == FileKind::kConfig) {
    auto size = Size({kind, "config"});
    if (!size.ok()) return size.status().code() == Code::kNotFound ? Status::Ok() : size.status();
    return fn("config", *size);
  }
  const std::string what = "list " + std::string(FileKindDir(kind));
  LB_ASSIGN_OR_RETURN(auto resp, Call("GET", "/" + std::string(FileKindDir(kind)) + "/", {}, {}, what));
  std::vector<std::pair<std::string, uint64_t>> files;
  try {
    const auto j = nlohmann::json::parse(resp.body.begin(), resp.body.end());
    for (const auto& e : j.get_ref<const nlohmann::json::array_t&>())
      files.emplace_back(e.at("name").get<std::string>(), json_checked::Int<uint64_t>(e.at("size"), "size"));
  } catch (const std::exception& e) {
    return Unsupported(what + ": malformed listing from the server: " + e.what());
  }
  for (const auto& [name, size] : files)
    if (ValidFileName(name)) LB_RETURN_IF_ERROR(fn(name, size));
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Backend>> NewRestBackend(RestConfig config) {
  if (config.where.scheme != "http" && config.where.scheme != "https")
    return InvalidArgument("rest: scheme must be http or https");
  if (!ValidFileName(config.where.repo)) return InvalidArgument("rest: invalid repository name '" + config.where.repo + "'");
  if (config.connections == 0) config.connections = 1;
  return std::unique_ptr<Backend>(std::make_unique<RestBackend>(std::move(config)));
}

}  // namespace lb::storage
