#include "policy/objectives.h"

#include <gtest/gtest.h>

#include "policy/test_time.h"

namespace lb::policy {
namespace {

using testing::kDay;
using testing::kMin;
using testing::kSec;
using testing::T;

constexpr uint64_t kGiB = 1ULL << 30;

constexpr const char* kPolicy = R"(
[targets.hot]
url = "/b"
password_file = "/pw"
[targets.offsite]
url = "s3:x"
password_env = "PW"
[services.db]
rpo = "15m"
rto = "1h"
schedule = "every 10m"
sources = [{ type = "path", path = "/srv/db" }]
targets = ["hot", "offsite"]
depends_on = ["auth"]
drill = { every = "7d" }
[services.auth]
rpo = "2h"
rto = "30m"
schedule = "0 * * * *"
sources = [{ type = "path", path = "/srv/auth" }]
targets = ["hot"]
drill = { every = "7d" }
size_hint = "2GiB"
[services.loop1]
rpo = "1h"
rto = "1h"
schedule = "0 * * * *"
sources = [{ type = "path", path = "/x" }]
depends_on = ["loop2"]
[services.loop2]
rpo = "1h"
rto = "1h"
schedule = "0 * * * *"
sources = [{ type = "path", path = "/y" }]
depends_on = ["loop1"]
)";

const TimeNs kNow = T("2026-03-02 12:00");

Policy P() {
  auto p = ParsePolicy(kPolicy, "p.toml");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : Policy{};
}

BackupRun Backup(TimeNs start, int64_t dur, bool ok = true, uint64_t bytes = 0) {
  return {start, start + dur, ok, bytes};
}

struct RpoCase {
  const char* name;
  ServiceHistory h;
  Verdict verdict;
  std::string reason;
};

TEST(PlanRpo, Table) {
  const Policy p = P();
  const Service& db = *p.FindService("db");
  const ServiceHistory none;
  ServiceHistory good;  // started 5 min ago, took 2 min
  good.last_good_backup = Backup(kNow - 5 * kMin, 2 * kMin);
  good.last_backup = good.last_good_backup;
  ServiceHistory slow = good;
  slow.last_good_backup = Backup(kNow - 5 * kMin, 3 * kMin);
  ServiceHistory lagging = good;
  lagging.replication_lag_ns = {{"offsite", 6 * kMin}, {"elsewhere", 60 * kMin}};
  ServiceHistory old = good;
  old.last_good_backup = Backup(kNow - 20 * kMin, 2 * kMin);
  ServiceHistory failed = good;
  failed.last_backup = Backup(kNow - 1 * kMin, 30 * kSec, false);
  ServiceHistory edge = good;  // exactly the rpo ago: still met on the current side
  edge.last_good_backup = Backup(kNow - 15 * kMin, 1 * kMin);

  const RpoCase cases[] = {
      {"none", none, Verdict::kViolated, "no successful backup yet"},
      {"good", good, Verdict::kMet, "worst case 12min (schedule gap 10min + backup 2min) within rpo 15min"},
      {"slow", slow, Verdict::kAtRisk, "worst case 13min (schedule gap 10min + backup 3min) is over 80% of rpo 15min"},
      {"lagging", lagging, Verdict::kViolated,
       "worst case 18min (schedule gap 10min + backup 2min + lag to offsite 6min) exceeds rpo 15min"},
      {"old", old, Verdict::kViolated, "last successful backup started 20min ago, more than rpo 15min"},
      {"failed", failed, Verdict::kAtRisk,
       "the latest backup failed; worst case 12min (schedule gap 10min + backup 2min) within rpo 15min"},
      {"edge", edge, Verdict::kMet, "worst case 11min (schedule gap 10min + backup 1min) within rpo 15min"},
  };
  for (const RpoCase& c : cases) {
    const Objective o = PlanRpo(db, c.h, kNow);
    EXPECT_EQ(o.target_ns, 15 * kMin);
    EXPECT_EQ(VerdictName(o.verdict), std::string(VerdictName(c.verdict))) << c.name;
    EXPECT_EQ(o.reason, c.reason) << c.name;
    EXPECT_EQ(o.estimate_ns.has_value(), c.h.last_good_backup.has_value()) << c.name;
  }
}

DrillRun Drill(uint64_t bytes, double restore_s, double validate_s = 0, bool ok = true, TimeNs when = kNow - kDay) {
  return {when, ok, restore_s, bytes, validate_s};
}

struct RtoCase {
  const char* name;
  History h;
  Verdict verdict;
  std::string reason;
  int64_t estimate_ns;  // -1 = none
};

TEST(PlanRto, Table) {
  const Policy p = P();
  const Service& db = *p.FindService("db");
  auto with = [](uint64_t db_bytes, DrillRun db_drill, std::optional<DrillRun> auth_drill) {
    History h;
    h["db"].last_good_backup = Backup(kNow - kMin, kSec, true, db_bytes);
    h["db"].last_drill = db_drill;
    if (auth_drill) h["auth"].last_drill = *auth_drill;
    return h;
  };
  // db restores 10 GiB in 600 s (+60 s validation); auth restores its 2 GiB
  // size_hint at the rate of a 1 GiB drill in 60 s: 120 s.
  const DrillRun db_drill = Drill(10 * kGiB, 600, 60);
  const DrillRun auth_drill = Drill(1 * kGiB, 60);
  const History empty;
  const RtoCase cases[] = {
      {"no drill", empty, Verdict::kUnknown, "no drill yet", -1},
      {"no dep drill", with(20 * kGiB, db_drill, std::nullopt), Verdict::kUnknown, "dependency 'auth': no drill yet",
       -1},
      {"20GiB", with(20 * kGiB, db_drill, auth_drill), Verdict::kMet,
       "estimated restore 23min (21min measured by the last drill + dependencies 2min) within rto 1h", 23 * kMin},
      {"40GiB", with(40 * kGiB, db_drill, auth_drill), Verdict::kMet,
       "estimated restore 43min (41min measured by the last drill + dependencies 2min) within rto 1h", 43 * kMin},
      {"50GiB", with(50 * kGiB, db_drill, auth_drill), Verdict::kAtRisk,
       "estimated restore 53min (51min measured by the last drill + dependencies 2min) is over 80% of rto 1h",
       53 * kMin},
      {"60GiB", with(60 * kGiB, db_drill, auth_drill), Verdict::kViolated,
       "estimated restore 1h3min (1h1min measured by the last drill + dependencies 2min) exceeds rto 1h", 63 * kMin},
      {"failed", with(20 * kGiB, Drill(1, 1, 0, false, T("2026-03-01 04:00")), auth_drill), Verdict::kViolated,
       "last drill failed at 2026-03-01T04:00:00Z", -1},
      {"dep failed", with(20 * kGiB, db_drill, Drill(1, 1, 0, false, T("2026-03-01 05:00"))), Verdict::kViolated,
       "dependency 'auth': last drill failed at 2026-03-01T05:00:00Z", -1},
      {"stale", with(20 * kGiB, Drill(10 * kGiB, 600, 60, true, kNow - 8 * kDay), auth_drill), Verdict::kAtRisk,
       "last drill was 8d ago, policy asks every 7d; estimated restore 23min (21min measured by the last drill + "
       "dependencies 2min) within rto 1h",
       23 * kMin},
      {"zero-byte drill", with(20 * kGiB, Drill(0, 300), auth_drill), Verdict::kMet,
       "estimated restore 7min (5min measured by the last drill + dependencies 2min) within rto 1h", 7 * kMin},
  };
  for (const RtoCase& c : cases) {
    const Objective o = PlanRto(p, db, c.h, kNow);
    EXPECT_EQ(o.target_ns, 60 * kMin);
    EXPECT_EQ(VerdictName(o.verdict), std::string(VerdictName(c.verdict))) << c.name;
    EXPECT_EQ(o.reason, c.reason) << c.name;
    EXPECT_EQ(o.estimate_ns.value_or(-1), c.estimate_ns) << c.name;
  }
}

TEST(PlanRto, CyclesAreUnknown) {
  const Policy p = P();
  History h;
  h["loop1"].last_drill = Drill(1, 1);
  h["loop2"].last_drill = Drill(1, 1);
  const Objective o = PlanRto(p, *p.FindService("loop1"), h, kNow);
  EXPECT_EQ(o.verdict, Verdict::kUnknown);
  EXPECT_EQ(o.reason, "dependency cycle through 'loop1'");
}

TEST(Plan, OnePerServiceInPolicyOrder) {
  const Policy p = P();
  History h;
  h["auth"].last_good_backup = Backup(kNow - 10 * kMin, kMin, true, 2 * kGiB);
  h["auth"].last_drill = Drill(kGiB, 60);
  const std::vector<ServicePlan> plan = Plan(p, h, kNow);
  ASSERT_EQ(plan.size(), 4u);
  EXPECT_EQ(plan[0].service, "auth");
  EXPECT_EQ(plan[0].rpo.verdict, Verdict::kMet);
  EXPECT_EQ(plan[0].rpo.reason, "worst case 1h1min (schedule gap 1h + backup 1min) within rpo 2h");
  EXPECT_EQ(VerdictName(plan[0].rpo.verdict), std::string("met"));
  EXPECT_EQ(plan[0].rto.verdict, Verdict::kMet);
  EXPECT_EQ(plan[1].service, "db");
  EXPECT_EQ(VerdictName(plan[1].rpo.verdict), std::string("violated"));
  EXPECT_EQ(VerdictName(plan[1].rto.verdict), std::string("unknown"));
}

}  // namespace
}  // namespace lb::policy
