// Internal to lb_policy: typed, position-aware access to a toml++ tree that
// collects errors instead of stopping at the first. Not part of the API.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace lb::policy::internal {

class TomlReader {
 public:
  explicit TomlReader(std::string file) : file_(std::move(file)) {}

  static Pos PosOf(const toml::node& n) {
    return {static_cast<int>(n.source().begin.line), static_cast<int>(n.source().begin.column)};
  }
  static Pos PosOf(const toml::key& k) {
    return {static_cast<int>(k.source().begin.line), static_cast<int>(k.source().begin.column)};
  }

  void Error(Pos pos, std::string message);
  bool has_errors() const { return !errors_.empty(); }
  // The first error in file order, " (and N more errors)" appended if needed.
  Status FirstError() const;

  // Reports every key of `t` not in `allowed` as "unknown key 'k' in CTX (want ...)".
  void CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed, const std::string& ctx);
  // Reports each key in `required` missing from `t` at `pos`.
  void Require(const toml::table& t, Pos pos, std::initializer_list<std::string_view> required, const std::string& ctx);

  // Typed getters: report "'key' in CTX must be a <want>, not a <type>" and
  // return nullopt on a type mismatch. `what` is "'key' in CTX".
  std::optional<std::string> String(const toml::node& n, const std::string& what, bool non_empty = true);
  std::optional<int64_t> Integer(const toml::node& n, const std::string& what);
  std::optional<std::vector<std::string>> Strings(const toml::node& n, const std::string& what);
  const toml::table* Table(const toml::node& n, const std::string& what);
  std::optional<int64_t> Duration(const toml::node& n, const std::string& what);
  std::optional<uint64_t> Size(const toml::node& n, const std::string& what);
  // Names refer to targets/services: [A-Za-z0-9._-]+.
  std::optional<std::vector<Ref>> Names(const toml::node& n, const std::string& what);

  // Position of character `offset` of string node `n` when the string is
  // written plainly on one line (no escapes), else the node's position.
  static Pos CharPos(const toml::node& n, size_t offset);

 private:
  void TypeError(const toml::node& n, const std::string& what, const char* want);
  std::string file_;
  std::vector<std::pair<Pos, std::string>> errors_;
};

bool ValidName(std::string_view name);
std::string Quote(std::string_view s);  // 'name'

}  // namespace lb::policy::internal
