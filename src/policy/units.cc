#include "policy/units.h"

#include <array>
#include <utility>

#include "retention/retention.h"

namespace lb::policy {

Result<int64_t> ParseDuration(std::string_view text) {
  // Rewrite the unit "m" (a lone 'm' not starting "min") to "min".
  std::string rewritten;
  rewritten.reserve(text.size() + 4);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == 'm' && text.substr(i, 3) != "min") {
      rewritten += "min";
    } else {
      rewritten += text[i];
    }
  }
  Result<int64_t> r = retention::ParseDuration(rewritten);
  if (!r.ok()) {
    return InvalidArgument("invalid duration '" + std::string(text) +
                           "' (want e.g. 30s, 15m, 1h30m, 7d, 2w; units y w d h m s, largest first, "
                           "each once, total > 0)");
  }
  return r;
}

std::string FormatDuration(int64_t ns) { return retention::FormatDuration(ns); }

std::string FormatTime(TimeNs t) {
  std::string s = FormatTimeRfc3339(t);  // "...:SS.nnnnnnnnnZ"
  const size_t dot = s.rfind('.');
  if (dot == std::string::npos) return s;
  size_t end = s.size() - 1;  // the 'Z'
  while (end > dot + 1 && s[end - 1] == '0') --end;
  if (end == dot + 1) --end;  // no fraction left: drop the dot too
  return s.substr(0, end) + "Z";
}

Result<uint64_t> ParseSize(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 12> kUnits = {{
      {"B", 1},
      {"kB", 1000ULL},
      {"KB", 1000ULL},
      {"MB", 1000ULL * 1000},
      {"GB", 1000ULL * 1000 * 1000},
      {"TB", 1000ULL * 1000 * 1000 * 1000},
      {"PB", 1000ULL * 1000 * 1000 * 1000 * 1000},
      {"KiB", 1ULL << 10},
      {"MiB", 1ULL << 20},
      {"GiB", 1ULL << 30},
      {"TiB", 1ULL << 40},
      {"PiB", 1ULL << 50},
  }};
  auto fail = [&] {
    return InvalidArgument("invalid size '" + std::string(text) +
                           "' (want e.g. 512MiB, 40GiB, 2TB; units B kB MB GB TB PB KiB MiB GiB TiB PiB)");
  };
  size_t i = 0;
  uint64_t n = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, static_cast<uint64_t>(text[i] - '0'), &n))
      return fail();
  }
  if (i == 0) return fail();
  const std::string_view unit = text.substr(i);
  for (const auto& [name, mult] : kUnits) {
    if (unit != name) continue;
    uint64_t total = 0;
    if (__builtin_mul_overflow(n, mult, &total)) return fail();
    return total;
  }
  return fail();
}

}  // namespace lb::policy
