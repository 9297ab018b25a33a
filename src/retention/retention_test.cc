#include "retention/retention.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace lb::retention {
namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kDay = 24 * kHour;

// "YYYY-MM-DD HH:MM" in UTC -> TimeNs. Aborts the test binary on a typo.
TimeNs T(const std::string& text) {
  struct tm tm {};
  int n = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &n) != 5 ||
      static_cast<size_t>(n) != text.size()) {
    std::fprintf(stderr, "bad test time '%s'\n", text.c_str());
    std::abort();
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<TimeNs>(timegm(&tm)) * kSec;
}

// Fluent Rules builder (designated initializers would trip
// -Wmissing-field-initializers on keep_tags).
struct R {
  Rules r;
  R& Last(int n) {
    r.last = n;
    return *this;
  }
  R& Hourly(int n) {
    r.hourly = n;
    return *this;
  }
  R& Daily(int n) {
    r.daily = n;
    return *this;
  }
  R& Weekly(int n) {
    r.weekly = n;
    return *this;
  }
  R& Monthly(int n) {
    r.monthly = n;
    return *this;
  }
  R& Yearly(int n) {
    r.yearly = n;
    return *this;
  }
  R& Within(int64_t ns) {
    r.within_ns = ns;
    return *this;
  }
  R& Tags(std::vector<std::string> t) {
    r.keep_tags = std::move(t);
    return *this;
  }
  operator Rules() const { return r; }  // NOLINT: implicit by design
};

struct Snap {
  std::string id;
  std::string time;  // "YYYY-MM-DD HH:MM" UTC
  std::string host = "nas";
  std::vector<std::string> paths = {"/data"};
  std::vector<std::string> tags = {};
};

using Kept = std::map<std::string, std::vector<std::string>>;  // id -> reasons

struct Case {
  std::string name;
  std::vector<Snap> snaps;
  Rules rules;
  Kept kept;  // every other snapshot must be removed
  std::string now = "2027-06-01 00:00";
  CivilTime tz = CivilTime::Utc();
  GroupBy group_by = GroupBy{};
};

