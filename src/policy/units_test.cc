#include "policy/units.h"

#include <gtest/gtest.h>

#include "policy/test_time.h"

namespace lb::policy {
namespace {

using testing::kDay;
using testing::kHour;
using testing::kMin;
using testing::kSec;

TEST(Duration, AcceptsPolicyUnits) {
  const std::pair<const char*, int64_t> cases[] = {
      {"15m", 15 * kMin},       {"30s", 30 * kSec},    {"1h30m", 90 * kMin},
      {"90min", 90 * kMin},     {"7d", 7 * kDay},      {"2w", 14 * kDay},
      {"1y", 365 * kDay},       {"1d12h", 36 * kHour}, {"1h1m1s", kHour + kMin + kSec},
      {"1h1min", kHour + kMin}, {"0h5m", 5 * kMin},
  };
  for (const auto& [text, want] : cases) {
    auto d = ParseDuration(text);
    ASSERT_TRUE(d.ok()) << text << ": " << d.status().ToString();
    EXPECT_EQ(*d, want) << text;
  }
}

TEST(Duration, RejectsEverythingElse) {
  for (const char* text : {"",
                           "15",
                           "m",
                           "15x",
                           "1.5h",
                           "-5m",
                           "+5m",
                           "15 m",
                           " 15m",
                           "15m ",
                           "15M",
                           "1m1h",
                           "1m1m",
                           "0s",
                           "0m",
                           "1mi",
                           "1mmin",
                           "5ms",
                           "99999999999999999999s",
                           "300000y"}) {
    auto d = ParseDuration(text);
    EXPECT_FALSE(d.ok()) << "'" << text << "'";
    if (!d.ok()) {
      EXPECT_EQ(d.status().code(), Code::kInvalidArgument);
      EXPECT_EQ(d.status().message().rfind("invalid duration '" + std::string(text) + "'", 0), 0u)
          << d.status().message();
    }
  }
}

TEST(Duration, FormatRoundTrips) {
  for (int64_t ns : {15 * kMin, 36 * kHour, 30 * kSec, 7 * kDay, 400 * kDay + 5 * kSec}) {
    auto back = ParseDuration(FormatDuration(ns));
    ASSERT_TRUE(back.ok()) << FormatDuration(ns);
    EXPECT_EQ(*back, ns);
  }
  EXPECT_EQ(FormatDuration(15 * kMin), "15min");
}

TEST(FormatTime, DropsAZeroFraction) {
  EXPECT_EQ(FormatTime(testing::T("2026-03-01 05:00")), "2026-03-01T05:00:00Z");
  EXPECT_EQ(FormatTime(testing::T("2026-03-01 05:00") + kSec / 4), "2026-03-01T05:00:00.25Z");
  EXPECT_EQ(FormatTime(testing::T("2026-03-01 05:00") + 1), "2026-03-01T05:00:00.000000001Z");
}

TEST(Size, Units) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"0B", 0},
      {"512B", 512},
      {"1kB", 1000},
      {"1KB", 1000},
      {"40GiB", 40ULL << 30},
      {"2TB", 2000000000000ULL},
      {"3MiB", 3ULL << 20},
      {"1PiB", 1ULL << 50},
      {"16383PiB", 16383ULL << 50},
  };
  for (const auto& [text, want] : cases) {
    auto s = ParseSize(text);
    ASSERT_TRUE(s.ok()) << text;
    EXPECT_EQ(*s, want) << text;
  }
}

TEST(Size, RejectsEverythingElse) {
  for (const char* text : {"", "40", "GiB", "1.5GiB", "-1GiB", "40 GiB", "40gib", "40Gib", "40GB ", "16384PiB",
                           "99999999999999999999B", "40kiB", "1EB"}) {
    auto s = ParseSize(text);
    EXPECT_FALSE(s.ok()) << "'" << text << "'";
    if (!s.ok()) {
      EXPECT_EQ(s.status().message().rfind("invalid size '" + std::string(text) + "'", 0), 0u);
    }
  }
}

}  // namespace
}  // namespace lb::policy
