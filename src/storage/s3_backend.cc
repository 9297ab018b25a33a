#include "storage/s3_backend.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <optional>

#include "storage/http.h"
#include "storage/s3_client.h"
#include "storage/s3_object_lock.h"
#include "storage/s3_xml.h"

namespace lb::storage {

Result<S3Location> ParseS3Location(const std::string& url) {
  const std::string form = "expected s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]";
  auto bad = [&](const std::string& why) {
    return InvalidArgument("repository location " + url + ": " + why + " (" + form + ")");
  };
  if (url.rfind("s3:", 0) != 0) return bad("not an s3: location");
  auto endpoint = http::ParseEndpoint(url.substr(3));
  if (!endpoint.ok()) return bad(endpoint.status().message());
  S3Location loc;
  loc.scheme = endpoint->scheme;
  loc.host = endpoint->host;
  std::string path = endpoint->path.empty() ? "" : endpoint->path.substr(1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  const auto bslash = path.find('/');
  loc.bucket = path.substr(0, bslash);
  loc.prefix = bslash == std::string::npos ? "" : path.substr(bslash + 1);
  if (loc.bucket.empty()) return bad("no bucket");
  if (loc.bucket.size() < 3 || loc.bucket.size() > 63) return bad("a bucket name has 3 to 63 characters");
  for (char c : loc.bucket)
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '-' &&
        c != '.')
      return bad("bucket '" + loc.bucket + "': use lower-case letters, digits, '-' and '.'");
  if (loc.prefix.find("//") != std::string::npos || (!loc.prefix.empty() && loc.prefix[0] == '/'))
    return bad("empty path segment in the prefix");
  return loc;
}

namespace {

constexpr int kListPageSize = 1000;

class S3Backend final : public Backend {
 public:
  explicit S3Backend(S3Config c) : client_(std::move(c)) {
    const auto& w = client_.config().where;
    prefix_ = w.prefix.empty() ? "" : w.prefix + "/";
    location_ = "s3:" + w.scheme + "://" + w.host + "/" + w.bucket + (w.prefix.empty() ? "" : "/" + w.prefix);
  }

  std::string Location() const override { return location_; }
  Status Create() override;
  Status Save(const Handle& h, ByteSpan data) override;
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override;
  Result<uint64_t> Size(const Handle& h) override;
  Status List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) override;
  Status Remove(const Handle& h) override;

 private:
  Result<std::string> Key(const Handle& h) const;
  std::string KindPrefix(FileKind k) const {
    return prefix_ + FileKindDir(k) + (k == FileKind::kConfig ? "" : "/");
  }
  Status SaveMultipart(const std::string& key, ByteSpan data);
  Status UploadParts(const std::string& key, const std::string& upload_id, ByteSpan data);
  Result<bool> Exists(const std::string& key);
  Status ListPage(FileKind kind, std::string* token,
                  const std::function<Status(const std::string&, uint64_t)>& fn);
  Status CreateBucket(bool object_lock);
  Status SetObjectLock();
  // Whether the bucket has Object Lock enabled; asked once, then remembered.
  Result<bool> LockEnabled();
  // Writes into a locked bucket carry Content-MD5 (S3 requires it there).
  Status AddWriteHeaders(S3Request& r);
  Status RemoveLocked(const Handle& h, const std::string& key);