// Failure messages name the case instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<SnapshotRef> Refs(const std::vector<Snap>& snaps) {
  std::vector<SnapshotRef> refs;
  for (const auto& s : snaps) refs.push_back({s.id, T(s.time), s.host, s.paths, s.tags});
  return refs;
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"LastKeepsNewest",
       {{"a", "2026-01-01 10:00"}, {"c", "2026-01-03 10:00"}, {"b", "2026-01-02 10:00"}},
       R().Last(2),
       {{"c", {"last"}}, {"b", {"last"}}}},
      {"LastTieBrokenById",
       {{"y", "2026-01-01 10:00"}, {"x", "2026-01-01 10:00"}},
       R().Last(1),
       {{"x", {"last"}}}},
      {"LastMoreThanAvailable",
       {{"a", "2026-01-01 10:00"}, {"b", "2026-01-02 10:00"}},
       R().Last(10),
       {{"a", {"last"}}, {"b", {"last"}}}},
      {"DailyKeepsNewestOfEachDay",
       {{"a", "2026-01-01 08:00"},
        {"b", "2026-01-01 20:00"},
        {"c", "2026-01-02 09:00"},
        {"d", "2026-01-02 09:30"},
        {"e", "2026-01-03 07:00"}},
       R().Daily(3),
       {{"e", {"daily"}}, {"d", {"daily"}}, {"b", {"daily"}}}},
      {"DailySkipsEmptyDays",
       {{"a", "2026-01-01 08:00"}, {"b", "2026-01-05 08:00"}, {"c", "2026-01-09 08:00"}},
       R().Daily(2),
       {{"c", {"daily"}}, {"b", {"daily"}}}},
      {"DailyMidnightBoundary",
       {{"a", "2026-01-01 23:59"}, {"b", "2026-01-02 00:00"}},
       R().Daily(2),
       {{"a", {"daily"}}, {"b", {"daily"}}}},
      {"HourlyKeepsNewestOfEachHour",
       {{"a", "2026-01-01 10:05"}, {"b", "2026-01-01 10:55"}, {"c", "2026-01-01 11:00"}, {"d", "2026-01-01 13:30"}},
       R().Hourly(2),
       {{"d", {"hourly"}}, {"c", {"hourly"}}}},
      // ISO weeks: Mon 2026-12-28 .. Sun 2027-01-03 is 2026-W53.
      {"WeeklyAcrossYearBoundaryUsesIsoWeeks",
       {{"w52", "2026-12-27 12:00"},  // Sunday, 2026-W52
        {"mon53", "2026-12-28 12:00"},
        {"thu53", "2026-12-31 12:00"},
        {"fri53", "2027-01-01 12:00"},  // same ISO week as thu53
        {"w01", "2027-01-04 12:00"}},   // Monday, 2027-W01
       R().Weekly(3),
       {{"w01", {"weekly"}}, {"fri53", {"weekly"}}, {"w52", {"weekly"}}}},
      {"MonthlyKeepsNewestOfEachMonth",
       {{"a", "2026-01-15 10:00"},
        {"b", "2026-01-31 23:59"},
        {"c", "2026-02-01 00:00"},
        {"d", "2026-03-10 10:00"},
        {"e", "2026-03-20 10:00"}},
       R().Monthly(3),
       {{"e", {"monthly"}}, {"c", {"monthly"}}, {"b", {"monthly"}}}},
      {"YearlyKeepsNewestOfEachYear",
       {{"a", "2024-06-01 10:00"}, {"b", "2025-01-01 00:00"}, {"c", "2025-12-31 23:59"}, {"d", "2026-05-05 10:00"}},
       R().Yearly(2),
       {{"d", {"yearly"}}, {"c", {"yearly"}}}},
      {"SeveralRulesKeepOneSnapshot",
       {{"a", "2026-03-01 10:00"}, {"b", "2026-03-01 12:00"}, {"c", "2026-02-15 08:00"}, {"d", "2026-02-15 07:00"}},
       R().Last(1).Daily(2).Monthly(2).Yearly(1),
       {{"b", {"last", "daily", "monthly", "yearly"}}, {"c", {"daily", "monthly"}}}},
      {"ClassicScheduleOverAYear",
       {{"jan", "2026-01-10 03:00"},
        {"feb", "2026-02-10 03:00"},
        {"mar", "2026-03-10 03:00"},
        {"may1", "2026-05-01 03:00"},
        {"may2", "2026-05-02 03:00"},
        {"may3", "2026-05-03 03:00"},
        {"may4", "2026-05-04 03:00"}},
       R().Daily(2).Weekly(2).Monthly(3),
       // may3 is Sunday (W18), may4 Monday (W19).
       {{"may4", {"daily", "weekly", "monthly"}},
        {"may3", {"daily", "weekly"}},
        {"mar", {"monthly"}},
        {"feb", {"monthly"}}}},
      {"WithinIsStrictAndKeepsFuture",
       {{"edge", "2026-05-02 00:00"},  // exactly 30d before now: not within
        {"in", "2026-05-02 00:01"},
        {"future", "2026-06-15 00:00"},
        {"old", "2026-01-01 00:00"}},
       R().Within(30 * kDay),
       {{"in", {"within 30d"}}, {"future", {"within 30d"}}},
       "2026-06-01 00:00"},
      {"KeepTagAnyOf",
       {{"n", "2026-01-01 10:00", "nas", {"/data"}, {"nightly"}},
        {"m", "2026-01-02 10:00", "nas", {"/data"}, {"pinned", "manual"}},
        {"x", "2026-01-03 10:00"}},
       R().Tags({"manual", "pinned"}),
       {{"m", {"tag manual", "tag pinned"}}}},
      {"ReasonOrder",
       {{"a", "2027-05-31 10:00", "nas", {"/data"}, {"keep"}}},
       R().Last(1).Yearly(1).Within(2 * kDay).Tags({"keep"}),
       {{"a", {"last", "yearly", "within 2d", "tag keep"}}}},
      {"UnlimitedDaily",
       {{"d1a", "2026-01-01 08:00"},
        {"d1b", "2026-01-01 09:00"},
        {"d2a", "2026-01-02 08:00"},
        {"d2b", "2026-01-02 09:00"},
        {"d5a", "2026-01-05 08:00"}},
       R().Daily(-1),
       {{"d1b", {"daily"}}, {"d2b", {"daily"}}, {"d5a", {"daily"}}}},
      {"UnlimitedLast",
       {{"a", "2026-01-01 08:00"}, {"b", "2026-01-01 08:00"}, {"c", "2020-01-01 08:00"}},
       R().Last(-1),
       {{"a", {"last"}}, {"b", {"last"}}, {"c", {"last"}}}},
      {"EmptyRulesKeepEverything",
       {{"a", "2026-01-01 08:00"}, {"b", "2000-01-01 08:00"}},
       R(),
       {{"a", {"no rules"}}, {"b", {"no rules"}}}},
      {"GroupByHostAndPaths",
       {{"a1", "2026-01-01 08:00", "alpha", {"/x"}},
        {"a2", "2026-01-02 08:00", "alpha", {"/x"}},
        {"b1", "2026-01-01 07:00", "beta", {"/x"}},
        {"y1", "2026-01-01 06:00", "alpha", {"/y"}},
        {"xy1", "2026-01-03 06:00", "alpha", {"/y", "/x"}},
        {"xy2", "2026-01-02 06:00", "alpha", {"/x", "/y", "/x"}}},  // same set as xy1
       R().Last(1),
       {{"a2", {"last"}}, {"b1", {"last"}}, {"y1", {"last"}}, {"xy1", {"last"}}}},
      {"NoGroupingIsOneGroup",
       {{"a1", "2026-01-01 08:00", "alpha", {"/x"}}, {"b1", "2026-01-02 07:00", "beta", {"/y"}}},
       R().Last(1),
       {{"b1", {"last"}}},
       "2027-06-01 00:00",
       CivilTime::Utc(),
       GroupBy{false, false, false}},
      {"GroupByTags",
       {{"t1", "2026-01-01 08:00", "nas", {"/data"}, {"a"}},
        {"t2", "2026-01-02 08:00", "nas", {"/data"}, {"a"}},
        {"u1", "2026-01-01 08:00", "nas", {"/data"}, {"b"}}},
       R().Last(1),
       {{"t2", {"last"}}, {"u1", {"last"}}},
       "2027-06-01 00:00",
       CivilTime::Utc(),
       GroupBy{false, false, true}},
      {"DailyUtcSameDay",
       {{"late", "2026-01-01 22:30"}, {"early", "2026-01-01 20:00"}},
       R().Daily(2),
       {{"late", {"daily"}}}},
      // At UTC+02:00 "late" is 2026-01-02 00:30 local: a day of its own.
      {"DailyFixedOffsetEastShiftsIntoNextDay",
       {{"late", "2026-01-01 22:30"}, {"early", "2026-01-01 20:00"}},
       R().Daily(2),
       {{"late", {"daily"}}, {"early", {"daily"}}},
       "2027-06-01 00:00",
       CivilTime::FixedOffset(2 * 3600)},
      // At UTC-05:00 both are 2026-01-01 local (22:00 and 15:00).
      {"DailyFixedOffsetWestShiftsIntoPreviousDay",
       {{"next", "2026-01-02 03:00"}, {"prev", "2026-01-01 20:00"}},
       R().Daily(2),
       {{"next", {"daily"}}},
       "2027-06-01 00:00",
       CivilTime::FixedOffset(-5 * 3600)},
      // 2026-12-27 23:30 UTC is Monday 2026-12-28 01:30 at UTC+02:00 (W53).
      {"WeeklyFixedOffset",
       {{"sun", "2026-12-27 23:30"}, {"thu", "2026-12-31 12:00"}},
       R().Weekly(5),
       {{"thu", {"weekly"}}},
       "2027-06-01 00:00",
       CivilTime::FixedOffset(2 * 3600)},
      {"YearlyFixedOffset",
       {{"nye", "2026-12-31 23:30"}, {"mid", "2026-06-01 12:00"}},
       R().Yearly(5),
       {{"nye", {"yearly"}}, {"mid", {"yearly"}}},
       "2027-06-01 00:00",
       CivilTime::FixedOffset(3600)},
      {"PreEpochSnapshots",
       {{"a", "1969-12-31 23:00"}, {"b", "1969-12-31 22:00"}, {"c", "1970-01-01 00:00"}},
       R().Daily(5).Hourly(1),
       {{"c", {"hourly", "daily"}}, {"a", {"daily"}}}},
  };
  return cases;
}

