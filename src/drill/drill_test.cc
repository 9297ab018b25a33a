#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>

#include "drill/drift.h"
#include "drill/select.h"
#include "drill/validate.h"

namespace lb::drill {
namespace {

constexpr TimeNs kSec = 1000000000LL;

policy::Service Service(std::vector<policy::Source> sources) {
  policy::Service s;
  s.name = "orders";
  s.sources = std::move(sources);
  return s;
}

policy::Source PathSrc(std::string p) {
  policy::Source s;
  s.type = policy::Source::Type::kPath;
  s.path = std::move(p);
  return s;
}

policy::Source CmdSrc(std::string name) {
  policy::Source s;
  s.type = policy::Source::Type::kCommand;
  s.name = std::move(name);
  s.command = {"true"};
  return s;
}

snapshot::Entry Snap(uint8_t id, TimeNs t, std::vector<std::string> paths,
                     std::string tag = "service=orders") {
  snapshot::Entry e;
  e.id.b.fill(id);
  e.snapshot.time = t;
  e.snapshot.paths = std::move(paths);
  e.snapshot.tags = {std::move(tag)};
  return e;
}

TEST(SourceGroups, PathsTogetherCommandsEachInSourceOrder) {
  auto s = Service({CmdSrc("dump.sql"), PathSrc("/srv/b"), PathSrc("/srv/a"), CmdSrc("x")});
  auto g = SourceGroups(s);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].label, "dump.sql");
  EXPECT_EQ(g[0].paths, std::vector<std::string>{"/dump.sql"});
  EXPECT_EQ(g[1].label, "files");
  EXPECT_EQ(g[1].paths, (std::vector<std::string>{"/srv/a", "/srv/b"}));
  EXPECT_EQ(g[2].label, "x");
}

class SelectTest : public ::testing::Test {
 protected:
  policy::Service s_ = Service({PathSrc("/srv/orders"), CmdSrc("orders.sql")});
  // Three runs at 100 s, 200 s, 300 s: files snapshot then the dump a second later;
  // another service's snapshot and an untagged one in between.
  std::vector<snapshot::Entry> all_ = {
      Snap(1, 100 * kSec, {"/srv/orders"}), Snap(2, 101 * kSec, {"/orders.sql"}),
      Snap(3, 150 * kSec, {"/srv/orders"}, "service=other"),
      Snap(4, 200 * kSec, {"/srv/orders"}), Snap(5, 201 * kSec, {"/orders.sql"}),
      Snap(6, 300 * kSec, {"/srv/orders"}), Snap(7, 301 * kSec, {"/orders.sql"}),
  };
};

TEST_F(SelectTest, LatestTakesTheNewestRunWhole) {
  auto p = SelectPoint(all_, s_, {});
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->parts.size(), 2u);
  EXPECT_EQ(p->parts[0].entry.id.b[0], 6);
  EXPECT_EQ(p->parts[1].entry.id.b[0], 7);
  EXPECT_EQ(p->time, 300 * kSec);
}

TEST_F(SelectTest, AtNeverTakesAnythingNewer) {
  Selection sel;
  sel.mode = Selection::Mode::kAt;
  sel.at = 250 * kSec;
  auto p = SelectPoint(all_, s_, sel);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->parts[0].entry.id.b[0], 4);
  EXPECT_EQ(p->parts[1].entry.id.b[0], 5);
  sel.at = 200 * kSec + 500000000;  // the dump of that run is 0.5 s later: not taken
  p = SelectPoint(all_, s_, sel);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->parts[1].entry.id.b[0], 2);
  sel.at = 50 * kSec;
  EXPECT_EQ(SelectPoint(all_, s_, sel).status().code(), Code::kNotFound);
}

TEST_F(SelectTest, IdPicksThatRunAndRejectsOtherServices) {
  Selection sel;
  sel.mode = Selection::Mode::kId;
  sel.id = std::string(8, '0') + "";
  sel.id = Snap(4, 0, {}).id.Hex().substr(0, 6);
  auto p = SelectPoint(all_, s_, sel);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->parts[0].entry.id.b[0], 4);
  EXPECT_EQ(p->parts[1].entry.id.b[0], 5);
  sel.id = Snap(3, 0, {}).id.Hex();  // another service's snapshot
  EXPECT_EQ(SelectPoint(all_, s_, sel).status().code(), Code::kNotFound);
  sel.id = "abc";
  EXPECT_EQ(SelectPoint(all_, s_, sel).status().code(), Code::kInvalidArgument);
}

