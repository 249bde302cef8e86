// YAML -> Config. The schema and every rule are documented in docs/config.md;
// keep the two in step.
//
// Debian's Abseil is built with its own absl::string_view (not an alias of
// std::string_view), so the internals use absl::string_view throughout and
// the public std::string_view arguments are converted once, at the top.
//
// Structure: a Problems list collects every error with its position; small
// readers (MapReader, ReadString, ReadInt, ...) check one node each and
// report what is wrong instead of stopping; one Parse* function per section
// fills the Config. yaml-cpp is only used through IsScalar/IsMap/...,
// Scalar(), iteration and Mark(), none of which throw on a valid node; the
// parse itself (which does throw) is wrapped in one try block. LoadAll is
// avoided: see CheckSingleDocument.
#include "gateway/config/config_loader.h"
#include "util/expand_env.h"

#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace portcullis {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kGiB = 1024 * kMiB;
constexpr int64_t kSecondMs = 1000;
constexpr int64_t kHourMs = 3600 * kSecondMs;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr size_t kMaxReportedProblems = 100;
constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Problems: every error found, with its position.

struct Problem {
  int line;    // 1-based.
  int column;  // 1-based.
  std::string path;
  std::string message;
};

class Problems {
 public:
  explicit Problems(absl::string_view source) : source_(source) {}

  // `mark` is yaml-cpp's 0-based position; `path` "" means the document.
  void Add(const YAML::Mark& mark, absl::string_view path, std::string message) {
    problems_.push_back(Problem{mark.line >= 0 ? mark.line + 1 : 1, mark.column >= 0 ? mark.column + 1 : 1,
                                path.empty() ? std::string("(root)") : std::string(path),
                                std::move(message)});
  }

  bool empty() const { return problems_.empty(); }

  absl::Status ToStatus() const {
    std::vector<Problem> sorted = problems_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
      return std::make_pair(a.line, a.column) < std::make_pair(b.line, b.column);
    });
    std::vector<std::string> lines;
    for (size_t i = 0; i < sorted.size() && i < kMaxReportedProblems; ++i) {
      const Problem& p = sorted[i];
      lines.push_back(absl::StrCat(source_, ":", p.line, ":", p.column, ": ", p.path, ": ", p.message));
    }
    if (sorted.size() > kMaxReportedProblems) {
      lines.push_back(
          absl::StrCat(source_, ": ... and ", sorted.size() - kMaxReportedProblems, " more errors"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }

 private:
  std::string source_;
  std::vector<Problem> problems_;
};

struct Context {
  Problems problems;
  fs::path base_dir;  // Absolute; relative paths in the config resolve here.
};

// A YAML value with its position and its field path ("parties[2].id").
struct Field {
  YAML::Node node;
  YAML::Mark mark;
  std::string path;
};

std::string ChildPath(absl::string_view parent, absl::string_view key) {
  return parent.empty() ? std::string(key) : absl::StrCat(parent, ".", key);
}

std::string ItemPath(absl::string_view parent, size_t index) { return absl::StrCat(parent, "[", index, "]"); }

// Null values carry the position of whatever follows them; report those at
// the key (or list) that introduced them instead.
YAML::Mark MarkOr(const YAML::Node& node, const YAML::Mark& fallback) {
  YAML::Mark mark = node.Mark();
  return (node.IsNull() || mark.is_null()) ? fallback : mark;
}

const char* Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// ---------------------------------------------------------------------------
// Readers: each checks one node, reports what is wrong, and returns nullopt
// (or ok() == false) when there is no usable value.

// A mapping with known keys. Null counts as an empty mapping, so a section
// whose entries are all commented out still reports its missing keys.
class MapReader {
 public:
  MapReader(Context& ctx, const Field& self, std::vector<absl::string_view> allowed)
      : ctx_(ctx), self_(self) {
    if (self.node.IsNull()) return;
    if (!self.node.IsMap()) {
      ok_ = false;
      ctx.problems.Add(self.mark, self.path, absl::StrCat("expected a mapping, got ", Describe(self.node)));
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

  bool ok() const { return ok_; }

  std::optional<Field> Get(absl::string_view key) const {
    auto it = entries_.find(std::string(key));
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  // Like Get, but a missing key is reported ("is required") at the mapping.
  std::optional<Field> Require(absl::string_view key) const {
    std::optional<Field> field = Get(key);
    if (!field.has_value() && ok_) {
      ctx_.problems.Add(self_.mark, ChildPath(self_.path, key), "is required");
    }
    return field;
  }

 private:
  Context& ctx_;
  Field self_;
  bool ok_ = true;
  std::map<std::string, Field> entries_;
};

std::optional<std::string> ScalarText(Context& ctx, const Field& f, const char* expected) {
  if (!f.node.IsScalar()) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("expected ", expected, ", got ", Describe(f.node)));
    return std::nullopt;
  }
  absl::StatusOr<std::string> expanded = ExpandEnv(f.node.Scalar());
  if (!expanded.ok()) {
    ctx.problems.Add(f.mark, f.path, std::string(expanded.status().message()));
    return std::nullopt;
  }
  return *std::move(expanded);
}

// Every string in the schema is mandatory once its key is present.
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
    ctx.problems.Add(f.mark, f.path, absl::StrCat("expected a list, got ", Describe(f.node)));
    return std::nullopt;
  }
  std::vector<Field> items;
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    const YAML::Node item = *it;
    items.push_back(Field{item, MarkOr(item, f.mark), ItemPath(f.path, items.size())});
  }
  return items;
}

