// ClusterView on PostgreSQL (cluster_view.h): destination_leases and
// portcullis_replicas read through the store's pool, times on the database's
// clock (replicas' clocks need not agree).
#ifndef PORTCULLIS_GATEWAY_STORE_PG_CLUSTER_VIEW_H_
#define PORTCULLIS_GATEWAY_STORE_PG_CLUSTER_VIEW_H_

#include "gateway/pg/pg_pool.h"
#include "gateway/store/cluster_view.h"

namespace portcullis {

class PgClusterView final : public ClusterView {
 public:
  // `pool` must outlive this.
  explicit PgClusterView(pg::Pool* pool) : pool_(pool) {}
  absl::StatusOr<std::map<std::string, std::string>> LeaseHolders() const override;
  absl::StatusOr<std::vector<ReplicaRow>> Replicas() const override;

 private:
  pg::Pool* pool_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_PG_CLUSTER_VIEW_H_
