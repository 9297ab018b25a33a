// Strict readers for values decoded by nlohmann::json (JSON or CBOR) from
// repository files. nlohmann's get<T>() truncates floats (undefined behaviour
// when out of range) and wraps integers; these throw instead, and every caller
// catches and reports kCorrupt. Header-only; include only where nlohmann is used.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace lb::json_checked {

// An integer of type T, or std::out_of_range / std::invalid_argument.
template <typename T>
T Int(const nlohmann::json& j, const char* what) {
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (!std::in_range<T>(v)) throw std::out_of_range(std::string(what) + " out of range");
    return static_cast<T>(v);
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (!std::in_range<T>(v)) throw std::out_of_range(std::string(what) + " out of range");
    return static_cast<T>(v);
  }
  throw std::invalid_argument(std::string(what) + " is not an integer");
}

// An optional integer field of map `j`: `def` when absent.
template <typename T>
T OptInt(const nlohmann::json& j, const char* key, T def) {
  auto it = j.find(key);
  return it == j.end() ? def : Int<T>(*it, key);
}

// A string, or std::invalid_argument.
inline const std::string& Str(const nlohmann::json& j, const char* what) {
  if (!j.is_string()) throw std::invalid_argument(std::string(what) + " is not a string");
  return j.get_ref<const std::string&>();
}

}  // namespace lb::json_checked