class ApplyTable : public testing::TestWithParam<Case> {};

TEST_P(ApplyTable, KeepsExactlyTheExpectedSnapshots) {
  const Case& c = GetParam();
  const std::vector<Group> groups = Apply(Refs(c.snaps), c.rules, c.group_by, T(c.now), c.tz);
  std::map<std::string, TimeNs> time_of;
  for (const auto& s : c.snaps) time_of[s.id] = T(s.time);

  size_t decisions = 0;
  Kept kept;
  for (const Group& g : groups) {
    for (size_t i = 0; i < g.decisions.size(); ++i) {
      const Decision& d = g.decisions[i];
      ++decisions;
      EXPECT_EQ(d.keep, !d.reasons.empty()) << d.id;
      if (d.keep) kept[d.id] = d.reasons;
      if (i > 0) {  // newest first, ties by id
        const Decision& prev = g.decisions[i - 1];
        EXPECT_TRUE(time_of[prev.id] > time_of[d.id] || (time_of[prev.id] == time_of[d.id] && prev.id < d.id))
            << prev.id << " before " << d.id;
      }
    }
  }
  EXPECT_EQ(decisions, c.snaps.size());
  EXPECT_EQ(kept, c.kept);
}

INSTANTIATE_TEST_SUITE_P(Cases, ApplyTable, testing::ValuesIn(Cases()),
                         [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(Apply, GroupKeysAndOrder) {
  std::vector<SnapshotRef> refs = {
      {"1", T("2026-01-01 00:00"), "b\"x", {"/z", "/a"}, {"t"}},
      {"2", T("2026-01-01 00:00"), "a", {"/a"}, {}},
      {"3", T("2026-01-02 00:00"), "a", {"/a"}, {"u"}},
  };
  auto groups = Apply(refs, R().Last(1), GroupBy{}, T("2027-01-01 00:00"), CivilTime::Utc());
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].key, R"(host="a" paths=["/a"])");
  EXPECT_EQ(groups[1].key, R"(host="b\"x" paths=["/a","/z"])");
  ASSERT_EQ(groups[0].decisions.size(), 2u);
  EXPECT_EQ(groups[0].decisions[0].id, "3");
  EXPECT_EQ(groups[0].decisions[1].id, "2");

  groups = Apply(refs, R().Last(1), GroupBy{false, false, true}, T("2027-01-01 00:00"), CivilTime::Utc());
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].key, R"(tags=["t"])");
  EXPECT_EQ(groups[1].key, R"(tags=["u"])");
  EXPECT_EQ(groups[2].key, "tags=[]");

  groups = Apply(refs, R().Last(1), GroupBy{false, false, false}, T("2027-01-01 00:00"), CivilTime::Utc());
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].key, "");
  EXPECT_EQ(groups[0].decisions.size(), 3u);
}

