// Internal to the config loader (config_loader.cc and the *_section.cc files):
// the readers every section uses. Each checks one YAML node, adds what is
// wrong to the Context's ProblemList (util/located_input.h) and returns
// nullopt (or ok() == false) instead of stopping, so that one load reports
// every problem. yaml-cpp is only used through IsScalar/IsMap/..., Scalar(),
// iteration and Mark(), none of which throw on a valid node.
//
// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so the loader uses absl::string_view throughout.
#ifndef PORTCULLIS_GATEWAY_CONFIG_CONFIG_READER_H_
#define PORTCULLIS_GATEWAY_CONFIG_CONFIG_READER_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gateway/config/config.h"
#include "util/located_yaml.h"

namespace portcullis::config_internal {

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kGiB = 1024 * kMiB;
constexpr int64_t kSecondMs = 1000;
constexpr int64_t kHourMs = 3600 * kSecondMs;
constexpr int64_t kDayMs = 24 * kHourMs;

struct Context {
  ProblemList problems;
  std::filesystem::path base_dir;  // Absolute; relative paths in the config resolve here.
};

// A YAML value with its position and its field path ("parties[2].id").
struct Field {
  YAML::Node node;
  YAML::Mark mark;
  std::string path;
};

// Null values carry the position of whatever follows them; report those at
// the key (or list) that introduced them instead.
YAML::Mark MarkOr(const YAML::Node& node, const YAML::Mark& fallback);

// A mapping with known keys. Null counts as an empty mapping, so a section
// whose entries are all commented out still reports its missing keys.
class MapReader {
 public:
  MapReader(Context& ctx, const Field& self, std::vector<absl::string_view> allowed);

  bool ok() const { return ok_; }
  std::optional<Field> Get(absl::string_view key) const;
  // Like Get, but a missing key is reported ("is required") at the mapping.
  std::optional<Field> Require(absl::string_view key) const;

 private:
  Context& ctx_;
  Field self_;
  bool ok_ = true;
  std::map<std::string, Field> entries_;
};

// Every string in the schema is mandatory once its key is present.
std::optional<std::string> ReadString(Context& ctx, const Field& f);
// The same, where an empty string (e.g. `${VAR:-}`) means "none".
std::optional<std::string> ReadStringOrEmpty(Context& ctx, const Field& f);
std::optional<int64_t> ReadInt(Context& ctx, const Field& f, int64_t min, int64_t max);
std::optional<std::vector<Field>> ReadList(Context& ctx, const Field& f);
// TOP_SECRET is a known marking but never valid here, so it gets its own message.
std::optional<v1::Classification> ReadClassification(Context& ctx, const Field& f);
// "host:port" or "[ipv6]:port", port at least `min_port`.
std::optional<std::string> ReadAddress(Context& ctx, const Field& f, int min_port);
std::optional<std::string> ReadSpiffeId(Context& ctx, const Field& f);

// A path, resolved against ctx.base_dir and normalised.
std::optional<std::string> ReadPath(Context& ctx, const Field& f);
enum class PathKind { kFile, kDirectory };
// Reports unless `resolved` exists, has the right kind and is readable.
void CheckReadable(Context& ctx, const Field& f, const std::string& resolved, PathKind kind);
// A file the gateway writes (created if missing): its folder must exist.
void ReadDataFilePath(Context& ctx, const Field& field, std::string* out, bool check = true);

// Names as written in the config and their values (config.h's *Names()).
template <typename T>
using NameTable = std::vector<std::pair<const char*, T>>;

// The value named by `text` in `names`, or nullopt after reporting it.
template <typename T>
std::optional<T> LookupName(Context& ctx, const Field& f, absl::string_view text, const NameTable<T>& names,
                            absl::string_view what) {
  std::vector<absl::string_view> allowed;
  for (const auto& [name, value] : names) {
    if (text == name) return value;
    allowed.push_back(name);
  }
  ctx.problems.Add(
      f.mark, f.path,
      absl::StrCat("unknown ", what, " '", text, "' (allowed: ", absl::StrJoin(allowed, ", "), ")"));
  return std::nullopt;
}

template <typename T>
std::optional<T> ReadEnum(Context& ctx, const Field& f, const NameTable<T>& names, absl::string_view what) {
  std::optional<std::string> text = ReadString(ctx, f);
  if (!text.has_value()) return std::nullopt;
  return LookupName(ctx, f, *text, names, what);
}

// One bounded integer key of a struct S (int or int64_t member).
template <typename S>
struct IntRule {
  absl::string_view key;
  int64_t min;
  int64_t max;
  int S::*member = nullptr;
  int64_t S::*member64 = nullptr;
};

// Reads every rule's key that is present; returns the mapping for cross-checks.
template <typename S>
MapReader ParseIntSection(Context& ctx, const Field& f, const std::vector<IntRule<S>>& rules, S* out) {
  std::vector<absl::string_view> allowed;
  for (const IntRule<S>& rule : rules) allowed.push_back(rule.key);
  MapReader map(ctx, f, allowed);
  if (!map.ok()) return map;
  for (const IntRule<S>& rule : rules) {
    std::optional<Field> field = map.Get(rule.key);
    if (!field.has_value()) continue;
    std::optional<int64_t> value = ReadInt(ctx, *field, rule.min, rule.max);
    if (!value.has_value()) continue;
    if (rule.member != nullptr) out->*rule.member = static_cast<int>(*value);
    if (rule.member64 != nullptr) out->*rule.member64 = *value;
  }
  return map;
}

}  // namespace portcullis::config_internal

#endif  // PORTCULLIS_GATEWAY_CONFIG_CONFIG_READER_H_
