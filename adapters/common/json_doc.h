// A JSON document that remembers where every value is, and a reader that
// collects located problems instead of stopping at the first.
//
// Only JSON is read (RFC 8259): the text is first checked strictly
// (util/strict_json.h: no comments, unquoted keys, single quotes, trailing
// commas, NaN), then parsed with yaml-cpp (JSON is a subset of YAML's flow
// style), which keeps the line and column of every node; a key repeated in an
// object is refused. yaml-cpp throws; nothing thrown leaves this module.
// Problems read `file:line:col: field.path: rule` (util/located_input.h), with
// 1-based lines and columns, paths like `persons[1].role` ("(document)" for
// the top level).
//
// Typing follows the text, not YAML's guesses: a string must be quoted, a
// number must be an unquoted JSON number, so `"length_m": "9.5"` is a wrong
// type, as is `"summary": 12`.
#ifndef PORTCULLIS_ADAPTERS_COMMON_JSON_DOC_H_
#define PORTCULLIS_ADAPTERS_COMMON_JSON_DOC_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "util/located_input.h"

namespace YAML {
class Node;
}

namespace portcullis::adapters {

// Largest native JSON file JsonDoc::Load reads.
inline constexpr size_t kMaxJsonDocBytes = 16 * 1024 * 1024;

// One value in a document, with its place. Cheap to copy. An absent value
// (a missing field) has present() false and the place of its parent object.
class JsonValue {
 public:
  JsonValue();
  bool present() const;
  int line() const { return at_.line; }  // 1-based
  int col() const { return at_.column; }  // 1-based
  const std::string& path() const { return path_; }

 private:
  friend class JsonDoc;
  friend class JsonReader;
  std::shared_ptr<const YAML::Node> node_;  // null when absent
  Location at_;
  std::string path_;
};

// A parsed JSON file. Immutable after loading; safe to share between threads.
class JsonDoc {
 public:
  // Reads and parses the file at `path`. NOT_FOUND if it cannot be opened,
  // FAILED_PRECONDITION if it is too large, INVALID_ARGUMENT if it is not
  // JSON (`path:line:col: (document): not valid JSON: <what>`, at the place
  // the strict check stopped) or repeats a key in an object (one line per
  // repeat: `path:line:col: field.path: duplicate key; first at line N`).
  static absl::StatusOr<JsonDoc> Load(const std::string& path);
  // Parses `text`; `source_name` stands for the file name in messages.
  static absl::StatusOr<JsonDoc> Parse(const std::string& text, const std::string& source_name);

  const std::string& source_name() const { return source_name_; }
  JsonValue root() const { return root_; }

 private:
  std::string source_name_;
  JsonValue root_;
};

// Typed, located access to a JsonDoc. Each getter records a problem when the
// value is missing (if required), of the wrong type or out of its rule, and
// returns nullopt (or an empty value); the caller carries on so that every
// problem in the document is found in one pass. Not thread-safe.
class JsonReader {
 public:
  explicit JsonReader(const JsonDoc& doc);

  JsonValue Root() const { return doc_.root(); }

  // Checks that `value` is an object and that it has no key outside `allowed`
  // (each unknown key is a problem at the key). False if `value` is not an
  // object (recorded). (No key repeats: JsonDoc refuses that.)
  bool Object(const JsonValue& value, std::initializer_list<std::string_view> allowed);
  // The member `key` of object `object` (absent if missing or not an object).
  JsonValue Field(const JsonValue& object, std::string_view key) const;

  // A non-empty string.
  std::optional<std::string> RequiredString(const JsonValue& object, std::string_view key);
  // A string if present (may not be empty either: leave the field out).
  std::optional<std::string> OptionalString(const JsonValue& object, std::string_view key);
  // A JSON number within [min, max].
  std::optional<double> Number(const JsonValue& object, std::string_view key, bool required, double min,
                               double max);
  // A JSON integer within [min, max].
  std::optional<int64_t> Integer(const JsonValue& object, std::string_view key, bool required, int64_t min,
                                 int64_t max);
  // The elements of an array (empty if absent or not an array). With
  // `required`, an absent or empty array is a problem.
  std::vector<JsonValue> Array(const JsonValue& object, std::string_view key, bool required);
  // An array of non-empty strings.
  std::vector<std::string> StringArray(const JsonValue& object, std::string_view key, bool required);
  // A string that is one of `allowed`; returns its index in `allowed`.
  std::optional<size_t> Enum(const JsonValue& object, std::string_view key, bool required,
                             std::initializer_list<std::string_view> allowed);
  // An RFC 3339 / ISO 8601 date-time with an offset, e.g. "2026-03-14T02:40:00Z".
  std::optional<absl::Time> Timestamp(const JsonValue& object, std::string_view key, bool required);
  // A calendar date "YYYY-MM-DD" that exists.
  std::optional<std::string> Date(const JsonValue& object, std::string_view key, bool required);
  // The string `value` itself (for array elements).
  std::optional<std::string> StringValue(const JsonValue& value);

  // Records a problem at `at`.
  void Add(const JsonValue& at, std::string rule);

  // Every problem, one per line: `file:line:col: field.path: rule`.
  std::vector<std::string> FormattedProblems() const;
  // OK without problems, otherwise INVALID_ARGUMENT whose message lists every
  // problem, one per line.
  absl::Status status() const;

 private:
  // The member `key` if present; else nullopt, after recording "required"
  // when `required` and `object` is present.
  std::optional<JsonValue> Member(const JsonValue& object, std::string_view key, bool required);

  const JsonDoc& doc_;
  ProblemList problems_;
};

// A JSON value under construction, for writing: members keep their insertion
// order. Numbers are written in the shortest form that reads back exactly.
class JsonOut {
 public:
  JsonOut() = default;  // An empty object, as Object().
  static JsonOut Object();
  static JsonOut Array();
  static JsonOut String(std::string value);
  static JsonOut Number(double value);
  static JsonOut Integer(int64_t value);

  // Object: adds a member (keys are not checked for duplicates).
  JsonOut& Set(std::string key, JsonOut value);
  // Array: appends an element.
  JsonOut& Push(JsonOut value);
  bool empty() const { return members_.empty(); }

  // Pretty-printed with two-space indentation, with a final newline at depth 0.
  std::string Dump() const;
  // Compact, on one line, without a final newline (JSON Lines).
  std::string DumpLine() const;

 private:
  enum class Kind { kObject, kArray, kString, kNumber };
  JsonOut(Kind kind, std::string scalar);
  void DumpTo(std::string* out, int depth, bool pretty) const;
  Kind kind_ = Kind::kObject;
  std::string scalar_;  // string value, or the number's text
  std::vector<std::pair<std::string, JsonOut>> members_;  // array elements have empty keys
};

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_JSON_DOC_H_
