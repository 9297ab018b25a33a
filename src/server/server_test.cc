// The repository server in-process on 127.0.0.1 over TLS (a certificate this test
// makes with the openssl CLI), spoken to through the rest: client backend: the
// shared backend conformance suite with an admin token, then what each role may
// do, token checks, name verification and the access log. Pure parts (paths,
// ranges, roles, token files) are tested directly.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "server/access_log.h"
#include "server/protocol.h"
#include "server/server.h"
#include "storage/conformance.h"
#include "storage/http.h"
#include "storage/rest_backend.h"

namespace lb::server {
namespace {

using storage::FileKind;
namespace http = storage::http;

std::string MakeTempDir(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) return "";
  return tmpl;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One server with its own root, tokens (admin, read, append, and read2) and access log.
class TestServer {
 public:
  explicit TestServer(bool verify_names) {
    dir_ = MakeTempDir("lb-server-test");
    root_ = dir_ + "/root";
    std::filesystem::create_directories(root_);
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                            "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
                            dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    for (auto [id, role] : {std::pair{"admin", Role::kAdmin}, std::pair{"reader", Role::kRead},
                            std::pair{"appender", Role::kAppend}, std::pair{"reader2", Role::kRead}}) {
      auto secret = AddToken(tokens_path(), id, role);
      EXPECT_TRUE(secret.ok()) << secret.status().ToString();
      secrets_[id] = secret.ok() ? *secret : "";
    }
    auto tokens = TokenStore::Load(tokens_path());
    EXPECT_TRUE(tokens.ok());
    ServerOptions so;
    so.tls_cert = dir_ + "/cert.pem";
    so.tls_key = dir_ + "/key.pem";
    so.access_log = access_log();
    auto service = std::make_unique<Service>(ServiceOptions{root_, verify_names}, std::move(*tokens));
    auto server = Server::Start(so, std::move(service), clock_);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    thread_ = std::thread([this] { EXPECT_TRUE(server_->Serve().ok()); });
    raw_ = std::make_unique<http::Client>(http::Options{2, ca()});
  }
  ~TestServer() {
    raw_.reset();  // closes its kept-alive connections, which the server would wait for
    server_->Stop();
    thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(server_->port()); }
  std::string ca() const { return dir_ + "/cert.pem"; }
  std::string tokens_path() const { return dir_ + "/tokens"; }
  std::string access_log() const { return dir_ + "/access.log"; }
  const std::string& root() const { return root_; }
  std::string secret(const std::string& id) { return secrets_[id]; }
  http::Client& raw() { return *raw_; }

  std::unique_ptr<storage::Backend> Client(const std::string& repo, const std::string& token) const {
    auto where = storage::ParseRestLocation("rest:" + url() + "/" + repo);
    EXPECT_TRUE(where.ok()) << where.status().ToString();
    auto be = storage::NewRestBackend({*where, token, ca(), 4});
    EXPECT_TRUE(be.ok());
    return std::move(*be);
  }