TEST(Apply, NoSnapshots) {
  EXPECT_TRUE(Apply({}, R().Last(1), GroupBy{}, 0, CivilTime::Utc()).empty());
}

TEST(Apply, HugeWithinDoesNotOverflow) {
  std::vector<SnapshotRef> refs = {{"a", T("1900-01-01 00:00"), "h", {}, {}}};
  // now - within is below INT64_MIN: the cutoff saturates.
  auto groups = Apply(refs, R().Within(INT64_MAX), GroupBy{}, T("1950-01-01 00:00"), CivilTime::Utc());
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_TRUE(groups[0].decisions[0].keep);
}

TEST(Rules, EmptyAndValidate) {
  EXPECT_TRUE(Rules{}.empty());
  EXPECT_FALSE(Rules(R().Last(1)).empty());
  EXPECT_FALSE(Rules(R().Yearly(-1)).empty());
  EXPECT_FALSE(Rules(R().Within(1)).empty());
  EXPECT_FALSE(Rules(R().Tags({"x"})).empty());
  EXPECT_TRUE(Rules{}.Validate().ok());
  EXPECT_TRUE(Rules(R().Daily(-1).Within(kDay).Tags({"a"})).Validate().ok());
  EXPECT_EQ(Rules(R().Weekly(-2)).Validate().code(), Code::kInvalidArgument);
  EXPECT_EQ(Rules(R().Within(-1)).Validate().code(), Code::kInvalidArgument);
  EXPECT_EQ(Rules(R().Tags({""})).Validate().code(), Code::kInvalidArgument);
}