TEST_F(SelectTest, RandomIsOlderThanLatestAndRepeatable) {
  Selection sel;
  sel.mode = Selection::Mode::kRandom;
  std::set<int> seen;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    sel.seed = seed;
    auto p = SelectPoint(all_, s_, sel);
    ASSERT_TRUE(p.ok());
    EXPECT_NE(p->parts[0].entry.id.b[0], 6) << "random must not pick the latest";
    EXPECT_EQ(p->parts[0].entry.id.b[0], SelectPoint(all_, s_, sel)->parts[0].entry.id.b[0]);
    seen.insert(p->parts[0].entry.id.b[0]);
  }
  EXPECT_EQ(seen, (std::set<int>{1, 4}));
}

TEST_F(SelectTest, MissingGroupIsNamed) {
  all_.erase(all_.begin() + 1);
  all_.erase(all_.begin() + 3);
  all_.pop_back();
  auto p = SelectPoint(all_, s_, {});  // files only: no dump anywhere
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kNotFound);
  EXPECT_NE(p.status().message().find("orders.sql"), std::string::npos);
  EXPECT_EQ(SelectPoint({}, s_, {}).status().code(), Code::kNotFound);
}

TEST(Drift, FlagsSlowRestoreAgainstMedianOfEarlierGoodRuns) {
  std::vector<DrillRecord> r;
  for (int i = 0; i < 5; ++i) r.push_back({i * kSec, true, 10.0 + i * 0.1, 1000000000});
  r.push_back({6 * kSec, false, 99.0, 1});               // failed: neither judged nor baseline
  r.push_back({7 * kSec, true, 16.0, 1000000000});       // 1.56x the median 10.3 s
  r.push_back({8 * kSec, true, 11.0, 1000000000});       // normal
  auto d = FindDrift(r, {});
  ASSERT_EQ(d.size(), r.size());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(d[i], "") << i;
  EXPECT_NE(d[6].find("restore took 16.0s"), std::string::npos) << d[6];
  EXPECT_NE(d[6].find("throughput"), std::string::npos) << d[6];
  EXPECT_EQ(d[7], "");
  DriftOptions strict;
  strict.factor = 1.05;
  EXPECT_NE(FindDrift(r, strict)[7], "");
}

TEST(Drift, NeedsMinimumHistory) {
  std::vector<DrillRecord> r = {{0, true, 1.0, 100}, {1, true, 1.0, 100}, {2, true, 50.0, 100}};
  EXPECT_EQ(FindDrift(r, {})[2], "");  // only two earlier runs
}

TEST(Overdue, EveryAfterLastGoodDrill) {
  auto s = Service({PathSrc("/srv")});
  EXPECT_FALSE(NextDrillDue(s, std::nullopt, 100).has_value());
  s.drill = policy::Drill{};
  s.drill->every_ns = 10 * kSec;
  EXPECT_TRUE(DrillOverdue(s, std::nullopt, 100));
  EXPECT_FALSE(DrillOverdue(s, 95 * kSec, 100 * kSec));
  EXPECT_TRUE(DrillOverdue(s, 90 * kSec, 100 * kSec));
  EXPECT_EQ(*NextDrillDue(s, 95 * kSec, 0), 105 * kSec);
}

class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/lb-validate-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  SystemClock clock_;
};

TEST_F(ValidateTest, RunsInCwdWithEnvAndCapturesOutput) {
  auto v = RunValidation({"pwd", "echo \"$LIFEBOAT_X\" >&2", "test -n \"$LIFEBOAT_X\""}, dir_,
                         {{"LIFEBOAT_X", "hello"}}, 10 * kSec, clock_);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->commands.size(), 3u);
  EXPECT_TRUE(v->ok());
  EXPECT_EQ(v->commands[0].output, std::filesystem::canonical(dir_).string() + "\n");
  EXPECT_EQ(v->commands[1].output, "hello\n");
  EXPECT_EQ(v->FailureReason(), "");
}

TEST_F(ValidateTest, FirstFailureStopsAndIsExplained) {
  auto v = RunValidation({"echo fine", "echo 'no table orders'; exit 3", "touch ran"}, dir_, {},
                         10 * kSec, clock_);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok());
  ASSERT_EQ(v->commands.size(), 2u);
  EXPECT_EQ(v->commands[1].exit_code, 3);
  EXPECT_EQ(v->FailureReason(), "validation 'echo 'no table orders'; exit 3' failed (exit 3): no table orders");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/ran"));
}

TEST_F(ValidateTest, TimeoutKillsTheWholeCommand) {
  auto v = RunValidation({"sleep 30 | cat"}, dir_, {}, kSec / 2, clock_);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->commands.size(), 1u);
  EXPECT_TRUE(v->commands[0].timed_out);
  EXPECT_LT(v->seconds, 10.0);
  EXPECT_NE(v->FailureReason().find("timed out"), std::string::npos);
}

TEST_F(ValidateTest, MissingDirectoryFails) {
  auto v = RunValidation({"true"}, dir_ + "/nope", {}, 10 * kSec, clock_);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok());
  EXPECT_EQ(v->commands[0].exit_code, 126);
}

}  // namespace
}  // namespace lb::drill
