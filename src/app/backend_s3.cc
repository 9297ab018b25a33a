// s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX] -> the S3 backend wrapped in retries and a
// block read cache.
//
// Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; region:
// AWS_DEFAULT_REGION (default us-east-1). Options (-o key=value):
//   s3.bucket-lookup=path|virtual   path style (HOST/BUCKET/KEY, default) or virtual host
//                                   style (BUCKET.HOST/KEY)
//   s3.ca-file=FILE                 PEM bundle that verifies an https endpoint; without it
//                                   AWS_CA_BUNDLE (https only), then the system store
//   s3.region=REGION                overrides AWS_DEFAULT_REGION
// --connections N bounds the requests in flight. Unknown s3.* keys are usage errors.
#include <cstdlib>
#include <set>

#include "app/backends.h"
#include "storage/s3_backend.h"

namespace lb::app {

namespace {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

Status ApplyOptions(const std::string& url, storage::S3Config& c) {
  static const std::set<std::string> kKnown = {"s3.bucket-lookup", "s3.ca-file", "s3.region"};
  const auto& ext = TheBackendOptions().extended;
  for (const auto& [k, v] : ext)
    if (k.rfind("s3.", 0) == 0 && !kKnown.count(k))
      return InvalidArgument("unknown option -o " + k + " (S3 options: s3.bucket-lookup, s3.ca-file, s3.region)");
  if (auto it = ext.find("s3.bucket-lookup"); it != ext.end()) {
    if (it->second != "path" && it->second != "virtual")
      return InvalidArgument("-o s3.bucket-lookup=" + it->second + ": use path or virtual");
    c.virtual_host = it->second == "virtual";
  }
  if (auto it = ext.find("s3.region"); it != ext.end()) {
    if (it->second.empty()) return InvalidArgument("-o s3.region: empty region");
    c.region = it->second;
  }
  if (auto it = ext.find("s3.ca-file"); it != ext.end()) {
    if (it->second.empty()) return InvalidArgument("-o s3.ca-file: empty file name");
    c.ca_file = it->second;
  } else if (c.where.scheme == "https") {
    c.ca_file = EnvOr("AWS_CA_BUNDLE", "");  // plain http ignores it (some clients fail on it)
  }
  if (!c.ca_file.empty() && c.where.scheme != "https")
    return InvalidArgument("repository location " + url + ": -o s3.ca-file needs an https endpoint");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<storage::Backend>> OpenS3Backend(const std::string& url) {
  LB_ASSIGN_OR_RETURN(storage::S3Location where, storage::ParseS3Location(url));
  storage::S3Config c;
  c.where = where;
  c.region = EnvOr("AWS_DEFAULT_REGION", "us-east-1");
  c.credentials = {EnvOr("AWS_ACCESS_KEY_ID", ""), EnvOr("AWS_SECRET_ACCESS_KEY", ""),
                   EnvOr("AWS_SESSION_TOKEN", "")};
  c.connections = TheBackendOptions().connections;
  c.object_lock_days = TheBackendOptions().object_lock_days;
  c.object_lock_mode = TheBackendOptions().object_lock_mode;
  LB_RETURN_IF_ERROR(ApplyOptions(url, c));
  const unsigned connections = c.connections;
  LB_ASSIGN_OR_RETURN(auto be, storage::NewS3Backend(std::move(c)));
  return WrapRemote(std::move(be), connections);
}

}  // namespace lb::app
