// The S3 backend against the real Ceph gateway of scripts/ceph-test-cluster: the
// conformance suite plus S3-specific behaviour. LIFEBOAT_S3_ENV_FILE names the
// cluster's env file (ctest sets it; by hand: LIFEBOAT_S3_ENV_FILE=DIR/env ./s3_test).
// Without a reachable cluster every test fails; none is skipped.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "storage/conformance.h"
#include "storage/s3_backend.h"
#include "storage/s3_client.h"
#include "storage/s3_xml.h"
#include "storage/wrappers.h"

namespace lb::storage {
namespace {

const char* kBucket = "lifeboat-s3-test";

// KEY=VALUE lines of the cluster's env file.
const std::map<std::string, std::string>& ServerEnv() {
  static const std::map<std::string, std::string> env = [] {
    std::map<std::string, std::string> m;
    const char* file = std::getenv("LIFEBOAT_S3_ENV_FILE");
    if (!file) return m;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
      if (auto eq = line.find('='); eq != std::string::npos && line.rfind("export", 0) != 0)
        m[line.substr(0, eq)] = line.substr(eq + 1);
    return m;
  }();
  return env;
}

std::string Env(const std::string& key) {
  auto it = ServerEnv().find(key);
  if (it == ServerEnv().end()) {
    ADD_FAILURE() << key << " missing: set LIFEBOAT_S3_ENV_FILE to the env file that "
                  << "'scripts/ceph-test-cluster start DIR' writes (DIR/env)";
    return "";
  }
  return it->second;
}

// "http://127.0.0.1:7480" + bucket + prefix -> a parsed location.
S3Config ConfigFor(const std::string& endpoint, const std::string& bucket, const std::string& prefix) {
  auto loc = ParseS3Location("s3:" + endpoint + "/" + bucket + (prefix.empty() ? "" : "/" + prefix));
  EXPECT_TRUE(loc.ok()) << loc.status().ToString();
  S3Config c;
  if (loc.ok()) c.where = *loc;
  c.credentials = {Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"), ""};
  return c;
}

S3Config TestConfig(const std::string& prefix) { return ConfigFor(Env("LIFEBOAT_S3_ENDPOINT"), kBucket, prefix); }

std::unique_ptr<Backend> Make(S3Config c) {
  auto be = NewS3Backend(std::move(c));
  EXPECT_TRUE(be.ok()) << be.status().ToString();
  return be.ok() ? std::move(be).value() : nullptr;
}

std::string UniquePrefix(const std::string& what) {
  static std::mt19937_64 rng(std::random_device{}());
  return what + "-" + std::to_string(rng() % 1000000000);
}

INSTANTIATE_TEST_SUITE_P(S3, BackendConformance,
                         ::testing::Values(Factory{"ceph_rgw",
                                                   [](const std::string& scratch) {
                                                     // A fresh prefix per test, from the scratch dir.
                                                     return Make(TestConfig(
                                                         "conformance/" +
                                                         std::filesystem::path(scratch).filename().string()));
                                                   }}),
                         FactoryName);

class S3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Env("LIFEBOAT_S3_ENDPOINT").empty());
    cfg_ = TestConfig(UniquePrefix("s3test"));
    be_ = Make(cfg_);
    ASSERT_NE(be_, nullptr);
    ASSERT_TRUE(be_->Create().ok());
  }
  S3Config cfg_;
  std::unique_ptr<Backend> be_;
};

TEST_F(S3Test, WrongSecretFailsAtOnceNamingTheS3Error) {
  ASSERT_TRUE(be_->Save({FileKind::kConfig, "config"}, AsBytes("cfg")).ok());
  S3Config bad = cfg_;
  bad.credentials.secret_key = "not-the-secret";
  auto meter = std::make_shared<Meter>();
  auto be = NewRetryingBackend(NewMeteredBackend(Make(bad), meter),
                               RetryPolicy{5, std::chrono::milliseconds(200), std::chrono::milliseconds(1000)});
  const auto start = std::chrono::steady_clock::now();
  auto r = be->Load({FileKind::kConfig, "config"});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermission);
  EXPECT_NE(r.status().message().find("SignatureDoesNotMatch"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("HTTP 403"), std::string::npos) << r.status().message();
  EXPECT_EQ(meter->Snapshot().loads, 1u) << "a permanent error must not be retried";
  EXPECT_LT(took, std::chrono::milliseconds(150));
  // An unknown access key is just as clear.
  bad.credentials.access_key = "NOSUCHACCESSKEY00000";
  auto r2 = Make(bad)->Load({FileKind::kConfig, "config"});
  EXPECT_EQ(r2.status().code(), Code::kPermission);
  EXPECT_NE(r2.status().message().find("InvalidAccessKeyId"), std::string::npos) << r2.status().message();
}