template <typename T>
using NameTable = std::vector<std::pair<absl::string_view, T>>;

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

// TOP_SECRET is a known marking but never valid here, so it gets its own message.
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

std::optional<std::string> ReadAddress(Context& ctx, const Field& f, int min_port) {
  std::optional<std::string> text = ReadString(ctx, f);
  if (!text.has_value()) return std::nullopt;
  const std::string problem = CheckHostPort(*text, min_port);
  if (!problem.empty()) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("invalid address '", *text, "': ", problem));
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> ReadSpiffeId(Context& ctx, const Field& f) {
  std::optional<std::string> text = ReadString(ctx, f);
  if (!text.has_value()) return std::nullopt;
  constexpr absl::string_view kScheme = "spiffe://";
  std::string problem;
  if (!absl::StartsWith(*text, kScheme)) {
    problem = "must start with 'spiffe://'";
  } else if (text->size() == kScheme.size() || (*text)[kScheme.size()] == '/') {
    problem = "missing trust domain after 'spiffe://'";
  } else if (std::any_of(text->begin(), text->end(), [](char c) {
               return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
                      absl::ascii_iscntrl(static_cast<unsigned char>(c));
             })) {
    problem = "must not contain spaces or control characters";
  }
  if (!problem.empty()) {
    ctx.problems.Add(f.mark, f.path, absl::StrCat("invalid SPIFFE ID '", *text, "': ", problem));
    return std::nullopt;
  }
  return text;
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

enum class PathKind { kFile, kDirectory };

// Reports unless `resolved` exists, has the right kind and is readable.
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

// ---------------------------------------------------------------------------
// Sections.

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

void ParseListener(Context& ctx, const Field& f, ListenerConfig* out) {
  MapReader map(ctx, f, {"address"});
  if (std::optional<Field> address = map.Require("address")) {
    if (std::optional<std::string> text = ReadAddress(ctx, *address, 0)) out->address = *text;
  }
}

void ParseLimits(Context& ctx, const Field& f, LimitsConfig* out) {
  using L = LimitsConfig;
  static const std::vector<IntRule<L>> kRules = {
      {"max_receive_message_bytes", 1, 64 * kMiB, &L::max_receive_message_bytes},
      {"max_metadata_bytes", 1, 1 * kMiB, &L::max_metadata_bytes},
      {"max_concurrent_streams", 1, 10000, &L::max_concurrent_streams},
      {"handshake_timeout_ms", 1, 5 * 60 * kSecondMs, &L::handshake_timeout_ms},
      {"keepalive_min_ping_interval_ms", 1, kDayMs, &L::keepalive_min_ping_interval_ms},
      {"keepalive_max_ping_strikes", 0, 1000, &L::keepalive_max_ping_strikes},
      {"max_connection_idle_ms", 1, 7 * kDayMs, &L::max_connection_idle_ms},
      {"max_connection_age_ms", 1, 7 * kDayMs, &L::max_connection_age_ms},
      {"max_connection_age_grace_ms", 1, kDayMs, &L::max_connection_age_grace_ms},
      {"resource_quota_bytes", 1, 64 * kGiB, nullptr, &L::resource_quota_bytes},
      {"max_threads", 1, 4096, &L::max_threads},
      {"max_clock_skew_seconds", 1, 24 * 3600, &L::max_clock_skew_seconds},
  };
  MapReader map = ParseIntSection(ctx, f, kRules, out);
  if (out->resource_quota_bytes < out->max_receive_message_bytes) {
    std::optional<Field> quota = map.Get("resource_quota_bytes");
    ctx.problems.Add(quota.has_value() ? quota->mark : f.mark, ChildPath(f.path, "resource_quota_bytes"),
                     absl::StrCat("must be at least max_receive_message_bytes (",
                                  out->max_receive_message_bytes, "), got ", out->resource_quota_bytes));
  }
}

void ParseTls(Context& ctx, const Field& f, TlsConfig* out) {
  struct PathRule {
    absl::string_view key;
    std::string TlsConfig::*member;
    PathKind kind;
  };
  static const std::vector<PathRule> kPaths = {
      {"server_cert", &TlsConfig::server_cert, PathKind::kFile},
      {"server_key", &TlsConfig::server_key, PathKind::kFile},
      {"client_cert", &TlsConfig::client_cert, PathKind::kFile},
      {"client_key", &TlsConfig::client_key, PathKind::kFile},
      {"ca_bundle", &TlsConfig::ca_bundle, PathKind::kFile},
      {"crl_dir", &TlsConfig::crl_dir, PathKind::kDirectory},
  };
  std::vector<absl::string_view> allowed;
  for (const PathRule& rule : kPaths) allowed.push_back(rule.key);
  allowed.push_back("reload_interval_seconds");
  allowed.push_back("handshake_audit_interval_seconds");
  allowed.push_back("handshake_audit_max_subjects");
  MapReader map(ctx, f, allowed);
  if (!map.ok()) return;
  for (const PathRule& rule : kPaths) {
    std::optional<Field> field = map.Require(rule.key);
    if (!field.has_value()) continue;
    std::optional<std::string> resolved = ReadPath(ctx, *field);
    if (!resolved.has_value()) continue;
    CheckReadable(ctx, *field, *resolved, rule.kind);
    out->*rule.member = *resolved;
  }
  if (std::optional<Field> field = map.Get("reload_interval_seconds")) {
    if (std::optional<int64_t> value = ReadInt(ctx, *field, 1, 24 * 3600)) {
      out->reload_interval_seconds = static_cast<int>(*value);
    }
  }
  if (std::optional<Field> field = map.Get("handshake_audit_interval_seconds")) {
    if (std::optional<int64_t> value = ReadInt(ctx, *field, 1, 24 * 3600)) {
      out->handshake_audit_interval_seconds = static_cast<int>(*value);
    }
  }
  if (std::optional<Field> field = map.Get("handshake_audit_max_subjects")) {
    if (std::optional<int64_t> value = ReadInt(ctx, *field, 1, 100000)) {
      out->handshake_audit_max_subjects = static_cast<int>(*value);
    }
  }
}

// A file the gateway writes (created if missing): its folder must exist.
void ReadDataFilePath(Context& ctx, const Field& field, std::string* out) {
  std::optional<std::string> resolved = ReadPath(ctx, field);
  if (!resolved.has_value()) return;
  *out = *resolved;
  std::error_code ec;
  const fs::path parent = fs::path(*resolved).parent_path();
  if (!fs::is_directory(parent, ec)) {
    ctx.problems.Add(field.mark, field.path, absl::StrCat("parent directory does not exist: ", parent.string()));
  } else if (fs::is_directory(*resolved, ec)) {
    ctx.problems.Add(field.mark, field.path, absl::StrCat("expected a file, found a directory: ", *resolved));
  }
}

void ParseAudit(Context& ctx, const Field& f, AuditConfig* out) {
  MapReader map(ctx, f, {"path", "signing_key", "checkpoint_every_records", "checkpoint_interval_seconds",
                         "witness_dir", "replica_id"});
  if (!map.ok()) return;
  if (std::optional<Field> replica = map.Get("replica_id")) {
    if (std::optional<std::string> id = ReadString(ctx, *replica)) {
      bool ok = !id->empty() && id->size() <= 64;
      for (char c : *id) {
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-');
      }
      if (ok) {
        out->replica_id = *id;
      } else {
        ctx.problems.Add(replica->mark, replica->path,
                         "must be 1 to 64 characters of letters, digits, '.', '_' or '-'");
      }
    }
  }
  if (std::optional<Field> key = map.Require("signing_key")) {
    if (std::optional<std::string> resolved = ReadPath(ctx, *key)) {
      CheckReadable(ctx, *key, *resolved, PathKind::kFile);
      out->signing_key = *resolved;
    }
  }
  if (std::optional<Field> witness = map.Get("witness_dir")) {
    if (std::optional<std::string> resolved = ReadPath(ctx, *witness)) {
      CheckReadable(ctx, *witness, *resolved, PathKind::kDirectory);
      out->witness_dir = *resolved;
    }
  }
  if (std::optional<Field> n = map.Get("checkpoint_every_records")) {
    if (std::optional<int64_t> v = ReadInt(ctx, *n, 1, 10000000)) out->checkpoint_every_records = static_cast<int>(*v);
  }
  if (std::optional<Field> t = map.Get("checkpoint_interval_seconds")) {
    if (std::optional<int64_t> v = ReadInt(ctx, *t, 1, 24 * 3600)) out->checkpoint_interval_seconds = static_cast<int>(*v);
  }
  if (std::optional<Field> field = map.Require("path")) ReadDataFilePath(ctx, *field, &out->path);
}

void ParseStore(Context& ctx, const Field& f, StoreConfig* out) {
  MapReader map(ctx, f, {"path"});
  if (!map.ok()) return;
  if (std::optional<Field> field = map.Require("path")) ReadDataFilePath(ctx, *field, &out->path);
}

void ParseDeliveryTuning(Context& ctx, const Field& f, DeliveryTuning* out) {
  using D = DeliveryTuning;
  static const std::vector<IntRule<D>> kRules = {
      {"workers", 1, 256, &D::workers},
      {"max_attempts", 0, 1000000, &D::max_attempts},
      {"attempt_timeout_ms", 1, 10 * 60 * kSecondMs, &D::attempt_timeout_ms},
      {"initial_backoff_ms", 1, kHourMs, &D::initial_backoff_ms},
      {"max_backoff_ms", 1, kDayMs, &D::max_backoff_ms},
      {"max_backlog_messages", 1, 100000000, &D::max_backlog_messages},
      {"max_backlog_mib", 1, 1024 * 1024, &D::max_backlog_mib},
      {"breaker_failures", 1, 1000, &D::breaker_failures},
      {"breaker_cooldown_ms", 1, kDayMs, &D::breaker_cooldown_ms},
      {"max_age_ms", 1, 365 * kDayMs, nullptr, &D::max_age_ms},
  };
  MapReader map = ParseIntSection(ctx, f, kRules, out);
  if (out->max_backoff_ms < out->initial_backoff_ms) {
    std::optional<Field> max = map.Get("max_backoff_ms");
    ctx.problems.Add(max.has_value() ? max->mark : f.mark, ChildPath(f.path, "max_backoff_ms"),
                     absl::StrCat("must be at least initial_backoff_ms (", out->initial_backoff_ms, "), got ",
                                  out->max_backoff_ms));
  }
}

// What routes need to know about the parties: where each id was defined and
// whether it is an auditor or operator (neither sends nor receives). Invalid parties with a valid id are included, so
// one mistake is not reported again by every route that names the party.
struct PartyRef {
  YAML::Mark mark;
  bool auditor = false;
  bool operator_ = false;
};
using PartyIndex = std::map<std::string, PartyRef>;

// `max_envelope`: the largest envelope the gateway accepts (Config::MaxEnvelopeBytes()).
void ParsePartyDelivery(Context& ctx, const Field& f, size_t max_envelope, DeliveryConfig* out) {
  static const NameTable<DeliveryMode> kModes = {{"push", DeliveryMode::kPush},
                                                 {"pull", DeliveryMode::kPull}};
  MapReader map(ctx, f, {"mode", "address", "server_identity", "max_message_bytes"});
  if (!map.ok()) return;
  std::optional<DeliveryMode> mode;
  if (std::optional<Field> field = map.Require("mode")) mode = ReadEnum(ctx, *field, kModes, "delivery mode");
  if (mode.has_value()) out->mode = *mode;
  if (std::optional<Field> field = map.Get("max_message_bytes")) {
    // At most what a Submit within limits.max_receive_message_bytes carries:
    // a larger value would promise what the gateway never accepts.
    if (std::optional<int64_t> v = ReadInt(ctx, *field, 1, static_cast<int64_t>(max_envelope))) {
      out->max_message_bytes = *v;
    }
  }
  std::optional<Field> address = mode == DeliveryMode::kPush ? map.Require("address") : map.Get("address");
  std::optional<Field> server_identity =
      mode == DeliveryMode::kPush ? map.Require("server_identity") : map.Get("server_identity");
  if (mode == DeliveryMode::kPull) {
    for (const std::optional<Field>& field : {address, server_identity}) {
      if (field.has_value()) {
        ctx.problems.Add(field->mark, field->path, "not allowed when mode is pull (push only)");
      }
    }
    return;
  }
  if (address.has_value()) {
    if (std::optional<std::string> text = ReadAddress(ctx, *address, 1)) out->address = *text;
  }
  if (server_identity.has_value()) {
    if (std::optional<std::string> text = ReadSpiffeId(ctx, *server_identity)) out->server_identity = *text;
  }
}

bool IsValidPartyId(absl::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-';
  });
}

