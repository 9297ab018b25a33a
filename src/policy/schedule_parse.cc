// Parsing of schedules, windows and zones (see schedule.h).
#include <algorithm>
#include <array>
#include <cctype>

#include "policy/schedule.h"
#include "policy/units.h"

namespace lb::policy {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Exactly two digits at text[i..i+1] -> value, or -1.
int TwoDigits(std::string_view text, size_t i) {
  if (i + 2 > text.size() || !IsDigit(text[i]) || !IsDigit(text[i + 1])) return -1;
  return (text[i] - '0') * 10 + (text[i + 1] - '0');
}

// "HH:MM" at text[i..i+4] -> seconds of day, or -1. `max_hour` is 23 or 24 (24:00 only).
int32_t ClockTime(std::string_view text, size_t i, int max_hour) {
  const int h = TwoDigits(text, i);
  const int m = TwoDigits(text, i + 3);
  if (h < 0 || m < 0 || text[i + 2] != ':' || h > max_hour || m > 59 || (h == 24 && m != 0)) return -1;
  return h * 3600 + m * 60;
}

bool LooksLikeWindow(std::string_view t) { return t.size() == 11 && t[2] == ':' && t[5] == '-'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct FieldSpec {
  const char* name;
  int lo, hi;
  const char* const* names;  // names[k] is value lo+k... (nullptr: numbers only)
  int names_base;            // value of names[0]
  int names_count;
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDowNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0, 0},
    {"hour", 0, 23, nullptr, 0, 0},
    {"day-of-month", 1, 31, nullptr, 0, 0},
    {"month", 1, 12, kMonthNames, 1, 12},
    {"day-of-week", 0, 7, kDowNames, 0, 7},
}};