// ---- CivilTime

struct IsoCase {
  std::string time;
  int year, month, day, hour, iso_year, iso_week;
};

TEST(CivilTime, UtcFieldsAndIsoWeeks) {
  const std::vector<IsoCase> cases = {
      {"2026-12-31 12:00", 2026, 12, 31, 12, 2026, 53}, {"2027-01-01 00:00", 2027, 1, 1, 0, 2026, 53},
      {"2027-01-03 23:59", 2027, 1, 3, 23, 2026, 53},   {"2027-01-04 00:00", 2027, 1, 4, 0, 2027, 1},
      {"2024-12-30 05:00", 2024, 12, 30, 5, 2025, 1},   {"2021-01-03 05:00", 2021, 1, 3, 5, 2020, 53},
      {"2024-02-29 13:00", 2024, 2, 29, 13, 2024, 9},   {"1969-12-31 23:00", 1969, 12, 31, 23, 1970, 1},
      {"1970-01-01 00:00", 1970, 1, 1, 0, 1970, 1},     {"2000-02-29 00:00", 2000, 2, 29, 0, 2000, 9},
  };
  for (const auto& c : cases) {
    CivilFields f = CivilTime::Utc().At(T(c.time));
    EXPECT_EQ(f.year, c.year) << c.time;
    EXPECT_EQ(f.month, c.month) << c.time;
    EXPECT_EQ(f.day, c.day) << c.time;
    EXPECT_EQ(f.hour, c.hour) << c.time;
    EXPECT_EQ(f.iso_year, c.iso_year) << c.time;
    EXPECT_EQ(f.iso_week, c.iso_week) << c.time;
  }
}

// Cross-checks every day 1900..2200 (and sub-second negative instants) against
// gmtime_r + strftime("%G %V").
TEST(CivilTime, MatchesLibcForEveryDay) {
  for (int64_t secs = T("1900-01-01 00:00") / kSec; secs < T("2200-01-01 00:00") / kSec; secs += 86400 + 3599) {
    for (int64_t offset : {0, 5 * 3600 + 1800, -11 * 3600}) {
      const time_t local = static_cast<time_t>(secs + offset);
      struct tm tm {};
      ASSERT_NE(gmtime_r(&local, &tm), nullptr);
      char buf[32];
      std::strftime(buf, sizeof buf, "%G %V", &tm);
      int iso_year = 0, iso_week = 0;
      ASSERT_EQ(std::sscanf(buf, "%d %d", &iso_year, &iso_week), 2);
      CivilFields f = CivilTime::FixedOffset(static_cast<int32_t>(offset)).At(secs * kSec + kSec - 1);
      ASSERT_EQ(f.year, tm.tm_year + 1900) << secs << " " << offset;
      ASSERT_EQ(f.month, tm.tm_mon + 1) << secs;
      ASSERT_EQ(f.day, tm.tm_mday) << secs;
      ASSERT_EQ(f.hour, tm.tm_hour) << secs;
      ASSERT_EQ(f.iso_year, iso_year) << secs;
      ASSERT_EQ(f.iso_week, iso_week) << secs;
    }
  }
}

TEST(CivilTime, NegativeSubSecondRoundsDown) {
  CivilFields f = CivilTime::Utc().At(-1);  // 1969-12-31 23:59:59.999999999
  EXPECT_EQ(f.year, 1969);
  EXPECT_EQ(f.day, 31);
  EXPECT_EQ(f.hour, 23);
}

