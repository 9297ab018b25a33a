// The repository in an S3 bucket (AWS S3, Ceph RGW, MinIO, ...), spoken to with
// SigV4-signed HTTP requests over libcurl.
//
// Object keys: PREFIX/config, PREFIX/keys/NAME, PREFIX/data/XX/NAME (XX = first two
// characters of NAME), PREFIX/index/NAME, PREFIX/snapshots/NAME, PREFIX/locks/NAME
// and PREFIX/DIR/NAME for every other kind, DIR = FileKindDir(kind) (no "PREFIX/"
// when the prefix is empty).
//
// How the Backend contract is kept:
// - Save: one PUT with If-None-Match: * (412 -> kAlreadyExists), so an object is never
//   silently replaced. Above `multipart_threshold` a multipart upload: a HEAD check
//   first, parts of `part_size`, a conditional CompleteMultipartUpload, and
//   AbortMultipartUpload on any failure (see SaveMultipart for the remaining race).
// - Load: GET, ranged with Range: bytes=A-B; a range the object does not cover is kCorrupt.
// - List: ListObjectsV2, every page (continuation tokens); any failed page fails the
//   whole listing (names already passed to fn stay passed).
// - Remove: HEAD (404 -> kNotFound), then DELETE.
// - Create: creates the bucket when it does not exist; idempotent.
// Object Lock (s3_object_lock.h): Create with object_lock_days > 0 creates the bucket
// with Object Lock enabled (an existing bucket must have it) and sets its default
// retention. On any bucket where Object Lock is enabled (asked once, lazily), writes
// carry Content-MD5, and Remove deletes the object's version by id: a retained version
// is kRetained ("under Object Lock until T"), never hidden by a delete marker. Lock
// files are hidden with a delete marker instead (their version stays until it expires).
// Errors: 404 -> kNotFound, 412 -> kAlreadyExists, 401/403 -> kPermission (with the S3
// error code and message), 5xx/429/timeouts/resets -> kIoError (transient: the
// RetryingBackend retries it), other 4xx -> kUnsupported (permanent).
// Thread safety: all methods may be called concurrently; at most `connections`
// requests are in flight.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "storage/backend.h"
#include "storage/sigv4.h"

namespace lb::storage {

// Where the repository is: parsed from "s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]".
struct S3Location {
  std::string scheme;  // "http" or "https"
  std::string host;    // "HOST[:PORT]" as written
  std::string bucket;
  std::string prefix;  // without leading or trailing '/'; may be empty
};

// kInvalidArgument with a message that shows the expected form.
Result<S3Location> ParseS3Location(const std::string& url);

struct S3Config {
  S3Location where;
  std::string region = "us-east-1";
  sigv4::Credentials credentials;
  bool virtual_host = false;  // BUCKET.HOST/KEY instead of HOST/BUCKET/KEY
  std::string ca_file;        // PEM bundle for https (empty: system default)
  unsigned connections = 8;   // requests in flight
  uint64_t part_size = 16u << 20;
  uint64_t multipart_threshold = 32u << 20;  // Save uses multipart above this size
  // Used by Create only: > 0 makes the bucket's default retention this many days.
  int object_lock_days = 0;
  std::string object_lock_mode = "COMPLIANCE";  // or "GOVERNANCE"
};

// The URL of one object (or of the bucket when key is empty), unsigned.
std::string S3ObjectUrl(const S3Config& c, const std::string& key);

// No request is made here; a bad configuration (empty bucket, missing access key)
// is kInvalidArgument.
Result<std::unique_ptr<Backend>> NewS3Backend(S3Config config);

}  // namespace lb::storage
