// The audit section: the audit log, its signing key and witness copies (docs/config.md).
#include "gateway/config/sections.h"

namespace portcullis::config_internal {

void ParseAudit(Context& ctx, const Field& f, bool path_required, AuditConfig* out) {
  MapReader map(ctx, f, {"path", "signing_key", "checkpoint_every_records", "checkpoint_interval_seconds",
                         "witness_dir", "replica_id"});
  if (!map.ok()) return;
  if (std::optional<Field> replica = map.Get("replica_id")) {
    if (std::optional<std::string> id = ReadReplicaId(ctx, *replica)) out->replica_id = *id;
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
  if (std::optional<Field> field = path_required ? map.Require("path") : map.Get("path")) {
    // Not checked when not used (PostgreSQL keeps the trail in the database): a replica whose state folder was
    // wiped starts all the same (docs/cluster.md).
    ReadDataFilePath(ctx, *field, &out->path, /*check=*/path_required);
  }
}

}  // namespace portcullis::config_internal
