#include "policy/policy.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "policy/lint.h"
#include "policy/test_time.h"

namespace lb::policy {
namespace {

using testing::kDay;
using testing::kHour;
using testing::kMin;

constexpr const char* kGood = R"(timezone = "+02:00"

[targets.hot]
url = "/var/backups/lifeboat"
password_file = "/etc/lifeboat/hot.pw"

[targets.offsite]
url = "s3:https://s3.example.net/backups/web"
password_env = "OFFSITE_PW"
encryption = "required"

[services.orders-db]
owner = "payments"
rpo = "15m"
rto = "30m"
sources = [{ type = "path", path = "/srv/orders", exclude = ["*.tmp"] }, { type = "command", name = "orders.sql", command = ["pg_dump", "orders"] }]
schedule = "every 10m"
targets = ["hot", "offsite"]
retention = { last = 24, hourly = 48, daily = 14, weekly = 8, monthly = 12, yearly = 3, within = "2d", tags = ["keep"] }
encryption = "required"
hooks = { before = ["sync"], after = [] }
depends_on = ["auth"]
drill = { every = "7d", validate = ["test -s orders.sql"] }
size_hint = "40GiB"

[services.auth]
rpo = "1h"
rto = "1h"
schedule = "0 * * * *"
window = "01:00-05:00"
sources = [{ type = "path", path = "/srv/auth" }]
)";

TEST(ParsePolicy, GoodFile) {
  auto p = ParsePolicy(kGood, "good.toml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->file, "good.toml");
  ASSERT_TRUE(p->zone.has_value());
  EXPECT_EQ(p->zone->offset_s, 7200);
  ASSERT_EQ(p->targets.size(), 2u);
  EXPECT_EQ(p->targets[0].name, "hot");
  EXPECT_EQ(p->targets[0].password_file, "/etc/lifeboat/hot.pw");
  EXPECT_EQ(p->targets[1].password_env, "OFFSITE_PW");
  EXPECT_TRUE(p->targets[1].encrypted);
  EXPECT_EQ(p->targets[0].pos.line, 3);
  EXPECT_EQ(p->targets[0].At("url").line, 4);
  EXPECT_EQ(p->targets[0].At("url").col, 7);

  ASSERT_EQ(p->services.size(), 2u);  // sorted by name
  EXPECT_EQ(p->services[0].name, "auth");
  const Service& s = p->services[1];
  EXPECT_EQ(s.name, "orders-db");
  EXPECT_EQ(s.owner, "payments");
  EXPECT_EQ(s.rpo_ns, 15 * kMin);
  EXPECT_EQ(s.rto_ns, 30 * kMin);
  ASSERT_EQ(s.sources.size(), 2u);
  EXPECT_EQ(s.sources[0].type, Source::Type::kPath);
  EXPECT_EQ(s.sources[0].path, "/srv/orders");
  EXPECT_EQ(s.sources[0].exclude, std::vector<std::string>{"*.tmp"});
  EXPECT_EQ(s.sources[1].type, Source::Type::kCommand);
  EXPECT_EQ(s.sources[1].name, "orders.sql");
  EXPECT_EQ(s.sources[1].command, (std::vector<std::string>{"pg_dump", "orders"}));
  EXPECT_EQ(s.schedule.every_ns, 10 * kMin);
  ASSERT_EQ(s.targets.size(), 2u);
  EXPECT_EQ(s.targets[1].name, "offsite");
  EXPECT_EQ(s.targets[1].pos.line, 18);
  EXPECT_EQ(s.targets[1].pos.col, 19);
  ASSERT_TRUE(s.retention.has_value());
  EXPECT_EQ(s.retention->last, 24);
  EXPECT_EQ(s.retention->yearly, 3);
  EXPECT_EQ(s.retention->within_ns, 2 * kDay);
  EXPECT_EQ(s.retention->keep_tags, std::vector<std::string>{"keep"});
  EXPECT_TRUE(s.encryption_required);
  EXPECT_EQ(s.hooks.before, std::vector<std::string>{"sync"});
  EXPECT_TRUE(s.hooks.after.empty());
  ASSERT_EQ(s.depends_on.size(), 1u);
  EXPECT_EQ(s.depends_on[0].name, "auth");
  ASSERT_TRUE(s.drill.has_value());
  EXPECT_EQ(s.drill->every_ns, 7 * kDay);
  EXPECT_EQ(s.size_hint_bytes, 40ULL << 30);
  EXPECT_EQ(s.At("schedule").line, 17);

  const Service& a = p->services[0];
  ASSERT_TRUE(a.schedule.window.has_value());
  EXPECT_EQ(a.schedule.worst_gap_ns, 21 * kHour);
  EXPECT_FALSE(a.retention.has_value());
}

// A minimal valid service to which each bad case adds or changes one line.
std::string Service(const std::string& extra) {
  return "[services.db]\nrpo = \"15m\"\nrto = \"1h\"\nschedule = \"every 10m\"\n"
         "sources = [{ type = \"path\", path = \"/srv/db\" }]\n" +
         extra;
}

struct Bad {
  std::string text;
  std::string error;  // the whole message
};

TEST(ParsePolicy, ErrorsNameFileLineColumn) {
  const std::string kKeys =
      "(want owner, description, rpo, rto, schedule, window, sources, targets, retention, encryption, hooks, "
      "depends_on, drill, size_hint)";
  const Bad cases[] = {
      {Service("colour = \"red\"\n"), "f.toml:6:1: unknown key 'colour' in [services.db] " + kKeys},
      {"[targets.hot]\nurl = \"/x\"\npasswd = \"x\"\n",
       "f.toml:3:1: unknown key 'passwd' in [targets.hot] (want url, password_file, password_env, encryption, rotate_keys_every)"},
      {Service("retention = { last = 3, dayly = 7 }\n"),
       "f.toml:6:25: unknown key 'dayly' in [services.db].retention (want last, hourly, daily, weekly, monthly, "
       "yearly, within, tags)"},
      {Service("drill = { every = \"7d\", check = [] }\n"),
       "f.toml:6:25: unknown key 'check' in [services.db].drill (want every, validate)"},
      {"version = 2\n", "f.toml:1:1: unknown key 'version' in the top level (want timezone, targets, services)"},
      {"[services.db]\nrpo = 15\nrto = 1.5\n",
       "f.toml:1:1: [services.db] is missing required key 'schedule' (and 3 more errors)"},
      {"[services.db]\nrpo = 15\nrto = 1.5\nschedule = \"every 10m\"\nsources = [{ type = \"path\", path = \"/\" }]\n",
       "f.toml:2:7: 'rpo' in [services.db] must be a string (a duration like \"15m\"), not an integer (and 1 more "
       "error)"},
      {Service("owner = 7\n"), "f.toml:6:9: 'owner' in [services.db] must be a string, not an integer"},
      {Service("targets = \"hot\"\n"),
       "f.toml:6:11: 'targets' in [services.db] must be an array of names, not a string"},
      {Service("targets = [\"hot\", 3]\n"),
       "f.toml:6:19: each element of 'targets' in [services.db] must be a string, not an integer"},
      {Service("targets = [\"hot\", \"hot\"]\n"), "f.toml:6:19: 'hot' appears twice in 'targets' in [services.db]"},
      {Service("depends_on = [\"a b\"]\n"),
       "f.toml:6:15: 'a b' in 'depends_on' in [services.db] is not a valid name (letters, digits, '.', '_', '-')"},
      {Service("size_hint = \"40 GiB\"\n"),
       "f.toml:6:13: 'size_hint' in [services.db]: invalid size '40 GiB' (want e.g. 512MiB, 40GiB, 2TB; units B kB "
       "MB GB TB PB KiB MiB GiB TiB PiB)"},
      {Service("retention = { daily = -2 }\n"),
       "f.toml:6:23: 'daily' in [services.db].retention must be a count >= 0, or -1 for unlimited"},
      {Service("encryption = \"yes\"\n"),
       "f.toml:6:14: 'encryption' in [services.db] must be \"required\" or \"optional\", not 'yes'"},
      {Service("window = \"01:00-1:00\"\n"),
       "f.toml:6:10: 'window' in [services.db]: invalid window '01:00-1:00' (want HH:MM-HH:MM, e.g. "
       "\"01:00-05:00\")"},
      {"[services.db]\n", "f.toml:1:1: [services.db] is missing required key 'rpo' (and 3 more errors)"},
      {"[services.'a b']\n", "f.toml:1:11: name 'a b' of [services.a b] is not valid (letters, digits, '.', '_', '-')"},
      {"services = 3\n", "f.toml:1:12: 'services' must be a table, not an integer"},
      {"[services]\ndb = 3\n", "f.toml:2:6: [services.db] must be a table, not an integer"},
      {"timezone = \"CET\"\n",
       "f.toml:1:12: 'timezone': invalid time zone 'CET' (want \"UTC\" or an offset like \"+02:00\")"},
      {"[targets.x]\nurl = \"/x\"\nurl = \"/y\"\n",
       "f.toml:3:7: Error while parsing key-value pair: cannot redefine existing string 'url'"},
      {"[targets.x\n", "f.toml:1:11: Error while parsing table header: expected ']', saw '\\n'"},
  };
  for (const Bad& c : cases) {
    auto p = ParsePolicy(c.text, "f.toml");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(p.status().message(), c.error) << c.text;
  }
}

TEST(ParsePolicy, ValueErrorsPointIntoTheString) {
  const std::pair<std::string, std::string> cases[] = {
      // schedule = "... starts at column 12; the field at offset k is at column 13 + k.
      {"schedule = \"*/0 * * * *\"",
       "f.toml:4:13: 'schedule' in [services.db]: invalid schedule '*/0 * * * *': "
       "minute field '*/0': step '0' must be a number >= 1"},
      {"schedule = \"0 25 * * *\"",
       "f.toml:4:15: 'schedule' in [services.db]: invalid schedule '0 25 * * *': "
       "hour field '25': '25' is not a valid hour"},
      {"schedule = \"every 15x\"", "f.toml:4:19: 'schedule' in [services.db]: invalid schedule 'every 15x': "},
      // An escape makes the mapping unknowable: the error points at the string.
      {"schedule = \"0 25 * * \\u002a\"", "f.toml:4:12: 'schedule' in [services.db]: invalid schedule '0 25 * * *'"},
  };
  for (const auto& [line, want] : cases) {
    std::string text = Service("");
    text.replace(text.find("schedule = \"every 10m\""), 22, line);
    auto p = ParsePolicy(text, "f.toml");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().message().substr(0, want.size()), want);
  }
}

TEST(ParsePolicy, RpoDurationErrors) {
  std::string text = Service("");
  text.replace(text.find("\"15m\""), 5, "\"15 minutes\"");
  auto p = ParsePolicy(text, "f.toml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().rfind("f.toml:2:7: 'rpo' in [services.db]: invalid duration '15 minutes'", 0), 0u)
      << p.status().message();
}

TEST(ParsePolicy, SourceErrors) {
  const Bad cases[] = {
      {"sources = [{ type = \"path\", path = \"srv\" }]",
       "f.toml:5:36: 'path' in [services.db].sources[0] must be absolute, not 'srv'"},
      {"sources = [{ type = \"tape\" }]",
       "f.toml:5:21: 'type' in [services.db].sources[0] must be \"path\" or \"command\", not 'tape'"},
      {"sources = [{ path = \"/x\" }]", "f.toml:5:12: [services.db].sources[0] is missing required key 'type'"},
      {"sources = [{ type = \"command\", name = \"a\" }]",
       "f.toml:5:12: [services.db].sources[0] is missing required key 'command'"},
      {"sources = [{ type = \"command\", name = \"a/b\", command = [\"x\"] }]",
       "f.toml:5:39: 'name' in [services.db].sources[0] must be a plain file name, not 'a/b'"},
      {"sources = [{ type = \"command\", name = \"a\", command = [] }]",
       "f.toml:5:54: 'command' in [services.db].sources[0] must not be empty"},
      {"sources = [{ type = \"path\", path = \"/x\", command = [\"x\"] }]",
       "f.toml:5:42: unknown key 'command' in [services.db].sources[0] (want type, path, exclude)"},
      {"sources = []", "f.toml:5:11: 'sources' in [services.db] must not be empty"},
      {"sources = [\"/srv\"]", "f.toml:5:12: [services.db].sources[0] must be a table, not a string"},
  };
  for (const Bad& c : cases) {
    std::string text = Service("");
    text.replace(text.find("sources = "), std::string::npos, c.text + "\n");
    auto p = ParsePolicy(text, "f.toml");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().message(), c.error) << text;
  }
}

TEST(ParsePolicy, WindowRules) {
  auto p = ParsePolicy(Service("window = \"22:00-06:00\"\n"), "f.toml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->services[0].schedule.window_text, "22:00-06:00");
  std::string text = Service("window = \"02:00-03:00\"\n");
  text.replace(text.find("every 10m"), 9, "01:00-05:00");
  auto twice = ParsePolicy(text, "f.toml");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(),
            "f.toml:6:10: 'window' in [services.db]: schedule '01:00-05:00' is already a window; do not also set a "
            "window");
}

TEST(ParsePolicy, ExampleFileIsValidAndClean) {
  const std::string path = std::string(LB_EXAMPLES_DIR) + "/lifeboat.toml";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  auto p = ParsePolicy(buf.str(), path);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->targets.size(), 2u);
  ASSERT_EQ(p->services.size(), 3u);
  for (const Finding& f : Lint(*p)) ADD_FAILURE() << f.ToString();
}

}  // namespace
}  // namespace lb::policy