void ParseParty(Context& ctx, const Field& f, size_t max_envelope, Party* party, PartyIndex* index,
                std::map<std::string, YAML::Mark>* identities) {
  static const NameTable<PartyKind> kKinds = {{"uk_agency", PartyKind::kUkAgency},
                                              {"eu_partner", PartyKind::kEuPartner},
                                              {"auditor", PartyKind::kAuditor},
                                              {"operator", PartyKind::kOperator}};
  MapReader map(ctx, f, {"id", "name", "kind", "identity", "clearance", "delivery"});
  if (!map.ok()) return;
  std::optional<PartyKind> kind;
  if (std::optional<Field> field = map.Require("kind")) kind = ReadEnum(ctx, *field, kKinds, "party kind");
  if (kind.has_value()) party->kind = *kind;

  if (std::optional<Field> field = map.Require("id")) {
    if (std::optional<std::string> id = ReadString(ctx, *field)) {
      if (!IsValidPartyId(*id)) {
        ctx.problems.Add(field->mark, field->path,
                         absl::StrCat("invalid party id '", *id, "': use only a-z, 0-9, '/', '_' and '-'"));
      } else {
        party->id = *id;
        auto [it, inserted] = index->emplace(*id, PartyRef{field->mark, kind == PartyKind::kAuditor,
                                                                    kind == PartyKind::kOperator});
        if (!inserted) {
          ctx.problems.Add(field->mark, field->path,
                           absl::StrCat("duplicate party id '", *id, "' (first defined at line ",
                                        it->second.mark.line + 1, ")"));
        }
      }
    }
  }
  if (std::optional<Field> field = map.Require("name")) {
    if (std::optional<std::string> name = ReadString(ctx, *field)) party->name = *name;
  }
  if (std::optional<Field> field = map.Require("identity")) {
    if (std::optional<std::string> identity = ReadSpiffeId(ctx, *field)) {
      party->identity = *identity;
      auto [it, inserted] = identities->emplace(*identity, field->mark);
      if (!inserted) {
        ctx.problems.Add(
            field->mark, field->path,
            absl::StrCat("duplicate identity '", *identity, "' (already used by the party at line ",
                         it->second.line + 1, "); each party needs its own certificate identity"));
      }
    }
  }
  if (std::optional<Field> field = map.Get("clearance")) {
    if (std::optional<v1::Classification> clearance = ReadClassification(ctx, *field)) {
      party->clearance = *clearance;
    }
  }
  std::optional<Field> delivery = map.Get("delivery");
  const bool delivers = kind != PartyKind::kAuditor && kind != PartyKind::kOperator;
  if (kind == PartyKind::kAuditor && delivery.has_value()) {
    ctx.problems.Add(delivery->mark, delivery->path,
                     "not allowed for an auditor: auditors read the audit log and receive no deliveries");
  } else if (kind == PartyKind::kOperator && delivery.has_value()) {
    ctx.problems.Add(delivery->mark, delivery->path,
                     "not allowed for an operator: operators manage dead letters and receive no deliveries");
  } else if (kind.has_value() && delivers && !delivery.has_value()) {
    ctx.problems.Add(f.mark, ChildPath(f.path, "delivery"),
                     absl::StrCat("is required for kind ", PartyKindName(*kind), " (mode: push or pull)"));
  } else if (delivery.has_value()) {
    ParsePartyDelivery(ctx, *delivery, max_envelope, &party->delivery);
  }
}

