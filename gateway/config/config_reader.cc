#include "gateway/config/config_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "util/expand_env.h"

namespace portcullis::config_internal {

namespace fs = std::filesystem;

YAML::Mark MarkOr(const YAML::Node& node, const YAML::Mark& fallback) {
  YAML::Mark mark = node.Mark();
  return (node.IsNull() || mark.is_null()) ? fallback : mark;
}

MapReader::MapReader(Context& ctx, const Field& self, std::vector<absl::string_view> allowed)
    : ctx_(ctx), self_(self) {
  if (self.node.IsNull()) return;
  if (!self.node.IsMap()) {
    ok_ = false;
    ctx.problems.Add(self.mark, self.path, absl::StrCat("expected a mapping, got ", DescribeNode(self.node)));
    return;
  }
  for (auto it = self.node.begin(); it != self.node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      ctx.problems.Add(MarkOr(key, self.mark), self.path, "keys must be plain strings");
      continue;
    }
    const std::string& name = key.Scalar();
    const std::string path = ChildPath(self.path, name);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      ctx.problems.Add(
          key.Mark(), path,
          absl::StrCat("unknown key '", name, "' (allowed: ", absl::StrJoin(allowed, ", "), ")"));
      continue;
    }
    auto [pos, inserted] = entries_.emplace(name, Field{value, MarkOr(value, key.Mark()), path});
    if (!inserted) {
      ctx.problems.Add(
          key.Mark(), path,
          absl::StrCat("duplicate key '", name, "' (first given at line ", pos->second.mark.line + 1, ")"));
    }
  }
}

std::optional<Field> MapReader::Get(absl::string_view key) const {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::optional<Field> MapReader::Require(absl::string_view key) const {
  std::optional<Field> field = Get(key);
  if (!field.has_value() && ok_) {
    ctx_.problems.Add(self_.mark, ChildPath(self_.path, key), "is required");
  }
  return field;
}

namespace {

std::optional<std::string> ScalarText(Context& ctx, const Field& f, const char* expected) {
  if (!f.node.IsScalar()) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("expected ", expected, ", got ", DescribeNode(f.node)));
    return std::nullopt;
  }
  absl::StatusOr<std::string> expanded = ExpandEnv(f.node.Scalar());
  if (!expanded.ok()) {
    ctx.problems.Add(f.mark, f.path, std::string(expanded.status().message()));
    return std::nullopt;
  }
  return *std::move(expanded);
}

}  // namespace

std::optional<std::string> ReadStringOrEmpty(Context& ctx, const Field& f) { return ScalarText(ctx, f, "a string"); }

std::optional<std::string> ReadString(Context& ctx, const Field& f) {
  std::optional<std::string> text = ScalarText(ctx, f, "a string");
  if (text.has_value() && text->empty()) {
    ctx.problems.Add(f.mark, f.path, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<int64_t> ReadInt(Context& ctx, const Field& f, int64_t min, int64_t max) {
  std::optional<std::string> text = ScalarText(ctx, f, "an integer");
  if (!text.has_value()) return std::nullopt;
  int64_t value = 0;
  if (!absl::SimpleAtoi(*text, &value)) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("expected an integer, got '", *text, "'"));
    return std::nullopt;
  }
  if (value < min || value > max) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("must be between ", min, " and ", max, ", got ", value));
    return std::nullopt;
  }
  return value;
}

std::optional<std::vector<Field>> ReadList(Context& ctx, const Field& f) {
  if (!f.node.IsSequence()) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("expected a list, got ", DescribeNode(f.node)));
    return std::nullopt;
  }
  std::vector<Field> items;
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    const YAML::Node item = *it;
    items.push_back(Field{item, MarkOr(item, f.mark), ItemPath(f.path, items.size())});
  }
  return items;
}

std::optional<v1::Classification> ReadClassification(Context& ctx, const Field& f) {
  static const NameTable<v1::Classification> kNames = {
      {"OFFICIAL", v1::OFFICIAL},
      {"OFFICIAL_SENSITIVE", v1::OFFICIAL_SENSITIVE},
      {"SECRET", v1::SECRET},
  };
  std::optional<std::string> text = ReadString(ctx, f);
  if (!text.has_value()) return std::nullopt;
  if (*text == "TOP_SECRET") {
    ctx.problems.Add(f.mark, f.path,
                     "TOP_SECRET is not allowed: TOP SECRET material never crosses the gateway "
                     "(allowed: OFFICIAL, OFFICIAL_SENSITIVE, SECRET)");
    return std::nullopt;
  }
  return LookupName(ctx, f, *text, kNames, "classification");
}

