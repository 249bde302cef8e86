#include "adapters/common/json_doc.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>

#include <yaml-cpp/yaml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "util/hex.h"
#include "util/located_yaml.h"
#include "util/strict_json.h"

namespace portcullis::adapters {
namespace {

constexpr char kDocumentPath[] = "(document)";

// A JSON number as JSON writes it (no YAML extras such as ".inf", "0x1F", "1_000").
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !absl::ascii_isdigit(s[i])) return false;
  if (s[i] == '0' && i + 1 < s.size() && absl::ascii_isdigit(s[i + 1])) return false;
  while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !absl::ascii_isdigit(s[i])) return false;
    while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !absl::ascii_isdigit(s[i])) return false;
    while (i < s.size() && absl::ascii_isdigit(s[i])) ++i;
  }
  return i == s.size();
}

// What a node holds, in JSON's terms (for "must be X, not Y").
std::string JsonTypeOf(const YAML::Node& node) {
  if (!node.IsScalar()) return DescribeNode(node, NodeWords{"null", "", "an array", "an object", "nothing"});
  if (node.Tag() == "!") return "a string";
  const std::string& s = node.Scalar();
  if (s == "true" || s == "false") return "a boolean";
  if (s == "null") return "null";
  if (IsJsonNumber(s)) return "a number";
  return "an unquoted word (not JSON)";
}

bool IsString(const YAML::Node& node) { return node.IsScalar() && node.Tag() == "!"; }

// The place of `mark`, or `fallback` when yaml-cpp has none.
Location PlaceOf(const YAML::Mark& mark, Location fallback) { return mark.is_null() ? fallback : LocationOf(mark); }

}  // namespace

JsonValue::JsonValue() = default;

bool JsonValue::present() const { return node_ != nullptr; }

absl::StatusOr<JsonDoc> JsonDoc::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxJsonDocBytes) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": larger than ", kMaxJsonDocBytes, " bytes"));
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return Parse(text, path);
}

absl::StatusOr<JsonDoc> JsonDoc::Parse(const std::string& text, const std::string& source_name) {
  // Strictly JSON first: yaml-cpp, which keeps every value's place, would
  // also take comments, unquoted keys, single quotes and trailing commas.
  if (std::optional<JsonSyntaxError> error = CheckStrictJson(text)) {
    return absl::InvalidArgumentError(
        FormatProblem(source_name, error->at, kDocumentPath, absl::StrCat("not valid JSON: ", error->message)));
  }
  ProblemList problems(source_name, ProblemListOptions{kDocumentPath, /*sort_by_position=*/true, 0});
  std::optional<YAML::Node> root = ParseYaml(text, YamlParseOptions{false, "not valid JSON: "}, problems);
  if (!root.has_value()) return problems.ToStatus();
  if (!root->IsMap() && !root->IsSequence()) {
    return absl::InvalidArgumentError(
        FormatProblem(source_name, Location{}, kDocumentPath, "must be a JSON object or array"));
  }
  // RFC 8259 leaves repeated keys to the reader; here they are refused, at
  // the repeat, rather than one of the two silently read.
  AddDuplicateKeys(*root, "", problems);
  if (!problems.empty()) return problems.ToStatus();
  JsonDoc doc;
  doc.source_name_ = source_name;
  doc.root_.at_ = LocationOf(root->Mark());
  doc.root_.node_ = std::make_shared<const YAML::Node>(*root);
  return doc;
}

JsonReader::JsonReader(const JsonDoc& doc) : doc_(doc), problems_(doc.source_name()) {}

void JsonReader::Add(const JsonValue& at, std::string rule) { problems_.Add(at.at_, at.path(), std::move(rule)); }

JsonValue JsonReader::Field(const JsonValue& object, std::string_view key) const {
  JsonValue out;
  out.at_ = object.at_;
  out.path_ = ChildPath(object.path_, absl::string_view(key.data(), key.size()));
  if (object.node_ == nullptr || !object.node_->IsMap()) return out;
  try {
    for (auto it = object.node_->begin(); it != object.node_->end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) {
        out.at_ = PlaceOf(it->second.Mark(), PlaceOf(it->first.Mark(), out.at_));
        out.node_ = std::make_shared<const YAML::Node>(it->second);
        return out;
      }
    }
  } catch (const YAML::Exception&) {
    // An unreadable member is treated as absent.
  }
  return out;
}

std::optional<JsonValue> JsonReader::Member(const JsonValue& object, std::string_view key, bool required) {
  JsonValue v = Field(object, key);
  if (v.present()) return v;
  if (required && object.present()) Add(v, "required");
  return std::nullopt;
}