  S3Client client_;
  std::mutex lock_mu_;
  std::optional<bool> lock_enabled_;
  std::string prefix_;
  std::string location_;
};

Result<std::string> S3Backend::Key(const Handle& h) const {
  if (h.kind == FileKind::kConfig) return prefix_ + "config";
  if (!ValidFileName(h.name)) return InvalidArgument("invalid file name '" + h.name + "'");
  if (h.kind == FileKind::kData) return KindPrefix(h.kind) + h.name.substr(0, 2) + "/" + h.name;
  return KindPrefix(h.kind) + h.name;
}

Status S3Backend::Create() {
  const std::string bucket = client_.config().where.bucket;
  const bool lock = client_.config().object_lock_days > 0;
  LB_ASSIGN_OR_RETURN(auto resp, client_.Send({"GET", "", {{"location", ""}}, {}, {}}));
  if (resp.status == 404) {
    LB_RETURN_IF_ERROR(CreateBucket(lock));
  } else if (resp.status != 200) {
    return S3StatusOf(resp, "bucket " + bucket);
  }
  return lock ? SetObjectLock() : Status::Ok();
}

Status S3Backend::CreateBucket(bool object_lock) {
  const std::string bucket = client_.config().where.bucket;
  std::string body;
  if (client_.config().region != "us-east-1")
    body = "<CreateBucketConfiguration><LocationConstraint>" + s3xml::Escape(client_.config().region) +
           "</LocationConstraint></CreateBucketConfiguration>";
  sigv4::Pairs headers;
  if (object_lock) headers.emplace_back("x-amz-bucket-object-lock-enabled", "true");
  LB_ASSIGN_OR_RETURN(auto made, client_.Send({"PUT", "", {}, headers, AsBytes(body)}));
  if (made.status == 200) return Status::Ok();
  Status st = S3StatusOf(made, "create bucket " + bucket);
  if (st.message().find("BucketAlreadyOwnedByYou") != std::string::npos) return Status::Ok();
  return st;
}

// Sets the bucket's default retention. Object Lock can only be switched on when a
// bucket is created, so an existing bucket without it is refused with that advice.
Status S3Backend::SetObjectLock() {
  const auto& c = client_.config();
  const std::string what = "bucket " + c.where.bucket + ": set Object Lock retention";
  LB_ASSIGN_OR_RETURN(const std::string mode, s3lock::ParseMode(c.object_lock_mode));
  const std::string xml = s3lock::ConfigurationXml(mode, c.object_lock_days);
  LB_ASSIGN_OR_RETURN(auto resp, client_.Send({"PUT", "", {{"object-lock", ""}},
                                               {{"content-md5", s3lock::ContentMd5(AsBytes(xml))}}, AsBytes(xml)}));
  if (resp.status >= 200 && resp.status <= 299) {
    std::lock_guard<std::mutex> g(lock_mu_);
    lock_enabled_ = true;
    return Status::Ok();
  }
  Status st = S3StatusOf(resp, what);
  if (resp.status == 409 || st.message().find("InvalidBucketState") != std::string::npos)
    return Status(Code::kUnsupported, st.message() +
                                          " (Object Lock can only be enabled when a bucket is created: use a new bucket)");
  return st;
}

Result<bool> S3Backend::LockEnabled() {
  std::lock_guard<std::mutex> g(lock_mu_);
  if (lock_enabled_) return *lock_enabled_;
  const std::string what = "bucket " + client_.config().where.bucket + ": read the Object Lock configuration";
  LB_ASSIGN_OR_RETURN(auto resp, client_.Send({"GET", "", {{"object-lock", ""}}, {}, {}}));
  LB_ASSIGN_OR_RETURN(bool enabled, s3lock::EnabledFrom(resp, what));
  lock_enabled_ = enabled;
  return enabled;
}

Status S3Backend::AddWriteHeaders(S3Request& r) {
  LB_ASSIGN_OR_RETURN(bool locked, LockEnabled());
  if (locked) r.headers.emplace_back("content-md5", s3lock::ContentMd5(r.body));
  return Status::Ok();
}

Status S3Backend::Save(const Handle& h, ByteSpan data) {
  LB_ASSIGN_OR_RETURN(const std::string key, Key(h));
  if (data.size() > client_.config().multipart_threshold) return SaveMultipart(key, data);
  S3Request r{"PUT", key, {}, {{"if-none-match", "*"}}, data};
  LB_RETURN_IF_ERROR(AddWriteHeaders(r));
  return client_.Call(r, "save " + key).status();
}

Result<bool> S3Backend::Exists(const std::string& key) {
  auto resp = client_.Call({"HEAD", key, {}, {}, {}}, "stat " + key);
  if (resp.ok()) return true;
  if (resp.status().code() == Code::kNotFound) return false;
  return resp.status();
}

// Multipart upload. The object appears only when CompleteMultipartUpload succeeds, so
// readers never see a partial object. Against overwriting: a HEAD before starting, and
// If-None-Match: * on the completion (servers that implement it answer 412). A server
// that ignores the condition on completion leaves a race: two writers that both pass the
// HEAD check can both complete, and the later one replaces the earlier. Repository
// files are content-addressed (same name, same bytes), so the survivor is still right.
Status S3Backend::SaveMultipart(const std::string& key, ByteSpan data) {
  const std::string what = "save " + key;
  LB_ASSIGN_OR_RETURN(bool exists, Exists(key));
  if (exists) return Status(Code::kAlreadyExists, what + ": the object exists");
  LB_ASSIGN_OR_RETURN(auto init, client_.Call({"POST", key, {{"uploads", ""}}, {}, {}}, what + ": start multipart"));
  LB_ASSIGN_OR_RETURN(auto leaves, s3xml::Leaves(ToString(init.body)));
  const std::string upload_id = s3xml::First(leaves, "InitiateMultipartUploadResult/UploadId");
  if (upload_id.empty()) return Unsupported(what + ": the server sent no UploadId");
  Status st = UploadParts(key, upload_id, data);
  if (st.ok()) return st;
  auto abort = client_.Call({"DELETE", key, {{"uploadId", upload_id}}, {}, {}}, "abort multipart upload");
  if (!abort.ok() && abort.status().code() != Code::kNotFound)
    return st.WithContext("(" + abort.status().message() + ")");
  return st;
}

Status S3Backend::UploadParts(const std::string& key, const std::string& upload_id, ByteSpan data) {
  const std::string what = "save " + key;
  const uint64_t part = client_.config().part_size;
  std::string complete = "<CompleteMultipartUpload>";
  int number = 0;
  for (uint64_t off = 0; off < data.size(); off += part) {
    ++number;
    const ByteSpan chunk = data.subspan(off, std::min<uint64_t>(part, data.size() - off));
    S3Request r{"PUT", key, {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}}, {}, chunk};
    LB_RETURN_IF_ERROR(AddWriteHeaders(r));
    LB_ASSIGN_OR_RETURN(auto resp, client_.Call(r, what + ": part " + std::to_string(number)));
    const std::string etag = resp.Header("etag");
    if (etag.empty()) return Unsupported(what + ": part " + std::to_string(number) + " has no ETag");
    complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + s3xml::Escape(etag) +
                "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  LB_ASSIGN_OR_RETURN(auto done, client_.Call({"POST", key, {{"uploadId", upload_id}}, {{"if-none-match", "*"}},
                                              AsBytes(complete)},
                                             what + ": complete multipart"));
  // S3 may answer 200 and still report an error in the body.
  auto leaves = s3xml::Leaves(ToString(done.body));
  if (leaves.ok() && !s3xml::First(*leaves, "Error/Code").empty()) {
    done.status = 500;
    return S3StatusOf(done, what + ": complete multipart");
  }
  return Status::Ok();
}

