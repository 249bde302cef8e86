// The storage a gateway runs on, opened from its config (docs/storage.md):
// SQLite + the file audit log (store.backend: sqlite, the default), or both
// in one PostgreSQL database (postgres) with one shared writing connection.
#ifndef PORTCULLIS_GATEWAY_SERVICE_STORAGE_H_
#define PORTCULLIS_GATEWAY_SERVICE_STORAGE_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "gateway/audit/audit_log.h"
#include "gateway/config/config.h"
#include "gateway/service/acceptance.h"
#include "gateway/service/acceptance_recorder.h"
#include "gateway/store/cluster_view.h"
#include "gateway/store/message_store.h"

namespace portcullis {

class PgAuditLog;
class PgMessageStore;
namespace pg {
class GroupWriter;
class Pool;
}  // namespace pg

class Storage {
 public:
  // Opens (creating if missing) the configured backend. `audit_fault_injector`
  // is the audit log's test seam (FileAuditLogOptions / PgAuditLogOptions).
  static absl::StatusOr<std::unique_ptr<Storage>> Open(
      const Config& config, std::function<absl::Status(absl::string_view)> audit_fault_injector = nullptr);
  // The store, then the audit log (its last checkpoint), then the database connections.
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  AuditLog* audit() const { return audit_.get(); }
  MessageStore* store() const { return store_.get(); }
  // Leases and replicas as the database has them (empty on SQLite).
  const ClusterView* cluster_view() const { return cluster_view_.get(); }
  // Replaces the store with a decorator of it (tests).
  void WrapStore(const std::function<std::unique_ptr<MessageStore>(std::unique_ptr<MessageStore>)>& wrap);
  // What makes a submission accepted: one transaction on PostgreSQL; null
  // for SQLite (the pipeline's PairedAcceptance). `delivery` must outlive it.
  std::unique_ptr<AcceptanceRecorder> MakeRecorder(DeliveryHandoff* delivery) const;
  // OK while the gateway can record: the audit log's health (on PostgreSQL,
  // the database connection's, which both share).
  absl::Status Health() const;
  bool postgres() const { return writer_ != nullptr; }

 private:
  Storage() = default;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<pg::GroupWriter> writer_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<MessageStore> store_;
  std::unique_ptr<ClusterView> cluster_view_;
  PgAuditLog* pg_audit_ = nullptr;
  PgMessageStore* pg_store_ = nullptr;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_STORAGE_H_
