#include "gateway/store/pg_cluster_view.h"

#include <utility>

#include "gateway/pg/pg_clock.h"

namespace portcullis {
namespace {

constexpr const char* kLeaseHolders =
    "SELECT recipient, holder FROM destination_leases WHERE holder <> '' AND expires_micros > "
    PORTCULLIS_PG_NOW_MICROS;
constexpr const char* kReplicas = "SELECT replica_id, (" PORTCULLIS_PG_NOW_MICROS
                                  " - heartbeat_micros) / 1000, info FROM portcullis_replicas ORDER BY replica_id";

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> PgClusterView::LeaseHolders() const {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto res = (*conn)->Exec(kLeaseHolders);
  if (!res.ok()) return res.status();
  std::map<std::string, std::string> out;
  for (int i = 0; i < res->rows(); ++i) out[std::string(res->Text(i, 0))] = std::string(res->Text(i, 1));
  return out;
}

absl::StatusOr<std::vector<ReplicaRow>> PgClusterView::Replicas() const {
  auto conn = pool_->Acquire();
  if (!conn.ok()) return conn.status();
  auto res = (*conn)->Exec(kReplicas);
  if (!res.ok()) return res.status();
  std::vector<ReplicaRow> out;
  for (int i = 0; i < res->rows(); ++i) {
    ReplicaRow r;
    r.replica_id = std::string(res->Text(i, 0));
    r.heartbeat_age_millis = res->Int(i, 1);
    r.info = std::string(res->Text(i, 2));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace portcullis