 private:
  std::string dir_, root_;
  std::map<std::string, std::string> secrets_;
  SystemClock clock_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::unique_ptr<http::Client> raw_;
};

// The conformance suite's server: started on first use, stopped (and its
// directory removed) when all tests have run.
class ConformanceEnv : public ::testing::Environment {
 public:
  void TearDown() override { server.reset(); }
  std::unique_ptr<TestServer> server;
};
ConformanceEnv* const conformance_env =
    static_cast<ConformanceEnv*>(::testing::AddGlobalTestEnvironment(new ConformanceEnv));

TestServer& ConformanceServer() {
  if (!conformance_env->server) conformance_env->server = std::make_unique<TestServer>(/*verify_names=*/false);
  return *conformance_env->server;
}

using storage::BackendConformance;
INSTANTIATE_TEST_SUITE_P(Rest, BackendConformance,
                         ::testing::Values(storage::Factory{"rest_tls_admin", [](const std::string& scratch) {
                           TestServer& s = ConformanceServer();
                           const std::string repo = std::filesystem::path(scratch).filename();
                           return s.Client(repo, s.secret("admin"));
                         }}),
                         storage::FactoryName);

class ServerRoles : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(/*verify_names=*/true); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    repo_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    admin_ = server_->Client(repo_, server_->secret("admin"));
    ASSERT_TRUE(admin_->Create().ok());
  }
  std::unique_ptr<storage::Backend> As(const std::string& id) { return server_->Client(repo_, server_->secret(id)); }
  // Saves `content` under its SHA-256 through `be`.
  static Status SaveHashed(storage::Backend& be, FileKind kind, const std::string& content, std::string* name = nullptr) {
    const std::string n = crypto::Sha256(AsBytes(content)).Hex();
    if (name) *name = n;
    return be.Save({kind, n}, AsBytes(content));
  }
  // A raw request, for the HTTP status itself.
  static http::Response Raw(const std::string& method, const std::string& path, const std::string& token,
                            const std::string& body = "") {
    http::Request req{method, server_->url() + path, {}, AsBytes(body)};
    if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
    auto resp = server_->raw().Do(req);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? *resp : storage::http::Response{};
  }

  static TestServer* server_;
  std::string repo_;
  std::unique_ptr<storage::Backend> admin_;
};
TestServer* ServerRoles::server_ = nullptr;

TEST_F(ServerRoles, ReaderReadsAndHandlesOnlyItsOwnLocks) {
  std::string pack;
  ASSERT_TRUE(SaveHashed(*admin_, FileKind::kData, "pack bytes", &pack).ok());
  auto reader = As("reader");
  EXPECT_EQ(ToString(*reader->Load({FileKind::kData, pack})), "pack bytes");
  EXPECT_EQ(ToString(*reader->Load({FileKind::kData, pack}, 5, 5)), "bytes");
  EXPECT_EQ(*reader->Size({FileKind::kData, pack}), 10u);
  int listed = 0;
  ASSERT_TRUE(reader->List(FileKind::kData, [&](const std::string& n, uint64_t size) {
                       EXPECT_EQ(n, pack);
                       EXPECT_EQ(size, 10u);
                       ++listed;
                       return Status::Ok();
                     }).ok());
  EXPECT_EQ(listed, 1);

  Status st = SaveHashed(*reader, FileKind::kSnapshot, "snap");
  EXPECT_EQ(st.code(), Code::kPermission) << st.ToString();
  EXPECT_NE(st.message().find("HTTP 403"), std::string::npos) << st.ToString();
  EXPECT_EQ(reader->Remove({FileKind::kData, pack}).code(), Code::kPermission);
  EXPECT_EQ(reader->Save({FileKind::kConfig, "config"}, AsBytes("{}")).code(), Code::kPermission);

  ASSERT_TRUE(reader->Save({FileKind::kLock, "aa11"}, AsBytes("my lock")).ok());
  ASSERT_TRUE(admin_->Save({FileKind::kLock, "bb22"}, AsBytes("admin lock")).ok());
  EXPECT_EQ(reader->Remove({FileKind::kLock, "bb22"}).code(), Code::kPermission);
  EXPECT_EQ(As("reader2")->Remove({FileKind::kLock, "aa11"}).code(), Code::kPermission) << "another reader's lock";
  EXPECT_TRUE(reader->Remove({FileKind::kLock, "aa11"}).ok());
  EXPECT_EQ(admin_->Size({FileKind::kLock, "aa11"}).status().code(), Code::kNotFound);
  EXPECT_TRUE(admin_->Remove({FileKind::kLock, "bb22"}).ok()) << "admin removes any lock";
}

