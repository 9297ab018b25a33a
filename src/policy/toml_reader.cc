#include "policy/toml_reader.h"

#include <algorithm>

#include "policy/units.h"

namespace lb::policy::internal {
namespace {

const char* TypeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

bool Before(Pos a, Pos b) { return a.line != b.line ? a.line < b.line : a.col < b.col; }

}  // namespace

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

void TomlReader::Error(Pos pos, std::string message) { errors_.emplace_back(pos, std::move(message)); }

Status TomlReader::FirstError() const {
  if (errors_.empty()) return Status::Ok();
  const auto first = std::min_element(errors_.begin(), errors_.end(),
                                      [](const auto& a, const auto& b) { return Before(a.first, b.first); });
  std::string msg = Where(file_, first->first) + ": " + first->second;
  if (errors_.size() > 1) {
    const size_t more = errors_.size() - 1;
    msg += " (and " + std::to_string(more) + (more == 1 ? " more error)" : " more errors)");
  }
  return InvalidArgument(msg);
}

void TomlReader::CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                           const std::string& ctx) {
  for (auto&& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
    std::string want;
    for (std::string_view a : allowed) want += (want.empty() ? "" : ", ") + std::string(a);
    Error(PosOf(k), "unknown key " + Quote(k.str()) + " in " + ctx + " (want " + want + ")");
  }
}

void TomlReader::Require(const toml::table& t, Pos pos, std::initializer_list<std::string_view> required,
                         const std::string& ctx) {
  for (std::string_view r : required) {
    if (!t.contains(r)) Error(pos, ctx + " is missing required key " + Quote(r));
  }
}

void TomlReader::TypeError(const toml::node& n, const std::string& what, const char* want) {
  Error(PosOf(n), what + " must be " + want + ", not " + TypeName(n.type()));
}

std::optional<std::string> TomlReader::String(const toml::node& n, const std::string& what, bool non_empty) {
  const auto* s = n.as_string();
  if (s == nullptr) {
    TypeError(n, what, "a string");
    return std::nullopt;
  }
  if (non_empty && s->get().empty()) {
    Error(PosOf(n), what + " must not be empty");
    return std::nullopt;
  }
  return s->get();
}

std::optional<int64_t> TomlReader::Integer(const toml::node& n, const std::string& what) {
  const auto* i = n.as_integer();
  if (i == nullptr) {
    TypeError(n, what, "an integer");
    return std::nullopt;
  }
  return i->get();
}

std::optional<std::vector<std::string>> TomlReader::Strings(const toml::node& n, const std::string& what) {
  const auto* a = n.as_array();
  if (a == nullptr) {
    TypeError(n, what, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const toml::node& e : *a) {
    auto s = String(e, "each element of " + what);
    if (s) out.push_back(*s);
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

const toml::table* TomlReader::Table(const toml::node& n, const std::string& what) {
  const auto* t = n.as_table();
  if (t == nullptr) TypeError(n, what, "a table");
  return t;
}

std::optional<int64_t> TomlReader::Duration(const toml::node& n, const std::string& what) {
  if (!n.is_string()) {
    TypeError(n, what, "a string (a duration like \"15m\")");
    return std::nullopt;
  }
  auto d = ParseDuration(n.as_string()->get());
  if (!d.ok()) {
    Error(PosOf(n), what + ": " + d.status().message());
    return std::nullopt;
  }
  return *d;
}

std::optional<uint64_t> TomlReader::Size(const toml::node& n, const std::string& what) {
  if (!n.is_string()) {
    TypeError(n, what, "a string (a size like \"40GiB\")");
    return std::nullopt;
  }
  auto s = ParseSize(n.as_string()->get());
  if (!s.ok()) {
    Error(PosOf(n), what + ": " + s.status().message());
    return std::nullopt;
  }
  return *s;
}

std::optional<std::vector<Ref>> TomlReader::Names(const toml::node& n, const std::string& what) {
  const auto* a = n.as_array();
  if (a == nullptr) {
    TypeError(n, what, "an array of names");
    return std::nullopt;
  }
  std::vector<Ref> out;
  bool ok = true;
  for (const toml::node& e : *a) {
    auto s = String(e, "each element of " + what);
    if (s && !ValidName(*s)) {
      Error(PosOf(e), Quote(*s) + " in " + what + " is not a valid name (letters, digits, '.', '_', '-')");
      s.reset();
    }
    if (s && std::any_of(out.begin(), out.end(), [&](const Ref& r) { return r.name == *s; })) {
      Error(PosOf(e), Quote(*s) + " appears twice in " + what);
      s.reset();
    }
    if (s) out.push_back({*s, PosOf(e)});
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

Pos TomlReader::CharPos(const toml::node& n, size_t offset) {
  const Pos p = PosOf(n);
  const auto& src = n.source();
  const auto* s = n.as_string();
  if (s == nullptr || src.end.line != src.begin.line ||
      static_cast<size_t>(src.end.column - src.begin.column) != s->get().size() + 2)
    return p;
  return {p.line, p.col + 1 + static_cast<int>(offset)};
}

}  // namespace lb::policy::internal
