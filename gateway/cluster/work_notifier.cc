#include "gateway/cluster/work_notifier.h"

#include <chrono>
#include <utility>

#include "gateway/cluster/pg_stream_claims.h"

namespace portcullis {

absl::StatusOr<std::unique_ptr<WorkNotifier>> WorkNotifier::Start(Options options) {
  std::unique_ptr<WorkNotifier> n(new WorkNotifier());
  pg::ListenerOptions lo;
  lo.dsn = options.dsn;
  lo.connect_timeout_seconds = options.connect_timeout_seconds;
  lo.channels = {kWorkChannel, kStreamsChannel};
  // Work committed elsewhere between the gateway's start-up scan and LISTEN
  // was announced to nobody: once listening, everything is looked at once.
  lo.on_reconnect_at_start = true;
  // A replica starts even if it cannot LISTEN yet (the database refuses
  // more connections, a failover is under way): polling covers the gap and,
  // once the listener is in place, everything is looked at once.
  lo.connect_in_background = true;
  auto wake = std::move(options.wake);
  auto streams_changed = std::move(options.streams_changed);
  lo.on_notify = [wake, streams_changed](const std::string& channel, const std::string& payload) {
    if (channel == kWorkChannel && wake) wake(payload);
    if (channel == kStreamsChannel && streams_changed) streams_changed(payload);
  };
  lo.on_reconnect = [wake, streams_changed, parties = std::move(options.parties)] {
    for (const std::string& party : parties) {
      if (wake) wake(party);
      if (streams_changed) streams_changed(party);
    }
  };
  auto listener = pg::Listener::Start(std::move(lo));
  if (!listener.ok()) return listener.status();
  n->listener_ = *std::move(listener);
  return n;
}

absl::StatusOr<std::unique_ptr<ClusterNotify>> ClusterNotify::Start(const Config& config, Dispatcher* dispatcher) {
  std::unique_ptr<ClusterNotify> c(new ClusterNotify());
  // A claim or read waits at most a lease (as the lease connection's
  // statements): the pump serving every pull party is never held longer.
  c->claims_ = std::make_unique<PgStreamClaims>(config.store.dsn, config.cluster.replica_id,
                                                std::chrono::milliseconds(config.cluster.poll_ms),
                                                config.store.connect_timeout_seconds,
                                                std::chrono::milliseconds(config.cluster.lease_ms));
  PullStreams* streams = dispatcher->pull_streams();
  WorkNotifier::Options o;
  o.dsn = config.store.dsn;
  o.connect_timeout_seconds = config.store.connect_timeout_seconds;
  for (const Party& p : config.parties) o.parties.push_back(p.id);
  o.wake = [dispatcher](const std::string& recipient) { dispatcher->Wake(recipient); };
  o.streams_changed = [streams](const std::string& party) { streams->StreamsChanged(party); };
  auto notifier = WorkNotifier::Start(std::move(o));
  if (!notifier.ok()) return notifier.status();
  c->notifier_ = *std::move(notifier);
  // Listening first: a stream claimed from now on hears every later claim.
  streams->SetClaims(c->claims_.get());
  return c;
}

}  // namespace portcullis
