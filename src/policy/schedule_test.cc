#include "policy/schedule.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "policy/test_time.h"
#include "policy/units.h"

namespace lb::policy {
namespace {

using testing::kDay;
using testing::kHour;
using testing::kMin;
using testing::kSec;
using testing::T;

Schedule S(const std::string& text, const std::string& window = "") {
  auto s = ParseSchedule(text);
  if (!s.ok()) ADD_FAILURE() << text << ": " << s.status().ToString();
  if (!s.ok()) return {};
  if (window.empty()) return *s;
  auto w = ParseWindow(window);
  EXPECT_TRUE(w.ok()) << window;
  auto with = WithWindow(*s, *w, window);
  EXPECT_TRUE(with.ok()) << with.status().ToString();
  return *with;
}

const Zone kUtc = Zone::Utc();

TEST(ParseSchedule, Forms) {
  EXPECT_EQ(S("every 10m").kind, Schedule::Kind::kEvery);
  EXPECT_EQ(S("every 10m").every_ns, 10 * kMin);
  EXPECT_EQ(S("every  2d").every_days, 2);
  EXPECT_EQ(S("*/15 * * * *").kind, Schedule::Kind::kCron);
  EXPECT_EQ(S("*/15 * * * *").day_secs.size(), 96u);
  EXPECT_EQ(S("0 3 * * mon-fri").day_secs, std::vector<int32_t>{3 * 3600});
  EXPECT_EQ(S("@daily").day_secs, std::vector<int32_t>{0});
  const Schedule w = S("01:00-05:00");
  EXPECT_EQ(w.kind, Schedule::Kind::kWindow);
  ASSERT_TRUE(w.window.has_value());
  EXPECT_EQ(w.window->start_s, 3600);
  EXPECT_EQ(w.window->end_s, 5 * 3600);
}

struct BadCase {
  const char* text;
  size_t offset;
  const char* message_part;
};

TEST(ParseSchedule, ErrorsNameThePart) {
  const BadCase cases[] = {
      {"*/0 * * * *", 0, "minute field '*/0': step '0' must be a number >= 1"},
      {"0 25 * * *", 2, "hour field '25': '25' is not a valid hour"},
      {"0 3 * * 5-1", 8, "day-of-week field '5-1': range '5-1' runs backwards"},
      {"0 0 * foo *", 6, "month field 'foo': 'foo' is not a valid month"},
      {"1,,2 * * * *", 0, "minute field '1,,2': empty list item"},
      {"0 0 0 * *", 4, "day-of-month field '0'"},
      {"0  3 * *", 0, "a cron expression has 5 fields, not 4"},
      {"0 3 * * * *", 0, "a cron expression has 5 fields, not 6"},
      {"", 0, "a cron expression has 5 fields, not 0"},
      {"every 7m", 6, "the interval must divide 24h evenly"},
      {"every 25h", 6, "the interval must divide 24h evenly"},
      {"every 15x", 6, "invalid duration '15x'"},
      {"every10m", 0, "want a space after 'every'"},
      {"0 0 30 2 *", 0, "it never fires"},
      {"@often", 0, "unknown macro"},
      {"25:00-03:00", 0, "invalid window '25:00-03:00'"},
  };
  for (const BadCase& c : cases) {
    size_t offset = 99;
    auto s = ParseSchedule(c.text, &offset);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.status().message().find(c.message_part), std::string::npos) << s.status().message();
    EXPECT_EQ(s.status().message().rfind("invalid", 0), 0u) << s.status().message();
    EXPECT_EQ(offset, c.offset) << c.text;
  }
}

TEST(ParseWindow, Strict) {
  EXPECT_TRUE(ParseWindow("22:00-06:00").ok());
  EXPECT_TRUE(ParseWindow("00:00-05:00").ok());
  EXPECT_EQ(ParseWindow("18:00-24:00")->end_s, 86400);
  for (const char* bad : {"1:00-05:00", "01:00-01:00", "00:00-24:00", "01:00-24:01", "24:00-01:00", "01:60-02:00",
                          "01:00 - 05:00", "01:00-05:00x", "", "01:00-00:00"}) {
    EXPECT_FALSE(ParseWindow(bad).ok()) << bad;
  }
  auto twice = WithWindow(S("01:00-05:00"), *ParseWindow("02:00-03:00"), "02:00-03:00");
  EXPECT_FALSE(twice.ok());
}

TEST(ParseZone, Offsets) {
  EXPECT_EQ(ParseZone("UTC")->offset_s, 0);
  EXPECT_EQ(ParseZone("+02:00")->offset_s, 7200);
  EXPECT_EQ(ParseZone("-05:30")->offset_s, -19800);
  for (const char* bad : {"utc", "+2:00", "+24:00", "CET", "+02:60", ""}) EXPECT_FALSE(ParseZone(bad).ok()) << bad;
}

struct NextCase {
  const char* schedule;
  const char* window;
  const char* after;
  const char* want;
};

TEST(NextRun, UtcTable) {
  // 2026-03-06 is a Friday; 2026-01-04 a Sunday.
  const NextCase cases[] = {
      {"*/15 * * * *", "", "2026-03-02 10:07", "2026-03-02 10:15"},
      {"*/15 * * * *", "", "2026-03-02 10:15", "2026-03-02 10:30"},
      {"*/15 * * * *", "", "2026-03-02 23:59", "2026-03-03 00:00"},
      {"0 3 * * 1-5", "", "2026-03-06 04:00", "2026-03-09 03:00"},
      {"0 3 * * mon-fri", "", "2026-03-06 02:59", "2026-03-06 03:00"},
      {"30 2 1,15 * *", "", "2026-01-15 03:00", "2026-02-01 02:30"},
      {"0 0 * jan,jul sun", "", "2026-01-05 00:00", "2026-01-11 00:00"},
      {"0 0 * * 7", "", "2026-01-05 00:00", "2026-01-11 00:00"},
      {"0 0 25 * 5", "", "2026-03-21 00:00", "2026-03-25 00:00"},  // dom OR dow
      {"0 0 25 * 5", "", "2026-03-25 00:00", "2026-03-27 00:00"},
      {"0 0 29 2 *", "", "2026-03-01 00:00", "2028-02-29 00:00"},
      {"10-50/20 8 * * *", "", "2026-03-02 08:31", "2026-03-02 08:50"},
      {"5/20 8 * * *", "", "2026-03-02 08:05", "2026-03-02 08:25"},
      {"@monthly", "", "2026-12-31 23:00", "2027-01-01 00:00"},
      {"every 6h", "", "2026-03-02 07:00", "2026-03-02 12:00"},
      {"every 10m", "", "2026-03-02 07:00", "2026-03-02 07:10"},
      {"every 1h", "01:00-05:00", "2026-03-02 00:30", "2026-03-02 01:00"},
      {"every 1h", "01:00-05:00", "2026-03-02 01:00", "2026-03-02 02:00"},
      {"every 1h", "01:00-05:00", "2026-03-02 04:00", "2026-03-03 01:00"},
      {"every 1h", "22:00-06:00", "2026-03-02 06:00", "2026-03-02 22:00"},
      {"every 1h", "22:00-06:00", "2026-03-02 23:00", "2026-03-03 00:00"},
      {"0 12 * * *", "01:00-05:00", "2026-03-02 00:00", "2026-03-03 01:00"},
      {"01:00-05:00", "", "2026-03-02 01:00", "2026-03-03 01:00"},
      {"01:00-05:00", "", "2026-03-02 00:59", "2026-03-02 01:00"},
  };
  for (const NextCase& c : cases) {
    EXPECT_EQ(FormatTimeRfc3339(NextRun(S(c.schedule, c.window), T(c.after), kUtc)), FormatTimeRfc3339(T(c.want)))
        << c.schedule << " [" << c.window << "] after " << c.after;
  }
}

TEST(NextRun, StrictlyAfterWithSubSecondTimes) {
  const Schedule s = S("*/15 * * * *");
  EXPECT_EQ(NextRun(s, T("2026-03-02 10:14:59") + kSec / 2, kUtc), T("2026-03-02 10:15"));
  EXPECT_EQ(NextRun(s, T("2026-03-02 10:15") - 1, kUtc), T("2026-03-02 10:15"));
  EXPECT_EQ(NextRun(s, T("2026-03-02 10:15") + 1, kUtc), T("2026-03-02 10:30"));
}

TEST(NextRun, FixedOffsets) {
  const Zone plus2 = Zone::FixedOffset(2 * 3600);
  const Zone minus530 = Zone::FixedOffset(-(5 * 3600 + 30 * 60));
  // 03:00 at UTC+2 is 01:00Z.
  EXPECT_EQ(NextRun(S("0 3 * * *"), T("2026-03-02 00:00"), plus2), T("2026-03-02 01:00"));
  EXPECT_EQ(NextRun(S("0 3 * * *"), T("2026-03-02 01:00"), plus2), T("2026-03-03 01:00"));
  // Local midnight at UTC-05:30 is 05:30Z; at 00:00Z it is still 18:30 the day before.
  EXPECT_EQ(NextRun(S("0 0 * * *"), T("2026-03-02 00:00"), minus530), T("2026-03-02 05:30"));
  // The weekday is the local one: Monday 00:30 at UTC+2 is Sunday 22:30Z.
  EXPECT_EQ(NextRun(S("30 0 * * mon"), T("2026-03-01 00:00"), plus2), T("2026-03-01 22:30"));
  // "every 6h" is aligned to local midnight: 00, 06, 12, 18 local = 22, 04, 10, 16 Z.
  EXPECT_EQ(NextRun(S("every 6h"), T("2026-03-02 07:00"), plus2), T("2026-03-02 10:00"));
  // Windows are local too: 01:00-05:00 at UTC+2 is 23:00Z-03:00Z.
  const Schedule w = S("every 1h", "01:00-05:00");
  EXPECT_EQ(NextRun(w, T("2026-03-02 03:00"), plus2), T("2026-03-02 23:00"));
  EXPECT_TRUE(InWindow(w, T("2026-03-02 23:30"), plus2));
  EXPECT_FALSE(InWindow(w, T("2026-03-02 23:30"), kUtc));
  EXPECT_EQ(EarliestInWindow(w, T("2026-03-02 12:00"), plus2), T("2026-03-02 23:00"));
  EXPECT_EQ(EarliestInWindow(w, T("2026-03-02 23:10"), plus2), T("2026-03-02 23:10"));
}

TEST(NextRun, EveryDaysAlignedToTheEpoch) {
  const Schedule s = S("every 2d");
  TimeNs t = T("2026-03-02 12:00");
  for (int i = 0; i < 5; ++i) {
    const TimeNs n = NextRun(s, t, kUtc);
    EXPECT_EQ(n % (2 * kDay), 0) << FormatTimeRfc3339(n);
    EXPECT_GT(n, t);
    EXPECT_LE(n - t, 2 * kDay);
    t = n;
  }
  EXPECT_EQ(NextRun(s, kNever - 1, kUtc), kNever);
}

TEST(WorstGap, Table) {
  const std::tuple<const char*, const char*, int64_t> cases[] = {
      {"every 10m", "", 10 * kMin},
      {"every 2d", "", 2 * kDay},
      {"*/15 * * * *", "", 15 * kMin},
      {"0 3,4 * * *", "", 23 * kHour},
      {"0 3 * * 1-5", "", 3 * kDay},
      {"0 0 1 * *", "", 31 * kDay},
      {"0 0 29 2 *", "", 2921 * kDay},  // 2096-02-29 .. 2104-02-29 (2100 is no leap year)
      {"@yearly", "", 366 * kDay},
      {"01:00-05:00", "", kDay},
      {"every 1h", "01:00-05:00", 21 * kHour},
      {"*/10 * * * *", "22:00-06:00", 16 * kHour + 10 * kMin},
      {"every 1d", "01:00-05:00", kDay},
      {"0 12 * * *", "01:00-05:00", kDay},
      {"0 0 * * 0", "01:00-05:00", 7 * kDay},
      {"every 30s", "", 30 * kSec},
  };
  for (const auto& [text, window, want] : cases) {
    const Schedule s = S(text, window);
    EXPECT_EQ(FormatDuration(WorstGap(s)), FormatDuration(want)) << text << " [" << window << "]";
    EXPECT_EQ(s.worst_gap_ns, WorstGap(s));
  }
}

// WorstGap must agree with walking NextRun for schedules that repeat weekly.
TEST(WorstGap, AgreesWithNextRun) {
  const std::pair<const char*, const char*> cases[] = {
      {"*/7 1-3 * * *", ""},           {"0 3 * * 1-5", ""},
      {"15 */5 * * sat,sun", ""},      {"every 90m", "23:00-02:00"},
      {"*/20 * * * *", "00:00-01:00"}, {"0 6 * * 1,3", "05:00-07:00"},
      {"0 22 * * *", "23:00-01:00"},   {"every 4h", "03:00-03:30"},
  };
  for (const auto& [text, window] : cases) {
    const Schedule s = S(text, window);
    for (const Zone& z : {kUtc, Zone::FixedOffset(5 * 3600 + 45 * 60)}) {
      TimeNs t = NextRun(s, T("2026-01-01 00:00"), z);
      int64_t worst = 0;
      while (t < T("2026-01-29 00:00")) {
        const TimeNs n = NextRun(s, t, z);
        worst = std::max(worst, n - t);
        t = n;
      }
      EXPECT_EQ(FormatDuration(worst), FormatDuration(WorstGap(s))) << text << " [" << window << "]";
    }
  }
}

}  // namespace
}  // namespace lb::policy