void ParseParties(Context& ctx, const Field& f, size_t max_envelope, std::vector<Party>* out, PartyIndex* index) {
  std::optional<std::vector<Field>> items = ReadList(ctx, f);
  if (!items.has_value()) return;
  if (items->empty()) ctx.problems.Add(f.mark, f.path, "must list at least one party");
  std::map<std::string, YAML::Mark> identities;
  for (const Field& item : *items) {
    Party party;
    ParseParty(ctx, item, max_envelope, &party, index, &identities);
    out->push_back(std::move(party));
  }
}

// A route's from/to: party ids, or a lone "*".
void ParsePartyRefs(Context& ctx, const Field& f, const PartyIndex& parties, std::set<std::string>* out) {
  std::optional<std::vector<Field>> items = ReadList(ctx, f);
  if (!items.has_value()) return;
  if (items->empty()) ctx.problems.Add(f.mark, f.path, "must list at least one party id, or '*'");
  for (const Field& item : *items) {
    std::optional<std::string> id = ReadString(ctx, item);
    if (!id.has_value()) continue;
    if (*id == "*") {
      if (items->size() > 1) ctx.problems.Add(item.mark, item.path, "'*' (any party) must be the only entry");
    } else if (auto it = parties.find(*id); it == parties.end()) {
      ctx.problems.Add(item.mark, item.path,
                       absl::StrCat("unknown party '", *id, "': no party with this id is configured"));
      continue;
    } else if (it->second.auditor) {
      ctx.problems.Add(
          item.mark, item.path,
          absl::StrCat("party '", *id, "' is an auditor: auditors neither send nor receive messages"));
      continue;
    } else if (it->second.operator_) {
      ctx.problems.Add(
          item.mark, item.path,
          absl::StrCat("party '", *id, "' is an operator: operators neither send nor receive messages"));
      continue;
    }
    if (!out->insert(*id).second) {
      ctx.problems.Add(item.mark, item.path, absl::StrCat("'", *id, "' is listed twice"));
    }
  }
}

