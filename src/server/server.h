// The repository server: the Service (service.h) behind HTTP or HTTPS
// (cpp-httplib with OpenSSL, TLS 1.2 or later), writing one access-log line per
// request (access_log.h) after answering it. httplib stays inside server.cc.
//
// Uploads are authenticated and authorized before their body is read; a refused
// body is read and discarded, never kept in memory.
#pragma once

#include <memory>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "server/service.h"

namespace lb::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;          // 0: any free port (see Server::port)
  std::string tls_cert;  // PEM certificate chain; with tls_key, serve HTTPS
  std::string tls_key;   // PEM private key
  std::string access_log;  // appended to; created with mode 0600
  unsigned threads = 32;   // requests served at once (one per kept-alive connection)
};

class Server {
 public:
  // Binds the port, loads the TLS files and opens the access log. kInvalidArgument
  // for unusable TLS files or only one of them, kIoError when the address cannot
  // be bound, the access log's errno status when it cannot be opened.
  // `clock` stamps the access log and must outlive the Server.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, std::unique_ptr<Service> service,
                                               const Clock& clock);
  ~Server();  // stops serving and waits for Serve to return

  int port() const;
  bool tls() const;
  // Serves until Stop is called (from another thread or a signal-watching one).
  Status Serve();
  // Thread-safe; Serve returns soon after. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lb::server
