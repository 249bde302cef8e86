// Several real portcullis-gateway processes on one PostgreSQL database (issue
// 15, docs/cluster.md "Tests"), for the tests that kill, wipe and restart
// replicas, and a partner's real push endpoint in-process that records what it
// stored.
//
// Replica i (0-based) has the id "r<i+1>" (cluster.replica_id), its own config
// (dir()/r<i+1>.yaml: the test harness's parties and routes, WriteTestConfig),
// its own listener port and its own state folder (dir()/r<i+1>-state: audit.path
// points there; on PostgreSQL nothing is kept in it, docs/storage.md "Local
// state"). The PKI and the checkpoint signing key are shared, and the witness
// folder unless options say otherwise. A replica listens on the same port after every restart, so a
// client's address list stays valid.
#ifndef PORTCULLIS_TESTS_SUPPORT_REPLICA_SET_H_
#define PORTCULLIS_TESTS_SUPPORT_REPLICA_SET_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/common/partner_endpoint.h"
#include "testkit/gateway_process.h"
#include "tests/support/harness.h"

namespace portcullis::testing {

struct ReplicaSetOptions {
  int replicas = 3;
  std::string dsn;   // The shared database (store.backend: postgres). Required.
  // Everything else in each replica's config (Europol's push address,
  // delivery tuning, checkpoint interval). Its store_dsn, replica_id and
  // witness_dir are set here.
  HarnessOptions base;
  int lease_ms = 5000;  // cluster.lease_ms
  int poll_ms = 1000;   // cluster.poll_ms
  // One witness folder for all (docs/audit-format.md: "give them one witness
  // folder (or each its own)"); false: dir()/r<i+1>-witness each.
  bool shared_witness = true;
};

class ReplicaSet {
 public:
  // Writes the configs and starts every replica; ok() is false (and a test
  // failure is added) if one did not start.
  ReplicaSet(const std::string& name, ReplicaSetOptions options);
  ~ReplicaSet();  // SIGKILLs the replicas still running.
  ReplicaSet(const ReplicaSet&) = delete;
  ReplicaSet& operator=(const ReplicaSet&) = delete;

  bool ok() const { return ok_; }
  int size() const { return static_cast<int>(replicas_.size()); }
  const std::string& dir() const { return dir_; }
  // The witness folder of replica i, and every witness file (for the offline verifier).
  std::string witness_dir(int i) const;
  std::vector<std::string> witness_logs() const;

  std::string id(int i) const { return "r" + std::to_string(i + 1); }
  // 127.0.0.1:<port>, the same for the replica's whole life.
  std::string address(int i) const;
  std::vector<std::string> addresses() const;
  std::string state_dir(int i) const { return dir_ + "/" + id(i) + "-state"; }
  std::string config_path(int i) const { return dir_ + "/" + id(i) + ".yaml"; }
  std::string log_path(int i) const { return dir_ + "/" + id(i) + ".stderr"; }

  // Whether replica i's process is running (started and not exited).
  bool running(int i) const;
  pid_t pid(int i) const;
  // Starts replica i (it must not be running) on its port; false if it did
  // not start listening (its stderr is log_path(i)).
  bool Start(int i);
  void Kill(int i);  // SIGKILL and reap.
  int Stop(int i);   // SIGTERM and wait (a clean stop signs the audit tail); the wait status.
  // Deletes replica i's state folder (it must not be running): the machine's
  // disk is gone; the config survives, as the operator's deployment does.
  void WipeState(int i);
  // Starts every replica not running; false if one did not start.
  bool StartAll();
  // Stops every running replica cleanly; false if one did not exit 0.
  bool StopAll();

 private:
  bool WriteConfig(int i, int port);
  struct Replica {
    int port = 0;
    std::unique_ptr<GatewayProcess> process;
  };
  ReplicaSetOptions options_;
  std::string dir_;
  std::vector<Replica> replicas_;
  bool ok_ = false;
};

// One delivery the endpoint newly stored.
struct Arrival {
  std::string delivery_id;
  std::string message_id;
  std::string case_reference;
};

// Europol's reference push endpoint (adapters/common/partner_endpoint.h) on
// loopback, in this process: it stores each delivery id once in its inbox (a
// repeated delivery id is answered duplicate=true and not stored again) and
// records every newly stored delivery in arrival order. It does not
// acknowledge. `fault` (optional) may slow or refuse deliveries.
class RecordingEndpoint {
 public:
  // Starts on `port` (0: a free one). ok() is false (test failure added) if
  // it could not start.
  explicit RecordingEndpoint(const std::string& name, int port = 0,
                             std::function<adapters::DeliverFault(const v1::Delivery&)> fault = nullptr);
  bool ok() const { return endpoint_ != nullptr; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Arrival> arrivals() const;
  size_t stored() const;
  // Deliveries answered as duplicates (a delivery id already stored):
  // redeliveries, e.g. a push whose answer was lost with a killed replica.
  int redeliveries() const;

 private:
  int port_ = 0;
  mutable std::mutex mu_;
  std::vector<Arrival> arrivals_;
  std::unique_ptr<adapters::PartnerEndpoint> endpoint_;
};

// What the endpoint's store holds for the messages a client holds receipts
// for, case by case (`cases`: case reference -> message ids in the order
// their receipts were given, i.e. acceptance order).
struct StoreCheck {
  size_t wanted = 0;        // receipted messages
  size_t lost = 0;          // receipted, never stored
  size_t duplicates = 0;    // stored under more than one arrival (two delivery ids, or the store's dedup failed)
  size_t out_of_order = 0;  // a case's message first stored before an earlier-accepted one of the same case
  std::vector<std::string> problems;  // the first few, in words
};
StoreCheck CheckEndpointStore(const std::vector<Arrival>& arrivals,
                              const std::map<std::string, std::vector<std::string>>& cases);

// A client of every replica (a party's certificate `stem`), as the project's
// clients given several --gateway addresses: one channel per replica, which
// reconnects quickly (at most 1 s between attempts) once a replica is back.
// Thread-safe: threads share its channels (calls multiplex on them).
class ClusterClient {
 public:
  ClusterClient(const std::vector<std::string>& addresses, const std::string& stem);
  int size() const { return static_cast<int>(stubs_.size()); }
  v1::Exchange::Stub& stub(int i) { return *stubs_[i]; }

  struct Result {
    grpc::Status status;      // the last answer
    v1::Receipt receipt;      // when status is OK
    int calls = 0;            // Submit calls made
    std::vector<int> replicas;  // the replica of each call
  };
  // Submits `envelope` to replica `first`; on UNAVAILABLE (the replica is down,
  // or OUTCOME_UNKNOWN), DEADLINE_EXCEEDED or ABORTED SUBMISSION_IN_PROGRESS
  // submits the SAME envelope to the next replica, round and round, until
  // another answer or `limit` has passed.
  Result SubmitAnywhere(const v1::Envelope& envelope, int first, std::chrono::milliseconds limit);

 private:
  std::vector<std::unique_ptr<v1::Exchange::Stub>> stubs_;
};
// Whether a Submit answer is one to resubmit elsewhere (see SubmitAnywhere).
bool Resubmittable(const grpc::Status& status);

// The process is alive (not exited, not a zombie).
bool ProcessAlive(pid_t pid);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_REPLICA_SET_H_