Result<Bytes> S3Backend::Load(const Handle& h, uint64_t offset, uint64_t length) {
  LB_ASSIGN_OR_RETURN(const std::string key, Key(h));
  S3Request r{"GET", key, {}, {}, {}};
  const bool ranged = offset > 0 || length > 0;
  if (ranged)
    r.headers.emplace_back("range", "bytes=" + std::to_string(offset) + "-" +
                                        (length ? std::to_string(offset + length - 1) : ""));
  LB_ASSIGN_OR_RETURN(auto resp, client_.Call(r, "load " + key));
  if (ranged && resp.status == 200) {  // the server ignored the range: cut it here
    if (offset > resp.body.size()) return Corrupt("load " + key + ": offset beyond the end");
    resp.body.erase(resp.body.begin(), resp.body.begin() + static_cast<std::ptrdiff_t>(offset));
    if (length && resp.body.size() > length) resp.body.resize(length);
  }
  if (length && resp.body.size() != length)
    return Corrupt("load " + key + ": range " + std::to_string(offset) + "+" + std::to_string(length) +
                   " goes beyond the end of the object");
  return std::move(resp.body);
}

Result<uint64_t> S3Backend::Size(const Handle& h) {
  LB_ASSIGN_OR_RETURN(const std::string key, Key(h));
  LB_ASSIGN_OR_RETURN(auto resp, client_.Call({"HEAD", key, {}, {}, {}}, "stat " + key));
  const std::string len = resp.Header("content-length");
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
  if (len.empty() || ec != std::errc() || p != len.data() + len.size())
    return Unsupported("stat " + key + ": no valid Content-Length");
  return v;
}

Status S3Backend::List(FileKind kind, const std::function<Status(const std::string&, uint64_t)>& fn) {
  std::string token;
  do {
    LB_RETURN_IF_ERROR(ListPage(kind, &token, fn));
  } while (!token.empty());
  return Status::Ok();
}

