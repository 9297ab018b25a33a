// ec:K+M:LOC1,LOC2,... -> an ErasureBackend over K+M members, each opened (and
// wrapped in retries) by OpenBackend, behind a circuit breaker: a member that is
// down costs one round of retries per command, not one per file.
#include <charconv>

#include "app/backends.h"
#include "storage/erasure_backend.h"
#include "storage/wrappers.h"

namespace lb::app {

namespace {

constexpr const char* kForm = "want ec:K+M:LOC1,...,LOCn with n = K+M (e.g. ec:3+2:/a,/b,/c,/d,/e)";

Status Malformed(const std::string& url, const std::string& why) {
  return InvalidArgument("repository location " + url + ": " + why + "; " + kForm);
}

bool ParseCount(std::string_view s, int& out) {
  if (s.empty() || s.size() > 3) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool IsErasureLocation(const std::string& location) { return location.rfind("ec:", 0) == 0; }

Result<std::unique_ptr<storage::ErasureBackend>> OpenErasureBackendConcrete(const std::string& url) {
  if (!IsErasureLocation(url)) return Malformed(url, "not an ec: location");
  const std::string rest = url.substr(3);
  const auto colon = rest.find(':');
  if (colon == std::string::npos) return Malformed(url, "no member list");
  const std::string spec = rest.substr(0, colon);
  const auto plus = spec.find('+');
  int k = 0, m = 0;
  if (plus == std::string::npos || !ParseCount(std::string_view(spec).substr(0, plus), k) ||
      !ParseCount(std::string_view(spec).substr(plus + 1), m))
    return Malformed(url, "'" + spec + "' is not K+M");
  if (k < 1 || m < 1 || k + m > storage::RsCodec::kMaxBlocks)
    return Malformed(url, "need K >= 1, M >= 1 and K+M <= " + std::to_string(storage::RsCodec::kMaxBlocks));
  std::vector<std::string> locs;
  for (size_t start = colon + 1;;) {
    const auto comma = rest.find(',', start);
    locs.push_back(rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (const auto& loc : locs)
    if (IsErasureLocation(loc)) return Malformed(url, "members cannot be ec: locations themselves");
  if (locs.size() != static_cast<size_t>(k + m))
    return Malformed(url, std::to_string(locs.size()) + " member locations for " + spec);
  std::vector<std::unique_ptr<storage::Backend>> members;
  for (const auto& loc : locs) {
    if (loc.empty()) return Malformed(url, "an empty member location");
    auto b = OpenBackend(loc);
    if (!b.ok()) return b.status().WithContext("member " + loc);
    members.push_back(storage::NewCircuitBreakerBackend(std::move(b).value()));
  }
  return storage::ErasureBackend::Make(k, m, std::move(members));
}

Result<std::unique_ptr<storage::Backend>> OpenErasureBackend(const std::string& url) {
  LB_ASSIGN_OR_RETURN(auto ec, OpenErasureBackendConcrete(url));
  return std::unique_ptr<storage::Backend>(std::move(ec));
}

}  // namespace lb::app