namespace {

// "host:port" or "[ipv6]:port". Returns "" if valid, else what is wrong.
std::string CheckHostPort(absl::string_view address, int min_port) {
  absl::string_view host;
  absl::string_view port;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos || address.substr(close + 1, 1) != ":") {
      return "expected '[ipv6]:port'";
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return "expected 'host:port'";
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (absl::StrContains(host, ':')) return "IPv6 hosts must be bracketed, e.g. '[::1]:8443'";
  }
  if (host.empty()) return "missing host before ':port'";
  for (char c : host) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c)) ||
        absl::ascii_iscntrl(static_cast<unsigned char>(c))) {
      return "host must not contain spaces or control characters";
    }
  }
  int port_number = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      !absl::SimpleAtoi(port, &port_number)) {
    return "port must be a number";
  }
  if (port_number < min_port || port_number > 65535) {
    return absl::StrCat("port must be between ", min_port, " and 65535, got ", port_number);
  }
  return "";
}

// "" if `id` is a usable SPIFFE ID, else what is wrong.
std::string CheckSpiffeId(absl::string_view id) {
  constexpr absl::string_view kScheme = "spiffe://";
  if (!absl::StartsWith(id, kScheme)) return "must start with 'spiffe://'";
  if (id.size() == kScheme.size() || id[kScheme.size()] == '/') return "missing trust domain after 'spiffe://'";
  if (std::any_of(id.begin(), id.end(), [](char c) {
        return absl::ascii_isspace(static_cast<unsigned char>(c)) || absl::ascii_iscntrl(static_cast<unsigned char>(c));
      })) {
    return "must not contain spaces or control characters";
  }
  return "";
}

// A string that `check` accepts (it returns "" or what is wrong), else
// "invalid <what> '<text>': <what is wrong>".
template <typename Check>
std::optional<std::string> ReadChecked(Context& ctx, const Field& f, absl::string_view what, Check check) {
  std::optional<std::string> text = ReadString(ctx, f);
  if (!text.has_value()) return std::nullopt;
  const std::string problem = check(*text);
  if (!problem.empty()) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("invalid ", what, " '", *text, "': ", problem));
    return std::nullopt;
  }
  return text;
}

}  // namespace

std::optional<std::string> ReadAddress(Context& ctx, const Field& f, int min_port) {
  return ReadChecked(ctx, f, "address", [min_port](absl::string_view text) { return CheckHostPort(text, min_port); });
}

std::optional<std::string> ReadSpiffeId(Context& ctx, const Field& f) {
  return ReadChecked(ctx, f, "SPIFFE ID", CheckSpiffeId);
}

// ---------------------------------------------------------------------------
// Filesystem checks.

std::optional<std::string> ReadPath(Context& ctx, const Field& f) {
  std::optional<std::string> text = ReadString(ctx, f);
  if (!text.has_value()) return std::nullopt;
  fs::path path(*text);
  if (path.is_relative()) path = ctx.base_dir / path;
  return path.lexically_normal().string();
}

void CheckReadable(Context& ctx, const Field& f, const std::string& resolved, PathKind kind) {
  const char* noun = kind == PathKind::kFile ? "file" : "directory";
  std::error_code ec;
  const fs::file_status status = fs::status(resolved, ec);
  if (status.type() == fs::file_type::not_found) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat(noun, " not found: ", resolved));
    return;
  }
  if (ec) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("cannot access ", resolved, ": ", ec.message()));
    return;
  }
  if (kind == PathKind::kFile && fs::is_directory(status)) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("expected a file, found a directory: ", resolved));
    return;
  }
  if (kind == PathKind::kDirectory && !fs::is_directory(status)) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("expected a directory: ", resolved));
    return;
  }
  const int mode = kind == PathKind::kFile ? R_OK : (R_OK | X_OK);
  if (::access(resolved.c_str(), mode) != 0) {
    const std::string reason = std::error_code(errno, std::generic_category()).message();
    ctx.problems.Add(f.mark, f.path, absl::StrCat(noun, " is not readable: ", resolved, " (", reason, ")"));
  }
}

void ReadDataFilePath(Context& ctx, const Field& field, std::string* out, bool check) {
  std::optional<std::string> resolved = ReadPath(ctx, field);
  if (!resolved.has_value()) return;
  *out = *resolved;
  if (!check) return;
  std::error_code ec;
  const fs::path parent = fs::path(*resolved).parent_path();
  if (!fs::is_directory(parent, ec)) {
    ctx.problems.Add(field.mark, field.path, absl::StrCat("parent directory does not exist: ", parent.string()));
  } else if (fs::is_directory(*resolved, ec)) {
    ctx.problems.Add(field.mark, field.path, absl::StrCat("expected a file, found a directory: ", *resolved));
  }
}

}  // namespace portcullis::config_internal
