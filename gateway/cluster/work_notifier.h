// Wake-ups between replicas (docs/cluster.md, "Waking other replicas"): a
// pg::Listener on portcullis_work (payload: a recipient with new ACCEPTED
// work, NOTIFYed by the deliveries trigger at commit, whoever committed) and
// portcullis_streams (payload: a pull party whose Receive stream was claimed,
// or whose deliveries were confirmed, on some replica). After the LISTEN
// connection was lost and is back, every party is woken and every stream
// looks at the database (notifications may have been missed); the same once
// at start, when LISTEN is in place (work committed elsewhere between the
// gateway's start-up scan and LISTEN). Polling (cluster.poll_ms) remains the
// net underneath.
#ifndef PORTCULLIS_GATEWAY_CLUSTER_WORK_NOTIFIER_H_
#define PORTCULLIS_GATEWAY_CLUSTER_WORK_NOTIFIER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/config/config.h"
#include "gateway/delivery/dispatcher.h"
#include "gateway/delivery/stream_claims.h"
#include "gateway/pg/pg_listener.h"

namespace portcullis {

class WorkNotifier {
 public:
  static constexpr char kWorkChannel[] = "portcullis_work";
  static constexpr char kStreamsChannel[] = "portcullis_streams";

  struct Options {
    std::string dsn;
    int connect_timeout_seconds = 5;
    std::vector<std::string> parties;  // Woken all at once after a reconnect.
    std::function<void(const std::string& recipient)> wake;           // portcullis_work
    std::function<void(const std::string& party)> streams_changed;    // portcullis_streams
  };

  // Listening when it returns if the database can be reached; if not, it
  // returns all the same (logged) and its listener connects in the
  // background, then wakes every party (polling is the net meanwhile). An
  // error only for what retrying cannot mend (a bad channel name).
  static absl::StatusOr<std::unique_ptr<WorkNotifier>> Start(Options options);
  ~WorkNotifier() { Stop(); }
  // No callback runs after it returns.
  void Stop() {
    if (listener_ != nullptr) listener_->Stop();
  }
  pg::Listener* listener() { return listener_.get(); }

 private:
  WorkNotifier() = default;
  std::unique_ptr<pg::Listener> listener_;
};

// What a gateway on PostgreSQL runs for its Receive streams and wake-ups:
// PgStreamClaims set on the dispatcher's PullStreams and a WorkNotifier
// calling Dispatcher::Wake and PullStreams::StreamsChanged. Stop before the
// dispatcher goes; destroy after it (its PullStreams uses the claims).
class ClusterNotify {
 public:
  static absl::StatusOr<std::unique_ptr<ClusterNotify>> Start(const Config& config, Dispatcher* dispatcher);
  void Stop() {
    if (notifier_ != nullptr) notifier_->Stop();
  }
  WorkNotifier* notifier() { return notifier_.get(); }

 private:
  ClusterNotify() = default;
  std::unique_ptr<StreamClaims> claims_;
  std::unique_ptr<WorkNotifier> notifier_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_CLUSTER_WORK_NOTIFIER_H_
