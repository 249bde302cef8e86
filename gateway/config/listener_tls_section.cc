// The listener and tls sections (docs/config.md).
#include "gateway/config/sections.h"

namespace portcullis::config_internal {

void ParseListener(Context& ctx, const Field& f, ListenerConfig* out) {
  MapReader map(ctx, f, {"address"});
  if (std::optional<Field> address = map.Require("address")) {
    if (std::optional<std::string> text = ReadAddress(ctx, *address, 0)) out->address = *text;
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

}  // namespace portcullis::config_internal
