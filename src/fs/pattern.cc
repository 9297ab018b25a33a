#include "fs/pattern.h"

#include <fnmatch.h>

namespace lb::fs {

namespace {

std::vector<std::string> SplitPath(const std::string& p) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    if (j > i) out.push_back(p.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool MatchParts(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& path,
                size_t xi) {
  if (pi == pat.size()) return xi == path.size();
  if (pat[pi] == "**") {
    for (size_t k = xi; k <= path.size(); ++k)
      if (MatchParts(pat, pi + 1, path, k)) return true;
    return false;
  }
  if (xi == path.size()) return false;
  if (fnmatch(pat[pi].c_str(), path[xi].c_str(), FNM_PERIOD) != 0) return false;
  return MatchParts(pat, pi + 1, path, xi + 1);
}

// Could the pattern match some path that starts with `dir`'s components?
bool PrefixCompatible(const std::vector<std::string>& pat, size_t pi,
                      const std::vector<std::string>& dir, size_t xi) {
  if (xi == dir.size()) return true;
  if (pi == pat.size()) return false;
  if (pat[pi] == "**") return true;
  if (fnmatch(pat[pi].c_str(), dir[xi].c_str(), FNM_PERIOD) != 0) return false;
  return PrefixCompatible(pat, pi + 1, dir, xi + 1);
}

}  // namespace

bool MatchPattern(const std::string& pattern, const std::string& path) {
  if (pattern.find('/') == std::string::npos) {
    size_t slash = path.rfind('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    return fnmatch(pattern.c_str(), base.c_str(), 0) == 0;
  }
  return MatchParts(SplitPath(pattern), 0, SplitPath(path), 0);
}

PatternList::PatternList(std::vector<std::string> patterns) {
  for (auto& p : patterns) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (!p.empty()) patterns_.push_back(std::move(p));
  }
}

bool PatternList::Matches(const std::string& path) const {
  for (const auto& p : patterns_) {
    std::string cur = path;
    for (;;) {
      if (MatchPattern(p, cur)) return true;
      size_t slash = cur.rfind('/');
      if (slash == std::string::npos || slash == 0) break;
      cur.resize(slash);
    }
  }
  return false;
}

bool PatternList::MayMatchBelow(const std::string& dir) const {
  auto parts = SplitPath(dir);
  for (const auto& p : patterns_) {
    if (p.find('/') == std::string::npos) return true;
    if (PrefixCompatible(SplitPath(p), 0, parts, 0)) return true;
  }
  return false;
}

}  // namespace lb::fs
