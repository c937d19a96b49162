// Reading fields of a JSON object that came from someone else without ever throwing: each
// getter checks the type first, and the first problem is kept as a message.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kplug::control {

class JsonFields {
 public:
  // OBJ must outlive this reader. A value that is not an object is an error at once.
  JsonFields(const nlohmann::json& obj, std::string what) : obj_(obj), what_(std::move(what)) {
    if (!obj_.is_object()) fail("", "an object");
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool has(const char* key) const { return obj_.is_object() && obj_.contains(key); }

  // Each returns FALLBACK when KEY is missing; a value of the wrong type is an error.
  bool boolean(const char* key, bool fallback = false) {
    const auto* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) return fail(key, "true or false"), fallback;
    return v->get<bool>();
  }
  std::string string(const char* key, std::string fallback = {}) {
    const auto* v = find(key);
    if (!v) return fallback;
    if (!v->is_string()) return fail(key, "a string"), fallback;
    return v->get<std::string>();
  }
  double number(const char* key, double fallback = 0) {
    const auto* v = find(key);
    if (!v) return fallback;
    if (!v->is_number()) return fail(key, "a number"), fallback;
    return v->get<double>();
  }
  std::uint64_t count(const char* key, std::uint64_t fallback = 0) {
    const auto* v = find(key);
    if (!v) return fallback;
    return as_count(*v, key, fallback);
  }
  std::int64_t integer(const char* key, std::int64_t fallback = 0) {
    const auto* v = find(key);
    if (!v) return fallback;
    if (v->is_number_unsigned() && v->get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int64_t>::max()))
      return static_cast<std::int64_t>(v->get<std::uint64_t>());
    if (v->is_number_integer() && !v->is_number_unsigned()) return v->get<std::int64_t>();
    return fail(key, "an integer"), fallback;
  }
  std::vector<std::string> strings(const char* key) {
    std::vector<std::string> out;
    const auto* v = find(key);
    if (!v) return out;
    if (!v->is_array()) return fail(key, "a list of strings"), out;
    for (const auto& s : *v) {
      if (!s.is_string()) return fail(key, "a list of strings"), std::vector<std::string>{};
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  std::map<std::string, std::uint64_t> counts(const char* key) {
    std::map<std::string, std::uint64_t> out;
    const auto* v = find(key);
    if (!v) return out;
    if (!v->is_object()) return fail(key, "an object of counts"), out;
    for (const auto& [name, n] : v->items()) out[name] = as_count(n, key, 0);
    return out;
  }
  // The raw value (null when missing), for nested objects and arrays.
  const nlohmann::json& raw(const char* key) const {
    static const nlohmann::json null;
    const auto* v = find(key);
    return v ? *v : null;
  }

  void fail(const std::string& key, const char* expected) {
    if (!error_.empty()) return;
    error_ = key.empty() ? what_ + " must be " + expected : what_ + ": '" + key + "' must be " + expected;
  }

 private:
  const nlohmann::json* find(const char* key) const {
    if (!obj_.is_object()) return nullptr;
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
  }
  std::uint64_t as_count(const nlohmann::json& v, const char* key, std::uint64_t fallback) {
    if (v.is_number_unsigned()) return v.get<std::uint64_t>();
    if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
    return fail(key, "a count (a whole number >= 0)"), fallback;
  }

  const nlohmann::json& obj_;
  std::string what_;
  std::string error_;
};

}  // namespace kplug::control