bool JsonReader::Object(const JsonValue& value, std::initializer_list<std::string_view> allowed) {
  if (!value.present()) return false;
  if (!value.node_->IsMap()) {
    Add(value, absl::StrCat("must be an object, not ", JsonTypeOf(*value.node_)));
    return false;
  }
  // Repeated keys were refused by JsonDoc::Parse.
  try {
    for (auto it = value.node_->begin(); it != value.node_->end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
      bool known = false;
      for (std::string_view a : allowed) known = known || a == key;
      if (known) continue;
      JsonValue at;
      at.at_ = PlaceOf(it->first.Mark(), value.at_);
      at.path_ = ChildPath(value.path_, key);
      Add(at, "unknown field");
    }
  } catch (const YAML::Exception& e) {
    Add(value, absl::StrCat("unreadable object: ", e.msg));
  }
  return true;
}

std::optional<std::string> JsonReader::StringValue(const JsonValue& value) {
  if (!value.present()) return std::nullopt;
  if (!IsString(*value.node_)) {
    Add(value, absl::StrCat("must be a string, not ", JsonTypeOf(*value.node_)));
    return std::nullopt;
  }
  std::string s = value.node_->Scalar();
  if (s.empty()) {
    Add(value, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> JsonReader::RequiredString(const JsonValue& object, std::string_view key) {
  std::optional<JsonValue> v = Member(object, key, true);
  return v ? StringValue(*v) : std::nullopt;
}

std::optional<std::string> JsonReader::OptionalString(const JsonValue& object, std::string_view key) {
  return StringValue(Field(object, key));
}

std::optional<double> JsonReader::Number(const JsonValue& object, std::string_view key, bool required, double min,
                                         double max) {
  std::optional<JsonValue> v = Member(object, key, required);
  if (!v) return std::nullopt;
  const YAML::Node& n = *v->node_;
  double d = 0;
  if (!n.IsScalar() || n.Tag() == "!" || !IsJsonNumber(n.Scalar()) || !absl::SimpleAtod(n.Scalar(), &d) ||
      !std::isfinite(d)) {
    Add(*v, absl::StrCat("must be a number, not ", JsonTypeOf(n)));
    return std::nullopt;
  }
  if (d < min || d > max) {
    Add(*v, absl::StrCat("must be between ", min, " and ", max));
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> JsonReader::Integer(const JsonValue& object, std::string_view key, bool required,
                                           int64_t min, int64_t max) {
  std::optional<JsonValue> v = Member(object, key, required);
  if (!v) return std::nullopt;
  const YAML::Node& n = *v->node_;
  int64_t i = 0;
  if (!n.IsScalar() || n.Tag() == "!" || !IsJsonNumber(n.Scalar()) || !absl::SimpleAtoi(n.Scalar(), &i)) {
    Add(*v, absl::StrCat("must be a whole number, not ", JsonTypeOf(n)));
    return std::nullopt;
  }
  if (i < min || i > max) {
    Add(*v, absl::StrCat("must be between ", min, " and ", max));
    return std::nullopt;
  }
  return i;
}

std::vector<JsonValue> JsonReader::Array(const JsonValue& object, std::string_view key, bool required) {
  std::vector<JsonValue> out;
  std::optional<JsonValue> v = Member(object, key, required);
  if (!v) return out;
  if (!v->node_->IsSequence()) {
    Add(*v, absl::StrCat("must be an array, not ", JsonTypeOf(*v->node_)));
    return out;
  }
  if (required && v->node_->size() == 0) {
    Add(*v, "must not be empty");
    return out;
  }
  try {
    size_t index = 0;
    for (auto it = v->node_->begin(); it != v->node_->end(); ++it, ++index) {
      JsonValue e;
      e.at_ = PlaceOf(it->Mark(), v->at_);
      e.path_ = ItemPath(v->path_, index);
      e.node_ = std::make_shared<const YAML::Node>(*it);
      out.push_back(std::move(e));
    }
  } catch (const YAML::Exception& e) {
    Add(*v, absl::StrCat("unreadable array: ", e.msg));
  }
  return out;
}

std::vector<std::string> JsonReader::StringArray(const JsonValue& object, std::string_view key, bool required) {
  std::vector<std::string> out;
  for (const JsonValue& e : Array(object, key, required)) {
    if (std::optional<std::string> s = StringValue(e)) out.push_back(*std::move(s));
  }
  return out;
}

std::optional<size_t> JsonReader::Enum(const JsonValue& object, std::string_view key, bool required,
                                       std::initializer_list<std::string_view> allowed) {
  std::optional<JsonValue> v = Member(object, key, required);
  std::optional<std::string> s = v ? StringValue(*v) : std::nullopt;
  if (!s) return std::nullopt;
  size_t index = 0;
  for (std::string_view a : allowed) {
    if (a == *s) return index;
    ++index;
  }
  std::vector<std::string> quoted;
  for (std::string_view a : allowed) quoted.push_back(absl::StrCat("\"", std::string(a), "\""));
  Add(*v, absl::StrCat("must be one of ", absl::StrJoin(quoted, ", "), ", not \"", *s, "\""));
  return std::nullopt;
}

std::optional<absl::Time> JsonReader::Timestamp(const JsonValue& object, std::string_view key, bool required) {
  std::optional<JsonValue> v = Member(object, key, required);
  std::optional<std::string> s = v ? StringValue(*v) : std::nullopt;
  if (!s) return std::nullopt;
  absl::Time t;
  std::string error;
  // RFC 3339 needs the 'T', seconds and an offset ("Z" or "+01:00").
  if (s->size() < 20 || (*s)[10] != 'T' || !absl::ParseTime(absl::RFC3339_full, *s, &t, &error)) {
    Add(*v, absl::StrCat("must be an ISO 8601 date-time with an offset, e.g. \"2026-03-14T02:40:00Z\", not \"",
                         *s, "\""));
    return std::nullopt;
  }
  return t;
}

std::optional<std::string> JsonReader::Date(const JsonValue& object, std::string_view key, bool required) {
  std::optional<JsonValue> v = Member(object, key, required);
  std::optional<std::string> s = v ? StringValue(*v) : std::nullopt;
  if (!s) return std::nullopt;
  absl::CivilDay day;
  bool shape = s->size() == 10 && (*s)[4] == '-' && (*s)[7] == '-';
  for (size_t i = 0; shape && i < s->size(); ++i) {
    if (i != 4 && i != 7) shape = absl::ascii_isdigit((*s)[i]);
  }
  // ParseCivilTime normalises 2026-02-30 to March; a real date prints back the same.
  if (!shape || !absl::ParseCivilTime(*s, &day) || absl::FormatCivilTime(day) != *s) {
    Add(*v, absl::StrCat("must be a date YYYY-MM-DD that exists, not \"", *s, "\""));
    return std::nullopt;
  }
  return s;
}

std::vector<std::string> JsonReader::FormattedProblems() const { return problems_.Formatted(); }

absl::Status JsonReader::status() const { return problems_.ToStatus(); }

// --- JsonOut ---

JsonOut JsonOut::Object() { return JsonOut(); }

JsonOut::JsonOut(Kind kind, std::string scalar) : kind_(kind), scalar_(std::move(scalar)) {}

JsonOut JsonOut::Array() { return JsonOut(Kind::kArray, ""); }

JsonOut JsonOut::String(std::string value) { return JsonOut(Kind::kString, std::move(value)); }

JsonOut JsonOut::Number(double value) {
  if (!std::isfinite(value)) value = 0;
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return JsonOut(Kind::kNumber, ec == std::errc() ? std::string(buffer, end) : "0");
}

JsonOut JsonOut::Integer(int64_t value) { return JsonOut(Kind::kNumber, absl::StrCat(value)); }

JsonOut& JsonOut::Set(std::string key, JsonOut value) {
  members_.emplace_back(std::move(key), std::move(value));
  return *this;
}

JsonOut& JsonOut::Push(JsonOut value) {
  members_.emplace_back(std::string(), std::move(value));
  return *this;
}

namespace {

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(out, "\\u00", HexByte(static_cast<unsigned char>(c)));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void JsonOut::DumpTo(std::string* out, int depth, bool pretty) const {
  switch (kind_) {
    case Kind::kString:
      AppendQuoted(out, scalar_);
      return;
    case Kind::kNumber:
      out->append(scalar_);
      return;
    case Kind::kObject:
    case Kind::kArray: {
      const bool object = kind_ == Kind::kObject;
      if (members_.empty()) {
        out->append(object ? "{}" : "[]");
        return;
      }
      out->push_back(object ? '{' : '[');
      bool first = true;
      for (const auto& [key, value] : members_) {
        if (!first) out->push_back(',');
        first = false;
        if (pretty) {
          out->push_back('\n');
          out->append(static_cast<size_t>(2 * (depth + 1)), ' ');
        }
        if (object) {
          AppendQuoted(out, key);
          out->append(pretty ? ": " : ":");
        }
        value.DumpTo(out, depth + 1, pretty);
      }
      if (pretty) {
        out->push_back('\n');
        out->append(static_cast<size_t>(2 * depth), ' ');
      }
      out->push_back(object ? '}' : ']');
      return;
    }
  }
}

std::string JsonOut::Dump() const {
  std::string out;
  DumpTo(&out, 0, true);
  out.push_back('\n');
  return out;
}

std::string JsonOut::DumpLine() const {
  std::string out;
  DumpTo(&out, 0, false);
  return out;
}

}  // namespace portcullis::adapters
