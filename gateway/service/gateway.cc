#include "gateway/service/gateway.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/common/log.h"
#include "gateway/common/refusal.h"
#include "gateway/service/call_audit.h"
#include "gateway/service/peer_trust.h"
#include "gateway/service/recovery.h"
#include "gateway/service/dispatcher_handoff.h"
#include "mtls/credentials.h"

namespace portcullis {
namespace {

constexpr std::chrono::seconds kHealthInterval{1};

// Server-side identity rule: exactly one URI SAN, naming a configured party.
absl::Status IdentityRule(const Config& config, const std::vector<std::string>& sans) {
  if (sans.empty()) return absl::PermissionDeniedError("IDENTITY_MISSING: certificate has no URI SAN");
  if (sans.size() > 1) {
    return absl::PermissionDeniedError(absl::StrCat("IDENTITY_AMBIGUOUS: certificate has ", sans.size(),
                                                    " URI SANs (", absl::StrJoin(sans, ", "),
                                                    "); exactly one is required"));
  }
  if (config.FindPartyByIdentity(sans[0]) == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("IDENTITY_UNKNOWN: '", sans[0], "' is not a party of this exchange"));
  }
  return absl::OkStatus();
}

// With PostgreSQL: the leases of every push destination, taken while the
// storage can record. Null with SQLite (one gateway owns every destination).
std::unique_ptr<DestinationLeases> DestinationLeasesFor(const Config& config, const Storage* storage) {
  if (!storage->postgres()) return nullptr;
  DestinationLeasesOptions o;
  o.dsn = config.store.dsn;
  o.replica_id = config.cluster.replica_id;
  o.lease = std::chrono::milliseconds(config.cluster.lease_ms);
  o.info = absl::StrCat("listener ", config.listener.address);
  for (const Party& p : config.parties) {
    if (p.delivery.mode == DeliveryMode::kPush) o.destinations.push_back(p.id);
  }
  o.healthy = [storage] { return storage->Health().ok(); };
  return std::make_unique<DestinationLeases>(std::move(o));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Gateway>> Gateway::Start(std::shared_ptr<const Config> config,
                                                        GatewayTestHooks hooks) {
  SetLogReplica(config->cluster.replica_id);  // Every line from here on names this replica.
  if (config->cluster.replica_id_generated) {
    LogLine("cluster.replica_id is not set: this run is replica %s, a new id at every start (a restart waits for "
            "its old leases to lapse); set one per replica (docs/cluster.md)\n",
            config->cluster.replica_id.c_str());
  }
  std::unique_ptr<Gateway> g(new Gateway());
  g->config_ = config;
  auto storage = Storage::Open(*config, std::move(hooks.audit_fault_injector));
  if (!storage.ok()) return storage.status();
  g->storage_ = *std::move(storage);
  g->storage_->WrapStore(hooks.wrap_store);
  g->audit_ = g->storage_->audit();
  g->store_ = g->storage_->store();
  AuditLog* audit_log = g->audit_;
  const Config* cfg = config.get();
  auto recovery = PairUnauditedMessages(g->store_, audit_log);
  if (!recovery.ok()) {
    return absl::Status(recovery.status().code(),
                        absl::StrCat("start-up recovery of accepted messages: ", recovery.status().message()));
  }
  HandshakeAudit::Options handshake_options;
  handshake_options.interval = std::chrono::seconds(config->tls.handshake_audit_interval_seconds);
  handshake_options.max_tracked = static_cast<size_t>(config->tls.handshake_audit_max_subjects);
  g->handshake_audit_ = std::make_unique<HandshakeAudit>(cfg, handshake_options, [audit_log](AuditRecord r) {
    audit_log->Append(std::move(r), [](absl::StatusOr<uint64_t>) {});
  });
  HandshakeAudit* handshakes = g->handshake_audit_.get();
  auto transport = NewGrpcPushTransport(*config, [handshakes](const mtls::HandshakeRefusal& r) {
    handshakes->Refused(r, false);
  });
  if (!transport.ok()) return transport.status();
  g->transport_ = std::move(*transport);
  // Replicas on PostgreSQL deliver to a push destination only while they hold its lease (docs/cluster.md).
  g->leases_ = DestinationLeasesFor(*config, g->storage_.get());
  g->dispatcher_ = std::make_unique<Dispatcher>(config, g->store_, audit_log, g->transport_.get(), g->leases_.get());
  if (g->leases_) g->leases_->Start();
  if (absl::Status s = g->dispatcher_->Start(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("start-up recovery of deliveries: ", s.message()));
  }
  if (g->dispatcher_->backlog()->counting()) {
    for (const Party& p : config->parties) recovery->resumed += g->dispatcher_->backlog()->messages(p.id);
  } else if (auto counts = g->store_->BacklogCounts(); counts.ok()) {
    // PostgreSQL: the database counts (docs/cluster.md, "Backlog bounds").
    for (const auto& [recipient, count] : *counts) recovery->resumed += count.messages;
  }
  if (g->storage_->postgres()) {
    // Replicas: LISTEN for work and stream claims; Receive streams claimed in the database.
    auto notify = ClusterNotify::Start(*config, g->dispatcher_.get());
    if (!notify.ok()) return notify.status();
    g->cluster_notify_ = *std::move(notify);
  }
  if (recovery->recovered + recovery->paired + recovery->resumed > 0) {
    LogLine("recovered at start-up: %llu acceptance(s) paired, %llu recorded now, "
                 "%llu delivery(ies) resumed\n", static_cast<unsigned long long>(recovery->paired),
                 static_cast<unsigned long long>(recovery->recovered),
                 static_cast<unsigned long long>(recovery->resumed));
  }
  auto audience = CertificateUriSan(config->tls.server_cert);
  if (!audience.ok()) return audience.status();
  auto officers = OfficerIdentity::Create(*config, *audience);
  if (!officers.ok()) return officers.status();
  g->officers_ = *std::move(officers);
  g->recorder_handoff_ = std::make_unique<DispatcherHandoff>(g->dispatcher_.get());
  g->recorder_ = g->storage_->MakeRecorder(g->recorder_handoff_.get());
  g->service_ = std::make_unique<ExchangeService>(config, g->store_, audit_log, g->dispatcher_.get(),
                                                  g->officers_.get(), g->recorder_.get());
  g->audit_service_ = std::make_unique<AuditService>(config, audit_log, g->officers_.get());
  g->admin_service_ = std::make_unique<AdminService>(config, g->store_, audit_log, g->dispatcher_.get(),
                                                        g->officers_.get(), g->storage_->cluster_view());

  mtls::ServerTlsOptions tls;
  tls.files = {config->tls.server_cert, config->tls.server_key, config->tls.ca_bundle, config->tls.crl_dir,
               config->tls.reload_interval_seconds};
  tls.identity_check = [cfg](const std::vector<std::string>& sans) { return IdentityRule(*cfg, sans); };
  tls.on_refused = [handshakes](const mtls::HandshakeRefusal& r) { handshakes->Refused(r, true); };
  auto creds = mtls::MakeServerCredentials(tls);
  if (!creds.ok()) return creds.status();
  // The store the listener verifies with (shared: mtls::SharedTrustStore).
  auto trust = ListenerTrustStore(*config);
  if (!trust.ok()) return trust.status();
  g->trust_ = *trust;
  g->trust_generation_ = g->trust_->Refresh();  // What is on disk now, before the first call.
  Gateway* gw = g.get();
  // Listeners run in the order they subscribed: the push transport's (which
  // rebuilds its channels) has run when this one records the generation.
  g->trust_listener_ = g->trust_->Subscribe([gw](uint64_t generation) {
    gw->EndRevokedStreams();
    gw->trust_generation_ = generation;
  });

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const LimitsConfig& l = config->limits;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config->listener.address, *creds, &g->port_);
  // A port already in use must be an error, not a silently shared listener.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(g->service_.get());
  builder.RegisterService(g->audit_service_.get());
  builder.RegisterService(g->admin_service_.get());
  builder.SetMaxReceiveMessageSize(l.max_receive_message_bytes);
  // Derived (docs/delivery.md, "Sizes"): a Delivery on a Receive stream
  // carrying the largest envelope a Submit within the receive limit holds.
  builder.SetMaxSendMessageSize(static_cast<int>(config->MaxSendMessageBytes()));
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, l.max_metadata_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, l.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, l.handshake_timeout_ms);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, l.keepalive_min_ping_interval_ms);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, l.keepalive_max_ping_strikes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, l.max_connection_idle_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, l.max_connection_age_ms);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, l.max_connection_age_grace_ms);
  grpc::ResourceQuota quota("portcullis");
  quota.Resize(static_cast<size_t>(l.resource_quota_bytes));
  quota.SetMaxThreads(l.max_threads);
  builder.SetResourceQuota(quota);
  g->server_ = builder.BuildAndStart();
  if (!g->server_ || g->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config->listener.address));
  }
  g->timer_ = std::thread([gw] { gw->TimerLoop(); });
  return g;
}

