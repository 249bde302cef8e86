// What operators see of the replicas sharing one database (docs/cluster.md,
// "Operators"): who holds each push destination's lease, and the replicas
// with their last heartbeat. Read-only; the rows are written by the replicas'
// lease and heartbeat loops. On SQLite (one gateway) there is no cluster:
// NoClusterView() answers empty. Implementations are thread-safe.
#ifndef PORTCULLIS_GATEWAY_STORE_CLUSTER_VIEW_H_
#define PORTCULLIS_GATEWAY_STORE_CLUSTER_VIEW_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace portcullis {

struct ReplicaRow {
  std::string replica_id;
  int64_t heartbeat_age_millis = 0;  // Since its last heartbeat, on the database's clock.
  std::string info;                  // What the replica wrote about itself: "listener <address>".
};

class ClusterView {
 public:
  virtual ~ClusterView() = default;
  // Destination -> the replica holding its lease now (unexpired, not
  // released, database clock). A destination without one is absent.
  virtual absl::StatusOr<std::map<std::string, std::string>> LeaseHolders() const = 0;
  // Every replica that ever ran on the database, by id.
  virtual absl::StatusOr<std::vector<ReplicaRow>> Replicas() const = 0;
};

// SQLite: no leases, no replicas.
std::unique_ptr<ClusterView> NoClusterView();

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_STORE_CLUSTER_VIEW_H_