TEST_F(S3Test, CreateMakesTheBucketOnce) {
  const std::string bucket = "lb-auto-" + UniquePrefix("b").substr(2);
  S3Config c = ConfigFor(Env("LIFEBOAT_S3_ENDPOINT"), bucket, "repo");
  auto be = Make(c);
  S3Client raw(c);
  auto before = raw.Send({"GET", "", {{"location", ""}}, {}, {}});
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->status, 404) << "the bucket must not exist yet";
  EXPECT_EQ(be->Load({FileKind::kConfig, "config"}).status().code(), Code::kNotFound);
  ASSERT_TRUE(be->Create().ok());
  ASSERT_TRUE(be->Create().ok()) << "Create is idempotent";
  auto after = raw.Send({"GET", "", {{"location", ""}}, {}, {}});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 200);
  ASSERT_TRUE(be->Save({FileKind::kKey, "k1"}, AsBytes("key")).ok());
  EXPECT_EQ(ToString(*be->Load({FileKind::kKey, "k1"})), "key");
  // Leave the gateway as we found it.
  ASSERT_TRUE(be->Remove({FileKind::kKey, "k1"}).ok());
  auto del = raw.Call({"DELETE", "", {}, {}, {}}, "delete bucket");
  EXPECT_TRUE(del.ok()) << del.status().ToString();
}

Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed + (i >> 12));
  return b;
}

// Multipart uploads still open under `key` (ListMultipartUploads).
size_t OpenUploads(S3Client& raw, const std::string& key) {
  auto resp = raw.Call({"GET", "", {{"uploads", ""}, {"prefix", key}}, {}, {}}, "list uploads");
  EXPECT_TRUE(resp.ok()) << resp.status().ToString();
  if (!resp.ok()) return 999;
  auto leaves = s3xml::Leaves(ToString(resp->body));
  EXPECT_TRUE(leaves.ok());
  size_t n = 0;
  for (const auto& l : *leaves) n += l.path == "ListMultipartUploadsResult/Upload/UploadId";
  return n;
}