TEST(CivilTime, LocalFollowsTz) {
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  setenv("TZ", "XYZ-3", 1);  // POSIX: UTC+03:00, no tzdata needed
  tzset();
  for (const char* t : {"2026-12-31 20:59", "2026-12-31 21:00", "2027-06-15 12:00"}) {
    CivilFields a = CivilTime::Local().At(T(t));
    CivilFields b = CivilTime::FixedOffset(3 * 3600).At(T(t));
    EXPECT_EQ(a.year, b.year) << t;
    EXPECT_EQ(a.month, b.month) << t;
    EXPECT_EQ(a.day, b.day) << t;
    EXPECT_EQ(a.hour, b.hour) << t;
    EXPECT_EQ(a.iso_year, b.iso_year) << t;
    EXPECT_EQ(a.iso_week, b.iso_week) << t;
  }
  if (old) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

// ---- ParseDuration / FormatDuration

TEST(ParseDuration, Good) {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"30d", 30 * kDay},
      {"12h", 12 * kHour},
      {"90min", 90 * 60 * kSec},
      {"45s", 45 * kSec},
      {"2w", 14 * kDay},
      {"1y", 365 * kDay},
      {"1d12h", 36 * kHour},
      {"1y2w3d4h5min6s", (365 + 14 + 3) * kDay + 4 * kHour + 5 * 60 * kSec + 6 * kSec},
      {"007d", 7 * kDay},
      {"0d1h", kHour},
      {"292y", 292 * 365 * kDay},
  };
  for (const auto& [text, want] : cases) {
    Result<int64_t> got = ParseDuration(text);
    ASSERT_TRUE(got.ok()) << text << ": " << got.status().ToString();
    EXPECT_EQ(*got, want) << text;
  }
}

TEST(ParseDuration, Bad) {
  for (const char* text : {"", "-1d", "+1d", "30", "d", "m", "5m", "1x", "1D", " 1d", "1d ", "1d 2h", "1d1d",
                           "12h1d", "1.5d", "0d", "0s0min", "300y", "99999999999999999999d", "1d-2h", "1dh"}) {
    Result<int64_t> got = ParseDuration(text);
    ASSERT_FALSE(got.ok()) << "'" << text << "' parsed as " << *got;
    EXPECT_EQ(got.status().code(), Code::kInvalidArgument) << text;
    EXPECT_NE(got.status().message().find("'" + std::string(text) + "'"), std::string::npos)
        << got.status().message();
  }
  EXPECT_NE(ParseDuration("5m").status().message().find("min"), std::string::npos);
}

TEST(FormatDuration, Formats) {
  EXPECT_EQ(FormatDuration(30 * kDay), "30d");
  EXPECT_EQ(FormatDuration(14 * kDay), "14d");
  EXPECT_EQ(FormatDuration(36 * kHour), "1d12h");
  EXPECT_EQ(FormatDuration(90 * 60 * kSec), "1h30min");
  EXPECT_EQ(FormatDuration(366 * kDay + 5 * kSec), "1y1d5s");
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(kSec + kSec / 2), "1.5s");
  EXPECT_EQ(FormatDuration(1), "0.000000001s");
  EXPECT_EQ(FormatDuration(-kHour), "-1h");
  EXPECT_FALSE(FormatDuration(INT64_MIN).empty());
}

TEST(FormatDuration, RoundTrips) {
  for (const char* text : {"30d", "1d12h", "1y", "2w", "90min", "1y2w3d4h5min6s", "292y"}) {
    int64_t ns = *ParseDuration(text);
    Result<int64_t> again = ParseDuration(FormatDuration(ns));
    ASSERT_TRUE(again.ok()) << text << " -> " << FormatDuration(ns);
    EXPECT_EQ(*again, ns) << text;
  }
}

// ---- ParseGroupBy

TEST(ParseGroupBy, Good) {
  struct G {
    std::string text;
    bool host, paths, tags;
  };
  for (const G& c : std::vector<G>{{"", false, false, false},
                                   {"host", true, false, false},
                                   {"paths", false, true, false},
                                   {"tags", false, false, true},
                                   {"host,paths", true, true, false},
                                   {"paths,host", true, true, false},
                                   {"host,paths,tags", true, true, true},
                                   {" host , tags ", true, false, true}}) {
    Result<GroupBy> g = ParseGroupBy(c.text);
    ASSERT_TRUE(g.ok()) << c.text << ": " << g.status().ToString();
    EXPECT_EQ(g->host, c.host) << c.text;
    EXPECT_EQ(g->paths, c.paths) << c.text;
    EXPECT_EQ(g->tags, c.tags) << c.text;
  }
}

TEST(ParseGroupBy, Bad) {
  for (const char* text : {"hosts", "HOST", "host,", ",", ",host", "host,,paths", "host,host", "host;paths"}) {
    Result<GroupBy> g = ParseGroupBy(text);
    ASSERT_FALSE(g.ok()) << text;
    EXPECT_EQ(g.status().code(), Code::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace lb::retention