void ParseBodyTypes(Context& ctx, const Field& f, std::set<BodyType>* out) {
  static const NameTable<BodyType> kTypes = {
      {"case_referral", BodyType::kCaseReferral},
      {"intelligence_report", BodyType::kIntelligenceReport},
      {"request_for_information", BodyType::kRequestForInformation},
      {"response", BodyType::kResponse},
  };
  std::optional<std::vector<Field>> items = ReadList(ctx, f);
  if (!items.has_value()) return;
  if (items->empty()) ctx.problems.Add(f.mark, f.path, "must list at least one body type");
  for (const Field& item : *items) {
    std::optional<BodyType> type = ReadEnum(ctx, item, kTypes, "body type");
    if (type.has_value() && !out->insert(*type).second) {
      ctx.problems.Add(item.mark, item.path, absl::StrCat("'", BodyTypeName(*type), "' is listed twice"));
    }
  }
}

void ParseRoute(Context& ctx, const Field& f, const PartyIndex& parties,
                std::map<std::string, YAML::Mark>* names, Route* route) {
  MapReader map(ctx, f, {"name", "from", "to", "body_types", "max_classification"});
  if (!map.ok()) return;
  if (std::optional<Field> field = map.Require("name")) {
    if (std::optional<std::string> name = ReadString(ctx, *field)) {
      route->name = *name;
      auto [it, inserted] = names->emplace(*name, field->mark);
      if (!inserted) {
        ctx.problems.Add(field->mark, field->path,
                         absl::StrCat("duplicate route name '", *name, "' (first defined at line ",
                                      it->second.line + 1, ")"));
      }
    }
  }
  if (std::optional<Field> field = map.Require("from")) ParsePartyRefs(ctx, *field, parties, &route->from);
  if (std::optional<Field> field = map.Require("to")) ParsePartyRefs(ctx, *field, parties, &route->to);
  if (std::optional<Field> field = map.Require("body_types")) ParseBodyTypes(ctx, *field, &route->body_types);
  if (std::optional<Field> field = map.Require("max_classification")) {
    if (std::optional<v1::Classification> max = ReadClassification(ctx, *field)) {
      route->max_classification = *max;
    }
  }
}

