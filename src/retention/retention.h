// Retention ("forget") policy: which snapshots to keep and why.
//
// A pure function of (snapshots, rules, grouping, now, time zone). It reads no
// clock, no repository and no environment (except CivilTime::Local(), which
// consults the process time zone). The caller deletes what Apply() marks as
// not kept; this module never deletes anything.
//
// Semantics follow restic's `forget` policy, which users already know:
//
//   * Snapshots are split into groups (GroupBy) and every rule applies to each
//     group separately.
//   * Within a group snapshots are ordered newest first; equal times are
//     ordered by id (ascending) so the result is deterministic.
//   * last N     keeps the N newest snapshots.
//   * hourly N, daily N, weekly N, monthly N, yearly N: walking newest to
//     oldest, the first (i.e. newest) snapshot seen in each distinct bucket
//     is kept, until N buckets have been kept. Buckets are civil-time values
//     in the given time zone:
//         hourly  YYYY-MM-DD HH
//         daily   YYYY-MM-DD
//         weekly  ISO 8601 week-year and week (2027-01-01 is in 2026-W53)
//         monthly YYYY-MM
//         yearly  YYYY
//     Buckets with no snapshot do not count: "daily 7" keeps the newest
//     snapshot of each of the 7 most recent days that have a snapshot.
//   * A count of -1 means unlimited: one snapshot per bucket for every bucket
//     (for `last`, every snapshot).
//   * within D keeps every snapshot whose time is strictly after now - D;
//     this includes snapshots dated in the future.
//     (restic measures `within` from the newest snapshot; lifeboat measures it
//     from `now`, which is what the option's name promises.)
//   * keep_tags keeps every snapshot carrying at least one of the tags.
//   * A snapshot may be kept by several rules; every reason is listed.
//   * Safety: if the rules are empty, everything is kept.
//
// Differences from recent restic releases: restic >= 0.16 additionally keeps
// the oldest snapshot when a bucket rule has counts left over; lifeboat does
// not (a bucket rule keeps exactly the newest snapshot of each bucket).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace lb::retention {

// Broken-down civil time, as needed for bucketing.
struct CivilFields {
  int year = 0;      // proleptic Gregorian, e.g. 2026
  int month = 0;     // 1..12
  int day = 0;       // 1..31
  int hour = 0;      // 0..23
  int iso_year = 0;  // ISO 8601 week-numbering year (may differ from `year`
                     // in the first and last days of a year)
  int iso_week = 0;  // 1..53
};

// Maps instants to civil time in one time zone. A small copyable value so that
// Apply() stays pure and tests can pick the zone.
class CivilTime {
 public:
  // Coordinated Universal Time.
  static CivilTime Utc();
  // The process's local time zone (TZ, /etc/localtime) via localtime_r,
  // including daylight saving time. Falls back to UTC if the conversion fails.
  static CivilTime Local();
  // A zone at a constant offset east of UTC, in seconds (+3600 = UTC+01:00).
  static CivilTime FixedOffset(int32_t seconds_east);

  // The civil time of instant `t`. Total: defined for every TimeNs.
  CivilFields At(TimeNs t) const;

 private:
  enum class Kind { kUtc, kLocal, kFixed };
  CivilTime(Kind kind, int32_t offset) : kind_(kind), offset_(offset) {}

  Kind kind_;
  int32_t offset_;  // seconds east of UTC; only for kFixed
};

// What to keep. Counts: 0 = rule off, N > 0 = keep N, -1 = unlimited.
struct Rules {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  int64_t within_ns = 0;               // 0 = rule off; otherwise > 0
  std::vector<std::string> keep_tags;  // keep snapshots having any of these

  // True when no rule is set (all counts 0, within_ns <= 0, no tags).
  bool empty() const;
  // OK when every count is >= -1, within_ns >= 0 and no tag is empty.
  // Apply() does not require valid rules: it treats any negative count as
  // unlimited and within_ns <= 0 as off (erring on the side of keeping).
  Status Validate() const;
};

struct SnapshotRef {
  std::string id;
  TimeNs time = 0;
  std::string host;
  std::vector<std::string> paths;
  std::vector<std::string> tags;
};

// Which snapshot attributes split snapshots into independent groups.
// Paths and tags compare as sets (order and duplicates do not matter).
struct GroupBy {
  bool host = true, paths = true, tags = false;
};

// Parses --group-by: "" (one group for everything) or a comma-separated list
// of distinct words from {host, paths, tags}, e.g. "host,tags". Spaces around
// words are ignored. Unknown, empty or repeated words -> kInvalidArgument.
Result<GroupBy> ParseGroupBy(std::string_view text);

struct Decision {
  std::string id;
  bool keep = false;
  // Why it is kept, in this order: "last", "hourly", "daily", "weekly",
  // "monthly", "yearly", "within <FormatDuration>", "tag <name>" (one per
  // matching keep tag, in keep_tags order), or "no rules" when the rules are
  // empty. Empty exactly when keep is false.
  std::vector<std::string> reasons;
};

struct Group {
  // Human-readable and unique per group: the selected attributes, e.g.
  //   host="nas" paths=["/etc","/home"]
  // Strings are double-quoted with '"' and '\' backslash-escaped; paths and
  // tags are sorted and deduplicated. "" when GroupBy selects nothing.
  std::string key;
  std::vector<Decision> decisions;  // newest first, ties by id
};

// Applies `rules` to every group of `snapshots` and returns one Decision per
// input snapshot. Groups are ordered by key. `now` anchors `within`; `tz`
// defines the time buckets. Duplicate ids are not detected; each input entry
// gets its own Decision.
std::vector<Group> Apply(std::vector<SnapshotRef> snapshots, const Rules& rules,
                         const GroupBy& group_by, TimeNs now, const CivilTime& tz);

// Parses a --keep-within duration into nanoseconds: one or more
// <decimal number><unit> terms with units, from largest to smallest,
//   y = 365 days, w = 7 days, d = days, h = hours, min = minutes, s = seconds
// e.g. "30d", "12h", "90min", "2w", "1y", "1d12h", "1y2w3d". Each unit may
// appear at most once and units must be in the order above. "m" is rejected
// as ambiguous (month or minute?). Empty, zero, signed, unit-less, unknown
// units, spaces and values over int64 nanoseconds -> kInvalidArgument whose
// message quotes the input.
Result<int64_t> ParseDuration(std::string_view text);

// Formats a duration compactly with units y (365d), d, h, min, s, e.g.
// 30 days -> "30d", 36 hours -> "1d12h", 0 -> "0s", 1.5 s -> "1.5s".
// Negative values get a leading '-'. For positive whole-second values,
// ParseDuration(FormatDuration(x)) == x.
std::string FormatDuration(int64_t ns);

}  // namespace lb::retention
