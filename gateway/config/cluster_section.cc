// The cluster section: this replica's id, the destination lease and the
// polling safety net (docs/config.md, docs/cluster.md).
#include "absl/strings/str_cat.h"
#include "gateway/config/sections.h"

namespace portcullis::config_internal {

std::optional<std::string> ReadReplicaId(Context& ctx, const Field& f) {
  std::optional<std::string> id = ReadString(ctx, f);
  if (!id.has_value()) return std::nullopt;
  if (!CheckReplicaId(ctx, f, *id)) return std::nullopt;
  return id;
}

bool CheckReplicaId(Context& ctx, const Field& f, const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-');
  }
  if (!ok) ctx.problems.Add(f.mark, f.path, "must be 1 to 64 characters of letters, digits, '.', '_' or '-'");
  return ok;
}

void ParseCluster(Context& ctx, const Field& f, const AuditConfig& audit, ClusterConfig* out) {
  MapReader map(ctx, f, {"replica_id", "lease_ms", "poll_ms"});
  if (!map.ok()) return;
  if (std::optional<Field> field = map.Get("replica_id")) {
    // Empty is none: a shipped config carries `replica_id: ${PORTCULLIS_REPLICA_ID:-}`.
    const std::string id = ReadStringOrEmpty(ctx, *field).value_or("");
    if (!id.empty() && CheckReplicaId(ctx, *field, id)) {
      if (!audit.replica_id.empty() && audit.replica_id != id) {
        ctx.problems.Add(field->mark, field->path,
                         absl::StrCat("differs from audit.replica_id ('", audit.replica_id,
                                      "'); give the replica's id once, here"));
      } else {
        out->replica_id = id;
      }
    }
  }
  if (std::optional<Field> field = map.Get("lease_ms")) {
    if (std::optional<int64_t> v = ReadInt(ctx, *field, 1000, 600000)) out->lease_ms = static_cast<int>(*v);
  }
  if (std::optional<Field> field = map.Get("poll_ms")) {
    if (std::optional<int64_t> v = ReadInt(ctx, *field, 50, 60000)) out->poll_ms = static_cast<int>(*v);
  }
}

}  // namespace portcullis::config_internal
