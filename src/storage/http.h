// A small HTTP/1.1 client over libcurl for the S3 backend: one request in, one whole
// response out. Keeps a pool of CURL easy handles (one per connection), so finished
// connections are reused and at most `connections` requests are in flight; callers
// beyond that wait for a free handle.
//
// Thread safety: Do() may be called from any number of threads.
// Errors: only transport failures are errors (HTTP statuses, including 4xx/5xx, come
// back as responses):
//   kIoError      connection refused/reset, timeouts, DNS, short transfers (transient)
//   kPermission   TLS certificate verification failed (permanent)
//   kInvalidArgument  a URL libcurl refuses
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace lb::storage::http {

// The start of a location: "http[s]://HOST[:PORT]" and the rest.
struct Endpoint {
  std::string scheme;  // "http" or "https"
  std::string host;    // "HOST[:PORT]" as written (IPv6 in brackets)
  std::string path;    // from the first '/' after the host on; may be empty
};
// kInvalidArgument with a short reason: no http:// or https://, no host, a character
// that is not a letter, digit, '.', '-', ':', '[' or ']', or a port outside 1-65535.
Result<Endpoint> ParseEndpoint(const std::string& url);

struct Options {
  unsigned connections = 8;  // pool size (>= 1)
  std::string ca_file;       // PEM bundle for https; empty = system default
  long connect_timeout_s = 10;
  long stall_timeout_s = 60;  // abort when fewer than 1 byte/s moves for this long
};

struct Request {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  ByteSpan body;  // not owned; must outlive Do()
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  Bytes body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class Client {
 public:
  explicit Client(Options o);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<Response> Do(const Request& req);

 private:
  struct Handle;
  Handle* Acquire();
  void Release(Handle* h);

  Options o_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Handle>> all_;
  std::vector<Handle*> idle_;
};

}  // namespace lb::storage::http
