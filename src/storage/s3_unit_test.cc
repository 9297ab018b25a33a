// S3 pieces that need no server: SigV4 against AWS's published examples, location
// parsing, URL building, XML reading and the HTTP-status-to-Status mapping.
#include <gtest/gtest.h>

#include "storage/s3_backend.h"
#include "storage/s3_client.h"
#include "storage/s3_object_lock.h"
#include "storage/s3_xml.h"
#include "storage/sigv4.h"

namespace lb::storage {
namespace {

using sigv4::Request;

const char* kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The "get-vanilla" case of the AWS Signature Version 4 test suite.
TEST(SigV4, TestSuiteGetVanilla) {
  Request r{"GET", "/", {}, {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}, kEmptyHash};
  std::string signed_headers;
  const std::string creq = sigv4::CanonicalRequest(r, &signed_headers);
  EXPECT_EQ(creq,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(signed_headers, "host;x-amz-date");
  const std::string sts = sigv4::StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", creq);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(sigv4::Signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830", "us-east-1", "service", sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  sigv4::Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  EXPECT_EQ(sigv4::Authorization(c, "us-east-1", "service", "20150830T123600Z", r),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// "get-vanilla-query-order-key-case": query parameters are sorted by name.
TEST(SigV4, TestSuiteQueryOrder) {
  Request r{"GET", "/", {{"Param2", "value2"}, {"Param1", "value1"}},
            {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}, kEmptyHash};
  EXPECT_EQ(sigv4::CanonicalQuery(r.query), "Param1=value1&Param2=value2");
  sigv4::Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  EXPECT_NE(sigv4::Authorization(c, "us-east-1", "service", "20150830T123600Z", r)
                .find("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
            std::string::npos);
}

// The examples of the Amazon S3 API reference ("Signature Calculations for the
// Authorization Header: Transferring Payload in a Single Chunk").
const sigv4::Credentials kS3Example{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

std::string SignatureOf(const std::string& authorization) {
  return authorization.substr(authorization.find("Signature=") + 10);
}

TEST(SigV4, S3GetObjectWithRange) {
  Request r{"GET", "/test.txt", {},
            {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
             {"x-amz-content-sha256", kEmptyHash}, {"x-amz-date", "20130524T000000Z"}},
            kEmptyHash};
  const std::string creq = sigv4::CanonicalRequest(r, nullptr);
  EXPECT_EQ(creq,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sigv4::StringToSign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", creq),
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(SignatureOf(sigv4::Authorization(kS3Example, "us-east-1", "s3", "20130524T000000Z", r)),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, S3PutObjectWithEncodedKey) {
  const std::string hash = sigv4::Sha256Hex(AsBytes("Welcome to Amazon S3."));
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Request r{"PUT", sigv4::UriEncode("/test$file.text", false), {},
            {{"Host", "examplebucket.s3.amazonaws.com"}, {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
             {"x-amz-content-sha256", hash}, {"x-amz-date", "20130524T000000Z"},
             {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
            hash};
  EXPECT_EQ(r.canonical_uri, "/test%24file.text");
  EXPECT_EQ(sigv4::Sha256Hex(AsBytes(sigv4::CanonicalRequest(r, nullptr))),
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  const std::string auth = sigv4::Authorization(kS3Example, "us-east-1", "s3", "20130524T000000Z", r);
  EXPECT_NE(auth.find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"),
            std::string::npos);
  EXPECT_EQ(SignatureOf(auth), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, S3GetBucketLifecycleAndList) {
  sigv4::Pairs h{{"Host", "examplebucket.s3.amazonaws.com"}, {"x-amz-content-sha256", kEmptyHash},
                 {"x-amz-date", "20130524T000000Z"}};
  Request lifecycle{"GET", "/", {{"lifecycle", ""}}, h, kEmptyHash};
  EXPECT_EQ(SignatureOf(sigv4::Authorization(kS3Example, "us-east-1", "s3", "20130524T000000Z", lifecycle)),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  Request list{"GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, h, kEmptyHash};
  EXPECT_EQ(SignatureOf(sigv4::Authorization(kS3Example, "us-east-1", "s3", "20130524T000000Z", list)),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, EncodingAndHeaderValues) {
  EXPECT_EQ(sigv4::UriEncode("a b/c~d+e=", true), "a%20b%2Fc~d%2Be%3D");
  EXPECT_EQ(sigv4::UriEncode("a b/c", false), "a%20b/c");
  EXPECT_EQ(sigv4::UriEncode("\xc3\xa9", true), "%C3%A9");
  Request r{"GET", "/", {}, {{"My-Header1", "  a   b   c  "}}, kEmptyHash};
  EXPECT_NE(sigv4::CanonicalRequest(r, nullptr).find("\nmy-header1:a b c\n"), std::string::npos);
  EXPECT_EQ(sigv4::AmzDate(std::chrono::system_clock::from_time_t(1440938160)), "20150830T123600Z");
}

TEST(S3Location, ParsesEndpointBucketAndPrefix) {
  auto l = ParseS3Location("s3:http://127.0.0.1:7480/bucket-1/some/prefix/");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ(l->scheme, "http");
  EXPECT_EQ(l->host, "127.0.0.1:7480");
  EXPECT_EQ(l->bucket, "bucket-1");
  EXPECT_EQ(l->prefix, "some/prefix");
  l = ParseS3Location("s3:https://s3.example.com/bkt");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->scheme, "https");
  EXPECT_EQ(l->prefix, "");
}

TEST(S3Location, RejectsMalformed) {
  for (const char* bad : {"s3:", "s3:ftp://h/b", "s3:http://", "s3:http:///bucket", "s3:http://h", "s3:http://h/",
                          "s3:http://h:0/b12", "s3:http://h:99999/b12", "s3:http://h:x/b12", "s3:http://h/Bad_Bucket",
                          "s3:http://h/ab", "s3:http://h/bucket//x", "s3:http://h h/bucket", "s3:bucket/x"}) {
    auto l = ParseS3Location(bad);
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(l.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(l.status().message().find("s3:http[s]://HOST[:PORT]/BUCKET[/PREFIX]"), std::string::npos) << bad;
  }
}

TEST(S3Url, PathAndVirtualHostStyle) {
  S3Config c;
  c.where = {"http", "127.0.0.1:7480", "bkt", "p"};
  EXPECT_EQ(S3ObjectUrl(c, "p/data/ab/ab12"), "http://127.0.0.1:7480/bkt/p/data/ab/ab12");
  EXPECT_EQ(S3ObjectUrl(c, ""), "http://127.0.0.1:7480/bkt");
  c.virtual_host = true;
  EXPECT_EQ(S3ObjectUrl(c, "p/config"), "http://bkt.127.0.0.1:7480/p/config");
}

TEST(S3Xml, LeavesGroupSiblings) {
  auto l = s3xml::Leaves(
      "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>a&amp;b</NextContinuationToken>"
      "<Contents><Key>k1</Key><Size>3</Size></Contents><Contents><Key>k2</Key><Size>4</Size></Contents>"
      "</ListBucketResult>");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(s3xml::First(*l, "NextContinuationToken"), "a&b");
  EXPECT_EQ(s3xml::First(*l, "ListBucketResult/IsTruncated"), "true");
  ASSERT_EQ(l->size(), 6u);
  EXPECT_EQ((*l)[2].path, "ListBucketResult/Contents/Key");
  EXPECT_EQ((*l)[2].parent, (*l)[3].parent);
  EXPECT_NE((*l)[3].parent, (*l)[5].parent);
  EXPECT_EQ(s3xml::Leaves("<a><b>").status().code(), Code::kCorrupt);
  EXPECT_EQ(s3xml::Escape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
}

http::Response ErrorResponse(long status, const std::string& code, const std::string& message) {
  http::Response r;
  r.status = status;
  if (!code.empty()) {
    const std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" +
                            message + "</Message></Error>";
    r.body.assign(xml.begin(), xml.end());
  }
  return r;
}

TEST(S3Errors, StatusMapping) {
  EXPECT_EQ(S3StatusOf(ErrorResponse(404, "NoSuchKey", ""), "x").code(), Code::kNotFound);
  EXPECT_EQ(S3StatusOf(ErrorResponse(412, "PreconditionFailed", ""), "x").code(), Code::kAlreadyExists);
  EXPECT_EQ(S3StatusOf(ErrorResponse(409, "ConditionalRequestConflict", ""), "x").code(), Code::kAlreadyExists);
  Status sig = S3StatusOf(ErrorResponse(403, "SignatureDoesNotMatch", "check your key"), "load k");
  EXPECT_EQ(sig.code(), Code::kPermission);
  EXPECT_EQ(sig.message(),
            "load k: HTTP 403 SignatureDoesNotMatch: check your key (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
  EXPECT_EQ(S3StatusOf(ErrorResponse(403, "InvalidAccessKeyId", ""), "x").code(), Code::kPermission);
  EXPECT_NE(S3StatusOf(ErrorResponse(403, "", ""), "x").message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  EXPECT_EQ(S3StatusOf(ErrorResponse(416, "InvalidRange", ""), "x").code(), Code::kCorrupt);
  for (long s : {500L, 502L, 503L, 504L, 429L, 408L})
    EXPECT_EQ(S3StatusOf(ErrorResponse(s, "SlowDown", ""), "x").code(), Code::kIoError) << s;
  EXPECT_EQ(S3StatusOf(ErrorResponse(400, "XAmzContentSHA256Mismatch", ""), "x").code(), Code::kIoError);
  EXPECT_EQ(S3StatusOf(ErrorResponse(400, "EntityTooSmall", ""), "x").code(), Code::kUnsupported);
  EXPECT_EQ(S3StatusOf(ErrorResponse(400, "", ""), "x").code(), Code::kUnsupported);
}

TEST(S3Backend, RefusesMissingCredentials) {
  S3Config c;
  c.where = {"http", "127.0.0.1:1", "bkt", ""};
  auto be = NewS3Backend(c);
  ASSERT_FALSE(be.ok());
  EXPECT_EQ(be.status().code(), Code::kInvalidArgument);
  EXPECT_NE(be.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(S3ObjectLock, ContentMd5IsBase64OfMd5) {
  EXPECT_EQ(s3lock::ContentMd5(AsBytes(std::string())), "1B2M2Y8AsgTpgAmY7PhCfg==");
  EXPECT_EQ(s3lock::ContentMd5(AsBytes(std::string("The quick brown fox jumps over the lazy dog"))),
            "nhB9nTcrtoJr2B01QqQZ1g==");
}

TEST(S3ObjectLock, ModesAndConfiguration) {
  EXPECT_EQ(*s3lock::ParseMode("compliance"), "COMPLIANCE");
  EXPECT_EQ(*s3lock::ParseMode("Governance"), "GOVERNANCE");
  EXPECT_EQ(s3lock::ParseMode("legal").status().code(), Code::kInvalidArgument);
  const std::string xml = s3lock::ConfigurationXml("GOVERNANCE", 30);
  auto leaves = s3xml::Leaves(xml);
  ASSERT_TRUE(leaves.ok());
  EXPECT_EQ(s3xml::First(*leaves, "ObjectLockConfiguration/ObjectLockEnabled"), "Enabled");
  EXPECT_EQ(s3xml::First(*leaves, "DefaultRetention/Mode"), "GOVERNANCE");
  EXPECT_EQ(s3xml::First(*leaves, "DefaultRetention/Days"), "30");
}

TEST(S3ObjectLock, EnabledFromResponses) {
  http::Response on;
  on.status = 200;
  const std::string xml = s3lock::ConfigurationXml("COMPLIANCE", 1);
  on.body.assign(xml.begin(), xml.end());
  EXPECT_TRUE(*s3lock::EnabledFrom(on, "x"));
  EXPECT_FALSE(*s3lock::EnabledFrom(ErrorResponse(404, "ObjectLockConfigurationNotFoundError", ""), "x"));
  EXPECT_FALSE(*s3lock::EnabledFrom(ErrorResponse(403, "AccessDenied", ""), "x"));
  EXPECT_EQ(s3lock::EnabledFrom(ErrorResponse(503, "SlowDown", ""), "x").status().code(), Code::kIoError);
}

}  // namespace
}  // namespace lb::storage
