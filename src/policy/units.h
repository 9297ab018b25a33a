// Strict parsers for the units a policy file uses: durations and sizes.
//
// Pure functions; no locale, no environment.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/status.h"

namespace lb::policy {

// A policy duration: one or more <digits><unit> terms, largest unit first,
// each unit at most once, no spaces, no sign, total > 0. Units:
//   y = 365 days, w = 7 days, d = days, h = hours, m or min = minutes, s = seconds
// e.g. "15m", "30s", "1h30m", "7d", "2w", "90min".
//
// This is lb::retention::ParseDuration (the grammar `forget --keep-within`
// uses) with one difference: a policy writes "m" for minutes, as "rpo = 15m"
// reads naturally and a policy has no month unit to confuse it with. The
// function rewrites each "m" unit to "min" and delegates, so both parsers
// share one implementation of the grammar and its overflow checks.
// Errors: kInvalidArgument "invalid duration '<text>' (...)".
Result<int64_t> ParseDuration(std::string_view text);

// Formats like retention::FormatDuration ("1d12h", "15min", "30s"); the
// result parses back with ParseDuration for whole-second values.
std::string FormatDuration(int64_t ns);

// An instant for messages: RFC 3339 in UTC, the fraction only when non-zero,
// e.g. "2026-03-01T05:00:00Z", "2026-03-01T05:00:00.25Z".
std::string FormatTime(TimeNs t);

// A size: <digits><unit>, no spaces, no sign, no fraction. Units:
//   B; kB/KB, MB, GB, TB, PB (powers of 1000); KiB, MiB, GiB, TiB, PiB (of 1024).
// "0B" is allowed. Overflow of uint64 and anything else -> kInvalidArgument
// "invalid size '<text>' (...)".
Result<uint64_t> ParseSize(std::string_view text);

}  // namespace lb::policy
