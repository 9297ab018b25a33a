// Schedules: when a service's backups are due.
//
// A schedule is written in one of three forms (policy key `schedule`):
//   "every 10m"      a fixed interval, aligned to local midnight: "every 6h"
//                    runs at 00:00, 06:00, 12:00, 18:00; "every 2d" at 00:00 of
//                    every second day counted from 1970-01-01. The interval must
//                    be whole seconds and either divide 24h evenly (30s, 5m, 90m,
//                    8h...) or be a whole number of days.
//   "*/15 * * * *"   a 5-field cron expression: minute hour day-of-month month
//                    day-of-week, with '*', numbers, ranges "1-5", steps "*/15",
//                    "10-50/20", "5/15" (= 5-max/15), lists "1,3,5", month names
//                    jan..dec and weekday names sun..sat (case-insensitive), and
//                    0 or 7 for Sunday. As in Vixie cron, when both day fields are
//                    restricted (neither starts with '*') a day matches if either
//                    matches. Macros: @hourly @daily @midnight @weekly @monthly
//                    @yearly @annually.
//   "01:00-05:00"    a window alone: once a day, due when the window opens.
// and may be restricted to a daily window (policy key `window = "HH:MM-HH:MM"`,
// start inclusive, end exclusive; it may cross midnight, "22:00-06:00"; "24:00"
// is allowed as an end). A run that falls due outside the window is deferred to
// the window's next opening; several deferred runs collapse into one.
//
// Times of day are in a Zone, a fixed offset from UTC (no daylight saving).
// All functions here are pure.
#pragma once

#include <bitset>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace lb::policy {

inline constexpr TimeNs kNever = std::numeric_limits<TimeNs>::max();
inline constexpr int64_t kNsPerSec = 1000000000;
inline constexpr int32_t kSecPerDay = 86400;

// A fixed offset from UTC.
struct Zone {
  int32_t offset_s = 0;  // seconds east of UTC, |offset| < 24h
  static Zone Utc() { return {}; }
  static Zone FixedOffset(int32_t seconds_east) { return {seconds_east}; }
};

// "UTC", "Z", "+02:00", "-05:30" (hours 00-23, minutes 00-59).
Result<Zone> ParseZone(std::string_view text);

struct Window {
  int32_t start_s = 0;  // seconds after local midnight, [0, 86400)
  int32_t end_s = 0;    // (0, 86400]; < start_s when the window crosses midnight
  bool Contains(int32_t sec_of_day) const {
    return start_s < end_s ? (sec_of_day >= start_s && sec_of_day < end_s)
                           : (sec_of_day >= start_s || sec_of_day < end_s);
  }
};

// "HH:MM-HH:MM", two digits each; start 00:00-23:59, end 00:01-24:00, start != end.
Result<Window> ParseWindow(std::string_view text);

struct Schedule {
  enum class Kind { kEvery, kCron, kWindow };
  Kind kind = Kind::kEvery;
  std::string text;      // as written
  int64_t every_ns = 0;  // kEvery: the interval

  // The base pattern, derived by ParseSchedule (do not fill by hand): on a
  // matching local day, runs are due at each of day_secs (sorted, unique).
  std::vector<int32_t> day_secs;
  int64_t every_days = 0;  // > 0: day N matches when N % every_days == 0
  std::bitset<32> dom;     // cron day-of-month bits 1..31
  std::bitset<13> month;   // cron month bits 1..12
  std::bitset<7> dow;      // cron weekday bits, 0 = Sunday
  bool dom_star = true, dow_star = true;

  std::optional<Window> window;
  std::string window_text;
  int64_t worst_gap_ns = 0;  // WorstGap(*this), cached by ParseSchedule/WithWindow

  // Whether local day `day` (days since 1970-01-01 in the zone) has due times.
  bool DayMatches(int64_t day) const;
};

// Parses one of the three forms above. Errors are kInvalidArgument quoting the
// text; when `error_offset` is given it receives the index in `text` of the
// offending part (a cron field, the duration after "every"). A schedule that
// never fires ("0 0 30 2 *") is an error.
Result<Schedule> ParseSchedule(std::string_view text, size_t* error_offset = nullptr);

// Restricts `s` to `w` (recomputing worst_gap_ns). An error if `s` is already a
// window schedule.
Result<Schedule> WithWindow(Schedule s, const Window& w, std::string_view window_text);

// The first time strictly after `after` at which a run is due: the first base
// time after `after`, deferred to the window's next opening when outside it.
// kNever if there is none before the end of TimeNs.
TimeNs NextRun(const Schedule& s, TimeNs after, const Zone& zone);

// Whether `t` lies inside the schedule's window (always true without one).
bool InWindow(const Schedule& s, TimeNs t, const Zone& zone);

// `t` if it is inside the window, else the window's next opening after `t`.
TimeNs EarliestInWindow(const Schedule& s, TimeNs t, const Zone& zone);

// The longest interval between consecutive runs when every run starts on time
// (runs t, NextRun(t), NextRun(NextRun(t))...), in ns. Exact: cron schedules
// are evaluated over a whole 400-year Gregorian cycle, interval schedules over
// several of their periods. Independent of the (fixed-offset) zone.
int64_t WorstGap(const Schedule& s);

}  // namespace lb::policy
