#include "storage/s3_object_lock.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "storage/s3_client.h"
#include "storage/s3_xml.h"

namespace lb::storage::s3lock {

std::string ContentMd5(ByteSpan body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), md, static_cast<int>(len));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> ParseMode(const std::string& name) {
  std::string up = name;
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
  if (up == "COMPLIANCE" || up == "GOVERNANCE") return up;
  return InvalidArgument("object lock mode '" + name + "': use compliance or governance");
}

std::string ConfigurationXml(const std::string& mode, int days) {
  return "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
         "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>" +
         s3xml::Escape(mode) + "</Mode><Days>" + std::to_string(days) +
         "</Days></DefaultRetention></Rule></ObjectLockConfiguration>";
}

Result<bool> EnabledFrom(const http::Response& resp, const std::string& what) {
  if (resp.status == 404 || resp.status == 403) return false;
  if (resp.status < 200 || resp.status > 299) return S3StatusOf(resp, what);
  LB_ASSIGN_OR_RETURN_CTX(auto leaves, s3xml::Leaves(ToString(resp.body)), what);
  return s3xml::First(leaves, "ObjectLockConfiguration/ObjectLockEnabled") == "Enabled";
}

}  // namespace lb::storage::s3lock