TEST_F(S3Test, FailedMultipartIsAbortedAndLeavesNothing) {
  // Parts under the gateway's 5 MiB minimum: the completion fails (EntityTooSmall).
  S3Config small = cfg_;
  small.part_size = 1u << 20;
  small.multipart_threshold = 2u << 20;
  auto be = Make(small);
  const Handle h{FileKind::kData, "aa00multipartfail"};
  Status st = be->Save(h, Pattern(3u << 20, 1));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("EntityTooSmall"), std::string::npos) << st.message();
  EXPECT_EQ(be->Load(h).status().code(), Code::kNotFound) << "a failed upload must leave no object";
  S3Client raw(small);
  EXPECT_EQ(OpenUploads(raw, cfg_.where.prefix + "/data/aa/aa00multipartfail"), 0u)
      << "the failed upload must be aborted";
  size_t listed = 0;
  ASSERT_TRUE(be->List(FileKind::kData, [&](const std::string&, uint64_t) {
                   ++listed;
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(listed, 0u);
}

TEST_F(S3Test, MultipartObjectIsWholeAndNeverReplaced) {
  S3Config c = cfg_;
  c.part_size = 5u << 20;
  c.multipart_threshold = 5u << 20;
  auto be = Make(c);
  const Handle h{FileKind::kData, "bb00multipart"};
  const Bytes data = Pattern(12u << 20, 7);
  ASSERT_TRUE(be->Save(h, data).ok());
  S3Client raw(c);
  auto head = raw.Call({"HEAD", cfg_.where.prefix + "/data/bb/bb00multipart", {}, {}, {}}, "head");
  ASSERT_TRUE(head.ok());
  EXPECT_NE(head->Header("etag").find("-3"), std::string::npos) << "3 parts: " << head->Header("etag");
  EXPECT_EQ(be->Save(h, Pattern(12u << 20, 8)).code(), Code::kAlreadyExists);
  EXPECT_EQ(be->Save(h, AsBytes("small")).code(), Code::kAlreadyExists);
  auto got = be->Load(h);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
  EXPECT_EQ(OpenUploads(raw, cfg_.where.prefix + "/data/bb/"), 0u);
}

int UnusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  close(fd);  // nothing listens there now
  return port;
}

TEST_F(S3Test, ServerDownIsAnErrorNeverAnEmptyListing) {
  S3Config down = ConfigFor("http://127.0.0.1:" + std::to_string(UnusedPort()), kBucket, "p");
  auto meter = std::make_shared<Meter>();
  auto be = NewRetryingBackend(NewMeteredBackend(Make(down), meter),
                               RetryPolicy{3, std::chrono::milliseconds(10), std::chrono::milliseconds(20)});
  size_t listed = 0;
  Status st = be->List(FileKind::kSnapshot, [&](const std::string&, uint64_t) {
    ++listed;
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), Code::kIoError) << st.ToString();
  EXPECT_NE(st.message().find("onnect"), std::string::npos) << st.message();
  EXPECT_EQ(listed, 0u);
  EXPECT_EQ(meter->Snapshot().lists, 3u) << "a refused connection is transient: retried";
  EXPECT_EQ(be->Load({FileKind::kConfig, "config"}).status().code(), Code::kIoError);
  EXPECT_EQ(be->Save({FileKind::kLock, "l"}, AsBytes("x")).code(), Code::kIoError);
  EXPECT_EQ(be->Create().code(), Code::kIoError);
}

TEST_F(S3Test, VirtualHostStyle) {
  // The gateway's DNS name is "localhost": BUCKET.localhost:PORT addresses the bucket.
  std::string ep = Env("LIFEBOAT_S3_ENDPOINT");
  ep.replace(ep.find("127.0.0.1"), 9, "localhost");
  S3Config c = ConfigFor(ep, kBucket, UniquePrefix("virtual"));
  c.virtual_host = true;
  EXPECT_EQ(S3ObjectUrl(c, "x").rfind(std::string("http://") + kBucket + ".localhost:", 0), 0u);
  auto be = Make(c);
  ASSERT_TRUE(be->Create().ok());
  ASSERT_TRUE(be->Save({FileKind::kIndex, "v1"}, AsBytes("virtual")).ok());
  EXPECT_EQ(ToString(*be->Load({FileKind::kIndex, "v1"})), "virtual");
  // The same object through path-style addressing.
  S3Config path = ConfigFor(Env("LIFEBOAT_S3_ENDPOINT"), kBucket, c.where.prefix);
  EXPECT_EQ(ToString(*Make(path)->Load({FileKind::kIndex, "v1"})), "virtual");
}

TEST_F(S3Test, HttpsVerifiesTheCertificate) {
  S3Config c = ConfigFor(Env("LIFEBOAT_S3_TLS_ENDPOINT"), kBucket, cfg_.where.prefix);
  c.ca_file = Env("LIFEBOAT_S3_CA_FILE");
  auto be = Make(c);
  ASSERT_TRUE(be->Save({FileKind::kSnapshot, "tls"}, AsBytes("over tls")).ok());
  EXPECT_EQ(ToString(*be->Load({FileKind::kSnapshot, "tls"})), "over tls");
  // The self-signed certificate is not in the system store: refused, and not retried.
  c.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  auto meter = std::make_shared<Meter>();
  auto untrusted = NewRetryingBackend(NewMeteredBackend(Make(c), meter));
  auto r = untrusted->Load({FileKind::kSnapshot, "tls"});
  EXPECT_EQ(r.status().code(), Code::kPermission) << r.status().ToString();
  EXPECT_NE(r.status().message().find("TLS"), std::string::npos) << r.status().message();
  EXPECT_EQ(meter->Snapshot().loads, 1u);
}

TEST_F(S3Test, ManyConcurrentRequestsThroughFewConnections) {
  S3Config c = cfg_;
  c.connections = 3;
  auto be = Make(c);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 12; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const Handle h{FileKind::kIndex, "c" + std::to_string(t) + "-" + std::to_string(i)};
        const std::string body = "body " + h.name;
        if (be->Save(h, AsBytes(body)).ok() && be->Load(h).ok() && ToString(*be->Load(h)) == body) ++ok;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 60);
  size_t n = 0;
  ASSERT_TRUE(be->List(FileKind::kIndex, [&](const std::string&, uint64_t) {
                   ++n;
                   return Status::Ok();
                 }).ok());
  EXPECT_EQ(n, 60u);
}

}  // namespace
}  // namespace lb::storage
