// AWS Signature Version 4 for requests signed in the Authorization header, with
// the payload hash signed (x-amz-content-sha256 = hex SHA-256 of the body; never
// aws-chunked). Pure functions over OpenSSL's SHA-256/HMAC; thread-safe.
//
// Each step of the algorithm is exposed so the tests can compare the canonical
// request, the string to sign and the signature with AWS's published examples.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace lb::storage::sigv4 {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty unless temporary credentials
};

using Pairs = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // the path, already URI-encoded, e.g. "/bucket/a%24b"
  Pairs query;                // decoded names and values; order does not matter
  Pairs headers;              // every header to sign, including host and x-amz-date
  std::string payload_hash;   // hex SHA-256 of the body
};

// Hex SHA-256 (lowercase).
std::string Sha256Hex(ByteSpan data);
// "20150830T123600Z" (UTC).
std::string AmzDate(std::chrono::system_clock::time_point t);

// RFC 3986 encoding as SigV4 defines it: unreserved characters A-Z a-z 0-9 - _ . ~
// stay, everything else becomes %XX (upper-case hex); '/' stays when !encode_slash.
std::string UriEncode(std::string_view s, bool encode_slash);
// "a=1&b=2": names and values encoded, sorted by name then value.
std::string CanonicalQuery(const Pairs& query);
// Lower-case names, trimmed values with inner runs of spaces collapsed, sorted.
// `signed_headers` receives "host;x-amz-date".
std::string CanonicalRequest(const Request& r, std::string* signed_headers);
// scope is "DATE/REGION/SERVICE/aws4_request".
std::string StringToSign(const std::string& amz_date, const std::string& scope,
                         const std::string& canonical_request);
// Hex HMAC chain: kDate, kRegion, kService, kSigning, then HMAC(kSigning, sts).
std::string Signature(const std::string& secret, const std::string& date, const std::string& region,
                      const std::string& service, const std::string& string_to_sign);

// The whole Authorization header value for `r`, whose headers must already hold
// x-amz-date = amz_date (and x-amz-security-token when there is a session token).
std::string Authorization(const Credentials& c, const std::string& region, const std::string& service,
                          const std::string& amz_date, const Request& r);

}  // namespace lb::storage::sigv4
