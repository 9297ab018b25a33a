// S3 Object Lock, internal to the S3 backend: the pieces of the protocol it needs
// to create a locked bucket, write into it and remove from it.
//
// How lifeboat uses Object Lock (docs/storage.md, "Immutability"): the bucket has
// Object Lock enabled and a default retention rule (mode and days) set by
// `init --object-lock-days N`; the server then stamps every new object version with
// a retain-until date, whoever writes it. Removing a file deletes its version by id,
// which the server refuses while the version is retained; the backend reports that as
// Code::kRetained so prune and forget can defer instead of fail. Lock files are the
// exception: they are hidden with a delete marker (their retained version stays).
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/http.h"

namespace lb::storage::s3lock {

// Base64 of the MD5 of `body`: the Content-MD5 header S3 requires on writes into
// a bucket with Object Lock.
std::string ContentMd5(ByteSpan body);

// "COMPLIANCE" or "GOVERNANCE" from a case-insensitive name; kInvalidArgument otherwise.
Result<std::string> ParseMode(const std::string& name);

// The body of PUT ?object-lock: enabled, with a default retention of `days` in `mode`.
std::string ConfigurationXml(const std::string& mode, int days);

// Reads a GET ?object-lock response: true when Object Lock is enabled on the bucket,
// false when the bucket has none (404 ObjectLockConfigurationNotFoundError) or the
// credentials may not read it (403: treated as not enabled, so removal falls back to
// plain deletes). Other statuses are errors (S3StatusOf).
Result<bool> EnabledFrom(const http::Response& resp, const std::string& what);

}  // namespace lb::storage::s3lock
