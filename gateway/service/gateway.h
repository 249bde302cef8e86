// The assembled gateway: audit log, message store, delivery, the Exchange,
// Audit and Admin services, health and reflection services, on one mTLS listener with every
// HTTP/2 limit set (gRPC 1.51 has unfixed HTTP/2 DoS CVEs).
//
// A timer (every tls.reload_interval_seconds) re-reads the CA bundle and
// CRLs; when they change, open Receive streams whose certificates no longer
// verify end UNAUTHENTICATED and push channels are rebuilt (every call is
// re-checked anyway: peer_trust.h). The same timer writes the counts of
// refused handshakes (handshake_audit.h).
//
// Start() returns once the listener is bound. Shutdown() stops accepting,
// lets in-flight calls finish (up to the grace period), waits for in-flight
// deliveries and closes the audit log after its last record is durable.
#ifndef PORTCULLIS_GATEWAY_SERVICE_GATEWAY_H_
#define PORTCULLIS_GATEWAY_SERVICE_GATEWAY_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "gateway/audit/audit_log.h"
#include "gateway/cluster/destination_leases.h"
#include "gateway/cluster/work_notifier.h"
#include "gateway/config/config.h"
#include "gateway/delivery/dispatcher.h"
#include "gateway/service/admin_service.h"
#include "gateway/service/audit_service.h"
#include "gateway/service/exchange_service.h"
#include "gateway/service/officer_identity.h"
#include "gateway/service/storage.h"
#include "gateway/service/handshake_audit.h"
#include "mtls/reloading_trust_store.h"
#include "gateway/store/message_store.h"

namespace portcullis {

// Seams for tests that need a fault the real machine cannot be made to have.
struct GatewayTestHooks {
  // Passed to the audit log (FileAuditLogOptions::fault_injector).
  std::function<absl::Status(absl::string_view op)> audit_fault_injector;
  // Wraps the opened message store (e.g. in a decorator that fails on demand).
  std::function<std::unique_ptr<MessageStore>(std::unique_ptr<MessageStore>)> wrap_store;
};

class Gateway {
 public:
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(std::shared_ptr<const Config> config,
                                                        GatewayTestHooks hooks = {});
  ~Gateway();

  int port() const { return port_; }
  AuditLog* audit() { return audit_; }
  Dispatcher* dispatcher() { return dispatcher_.get(); }
  // The push destinations' leases (docs/cluster.md); null with SQLite (one
  // gateway delivers to every destination).
  DestinationLeases* leases() { return leases_.get(); }
  // PostgreSQL: the LISTEN/NOTIFY wake-ups and stream claims; null on SQLite.
  ClusterNotify* cluster_notify() { return cluster_notify_.get(); }
  // The trust-store generation whose consequences (Receive streams ended,
  // push channels rebuilt) have been applied.
  uint64_t trust_generation() const { return trust_generation_.load(); }

  void Shutdown(std::chrono::milliseconds grace);

 private:
  Gateway() = default;
  void TimerLoop();
  void StopTimer();
  // The trust store changed: ends the Receive streams it no longer trusts.
  void EndRevokedStreams();

  // Health: SERVING on gRPC health while the storage can record, NOT_SERVING
  // otherwise (checked by the timer every kHealthInterval).
  void CheckHealth();

  std::shared_ptr<const Config> config_;
  std::unique_ptr<Storage> storage_;  // Owns the audit log and the store below.
  AuditLog* audit_ = nullptr;
  bool serving_ = true;  // Timer thread only.
  std::unique_ptr<HandshakeAudit> handshake_audit_;
  std::shared_ptr<mtls::ReloadingTrustStore> trust_;
  uint64_t trust_listener_ = 0;
  std::atomic<uint64_t> trust_generation_{0};
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;
  std::thread timer_;
  MessageStore* store_ = nullptr;
  std::unique_ptr<OfficerIdentity> officers_;  // Before the services that use it.
  std::unique_ptr<DeliveryTransport> transport_;
  std::unique_ptr<DestinationLeases> leases_;  // Before the dispatcher, which asks it.
  std::unique_ptr<Dispatcher> dispatcher_;
  // PostgreSQL: wake-ups from other replicas, Receive stream claims (docs/cluster.md).
  std::unique_ptr<ClusterNotify> cluster_notify_;
  std::unique_ptr<DeliveryHandoff> recorder_handoff_;  // The recorder's way to the dispatcher.
  std::unique_ptr<AcceptanceRecorder> recorder_;       // Null: the pipeline's PairedAcceptance.
  std::unique_ptr<ExchangeService> service_;
  std::unique_ptr<AuditService> audit_service_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_SERVICE_GATEWAY_H_
