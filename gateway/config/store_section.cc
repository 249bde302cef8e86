// The store section: the backend (SQLite file, or PostgreSQL with its DSN and pool) (docs/config.md,
// docs/storage.md).
#include "absl/strings/str_cat.h"
#include "gateway/config/dsn.h"
#include "gateway/config/sections.h"

namespace portcullis::config_internal {

void ParseStore(Context& ctx, const Field& f, StoreConfig* out) {
  MapReader map(ctx, f, {"backend", "path", "dsn", "pool_size", "connect_timeout_seconds"});
  if (!map.ok()) return;
  bool backend_known = true;
  if (std::optional<Field> backend = map.Get("backend")) {
    std::optional<StoreBackend> value = ReadEnum(ctx, *backend, StoreBackendNames(), "store backend");
    backend_known = value.has_value();
    if (value.has_value()) out->backend = *value;
  }
  const bool postgres = out->backend == StoreBackend::kPostgres;
  // With postgres the path is not used, so not checked (a wiped state folder is no reason to refuse to start).
  if (std::optional<Field> field = map.Get("path")) ReadDataFilePath(ctx, *field, &out->path, /*check=*/!postgres);
  if (std::optional<Field> field = postgres ? map.Require("dsn") : map.Get("dsn")) {
    if (!postgres) {
      // An empty dsn is none: a shipped config can carry `dsn: ${PORTCULLIS_STORE_DSN:-}` for either
      // backend. An unknown backend is reported once, at backend.
      std::optional<std::string> dsn = ReadStringOrEmpty(ctx, *field);
      if (backend_known && dsn.has_value() && !dsn->empty()) {
        ctx.problems.Add(field->mark, field->path, "is only used with 'backend: postgres'");
      }
    } else if (std::optional<std::string> dsn = ReadString(ctx, *field)) {
      // Problems never quote the DSN: it may hold a password.
      const std::string problem = CheckDsn(*dsn);
      if (problem.empty()) {
        out->dsn = *std::move(dsn);
      } else {
        ctx.problems.Add(field->mark, field->path, absl::StrCat("invalid PostgreSQL connection string: ", problem));
      }
    }
  }
  if (std::optional<Field> field = map.Get("pool_size")) {
    if (std::optional<int64_t> v = ReadInt(ctx, *field, 1, 64)) {
      if (postgres && *v < 2) {
        // The audit log's checkpoint signer holds one connection (its advisory lock, the witness copy) while
        // readers take another; with one, the Merkle tree waits for the pool while holding its lock, and the
        // writer behind it (pg_audit_log.h).
        ctx.problems.Add(field->mark, field->path,
                         absl::StrCat("must be at least 2 with 'backend: postgres' (the audit checkpoint signer "
                                      "holds one connection while audit reads need another), got ",
                                      *v));
      } else {
        out->pool_size = static_cast<int>(*v);
      }
    }
  }
  if (std::optional<Field> field = map.Get("connect_timeout_seconds")) {
    if (std::optional<int64_t> v = ReadInt(ctx, *field, 1, 60)) out->connect_timeout_seconds = static_cast<int>(*v);
  }
}

}  // namespace portcullis::config_internal