void ParseRoutes(Context& ctx, const Field& f, const PartyIndex& parties, std::vector<Route>* out) {
  std::optional<std::vector<Field>> items = ReadList(ctx, f);
  if (!items.has_value()) return;
  std::map<std::string, YAML::Mark> names;
  for (const Field& item : *items) {
    Route route;
    ParseRoute(ctx, item, parties, &names, &route);
    out->push_back(std::move(route));
  }
}

void ParseDocument(Context& ctx, const YAML::Node& root, Config* config) {
  MapReader map(ctx, Field{root, MarkOr(root, YAML::Mark()), ""},
                {"listener", "limits", "tls", "audit", "store", "delivery", "parties", "routes"});
  if (!map.ok()) return;
  if (std::optional<Field> f = map.Require("listener")) ParseListener(ctx, *f, &config->listener);
  if (std::optional<Field> f = map.Get("limits")) ParseLimits(ctx, *f, &config->limits);
  if (std::optional<Field> f = map.Require("tls")) ParseTls(ctx, *f, &config->tls);
  if (std::optional<Field> f = map.Require("audit")) ParseAudit(ctx, *f, &config->audit);
  if (std::optional<Field> f = map.Get("store")) {
    ParseStore(ctx, *f, &config->store);
  } else if (!config->audit.path.empty()) {
    config->store.path = (fs::path(config->audit.path).parent_path() / "outbox.db").string();
  }
  if (std::optional<Field> f = map.Get("delivery")) ParseDeliveryTuning(ctx, *f, &config->delivery);
  PartyIndex parties;
  if (std::optional<Field> f = map.Require("parties")) ParseParties(ctx, *f, config->MaxEnvelopeBytes(), &config->parties, &parties);
  if (std::optional<Field> f = map.Get("routes")) ParseRoutes(ctx, *f, parties, &config->routes);
}

