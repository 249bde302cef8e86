// The PostgreSQL schema of a Portcullis database (docs/storage.md,
// "PostgreSQL schema"): the store's tables, the audit log's, and the head
// row. Versioned in portcullis_meta; created or migrated at open, in one
// transaction under an advisory lock (several gateways may open one
// database at once).
#ifndef PORTCULLIS_GATEWAY_PG_PG_SCHEMA_H_
#define PORTCULLIS_GATEWAY_PG_PG_SCHEMA_H_

#include "absl/status/status.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis::pg {

// The schema version this build writes.
inline constexpr int kSchemaVersion = 2;

// Creates the schema if the database has none; checks the version of one
// that exists (FAILED_PRECONDITION for a newer version or a database that is
// not a Portcullis database).
absl::Status PrepareSchema(Connection& conn);

}  // namespace portcullis::pg

#endif  // PORTCULLIS_GATEWAY_PG_PG_SCHEMA_H_
