#include "server/server.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>
#include <iostream>

#include "server/access_log.h"
#include "server/append_file.h"

namespace lb::server {

namespace {

constexpr size_t kMaxUpload = size_t{1} << 30;  // packs are ~16 MiB; 1 GiB bounds memory per request
const char* const kEveryPath = "/.*";

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// Loads the certificate chain and key into a context that speaks TLS 1.2 or later.
bool SetUpTls(SSL_CTX& ctx, const ServerOptions& o, std::string& error) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(&ctx, o.tls_cert.c_str()) != 1) {
    error = "cannot load TLS certificate " + o.tls_cert + ": " + OpenSslError();
  } else if (SSL_CTX_use_PrivateKey_file(&ctx, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "cannot load TLS key " + o.tls_key + ": " + OpenSslError();
  } else if (SSL_CTX_check_private_key(&ctx) != 1) {
    error = "TLS key " + o.tls_key + " does not match certificate " + o.tls_cert;
  }
  return error.empty();
}

Call CallOf(const httplib::Request& req) {
  Call c;
  c.method = req.method;
  c.path = req.path;
  c.create = req.has_param("create") && req.get_param_value("create") == "true";
  c.authorization = req.get_header_value("Authorization");
  c.range = req.get_header_value("Range");
  return c;
}

uint64_t ContentLength(const httplib::Request& req) {
  const std::string v = req.get_header_value("Content-Length");
  uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

}  // namespace

// Set by Route on the thread that handles a request, read and cleared by the
// logger that httplib then calls on the same thread for the same request.
thread_local bool logged_here = false;

struct Server::Impl {
  std::unique_ptr<httplib::Server> http;
  std::unique_ptr<Service> service;
  std::unique_ptr<AppendFile> log;
  const Clock* clock = nullptr;
  int port = 0;
  bool tls = false;
  std::atomic<bool> serving{false}, stopping{false};

  void Route(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader);
  void Log(const httplib::Request& req, const httplib::Response& res);
  void Install(unsigned threads);
};

void Server::Impl::Route(const httplib::Request& req, httplib::Response& res,
                         const httplib::ContentReader* reader) {
  Call call = CallOf(req);
  std::optional<Reply> reply;
  std::string body;
  if (reader) {
    reply = service->Refuse(call);  // before the body is read
    const bool read = (*reader)([&](const char* data, size_t n) {
      if (!reply) body.append(data, n);  // a refused body is discarded
      return true;
    });
    if (!read && !reply) reply = Reply{400, "text/plain", "the request body could not be read\n", {}};
    call.body = AsBytes(body);
  } else {
    call.body = AsBytes(req.body);
  }
  if (!reply) reply = service->Handle(call);
  // The service applied any Range itself; httplib must not cut the body again.
  const_cast<httplib::Request&>(req).ranges.clear();
  res.status = reply->status;
  for (const auto& [name, value] : reply->headers) res.set_header(name.c_str(), value);
  res.set_header("Content-Type", reply->content_type);
  res.body = std::move(reply->body);
  // Logged (and fsynced) before httplib sends the response, so a client that got
  // an answer knows the request is in the log. httplib's logger, which runs after
  // the response is written, covers only requests that never reach Route.
  Log(req, res);
  logged_here = true;
}

void Server::Impl::Log(const httplib::Request& req, const httplib::Response& res) {
  AccessRecord r;
  r.time = clock->Now();
  r.token = service->Authenticate(req.get_header_value("Authorization"));
  r.remote = req.remote_addr;
  r.method = req.method;
  r.object = req.path;
  r.bytes_in = ContentLength(req);
  r.bytes_out = req.method == "HEAD" ? 0 : res.body.size();
  r.status = res.status;
  if (Status st = log->Append(FormatAccessRecord(r)); !st.ok())
    std::cerr << "lifeboat serve: access log: " << st.message() << std::endl;
}

void Server::Impl::Install(unsigned threads) {
  http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http->set_tcp_nodelay(true);
  http->set_keep_alive_max_count(1000);
  http->set_keep_alive_timeout(10);
  http->set_read_timeout(60);
  http->set_write_timeout(60);
  http->set_payload_max_length(kMaxUpload);
  http->Get(kEveryPath, [this](const httplib::Request& req, httplib::Response& res) { Route(req, res, nullptr); });
  http->Delete(kEveryPath, [this](const httplib::Request& req, httplib::Response& res) { Route(req, res, nullptr); });
  http->Post(kEveryPath, [this](const httplib::Request& req, httplib::Response& res,
                                const httplib::ContentReader& reader) { Route(req, res, &reader); });
  http->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (!logged_here) Log(req, res);  // refused by httplib itself (e.g. too large)
    logged_here = false;
  });
  http->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("internal error\n", "text/plain");
  });
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& o, std::unique_ptr<Service> service,
                                              const Clock& clock) {
  auto impl = std::make_unique<Impl>();
  if (o.tls_cert.empty() != o.tls_key.empty()) return InvalidArgument("TLS needs both a certificate and a key");
  impl->tls = !o.tls_cert.empty();
  if (impl->tls) {
    std::string error;
    auto https = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) { return SetUpTls(ctx, o, error); });
    if (!https->is_valid()) return InvalidArgument(error.empty() ? "cannot set up TLS: " + OpenSslError() : error);
    impl->http = std::move(https);
  } else {
    impl->http = std::make_unique<httplib::Server>();
  }
  LB_ASSIGN_OR_RETURN(impl->log, AppendFile::Open(o.access_log, 0600));
  impl->service = std::move(service);
  impl->clock = &clock;
  impl->Install(o.threads == 0 ? 1 : o.threads);
  const std::string where = o.host + ":" + std::to_string(o.port);
  if (o.port == 0) {
    impl->port = impl->http->bind_to_any_port(o.host);
    if (impl->port <= 0) return IoError("cannot listen on " + where);
  } else {
    if (!impl->http->bind_to_port(o.host, o.port)) return IoError("cannot listen on " + where);
    impl->port = o.port;
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

int Server::port() const { return impl_->port; }
bool Server::tls() const { return impl_->tls; }

Status Server::Serve() {
  impl_->serving = true;
  const bool ok = impl_->stopping || impl_->http->listen_after_bind();
  impl_->serving = false;
  return ok ? Status::Ok() : IoError("the server stopped with an error");
}

// httplib's stop() does nothing until the listening loop runs: wait for it while
// Serve has been entered but has not started listening yet.
void Server::Stop() {
  impl_->stopping = true;
  for (int i = 0; i < 400 && impl_->serving && !impl_->http->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  impl_->http->stop();
}

}  // namespace lb::server