TEST_F(ServerRoles, AppenderCreatesButNeverOverwritesOrDeletes) {
  auto app = As("appender");
  std::string name;
  ASSERT_TRUE(SaveHashed(*app, FileKind::kData, "new pack", &name).ok());
  EXPECT_EQ(SaveHashed(*app, FileKind::kData, "new pack").code(), Code::kAlreadyExists);
  EXPECT_EQ(ToString(*admin_->Load({FileKind::kData, name})), "new pack");
  for (FileKind k : {FileKind::kKey, FileKind::kIndex, FileKind::kSnapshot, FileKind::kAudit, FileKind::kKeyring})
    EXPECT_TRUE(SaveHashed(*app, k, std::string("file of kind ") + storage::FileKindDir(k)).ok());

  Status wrong = app->Save({FileKind::kSnapshot, crypto::Sha256(AsBytes("other")).Hex()}, AsBytes("content"));
  EXPECT_EQ(wrong.code(), Code::kInvalidArgument) << wrong.ToString();
  EXPECT_NE(wrong.message().find("SHA-256"), std::string::npos) << wrong.ToString();
  EXPECT_EQ(admin_->Save({FileKind::kIndex, "not-a-hash"}, AsBytes("x")).code(), Code::kInvalidArgument)
      << "names are verified for admin tokens too";

  EXPECT_EQ(app->Remove({FileKind::kData, name}).code(), Code::kPermission);
  EXPECT_EQ(app->Save({FileKind::kConfig, "config"}, AsBytes("{}")).code(), Code::kPermission);
  EXPECT_EQ(app->Create().code(), Code::kPermission) << "only admin creates repositories";
  ASSERT_TRUE(app->Save({FileKind::kLock, "cc33"}, AsBytes("lock")).ok());
  EXPECT_TRUE(app->Remove({FileKind::kLock, "cc33"}).ok());
  EXPECT_TRUE(admin_->Remove({FileKind::kData, name}).ok());
}

TEST_F(ServerRoles, RawStatusCodes) {
  const std::string base = "/" + repo_;
  const std::string content = "raw content";
  const std::string name = crypto::Sha256(AsBytes(content)).Hex();
  const std::string app = server_->secret("appender");
  EXPECT_EQ(Raw("GET", base + "/config", "").status, 401);
  EXPECT_EQ(Raw("GET", base + "/config", "0123456789abcdef").status, 401);
  EXPECT_EQ(Raw("POST", base + "/data/" + name, "", content).status, 401);
  EXPECT_EQ(Raw("POST", base + "/data/" + name, app, content).status, 200);
  EXPECT_EQ(Raw("POST", base + "/data/" + name, app, content).status, 409);
  EXPECT_EQ(Raw("POST", base + "/data/" + std::string(64, 'a'), app, content).status, 400);
  EXPECT_EQ(Raw("DELETE", base + "/data/" + name, app).status, 403);
  EXPECT_EQ(Raw("POST", base + "/?create=true", app).status, 403);
  EXPECT_EQ(Raw("GET", base + "/data/" + std::string(64, 'b'), app).status, 404);
  EXPECT_EQ(Raw("GET", "/no-such-repo/data/", app).status, 404);
  EXPECT_EQ(Raw("GET", base + "/nonsense/x", app).status, 404);
  EXPECT_EQ(Raw("GET", "/%2e%2e/data/", app).status, 400);
  EXPECT_EQ(Raw("GET", base + "/data/%2e%2e", app).status, 400);
  EXPECT_EQ(Raw("PUT", base + "/data/" + name, app, content).status, 404) << "PUT is not part of the protocol";

  http::Response ranged = [&] {
    auto r = server_->raw().Do({"GET", server_->url() + base + "/data/" + name,
                        {{"Authorization", "Bearer " + app}, {"Range", "bytes=4-10"}}, {}});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::Response{};
  }();
  EXPECT_EQ(ranged.status, 206);
  EXPECT_EQ(ToString(ranged.body), "content");
  EXPECT_EQ(ranged.Header("content-range"), "bytes 4-10/11");

  http::Response listing = Raw("GET", base + "/data/", app);
  ASSERT_EQ(listing.status, 200);
  auto j = nlohmann::json::parse(ToString(listing.body));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], name);
  EXPECT_EQ(j[0]["size"], content.size());
}