// A number or a name of `f` -> value, or -1.
int FieldValue(std::string_view s, const FieldSpec& f) {
  if (s.empty()) return -1;
  if (IsDigit(s[0])) {
    if (s.size() > 4) return -1;
    int v = 0;
    for (char c : s) {
      if (!IsDigit(c)) return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  }
  const std::string low = Lower(s);
  for (int k = 0; k < f.names_count; ++k) {
    if (low == f.names[k]) return f.names_base + k;
  }
  return -1;
}

// Parses one cron field into bits [lo..hi]. Returns "" or why it is bad.
std::string ParseField(std::string_view field, const FieldSpec& f, std::vector<bool>& bits) {
  bits.assign(f.hi + 1, false);
  size_t start = 0;
  while (true) {
    const size_t comma = field.find(',', start);
    const std::string_view item = field.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (item.empty()) return "empty list item";
    std::string_view base = item;
    int step = 1;
    bool has_step = false;
    if (const size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      const std::string_view st = item.substr(slash + 1);
      step = (st.empty() || !IsDigit(st[0])) ? -1 : FieldValue(st, kFields[0]);
      if (step < 1) return "step '" + std::string(st) + "' must be a number >= 1";
      has_step = true;
    }
    int lo = 0, hi = 0;
    if (base == "*") {
      lo = f.lo;
      hi = f.hi;
    } else {
      const size_t dash = base.find('-');
      const std::string_view a = base.substr(0, dash);
      lo = FieldValue(a, f);
      if (lo < f.lo || lo > f.hi) return "'" + std::string(a) + "' is not a valid " + f.name;
      if (dash != std::string_view::npos) {
        const std::string_view b = base.substr(dash + 1);
        hi = FieldValue(b, f);
        if (hi < f.lo || hi > f.hi) return "'" + std::string(b) + "' is not a valid " + f.name;
        if (hi < lo) return "range '" + std::string(base) + "' runs backwards";
      } else {
        hi = has_step ? f.hi : lo;
      }
    }
    for (int v = lo; v <= hi; v += step) bits[v] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return "";
}

Status CronError(std::string_view text, const std::string& why) {
  return InvalidArgument("invalid schedule '" + std::string(text) + "': " + why +
                         " (want \"every 10m\", a cron expression like \"*/15 * * * *\" or a window "
                         "like \"01:00-05:00\")");
}

Status ParseCron(std::string_view text, std::string_view expr, size_t expr_offset, Schedule& s, size_t* error_offset) {
  std::vector<std::pair<std::string_view, size_t>> fields;
  size_t i = 0;
  while (i < expr.size()) {
    if (expr[i] == ' ' || expr[i] == '\t') {
      ++i;
      continue;
    }
    const size_t b = i;
    while (i < expr.size() && expr[i] != ' ' && expr[i] != '\t') ++i;
    fields.emplace_back(expr.substr(b, i - b), expr_offset + b);
  }
  if (fields.size() != 5) {
    if (error_offset) *error_offset = 0;
    return CronError(text, "a cron expression has 5 fields, not " + std::to_string(fields.size()));
  }
  std::array<std::vector<bool>, 5> bits;
  for (size_t k = 0; k < 5; ++k) {
    const std::string why = ParseField(fields[k].first, kFields[k], bits[k]);
    if (!why.empty()) {
      if (error_offset) *error_offset = fields[k].second;
      return CronError(text, std::string(kFields[k].name) + " field '" + std::string(fields[k].first) + "': " + why);
    }
  }
  s.kind = Schedule::Kind::kCron;
  for (int h = 0; h < 24; ++h)
    for (int m = 0; m < 60; ++m)
      if (bits[1][h] && bits[0][m]) s.day_secs.push_back(h * 3600 + m * 60);
  for (int d = 1; d <= 31; ++d) s.dom[d] = bits[2][d];
  for (int m = 1; m <= 12; ++m) s.month[m] = bits[3][m];
  for (int w = 0; w <= 7; ++w)
    if (bits[4][w]) s.dow[w % 7] = true;
  s.dom_star = fields[2].first[0] == '*';
  s.dow_star = fields[4].first[0] == '*';
  return Status::Ok();
}

Status ParseEvery(std::string_view text, Schedule& s, size_t* error_offset) {
  size_t i = 5;
  while (i < text.size() && text[i] == ' ') ++i;
  if (i == 5) return CronError(text, "want a space after 'every'");
  if (error_offset) *error_offset = i;
  auto d = ParseDuration(text.substr(i));
  if (!d.ok()) return CronError(text, d.status().message());
  const int64_t ns = *d;
  constexpr int64_t kDayNs = int64_t{kSecPerDay} * kNsPerSec;
  if (ns % kNsPerSec != 0 || (kDayNs % ns != 0 && ns % kDayNs != 0))
    return CronError(text, "the interval must divide 24h evenly (e.g. 30s, 5m, 90m, 8h) or be whole days");
  s.kind = Schedule::Kind::kEvery;
  s.every_ns = ns;
  if (ns >= kDayNs) {
    s.every_days = ns / kDayNs;
    s.day_secs = {0};
  } else {
    for (int64_t t = 0; t < kDayNs; t += ns) s.day_secs.push_back(static_cast<int32_t>(t / kNsPerSec));
  }
  return Status::Ok();
}

}  // namespace

Result<Zone> ParseZone(std::string_view text) {
  if (text == "UTC" || text == "Z") return Zone::Utc();
  if (text.size() == 6 && (text[0] == '+' || text[0] == '-') && text[3] == ':') {
    const int h = TwoDigits(text, 1), m = TwoDigits(text, 4);
    if (h >= 0 && h <= 23 && m >= 0 && m <= 59) {
      const int32_t off = h * 3600 + m * 60;
      return Zone::FixedOffset(text[0] == '-' ? -off : off);
    }
  }
  return InvalidArgument("invalid time zone '" + std::string(text) + "' (want \"UTC\" or an offset like \"+02:00\")");
}

Result<Window> ParseWindow(std::string_view text) {
  Window w;
  w.start_s = LooksLikeWindow(text) ? ClockTime(text, 0, 23) : -1;
  w.end_s = LooksLikeWindow(text) ? ClockTime(text, 6, 24) : -1;
  if (w.start_s < 0 || w.end_s < 0 || w.end_s == 0)
    return InvalidArgument("invalid window '" + std::string(text) + "' (want HH:MM-HH:MM, e.g. \"01:00-05:00\")");
  if (w.start_s == w.end_s || (w.start_s == 0 && w.end_s == kSecPerDay))
    return InvalidArgument("invalid window '" + std::string(text) + "': it must not be empty or the whole day");
  return w;
}

Result<Schedule> ParseSchedule(std::string_view text, size_t* error_offset) {
  if (error_offset) *error_offset = 0;
  Schedule s;
  s.text = std::string(text);
  if (text.substr(0, 5) == "every") {
    LB_RETURN_IF_ERROR(ParseEvery(text, s, error_offset));
  } else if (!text.empty() && text[0] == '@') {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kMacros = {{
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    }};
    const auto it = std::find_if(kMacros.begin(), kMacros.end(), [&](const auto& m) { return m.first == text; });
    if (it == kMacros.end()) return CronError(text, "unknown macro");
    LB_RETURN_IF_ERROR(ParseCron(text, it->second, 0, s, nullptr));
  } else if (LooksLikeWindow(text)) {
    LB_ASSIGN_OR_RETURN(Window w, ParseWindow(text));
    s.kind = Schedule::Kind::kWindow;
    s.day_secs = {w.start_s};
    s.window = w;
    s.window_text = std::string(text);
  } else {
    LB_RETURN_IF_ERROR(ParseCron(text, text, 0, s, error_offset));
  }
  s.worst_gap_ns = WorstGap(s);
  if (s.worst_gap_ns <= 0) {
    if (error_offset) *error_offset = 0;
    return CronError(text, "it never fires");
  }
  return s;
}

Result<Schedule> WithWindow(Schedule s, const Window& w, std::string_view window_text) {
  if (s.window) return InvalidArgument("schedule '" + s.text + "' is already a window; do not also set a window");
  s.window = w;
  s.window_text = std::string(window_text);
  s.worst_gap_ns = WorstGap(s);
  return s;
}

}  // namespace lb::policy
