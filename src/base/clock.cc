#include "base/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace lb {

TimeNs SystemClock::Now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<TimeNs> ParseTime(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, n = 0;
  struct tm tm {};
  const char* p = text.c_str();
  if (std::sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
    return InvalidArgument("cannot parse time '" + text + "' (want YYYY-MM-DD[ HH:MM[:SS]])");
  p += n;
  int64_t frac_ns = 0;
  if (*p == ' ' || *p == 'T') {
    ++p;
    if (std::sscanf(p, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5)
      return InvalidArgument("cannot parse time of day in '" + text + "'");
    p += n;
    if (*p == ':') {
      ++p;
      if (std::sscanf(p, "%2d%n", &s, &n) != 1 || n != 2)
        return InvalidArgument("cannot parse seconds in '" + text + "'");
      p += n;
      if (*p == '.') {
        ++p;
        int64_t scale = 100000000;
        while (*p >= '0' && *p <= '9') {
          frac_ns += (*p - '0') * scale;
          scale /= 10;
          ++p;
        }
      }
    }
  }
  bool utc = false;
  int offset_min = 0;
  if (*p == 'Z') {
    utc = true;
    ++p;
  } else if (*p == '+' || *p == '-') {
    int oh = 0, om = 0;
    int sign = *p == '-' ? -1 : 1;
    ++p;
    if (std::sscanf(p, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5)
      return InvalidArgument("cannot parse zone offset in '" + text + "'");
    p += n;
    utc = true;
    offset_min = sign * (oh * 60 + om);
  }
  if (*p != '\0') return InvalidArgument("trailing text in time '" + text + "'");
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
    return InvalidArgument("time out of range: '" + text + "'");
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  time_t secs = utc ? timegm(&tm) - offset_min * 60 : mktime(&tm);
  return static_cast<TimeNs>(secs) * 1000000000 + frac_ns;
}

std::string FormatTimeLocal(TimeNs t) {
  time_t secs = static_cast<time_t>(t / 1000000000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatTimeRfc3339(TimeNs t) {
  int64_t secs = t / 1000000000;
  int64_t ns = t % 1000000000;
  if (ns < 0) {
    ns += 1000000000;
    --secs;
  }
  time_t ts = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&ts, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%09lldZ", buf, static_cast<long long>(ns));
  return out;
}

}  // namespace lb