TEST_F(ServerRoles, PlainHttpAgainstTlsFailsAsTransportError) {
  std::string url = server_->url();
  url.replace(0, 5, "http");  // https -> http
  http::Client client(http::Options{1, ""});
  auto resp = client.Do({"GET", url + "/" + repo_ + "/config", {}, {}});
  ASSERT_FALSE(resp.ok() && resp->status == 200);
  if (!resp.ok()) {
    EXPECT_EQ(resp.status().code(), Code::kIoError) << resp.status().ToString();
  }
}

TEST_F(ServerRoles, AccessLogHasOneLinePerRequest) {
  auto lines = [&] {
    std::vector<nlohmann::json> out;
    std::istringstream in(ReadAll(server_->access_log()));
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  };
  const size_t before = lines().size();
  const std::string content = "logged";
  const std::string name = crypto::Sha256(AsBytes(content)).Hex();
  EXPECT_EQ(Raw("POST", "/" + repo_ + "/snapshots/" + name, server_->secret("appender"), content).status, 200);
  EXPECT_EQ(Raw("GET", "/" + repo_ + "/snapshots/" + name, server_->secret("reader")).status, 200);
  EXPECT_EQ(Raw("DELETE", "/" + repo_ + "/snapshots/" + name, "").status, 401);
  const auto all = lines();
  ASSERT_EQ(all.size(), before + 3);
  const auto& post = all[before];
  EXPECT_EQ(post["token"], "appender");
  EXPECT_EQ(post["role"], "append");
  EXPECT_EQ(post["method"], "POST");
  EXPECT_EQ(post["object"], "/" + repo_ + "/snapshots/" + name);
  EXPECT_EQ(post["bytes_in"], content.size());
  EXPECT_EQ(post["status"], 200);
  EXPECT_EQ(post["remote"], "127.0.0.1");
  EXPECT_EQ(post["time"].get<std::string>().back(), 'Z');
  EXPECT_EQ(all[before + 1]["bytes_out"], content.size());
  EXPECT_EQ(all[before + 1]["role"], "read");
  EXPECT_TRUE(all[before + 2]["token"].is_null());
  EXPECT_EQ(all[before + 2]["status"], 401);
}

