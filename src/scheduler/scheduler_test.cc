#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "policy/test_time.h"
#include "policy/units.h"

namespace lb::scheduler {
namespace {

using policy::testing::kDay;
using policy::testing::kHour;
using policy::testing::kMin;
using policy::testing::kSec;
using policy::testing::T;

const TimeNs kStart = T("2026-03-02 00:00");  // a Monday

// A service block for a policy file.
std::string Svc(const std::string& name, const std::string& schedule, const std::string& rpo = "15m",
                const std::string& extra = "") {
  return "[services." + name + "]\nrpo = \"" + rpo + "\"\nrto = \"1h\"\nschedule = \"" + schedule +
         "\"\nsources = [{ type = \"path\", path = \"/srv\" }]\n" + extra;
}

policy::Policy P(const std::string& services) {
  auto p = policy::ParsePolicy(services, "sim.toml");
  if (!p.ok()) ADD_FAILURE() << p.status().ToString();
  return p.ok() ? *p : policy::Policy{};
}

// Drives the scheduler like the daemon would, jumping from event to event:
// the scheduler's own wake-ups and job completions. Logs every action and
// completion as "d<day> HH:MM:SS <event>" relative to kStart (UTC), and checks
// the invariants (no service runs twice, concurrency bound) at every step.
class Simulator {
 public:
  Simulator(policy::Policy p, Options o) : p_(std::move(p)), o_(o) {
    for (const auto& s : p_.services) state.services[s.name].since = kStart;
  }

  // Duration and outcome of the n-th job (0-based) of a service.
  std::function<std::pair<int64_t, bool>(const std::string&, int)> job = [](const std::string&, int) {
    return std::pair<int64_t, bool>{2 * kMin, true};
  };
  // The host is down during [from, to): no decisions; running jobs die at `from`.
  std::vector<std::pair<TimeNs, TimeNs>> downtime;

  void RunUntil(TimeNs end) {
    while (true) {
      for (const Action& a : Decide(p_, state, now, o_)) Act(a);
      TimeNs next = NextWakeup(p_, state, now, o_);
      ASSERT_GT(next, now) << "wake-up not in the future";
      for (const Job& j : jobs_) next = std::min(next, j.end);
      if (!downtime.empty() && downtime.front().first <= next && downtime.front().first <= end) {
        const auto [from, to] = downtime.front();
        downtime.erase(downtime.begin());
        FinishUntil(from);
        for (const Job& j : jobs_) {
          OnFinished(state, j.service, from, false);
          Log(from, "killed " + j.service);
        }
        jobs_.clear();
        Log(from, "down");
        now = to;
        Log(now, "up");
        continue;
      }
      if (next > end) break;
      now = next;
      FinishUntil(now);
    }
    now = end;
  }

  State state;
  TimeNs now = kStart;
  std::vector<std::string> log;
  std::vector<Action> actions;
  std::vector<TimeNs> action_times;
  int max_running = 0;

  int Count(const std::string& prefix) const {
    return static_cast<int>(std::count_if(
        log.begin(), log.end(), [&](const std::string& l) { return l.find(" " + prefix) != std::string::npos; }));
  }

 private:
  struct Job {
    std::string service;
    TimeNs end;
    bool ok;
  };

  void Log(TimeNs t, const std::string& what) {
    const int64_t rel = t - kStart;
    const int64_t day = rel / kDay, secs = (rel % kDay) / kSec;
    char buf[32];
    std::snprintf(buf, sizeof buf, "d%lld %02lld:%02lld:%02lld ", static_cast<long long>(day),
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60));
    log.push_back(buf + what);
  }

  void Act(const Action& a) {
    actions.push_back(a);
    action_times.push_back(now);
    if (a.kind == ActionKind::kReportRpoBreach) {
      Log(now, "breach " + a.service + " " + policy::FormatDuration(a.loss_ns / kSec * kSec));
      OnActed(state, a, now);
      return;
    }
    for (const Job& j : jobs_) ASSERT_NE(j.service, a.service) << "two jobs of one service";
    OnActed(state, a, now);
    const auto [dur, ok] = job(a.service, runs_[a.service]++);
    jobs_.push_back({a.service, now + dur, ok});
    max_running = std::max(max_running, static_cast<int>(jobs_.size()));
    if (o_.max_concurrency > 0) {
      ASSERT_LE(static_cast<int>(jobs_.size()), o_.max_concurrency);
    }
    Log(now, (a.kind == ActionKind::kRetryBackup ? "retry " + a.service + " #" + std::to_string(a.attempt)
                                                 : "start " + a.service));
  }

