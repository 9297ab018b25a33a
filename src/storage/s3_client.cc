#include "storage/s3_client.h"

#include "storage/s3_xml.h"

namespace lb::storage {

namespace {

bool Retryable400(const std::string& code) {
  return code == "RequestTimeout" || code == "XAmzContentSHA256Mismatch" || code == "BadDigest" ||
         code == "IncompleteBody" || code == "SlowDown";
}

// Host header and canonical URI of a key for the configured addressing style.
std::pair<std::string, std::string> HostAndPath(const S3Config& c, const std::string& key) {
  const std::string enc_key = sigv4::UriEncode(key, false);
  if (c.virtual_host) return {c.where.bucket + "." + c.where.host, "/" + enc_key};
  return {c.where.host, "/" + c.where.bucket + (key.empty() ? "" : "/" + enc_key)};
}

}  // namespace

std::string S3ObjectUrl(const S3Config& c, const std::string& key) {
  auto [host, path] = HostAndPath(c, key);
  return c.where.scheme + "://" + host + path;
}

Status S3StatusOf(const http::Response& resp, const std::string& what) {
  std::string code, message;
  if (!resp.body.empty()) {
    auto leaves = s3xml::Leaves(ToString(resp.body));
    if (leaves.ok()) {
      code = s3xml::First(*leaves, "Error/Code");
      message = s3xml::First(*leaves, "Error/Message");
    }
  }
  std::string detail = what + ": HTTP " + std::to_string(resp.status);
  if (!code.empty()) detail += " " + code;
  if (!message.empty()) detail += ": " + message;
  if ((resp.status == 401 || resp.status == 403) &&
      (code.empty() || code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId"))
    detail += " (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)";
  const long s = resp.status;
  if (s == 404) return NotFound(detail);
  if (s == 412 || (s == 409 && code == "ConditionalRequestConflict")) return Status(Code::kAlreadyExists, detail);
  if (s == 401 || s == 403) return Status(Code::kPermission, detail);
  if (s == 416) return Corrupt(detail);
  if (s == 408 || s == 429 || s >= 500 || (s == 400 && Retryable400(code))) return IoError(detail);
  return Unsupported(detail);
}

S3Client::S3Client(S3Config c)
    : c_(std::move(c)), http_(http::Options{c_.connections, c_.ca_file}) {}

Result<http::Response> S3Client::Send(const S3Request& r) {
  auto [host, path] = HostAndPath(c_, r.key);
  const std::string amz_date = sigv4::AmzDate(std::chrono::system_clock::now());
  sigv4::Request sr;
  sr.method = r.method;
  sr.canonical_uri = path;
  sr.query = r.query;
  sr.payload_hash = sigv4::Sha256Hex(r.body);
  sr.headers = r.headers;
  sr.headers.emplace_back("host", host);
  sr.headers.emplace_back("x-amz-date", amz_date);
  sr.headers.emplace_back("x-amz-content-sha256", sr.payload_hash);
  if (!c_.credentials.session_token.empty())
    sr.headers.emplace_back("x-amz-security-token", c_.credentials.session_token);

  http::Request hr;
  hr.method = r.method;
  const std::string query = sigv4::CanonicalQuery(r.query);
  hr.url = c_.where.scheme + "://" + host + path + (query.empty() ? "" : "?" + query);
  hr.headers = sr.headers;
  hr.headers.emplace_back("authorization", sigv4::Authorization(c_.credentials, c_.region, "s3", amz_date, sr));
  hr.body = r.body;
  return http_.Do(hr);
}

Result<http::Response> S3Client::Call(const S3Request& r, const std::string& what) {
  auto resp = Send(r);
  if (!resp.ok()) return resp.status().WithContext(what);
  if (resp->status < 200 || resp->status > 299) return S3StatusOf(*resp, what);
  return resp;
}

}  // namespace lb::storage