void Gateway::TimerLoop() {
  using Clock = std::chrono::steady_clock;
  const auto interval = trust_->check_interval();
  Clock::time_point next_refresh = Clock::now() + interval;
  Clock::time_point next_flush = Clock::time_point::max();
  Clock::time_point next_health = Clock::now();
  std::unique_lock<std::mutex> lock(timer_mu_);
  while (!timer_stop_) {
    timer_cv_.wait_until(lock, std::min({next_refresh, next_flush, next_health}), [this] { return timer_stop_; });
    if (timer_stop_) break;
    lock.unlock();
    const Clock::time_point now = Clock::now();
    if (now >= next_health) {
      CheckHealth();
      next_health = now + kHealthInterval;
    }
    if (now >= next_refresh) {
      // A changed CA bundle or CRL takes effect now, not at the next
      // handshake: the listeners (EndRevokedStreams, the push channels) run here.
      trust_->Refresh();
      // Also without a change: a certificate or CRL in force may have
      // expired since a stream opened (the per-call check is cached for at
      // most one interval, so this costs a lookup per open stream).
      EndRevokedStreams();
      officers_->Refresh();  // Officer keys rotate like CRLs (docs/officer-identity.md).
      next_refresh = now + interval;
    }
    // A refusal arriving meanwhile opens an interval that ends later than
    // next_refresh at the latest, so its count is written at most one
    // reload interval after its end.
    next_flush = handshake_audit_->Flush(now);
    lock.lock();
  }
}

