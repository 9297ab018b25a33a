// rest:http[s]://HOST[:PORT]/NAME -> a lifeboat repository server (`lifeboat serve`),
// wrapped in retries.
//
// Token: -o rest.token-file=FILE (first line), otherwise env LIFEBOAT_REST_TOKEN.
// Options (-o key=value):
//   rest.token-file=FILE   file holding the token secret
//   rest.ca-file=FILE      PEM bundle that verifies an https server (e.g. its
//                          self-signed certificate); otherwise the system store
// --connections N bounds the requests in flight. Unknown rest.* keys are usage errors.
#include <cstdlib>
#include <fstream>
#include <set>

#include "app/backends.h"
#include "storage/rest_backend.h"

namespace lb::app {

namespace {

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ErrnoStatus("-o rest.token-file: cannot read " + path, errno);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty()) return InvalidArgument("-o rest.token-file: " + path + " is empty");
  return line;
}

Status ApplyOptions(const std::string& url, storage::RestConfig& c) {
  static const std::set<std::string> kKnown = {"rest.token-file", "rest.ca-file"};
  const auto& ext = TheBackendOptions().extended;
  for (const auto& [k, v] : ext)
    if (k.rfind("rest.", 0) == 0 && !kKnown.count(k))
      return InvalidArgument("unknown option -o " + k + " (repository server options: rest.token-file, rest.ca-file)");
  if (auto it = ext.find("rest.token-file"); it != ext.end()) {
    LB_ASSIGN_OR_RETURN(c.token, ReadTokenFile(it->second));
  } else if (const char* env = std::getenv("LIFEBOAT_REST_TOKEN"); env && *env) {
    c.token = env;
  } else {
    return InvalidArgument("repository location " + url +
                           ": no token (set LIFEBOAT_REST_TOKEN or -o rest.token-file=FILE)");
  }
  if (auto it = ext.find("rest.ca-file"); it != ext.end()) {
    if (it->second.empty()) return InvalidArgument("-o rest.ca-file: empty file name");
    if (c.where.scheme != "https")
      return InvalidArgument("repository location " + url + ": -o rest.ca-file needs an https server");
    c.ca_file = it->second;
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<storage::Backend>> OpenRestBackend(const std::string& url) {
  storage::RestConfig c;
  LB_ASSIGN_OR_RETURN(c.where, storage::ParseRestLocation(url));
  c.connections = TheBackendOptions().connections;
  LB_RETURN_IF_ERROR(ApplyOptions(url, c));
  const unsigned connections = c.connections;
  LB_ASSIGN_OR_RETURN(auto be, storage::NewRestBackend(std::move(c)));
  return WrapRemote(std::move(be), connections);
}

}  // namespace lb::app
