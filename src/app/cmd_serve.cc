// lifeboat serve: the repository server (src/server) until SIGINT/SIGTERM, and
// `serve --add-token` to issue a token.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <charconv>
#include <iostream>
#include <thread>

#include "app/commands.h"
#include "server/server.h"

namespace lb::app {

namespace {

struct ServeFlags {
  std::string listen = "127.0.0.1:8443";
  std::string root, tls_cert, tls_key, tokens, access_log;
  std::string add_token, role;
};

// "HOST:PORT" or "[V6ADDR]:PORT" (PORT 0: any free port).
std::pair<std::string, int> ParseListen(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) FailUsage("--listen " + s + ": expected ADDR:PORT");
  std::string host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = s.substr(colon + 1);
  int v = -1;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v < 0 || v > 65535)
    FailUsage("--listen " + s + ": invalid port '" + port + "'");
  return {host, v};
}

void AddTokenCommand(const ServeFlags& f) {
  if (f.role.empty()) FailUsage("--add-token needs --role read|append|admin");
  auto role = server::ParseRole(f.role);
  if (!role.ok()) FailUsage(role.status().message());
  auto secret = server::AddToken(f.tokens, f.add_token, *role);
  if (!secret.ok()) Fail(secret.status());
  std::cout << *secret << std::endl;
  std::cerr << "token '" << f.add_token << "' (role " << f.role << ") added to " << f.tokens
            << "; the secret above is shown only this once\n";
}

// Blocks SIGINT/SIGTERM in every thread started from here on; a watcher thread
// waits for them and stops the server.
class StopOnSignal {
 public:
  StopOnSignal() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  void Watch(server::Server& s) {
    watcher_ = std::thread([this, &s] {
      int sig = 0;
      sigwait(&set_, &sig);
      s.Stop();
    });
  }
  ~StopOnSignal() {
    if (watcher_.joinable()) {
      pthread_kill(watcher_.native_handle(), SIGTERM);  // wakes the watcher if Serve ended on its own
      watcher_.join();
    }
  }

 private:
  sigset_t set_;
  std::thread watcher_;
};

void ServeCommand(const Globals& g, const ServeFlags& f) {
  struct stat st;
  if (f.root.empty()) FailUsage("serve needs --root DIR (or --add-token ID)");
  if (::stat(f.root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) FailUsage("--root " + f.root + ": not a directory");
  if (f.tls_cert.empty() != f.tls_key.empty()) FailUsage("--tls-cert and --tls-key go together");
  auto [host, port] = ParseListen(f.listen);
  auto tokens = server::TokenStore::Load(f.tokens);
  if (!tokens.ok()) Fail(tokens.status());
  const size_t n_tokens = tokens->size();
  server::ServerOptions o;
  o.host = host;
  o.port = port;
  o.tls_cert = f.tls_cert;
  o.tls_key = f.tls_key;
  o.access_log = f.access_log.empty() ? f.root + "/access.log" : f.access_log;
  StopOnSignal signals;
  auto service = std::make_unique<server::Service>(server::ServiceOptions{f.root, true}, std::move(*tokens));
  auto srv = server::Server::Start(o, std::move(service), TheClock());
  if (!srv.ok()) Fail(srv.status());
  const std::string url = std::string((*srv)->tls() ? "https" : "http") + "://" +
                          (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                          std::to_string((*srv)->port());
  if (!g.quiet) {
    std::cout << "serving " << f.root << " on " << url << " (" << n_tokens << " tokens, access log "
              << o.access_log << ")" << std::endl;
    if (!(*srv)->tls()) std::cerr << "warning: no --tls-cert: tokens and data cross the network unencrypted\n";
  }
  signals.Watch(**srv);
  if (Status served = (*srv)->Serve(); !served.ok()) Fail(served);
}

}  // namespace

void RegisterServe(CLI::App& app, Globals& g) {
  auto f = std::make_shared<ServeFlags>();
  auto* cmd = app.add_subcommand(
      "serve",
      "serve the repositories in --root DIR (each DIR/NAME is rest:http[s]://HOST:PORT/NAME) until SIGTERM; "
      "or add a token with --add-token");
  cmd->add_option("--listen", f->listen, "ADDR:PORT to listen on (default 127.0.0.1:8443; port 0: any free port)");
  cmd->add_option("--root", f->root, "directory holding one repository per subdirectory");
  cmd->add_option("--tls-cert", f->tls_cert, "PEM certificate (chain) for HTTPS");
  cmd->add_option("--tls-key", f->tls_key, "PEM private key for HTTPS");
  cmd->add_option("--tokens", f->tokens, "tokens file: lines 'ID ROLE SHA256-OF-SECRET'")->required();
  cmd->add_option("--access-log", f->access_log, "JSON lines, one per request (default ROOT/access.log)");
  cmd->add_option("--add-token", f->add_token,
                  "add a token with this id to --tokens, print its secret once, and exit");
  cmd->add_option("--role", f->role, "role of the added token: read (restore, check), append (back up: "
                                     "create only), admin (everything)");
  cmd->callback([&g, f] {
    if (!f->add_token.empty()) return AddTokenCommand(*f);
    ServeCommand(g, *f);
  });
}

}  // namespace lb::app