void Gateway::CheckHealth() {
  absl::Status health = storage_->Health();
  if (health.ok() == serving_) return;
  serving_ = health.ok();
  server_->GetHealthCheckService()->SetServingStatus(serving_);
  if (serving_) {
    LogLine("storage is back: health SERVING\n");
  } else {
    LogLine("storage cannot record (%s): health NOT_SERVING, refusing new work\n",
                 health.ToString().c_str());
  }
}

void Gateway::StopTimer() {
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  if (trust_ && trust_listener_ != 0) {
    trust_->Unsubscribe(trust_listener_);
    trust_listener_ = 0;
  }
}

void Gateway::EndRevokedStreams() {
  std::vector<AuditRecord> records;
  const Config& config = *config_;
  size_t ended = dispatcher_->pull_streams()->EndStreams([&](const std::string& party, const std::string& peer) {
    if (peer.empty()) return grpc::Status::OK;  // Opened without certificates to re-check.
    absl::Status still = RecheckPeer(config, peer);
    if (still.ok()) return grpc::Status::OK;
    AuditRecord r;
    r.time_micros = NowMicros();
    r.action = "receive";
    r.actor_party = party;
    MarkRefused(still, &r);
    r.outcome = "stream_ended";  // Opened while trusted (its "stream_opened" record), ended now.
    r.detail = absl::StrCat("open Receive stream ended: ", r.detail);
    records.push_back(std::move(r));
    return ToGrpcStatus(still);
  });
  if (ended > 0) {
    LogLine("%zu Receive stream(s) ended: their certificates no longer verify\n", ended);
  }
  for (AuditRecord& r : records) audit_->Append(std::move(r), [](absl::StatusOr<uint64_t>) {});
}

void Gateway::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  StopTimer();
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  // Writes the calls queued (e.g. a message's audit pairing) call the
  // dispatcher back: they end before it does.
  store_->Flush();
  if (cluster_notify_) cluster_notify_->Stop();  // No wake-up after this.
  dispatcher_->Shutdown(grace);
  if (leases_) {
    // Nothing starts any more: another replica may take every destination over at once.
    if (absl::Status s = leases_->ReleaseAll(); !s.ok()) {
      LogLine("replica %s: leases not released (they lapse in %d ms): %s\n",
                   config_->cluster.replica_id.c_str(), config_->cluster.lease_ms, s.ToString().c_str());
    }
  }
  handshake_audit_->FlushAll();  // Counts not yet written.
}

Gateway::~Gateway() {
  if (server_) Shutdown(std::chrono::milliseconds(0));
  StopTimer();  // If Start failed before the server was built.
  // Order: deliveries stop before the transport and store they use go away;
  // the audit log is destroyed last, after draining its queue.
  service_.reset();
  admin_service_.reset();
  if (leases_) leases_->Stop();  // Its listener calls the dispatcher.
  if (cluster_notify_) cluster_notify_->Stop();
  dispatcher_.reset();
  cluster_notify_.reset();  // After the dispatcher: its PullStreams uses the claims.
  transport_.reset();
  if (handshake_audit_) handshake_audit_->FlushAll();
  handshake_audit_.reset();
  recorder_.reset();
  recorder_handoff_.reset();
  storage_.reset();  // The store, then the audit log (drained, a final checkpoint), then the database.
}

}  // namespace portcullis