// yaml-cpp 0.7 can get stuck on malformed input, yielding the same empty
// document again and again (a stray ',' at the top level; jbeder/yaml-cpp#1040,
// fixed upstream in #1319), and YAML::LoadAll then allocates until memory runs
// out. So the document structure is first checked with a bounded pass over the
// parser's events, and only then is the one document built with YAML::Load.
class DocumentStarts : public YAML::EventHandler {
 public:
  YAML::Mark start;
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
  }
  void OnMapEnd() override {}
};

// Reports and returns false unless `text` holds at most one YAML document.
// Throws YAML::Exception on a syntax error (the caller reports it).
bool CheckSingleDocument(Context& ctx, const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  std::vector<YAML::Mark> starts;
  for (int i = 0; i < 3; ++i) {
    DocumentStarts document;
    if (!parser.HandleNextDocument(document)) break;
    if (!starts.empty() && document.start.pos == starts.back().pos) {  // Stuck: no progress.
      const size_t pos = static_cast<size_t>(document.start.pos);
      const std::string what = pos < text.size() && absl::ascii_isgraph(static_cast<unsigned char>(text[pos]))
                                   ? absl::StrCat("'", text.substr(pos, 1), "'")
                                   : std::string("text");
      ctx.problems.Add(document.start, "", absl::StrCat("invalid YAML: unexpected ", what));
      return false;
    }
    starts.push_back(document.start);
  }
  if (starts.size() > 1) {
    ctx.problems.Add(starts[1], "",
                     "expected one YAML document, but another one starts here (remove the '---')");
    return false;
  }
  return true;
}

