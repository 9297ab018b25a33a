// Path patterns for --exclude / --include (backup and restore).
//
// A pattern without '/' matches any path whose last component matches it
// ("*.tmp", "node_modules"). A pattern with '/' matches absolute paths from the
// start ("/etc/nginx", "/home/*/cache"); "**" matches any number of components.
// A pattern that matches a directory also matches everything below it.
#pragma once

#include <string>
#include <vector>

namespace lb::fs {

class PatternList {
 public:
  PatternList() = default;
  explicit PatternList(std::vector<std::string> patterns);
  bool empty() const { return patterns_.empty(); }
  // True when `path` (absolute) or one of its parent directories matches.
  bool Matches(const std::string& path) const;
  // True when some path below directory `dir` could match (used to decide whether
  // to descend while looking for included entries).
  bool MayMatchBelow(const std::string& dir) const;

 private:
  std::vector<std::string> patterns_;
};

// Matches one pattern against one path (no parent-directory rule).
bool MatchPattern(const std::string& pattern, const std::string& path);

}  // namespace lb::fs