TEST(Protocol, ParseTarget) {
  auto t = ParseTarget("/main/data/ab12");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->repo, "main");
  EXPECT_EQ(t->kind, FileKind::kData);
  EXPECT_EQ(t->file, "ab12");
  EXPECT_TRUE(ParseTarget("/main/locks/")->IsList());
  EXPECT_TRUE(ParseTarget("/main/")->IsRepo());
  EXPECT_EQ(ParseTarget("/main/config")->kind, FileKind::kConfig);
  EXPECT_EQ(ParseTarget("/main/config/").status().code(), Code::kNotFound);
  EXPECT_EQ(ParseTarget("/main/tmp/x").status().code(), Code::kNotFound);
  EXPECT_EQ(ParseTarget("/../data/x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTarget("/main/data/../x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTarget("/main/data/.tmp-1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTarget("/a b/data/").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTarget("/").status().code(), Code::kNotFound);
}

TEST(RestLocation, ParsesAndRefusesBadForms) {
  auto loc = storage::ParseRestLocation("rest:https://backup.example:8443/web1/");
  ASSERT_TRUE(loc.ok()) << loc.status().ToString();
  EXPECT_EQ(loc->scheme, "https");
  EXPECT_EQ(loc->host, "backup.example:8443");
  EXPECT_EQ(loc->repo, "web1");
  for (const char* bad : {"rest:ftp://h/r", "rest:https:///r", "rest:https://h:99999/r", "rest:https://h/",
                          "rest:https://h/a/b", "rest:https://h/..", "rest:https://h x/r"})
    EXPECT_EQ(storage::ParseRestLocation(bad).status().code(), Code::kInvalidArgument) << bad;
}

TEST(Protocol, ParseRange) {
  auto r = ParseRange("bytes=10-19");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->offset, 10u);
  EXPECT_EQ(r->length, 10u);
  EXPECT_EQ(ParseRange("bytes=7-")->length, 0u);
  for (const char* bad : {"bytes=-5", "bytes=5-4", "bytes=1-2,4-5", "items=1-2", "bytes=a-b", "bytes="})
    EXPECT_FALSE(ParseRange(bad).ok()) << bad;
}

TEST(Protocol, RolesAndContentAddressing) {
  for (FileKind k : {FileKind::kConfig, FileKind::kKey, FileKind::kData, FileKind::kLock}) {
    EXPECT_TRUE(Allowed(Role::kRead, Op::kRead, k, false));
    EXPECT_TRUE(Allowed(Role::kAdmin, Op::kRemove, k, false));
    EXPECT_EQ(Allowed(Role::kRead, Op::kSave, k, false), k == FileKind::kLock);
    EXPECT_EQ(Allowed(Role::kAppend, Op::kSave, k, false), k != FileKind::kConfig);
    EXPECT_EQ(Allowed(Role::kAppend, Op::kRemove, k, true), k == FileKind::kLock);
    EXPECT_FALSE(Allowed(Role::kAppend, Op::kRemove, k, false));
  }
  EXPECT_FALSE(Allowed(Role::kAppend, Op::kCreateRepo, FileKind::kConfig, false));
  EXPECT_FALSE(ContentAddressed(FileKind::kConfig));
  EXPECT_FALSE(ContentAddressed(FileKind::kLock));
  EXPECT_TRUE(ContentAddressed(FileKind::kKeyring));
}

TEST(Tokens, ParseFindAndAdd) {
  const std::string hash = crypto::Sha256(AsBytes("s3cret")).Hex();
  auto store = TokenStore::Parse("# comment\n\nbackup-1 append " + hash + "\n", "tokens");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE(store->Find("s3cret").has_value());
  EXPECT_EQ(store->Find("s3cret")->id, "backup-1");
  EXPECT_EQ(store->Find("s3cret")->role, Role::kAppend);
  EXPECT_FALSE(store->Find("s3cre").has_value());
  EXPECT_FALSE(store->Find("").has_value());
  for (const std::string& bad : std::vector<std::string>{"x root " + hash, "x read abc", "x read " + hash + " extra", "a/b read " + hash,
                                "x read " + hash + "\nx admin " + hash})
    EXPECT_EQ(TokenStore::Parse(bad, "t").status().code(), Code::kInvalidArgument) << bad;

  const std::string dir = MakeTempDir("lb-tokens");
  auto secret = AddToken(dir + "/tokens", "host-a", Role::kRead);
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->size(), 64u);
  EXPECT_EQ(AddToken(dir + "/tokens", "host-a", Role::kAdmin).status().code(), Code::kAlreadyExists);
  const std::string text = ReadAll(dir + "/tokens");
  EXPECT_EQ(text.find(*secret), std::string::npos) << "the secret is not stored";
  auto loaded = TokenStore::Load(dir + "/tokens");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->Find(*secret)->id, "host-a");
  EXPECT_EQ(std::filesystem::status(dir + "/tokens").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  std::filesystem::remove_all(dir);
}

TEST(AccessLog, FormatIsOneJsonLine) {
  AccessRecord r;
  r.time = 1'700'000'000'123'456'789;
  r.remote = "::1";
  r.method = "GET";
  r.object = "/x/\xff";
  r.status = 404;
  const std::string line = FormatAccessRecord(r);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123456789Z");
  EXPECT_TRUE(j["token"].is_null());
  EXPECT_EQ(j["status"], 404);
}

}  // namespace
}  // namespace lb::server
