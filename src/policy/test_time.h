// Test helper: "YYYY-MM-DD HH:MM[:SS]" in UTC -> TimeNs. Aborts on a typo.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "base/clock.h"

namespace lb::policy::testing {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

inline TimeNs T(const std::string& text) {
  struct tm tm {};
  int n = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &n) != 5) {
    std::fprintf(stderr, "bad test time '%s'\n", text.c_str());
    std::abort();
  }
  if (static_cast<size_t>(n) != text.size() &&
      (std::sscanf(text.c_str() + n, ":%d", &tm.tm_sec) != 1 || static_cast<size_t>(n) + 3 != text.size())) {
    std::fprintf(stderr, "bad test time '%s'\n", text.c_str());
    std::abort();
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<TimeNs>(timegm(&tm)) * kSec;
}

}  // namespace lb::policy::testing