// One ListObjectsV2 page; `token` is the continuation token in and the next one out
// (empty when this was the last page).
Status S3Backend::ListPage(FileKind kind, std::string* token,
                           const std::function<Status(const std::string&, uint64_t)>& fn) {
  const std::string prefix = KindPrefix(kind);
  sigv4::Pairs q{{"list-type", "2"}, {"prefix", prefix}, {"max-keys", std::to_string(kListPageSize)}};
  if (!token->empty()) q.emplace_back("continuation-token", *token);
  const std::string what = "list " + prefix;
  LB_ASSIGN_OR_RETURN(auto resp, client_.Call({"GET", "", q, {}, {}}, what));
  LB_ASSIGN_OR_RETURN_CTX(auto leaves, s3xml::Leaves(ToString(resp.body)), what);
  const bool truncated = s3xml::First(leaves, "ListBucketResult/IsTruncated") == "true";
  *token = truncated ? s3xml::First(leaves, "ListBucketResult/NextContinuationToken") : "";
  if (truncated && token->empty()) return Unsupported(what + ": truncated listing without a continuation token");
  // Keys and sizes come as siblings inside each <Contents>.
  std::string key;
  size_t key_parent = 0;
  for (const auto& l : leaves) {
    if (l.path == "ListBucketResult/Contents/Key") {
      key = l.text;
      key_parent = l.parent;
    } else if (l.path == "ListBucketResult/Contents/Size" && l.parent == key_parent && !key.empty()) {
      uint64_t size = 0;
      auto [p, ec] = std::from_chars(l.text.data(), l.text.data() + l.text.size(), size);
      if (ec != std::errc() || p != l.text.data() + l.text.size())
        return Corrupt(what + ": bad size '" + l.text + "' for " + key);
      std::string name = key.substr(std::min(prefix.size(), key.size()));
      if (kind == FileKind::kConfig) {
        if (key == prefix) LB_RETURN_IF_ERROR(fn("config", size));
      } else {
        if (kind == FileKind::kData) {  // XX/NAME
          if (name.size() < 4 || name[2] != '/' || name.compare(3, 2, name, 0, 2) != 0) continue;
          name = name.substr(3);
        }
        if (ValidFileName(name)) LB_RETURN_IF_ERROR(fn(name, size));  // others are not ours
      }
      key.clear();
    }
  }
  return Status::Ok();
}

Status S3Backend::Remove(const Handle& h) {
  LB_ASSIGN_OR_RETURN(const std::string key, Key(h));
  LB_ASSIGN_OR_RETURN(bool locked, LockEnabled());
  if (locked && h.kind != FileKind::kLock) return RemoveLocked(h, key);
  // DELETE answers 204 for a missing key too; the HEAD gives the contract's kNotFound.
  // A concurrent Remove of the same file may slip between the two; both then succeed.
  LB_ASSIGN_OR_RETURN(bool exists, Exists(key));
  if (!exists) return NotFound("remove " + key + ": no such object");
  return client_.Call({"DELETE", key, {}, {}, {}}, "remove " + key).status();
}

// In a bucket with Object Lock a plain DELETE "succeeds" by hiding the object behind
// a delete marker while the data stays: deleting the current version by id either
// removes it for good or is refused while the version is retained.
Status S3Backend::RemoveLocked(const Handle&, const std::string& key) {
  const std::string what = "remove " + key;
  LB_ASSIGN_OR_RETURN(auto head, client_.Call({"HEAD", key, {}, {}, {}}, what));
  const std::string version = head.Header("x-amz-version-id");
  const std::string until = head.Header("x-amz-object-lock-retain-until-date");
  sigv4::Pairs q;
  if (!version.empty() && version != "null") q.emplace_back("versionId", version);
  auto resp = client_.Call({"DELETE", key, q, {}, {}}, what);
  if (resp.ok()) return Status::Ok();
  if (resp.status().code() == Code::kPermission && !until.empty())
    return Status(Code::kRetained, what + ": under Object Lock until " + until);
  return resp.status();
}

}  // namespace

Result<std::unique_ptr<Backend>> NewS3Backend(S3Config config) {
  if (config.where.bucket.empty()) return InvalidArgument("S3: no bucket");
  if (config.where.scheme != "http" && config.where.scheme != "https")
    return InvalidArgument("S3: scheme must be http or https");
  if (config.credentials.access_key.empty() || config.credentials.secret_key.empty())
    return InvalidArgument("S3 credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  if (config.part_size < 1 || config.multipart_threshold < config.part_size)
    return InvalidArgument("S3: multipart threshold must be at least the part size");
  if (config.connections == 0) config.connections = 1;
  return std::unique_ptr<Backend>(std::make_unique<S3Backend>(std::move(config)));
}

}  // namespace lb::storage
