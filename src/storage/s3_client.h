// One signed S3 request at a time (internal to the S3 backend and its tests):
// builds the URL for path- or virtual-host-style addressing, signs with SigV4, sends
// through the pooled HTTP client, and maps unsuccessful responses to Status codes.
// Thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "storage/http.h"
#include "storage/s3_backend.h"
#include "storage/sigv4.h"

namespace lb::storage {

struct S3Request {
  std::string method;
  std::string key;      // object key; empty for the bucket itself
  sigv4::Pairs query;   // decoded
  sigv4::Pairs headers;  // extra headers, all signed (range, if-none-match, ...)
  ByteSpan body;        // not owned
};

// The error for a response that is not 2xx; `what` says which operation failed.
// 404 -> kNotFound, 412 (and 409 ConditionalRequestConflict) -> kAlreadyExists,
// 401/403 -> kPermission, 416 -> kCorrupt, 408/429/5xx and retryable 400s
// (RequestTimeout, XAmzContentSHA256Mismatch, BadDigest, IncompleteBody) -> kIoError,
// other 4xx -> kUnsupported. The message carries the S3 error code and message.
Status S3StatusOf(const http::Response& resp, const std::string& what);

class S3Client {
 public:
  explicit S3Client(S3Config c);

  const S3Config& config() const { return c_; }
  // Sends the request; only transport failures are errors.
  Result<http::Response> Send(const S3Request& r);
  // Sends and turns every non-2xx response into S3StatusOf(resp, what).
  Result<http::Response> Call(const S3Request& r, const std::string& what);

 private:
  S3Config c_;
  http::Client http_;
};

}  // namespace lb::storage
