#include "gateway/service/storage.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gateway/audit/file_audit_log.h"
#include "gateway/audit/pg_audit_log.h"
#include "gateway/pg/pg_pool.h"
#include "gateway/pg/pg_schema.h"
#include "gateway/pg/pg_writer.h"
#include "gateway/service/pg_acceptance.h"
#include "gateway/store/pg_cluster_view.h"
#include "gateway/store/pg_message_store.h"
#include "gateway/store/sqlite_message_store.h"

namespace portcullis {

absl::StatusOr<std::unique_ptr<Storage>> Storage::Open(
    const Config& config, std::function<absl::Status(absl::string_view)> audit_fault_injector) {
  std::unique_ptr<Storage> s(new Storage());
  const AuditConfig& a = config.audit;
  if (config.store.backend != StoreBackend::kPostgres) {
    FileAuditLogOptions audit_options;
    audit_options.path = a.path;
    audit_options.signing_key = a.signing_key;
    audit_options.checkpoint_every_records = static_cast<uint64_t>(a.checkpoint_every_records);
    audit_options.checkpoint_interval = std::chrono::seconds(a.checkpoint_interval_seconds);
    audit_options.witness_dir = a.witness_dir;
    audit_options.replica_id = config.cluster.replica_id;
    audit_options.fault_injector = std::move(audit_fault_injector);
    auto audit = FileAuditLog::Open(std::move(audit_options));
    if (!audit.ok()) return audit.status();
    s->audit_ = std::move(*audit);
    SqliteStoreOptions store_options;
    store_options.path = config.store.path;
    store_options.delivery_max_age_micros = config.delivery.max_age_ms * 1000;
    auto store = SqliteMessageStore::Open(std::move(store_options));
    if (!store.ok()) return store.status();
    s->store_ = std::move(*store);
    s->cluster_view_ = NoClusterView();
    return s;
  }

  const StoreConfig& sc = config.store;
  auto conn = pg::Connection::Open(sc.dsn, sc.connect_timeout_seconds);
  if (!conn.ok()) return conn.status();
  if (absl::Status ready = pg::PrepareSchema(**conn); !ready.ok()) return ready;
  conn->reset();
  pg::GroupWriter::Options writer_options;
  writer_options.dsn = sc.dsn;
  writer_options.connect_timeout_seconds = sc.connect_timeout_seconds;
  auto writer = pg::GroupWriter::Start(std::move(writer_options));
  if (!writer.ok()) return writer.status();
  s->writer_ = *std::move(writer);
  s->pool_ = std::make_unique<pg::Pool>(sc.dsn, static_cast<size_t>(sc.pool_size), sc.connect_timeout_seconds);

  PgAuditLogOptions audit_options;
  audit_options.writer = s->writer_.get();
  audit_options.pool = s->pool_.get();
  audit_options.signing_key = a.signing_key;
  audit_options.checkpoint_every_records = static_cast<uint64_t>(a.checkpoint_every_records);
  audit_options.checkpoint_interval = std::chrono::seconds(a.checkpoint_interval_seconds);
  audit_options.witness_dir = a.witness_dir;
  audit_options.replica_id = config.cluster.replica_id;
  audit_options.fault_injector = std::move(audit_fault_injector);
  auto audit = PgAuditLog::Open(std::move(audit_options));
  if (!audit.ok()) return audit.status();
  s->pg_audit_ = audit->get();
  s->audit_ = *std::move(audit);

  PgStoreOptions store_options;
  store_options.writer = s->writer_.get();
  store_options.pool = s->pool_.get();
  store_options.delivery_max_age_micros = config.delivery.max_age_ms * 1000;
  // Checked in the acceptance transaction (the in-memory Backlog does not count here).
  store_options.backlog_bound = {static_cast<uint64_t>(config.delivery.max_backlog_messages),
                                 static_cast<uint64_t>(config.delivery.max_backlog_mib) << 20};
  auto store = PgMessageStore::Open(std::move(store_options));
  if (!store.ok()) return store.status();
  s->pg_store_ = store->get();
  s->store_ = *std::move(store);
  s->cluster_view_ = std::make_unique<PgClusterView>(s->pool_.get());
  return s;
}

Storage::~Storage() {
  cluster_view_.reset();
  store_.reset();
  audit_.reset();
  writer_.reset();
  pool_.reset();
}

void Storage::WrapStore(const std::function<std::unique_ptr<MessageStore>(std::unique_ptr<MessageStore>)>& wrap) {
  if (wrap) store_ = wrap(std::move(store_));
}

std::unique_ptr<AcceptanceRecorder> Storage::MakeRecorder(DeliveryHandoff* delivery) const {
  if (writer_ == nullptr) return nullptr;
  return std::make_unique<PgAcceptance>(writer_.get(), pg_store_, pg_audit_, delivery);
}

absl::Status Storage::Health() const { return audit_->Health(); }

}  // namespace portcullis