  void FinishUntil(TimeNs t) {
    std::stable_sort(jobs_.begin(), jobs_.end(), [](const Job& a, const Job& b) { return a.end < b.end; });
    while (!jobs_.empty() && jobs_.front().end <= t) {
      const Job j = jobs_.front();
      jobs_.erase(jobs_.begin());
      OnFinished(state, j.service, j.end, j.ok);
      Log(j.end, (j.ok ? "ok " : "fail ") + j.service);
    }
  }

  policy::Policy p_;
  Options o_;
  std::vector<Job> jobs_;
  std::map<std::string, int> runs_;
};

using Lines = std::vector<std::string>;

TEST(Scheduler, MissedRunsAfterThreeDaysDownRunOnce) {
  Simulator sim(P(Svc("db", "every 10m")), Options{});
  sim.downtime = {{kStart + 25 * kMin, kStart + 3 * kDay + 35 * kMin}};
  sim.RunUntil(kStart + 3 * kDay + 45 * kMin);
  EXPECT_EQ(sim.log, (Lines{
                         "d0 00:00:00 start db",
                         "d0 00:02:00 ok db",
                         "d0 00:10:00 start db",
                         "d0 00:12:00 ok db",
                         "d0 00:20:00 start db",
                         "d0 00:22:00 ok db",
                         "d0 00:25:00 down",
                         "d3 00:35:00 up",
                         // 433 runs were missed: one backup now, then the schedule resumes.
                         "d3 00:35:00 start db",
                         "d3 00:35:00 breach db 3d15min",
                         "d3 00:37:00 ok db",
                         "d3 00:40:00 start db",
                         "d3 00:42:00 ok db",
                     }));
}

TEST(Scheduler, AWeekOfTenMinuteBackups) {
  Simulator sim(P(Svc("db", "every 10m") + Svc("files", "0 3 * * *", "1d12h")), Options{2});
  sim.RunUntil(kStart + 7 * kDay - 1);
  EXPECT_EQ(sim.Count("start db"), 7 * 24 * 6);
  EXPECT_EQ(sim.Count("start files"), 1 + 7);  // the first backup at d0 00:00, then 03:00 daily
  EXPECT_EQ(sim.Count("breach"), 0);
  EXPECT_EQ(sim.Count("retry"), 0);
}

TEST(Scheduler, StartsOnlyInsideTheWindow) {
  Simulator sim(
      P(Svc("uploads", "every 1h", "1d12h", "window = \"01:00-05:00\"\n") + Svc("nightly", "01:00-05:00", "2d")),
      Options{0});
  sim.job = [](const std::string& s, int) {
    return std::pair<int64_t, bool>{s == "nightly" ? 30 * kMin : 10 * kMin, true};
  };
  // Down from d1 00:30 until d1 06:00, after the window closed: nothing runs
  // until it opens again on d2.
  sim.downtime = {{kStart + kDay + 30 * kMin, kStart + kDay + 6 * kHour}};
  sim.RunUntil(kStart + 2 * kDay + 150 * kMin);
  Lines starts;
  for (const std::string& l : sim.log)
    if (l.find(" start ") != std::string::npos || l.find("down") != std::string::npos ||
        (l.size() > 3 && l.substr(l.size() - 3) == " up"))
      starts.push_back(l);
  EXPECT_EQ(starts, (Lines{
                        // The first backups wait for the window too.
                        "d0 01:00:00 start nightly",
                        "d0 01:00:00 start uploads",
                        "d0 02:00:00 start uploads",
                        "d0 03:00:00 start uploads",
                        "d0 04:00:00 start uploads",
                        "d1 00:30:00 down",
                        "d1 06:00:00 up",
                        "d2 01:00:00 start nightly",
                        "d2 01:00:00 start uploads",
                        "d2 02:00:00 start uploads",
                    }));
}

TEST(Scheduler, RetriesWaitForTheWindowToo) {
  Simulator sim(P(Svc("nightly", "01:00-05:00", "2d")), Options{});
  sim.job = [](const std::string&, int n) { return std::pair<int64_t, bool>{n == 0 ? 230 * kMin : 8 * kMin, n >= 3}; };
  sim.RunUntil(kStart + kDay + 2 * kHour);
  EXPECT_EQ(sim.log, (Lines{
                         "d0 01:00:00 start nightly",
                         "d0 04:50:00 fail nightly",
                         "d0 04:51:00 retry nightly #1",
                         "d0 04:59:00 fail nightly",
                         // Due at 05:01, after the window closed.
                         "d1 01:00:00 retry nightly #2",
                         "d1 01:08:00 fail nightly",
                         "d1 01:12:00 retry nightly #3",
                         "d1 01:20:00 ok nightly",
                     }));
}

TEST(Scheduler, FailuresBackOffExponentiallyCappedAtTheInterval) {
  Simulator sim(P(Svc("db", "every 10m", "15m")), Options{});
  sim.job = [](const std::string&, int n) { return std::pair<int64_t, bool>{30 * kSec, n >= 6}; };
  sim.RunUntil(kStart + 45 * kMin);
  EXPECT_EQ(sim.log, (Lines{
                         "d0 00:00:00 start db", "d0 00:00:30 fail db",     //
                         "d0 00:01:30 retry db #1", "d0 00:02:00 fail db",  // +1m
                         "d0 00:04:00 retry db #2", "d0 00:04:30 fail db",  // +2m
                         "d0 00:08:30 retry db #3", "d0 00:09:00 fail db",  // +4m
                         "d0 00:15:00 breach db 15min",                     // no good backup since d0 00:00
                         "d0 00:17:00 retry db #4", "d0 00:17:30 fail db",  // +8m
                         "d0 00:27:30 retry db #5", "d0 00:28:00 fail db",  // +16m capped at 10m
                         "d0 00:38:00 retry db #6", "d0 00:38:30 ok db",    // success resets the backoff
                         "d0 00:40:00 start db", "d0 00:40:30 ok db",       // and the schedule resumes
                     }));
  // The breach is reported the first instant the loss exceeds the rpo.
  const auto it = std::find_if(sim.actions.begin(), sim.actions.end(),
                               [](const Action& a) { return a.kind == ActionKind::kReportRpoBreach; });
  ASSERT_NE(it, sim.actions.end());
  EXPECT_EQ(sim.action_times[it - sim.actions.begin()], kStart + 15 * kMin + 1);
  EXPECT_EQ(it->due, kStart + 15 * kMin);
  EXPECT_EQ(it->loss_ns, 15 * kMin + 1);
  EXPECT_EQ(it->reason, "no successful backup since 2026-03-02T00:00:00Z, 15min ago, more than rpo 15min");
}

TEST(Scheduler, RpoBreachReportedOnceAtTheRightMoment) {
  Simulator sim(P(Svc("db", "every 10m", "15m")), Options{});
  // The 7th backup (at 01:00) hangs for 40 minutes.
  sim.job = [](const std::string&, int n) { return std::pair<int64_t, bool>{n == 6 ? 40 * kMin : 2 * kMin, true}; };
  sim.RunUntil(kStart + 2 * kHour);
  std::vector<TimeNs> breaches;
  for (size_t i = 0; i < sim.actions.size(); ++i)
    if (sim.actions[i].kind == ActionKind::kReportRpoBreach) breaches.push_back(sim.action_times[i]);
  // Recovery point 00:50 -> breach just after 01:05. The hung job ends at 01:40
  // with a recovery point of 01:00, already 40 minutes old: a second breach.
  ASSERT_EQ(breaches.size(), 2u);
  EXPECT_EQ(breaches[0], kStart + 65 * kMin + 1);
  EXPECT_EQ(breaches[1], kStart + 100 * kMin);
  // Never a second job while the first hangs; one catch-up run when it ends.
  const auto from = std::find(sim.log.begin(), sim.log.end(), "d0 01:00:00 start db");
  ASSERT_NE(from, sim.log.end());
  EXPECT_EQ(Lines(from, from + 6), (Lines{"d0 01:00:00 start db", "d0 01:05:00 breach db 15min", "d0 01:40:00 ok db",
                                          "d0 01:40:00 start db", "d0 01:40:00 breach db 40min", "d0 01:42:00 ok db"}));
  EXPECT_EQ(sim.Count("breach"), 2);
}

TEST(Scheduler, ConcurrencyIsBounded) {
  Simulator sim(P(Svc("a", "every 10m", "1h") + Svc("b", "every 10m", "1h") + Svc("c", "every 10m", "1h") +
                  Svc("d", "every 10m", "1h")),
                Options{2});
  sim.job = [](const std::string&, int) { return std::pair<int64_t, bool>{6 * kMin, true}; };
  sim.RunUntil(kStart + 13 * kMin);
  EXPECT_EQ(sim.log, (Lines{
                         "d0 00:00:00 start a",
                         "d0 00:00:00 start b",
                         "d0 00:06:00 ok a",
                         "d0 00:06:00 ok b",
                         "d0 00:06:00 start c",
                         "d0 00:06:00 start d",
                         // a and b are due at 00:10 but both slots are busy until 00:12.
                         "d0 00:12:00 ok c",
                         "d0 00:12:00 ok d",
                         "d0 00:12:00 start a",
                         "d0 00:12:00 start b",
                     }));
  EXPECT_EQ(sim.max_running, 2);
  Simulator unbounded(P(Svc("a", "every 10m") + Svc("b", "every 10m") + Svc("c", "every 10m")), Options{0});
  unbounded.RunUntil(kStart + kHour);
  EXPECT_EQ(unbounded.max_running, 3);
}

TEST(Scheduler, JitterIsDeterministicAndBounded) {
  const std::string services = Svc("a", "every 1h", "2h") + Svc("b", "every 1h", "2h");
  auto run = [&](uint64_t seed) {
    Options o{0, 5 * kMin, seed};
    Simulator sim(P(services), o);
    sim.RunUntil(kStart + kDay);
    return sim;
  };
  const Simulator one = run(7), again = run(7), other = run(8);
  EXPECT_EQ(one.log, again.log);
  EXPECT_NE(one.log, other.log);
  for (size_t i = 0; i < one.actions.size(); ++i) {
    const TimeNs t = one.action_times[i];
    const int64_t into_hour = (t - kStart) % kHour;
    EXPECT_GE(into_hour, 0);
    EXPECT_LT(into_hour, 5 * kMin) << one.log[i];
  }
  EXPECT_EQ(one.Count("start a"), 24);
}

TEST(Scheduler, DecideIsPureAndNextWakeupIsInTheFuture) {
  const policy::Policy p = P(Svc("db", "every 10m"));
  State s;
  s.services["db"].since = kStart;
  const auto first = Decide(p, s, kStart, Options{});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind, ActionKind::kStartBackup);
  EXPECT_EQ(first[0].reason, "first backup");
  EXPECT_EQ(Decide(p, s, kStart, Options{}).size(), 1u);  // no hidden state
  OnActed(s, first[0], kStart);
  EXPECT_TRUE(Decide(p, s, kStart + kMin, Options{}).empty());             // running
  EXPECT_EQ(NextWakeup(p, s, kStart, Options{}), kStart + 15 * kMin + 1);  // only the rpo deadline
  OnFinished(s, "db", kStart + kMin, true);
  EXPECT_EQ(NextWakeup(p, s, kStart + kMin, Options{}), kStart + 10 * kMin);
  const auto next = Decide(p, s, kStart + 10 * kMin, Options{});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].reason, "scheduled at 2026-03-02T00:10:00Z by 'every 10m'");
  EXPECT_STREQ(ActionKindName(ActionKind::kReportRpoBreach), "rpo-breach");
}

}  // namespace
}  // namespace lb::scheduler
