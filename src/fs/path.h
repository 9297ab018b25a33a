// Path strings as lifeboat builds them while walking: absolute, '/'-separated,
// no trailing slash except the root itself.
#pragma once

#include <string>

namespace lb::fs {

// `dir`/`name` for a directory path and one entry name ("/" + "etc" -> "/etc").
inline std::string JoinPath(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

}  // namespace lb::fs