fs::path AbsoluteBaseDir(std::string_view base_dir) {
  std::error_code ec;
  fs::path base = base_dir.empty() ? fs::current_path(ec) : fs::absolute(fs::path(base_dir), ec);
  if (ec) base = fs::path(base_dir);  // Unreachable cwd: keep paths relative.
  return base.lexically_normal();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Config>> LoadConfigString(std::string_view yaml,
                                                               std::string_view source_name,
                                                               std::string_view base_dir) {
  Context ctx{Problems(absl::string_view(source_name.data(), source_name.size())), AbsoluteBaseDir(base_dir)};
  auto config = std::make_shared<Config>();
  config->source_file = std::string(source_name);
  const std::string text(yaml);
  if (text.size() > kMaxConfigBytes) {
    ctx.problems.Add(
        YAML::Mark(), "",
        absl::StrCat("the configuration is ", text.size(), " bytes; the limit is ", kMaxConfigBytes));
    return ctx.problems.ToStatus();
  }
  try {
    if (CheckSingleDocument(ctx, text)) {
      const YAML::Node root = YAML::Load(text);
      if (root.IsNull()) {
        ctx.problems.Add(YAML::Mark(), "", "the configuration is empty");
      } else {
        ParseDocument(ctx, root, config.get());
      }
    }
  } catch (const YAML::Exception& e) {
    ctx.problems.Add(e.mark, "", absl::StrCat("invalid YAML: ", e.msg));
  } catch (const std::exception& e) {
    ctx.problems.Add(YAML::Mark(), "", absl::StrCat("cannot read the configuration: ", e.what()));
  }
  if (!ctx.problems.empty()) return ctx.problems.ToStatus();
  return std::shared_ptr<const Config>(std::move(config));
}

absl::StatusOr<std::shared_ptr<const Config>> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read config file: is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string reason = std::error_code(errno, std::generic_category()).message();
    return absl::NotFoundError(absl::StrCat(path, ": cannot read config file: ", reason));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read config file: read error"));
  }
  fs::path base = fs::path(path).parent_path();
  if (base.empty()) base = ".";
  return LoadConfigString(text.str(), path, base.string());
}

}  // namespace portcullis
