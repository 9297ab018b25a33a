#include "storage/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cstring>
#include <mutex>

namespace lb::storage::http {

struct Client::Handle {
  CURL* curl = nullptr;
  char error[CURL_ERROR_SIZE] = {0};
  ~Handle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Upload {
  ByteSpan data;
  size_t pos = 0;
};

size_t ReadBody(char* buf, size_t size, size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const size_t len = std::min(size * n, u->data.size() - u->pos);
  if (len) std::memcpy(buf, u->data.data() + u->pos, len);
  u->pos += len;
  return len;
}

// Rewinds the body when libcurl must send it again (a redirect or a reused
// connection that turned out to be closed).
int SeekBody(void* user, curl_off_t offset, int origin) {
  auto* u = static_cast<Upload*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > u->data.size())
    return CURL_SEEKFUNC_FAIL;
  u->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* buf, size_t size, size_t n, void* user) {
  auto* out = static_cast<Bytes*>(user);
  out->insert(out->end(), buf, buf + size * n);
  return size * n;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

size_t WriteHeader(char* buf, size_t size, size_t n, void* user) {
  auto* resp = static_cast<Response*>(user);
  std::string line(buf, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 100 Continue or a redirect)
    resp->headers.clear();
    return size * n;
  }
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    resp->headers[Trim(name)] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

Status TransportError(CURLcode rc, const char* detail, const Request& req) {
  std::string msg = std::string(req.method) + " " + req.url + ": " + (*detail ? detail : curl_easy_strerror(rc));
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
      return Status(Code::kPermission, "TLS verification failed: " + msg);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgument(msg);
    default:
      return IoError(msg);
  }
}

}  // namespace

Result<Endpoint> ParseEndpoint(const std::string& url) {
  Endpoint e;
  for (const char* scheme : {"http", "https"})
    if (url.rfind(std::string(scheme) + "://", 0) == 0) e.scheme = scheme;
  if (e.scheme.empty()) return InvalidArgument("the endpoint must start with http:// or https://");
  const std::string rest = url.substr(e.scheme.size() + 3);
  const auto slash = rest.find('/');
  e.host = rest.substr(0, slash);
  e.path = slash == std::string::npos ? "" : rest.substr(slash);
  if (e.host.empty()) return InvalidArgument("no host");
  for (char c : e.host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']')
      return InvalidArgument("invalid character in host '" + e.host + "'");
  if (const auto colon = e.host.rfind(':'); colon != std::string::npos && e.host.back() != ']') {
    const std::string port = e.host.substr(colon + 1);
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
      return InvalidArgument("invalid port '" + port + "'");
  }
  return e;
}

Client::Client(Options o) : o_(std::move(o)) {
  GlobalInit();
  if (o_.connections == 0) o_.connections = 1;
}

Client::~Client() = default;

Client::Handle* Client::Acquire() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return !idle_.empty() || all_.size() < o_.connections; });
  if (!idle_.empty()) {
    Handle* h = idle_.back();
    idle_.pop_back();
    return h;
  }
  all_.push_back(std::make_unique<Handle>());
  all_.back()->curl = curl_easy_init();
  return all_.back().get();
}

void Client::Release(Handle* h) {
  {
    std::lock_guard<std::mutex> l(mu_);
    idle_.push_back(h);
  }
  cv_.notify_one();
}

Result<Response> Client::Do(const Request& req) {
  Handle* h = Acquire();
  struct Returner {
    Client* c;
    Handle* h;
    ~Returner() { c->Release(h); }
  } returner{this, h};
  if (!h->curl) return IoError("curl_easy_init failed");
  CURL* c = h->curl;
  curl_easy_reset(c);  // keeps the connection cache
  h->error[0] = 0;

  Response resp;
  Upload up{req.body, 0};
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  struct SlistFree {
    curl_slist*& s;
    ~SlistFree() { curl_slist_free_all(s); }
  } slist_free{headers};

  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o_.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o_.stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!o_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o_.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadBody);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, SeekBody);
  curl_easy_setopt(c, CURLOPT_SEEKDATA, &up);
  const auto size = static_cast<curl_off_t>(req.body.size());
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, size);
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, size);
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) return TransportError(rc, h->error, req);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

}  // namespace lb::storage::http
