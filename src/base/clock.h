// Clock: the only source of "now". Policy, scheduling and retention take a Clock&
// (or a time value) so tests can drive time.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace lb {

// Nanoseconds since the Unix epoch, UTC.
using TimeNs = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeNs Now() const = 0;  // thread-safe
};

class SystemClock final : public Clock {
 public:
  TimeNs Now() const override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeNs t) : t_(t) {}
  TimeNs Now() const override { return t_; }
  void Set(TimeNs t) { t_ = t; }
  void Advance(TimeNs d) { t_ += d; }

 private:
  TimeNs t_;
};

// "2026-11-20 14:00[:05]" or "2026-11-20T14:00:05[.123][Z|+02:00]" or "2026-11-20".
// Without a zone the time is local time.
Result<TimeNs> ParseTime(const std::string& text);
// Local time "2026-11-20 14:00:05".
std::string FormatTimeLocal(TimeNs t);
// RFC 3339 with nanoseconds in UTC: "2026-11-20T13:00:05.123456789Z".
std::string FormatTimeRfc3339(TimeNs t);

}  // namespace lb
