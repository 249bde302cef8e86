#include "tests/support/replica_set.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "adapters/common/party_tls.h"
#include "mtls/credentials.h"
#include "tests/support/files.h"

namespace portcullis::testing {

ReplicaSet::ReplicaSet(const std::string& name, ReplicaSetOptions options) : options_(std::move(options)) {
  dir_ = MakeTempDir(name);
  replicas_.resize(options_.replicas);
  for (int i = 0; i < size(); ++i) std::filesystem::create_directories(witness_dir(i));
  if (options_.dsn.empty()) {
    ADD_FAILURE() << "ReplicaSet needs a PostgreSQL database";
    return;
  }
  // The first start of each listens on a free port, which its config then names for every restart.
  ok_ = true;
  for (int i = 0; i < size(); ++i) {
    if (!WriteConfig(i, 0) || !Start(i) || !WriteConfig(i, replicas_[i].port)) {
      ADD_FAILURE() << "replica " << id(i) << " did not start; see " << log_path(i);
      ok_ = false;
      return;
    }
  }
}

ReplicaSet::~ReplicaSet() {
  for (int i = 0; i < size(); ++i) {
    if (replicas_[i].process) replicas_[i].process->Kill();
  }
}

bool ReplicaSet::WriteConfig(int i, int port) {
  HarnessOptions o = options_.base;
  o.store_dsn = options_.dsn;
  o.witness_dir = witness_dir(i);
  o.replica_id.clear();  // Given in the cluster section below.
  // The harness's config, written into the state folder, moved next to it with this replica's listener and
  // cluster section: deleting the state folder leaves the config in place.
  std::filesystem::create_directories(state_dir(i));
  const std::string written = WriteTestConfig(state_dir(i), o);
  std::stringstream in;
  in << std::ifstream(written).rdbuf();
  std::filesystem::remove(written);
  std::string yaml = in.str();
  const std::string listener = "listener: { address: \"127.0.0.1:0\" }";
  const size_t at = yaml.find(listener);
  if (at == std::string::npos) {
    ADD_FAILURE() << "the harness's config has no listener line: " << listener;
    return false;
  }
  yaml.replace(at, listener.size(), absl::StrCat("listener: { address: \"127.0.0.1:", port, "\" }"));
  yaml += absl::StrCat("cluster: { replica_id: ", id(i), ", lease_ms: ", options_.lease_ms,
                       ", poll_ms: ", options_.poll_ms, " }\n");
  std::ofstream out(config_path(i), std::ios::trunc);
  out << yaml;
  return static_cast<bool>(out);
}

std::string ReplicaSet::witness_dir(int i) const {
  return options_.shared_witness ? dir_ + "/witness" : dir_ + "/" + id(i) + "-witness";
}

std::vector<std::string> ReplicaSet::witness_logs() const {
  std::vector<std::string> out;
  for (int i = 0; i < (options_.shared_witness ? 1 : size()); ++i) out.push_back(witness_dir(i) + "/checkpoints.log");
  return out;
}

std::string ReplicaSet::address(int i) const { return absl::StrCat("127.0.0.1:", replicas_[i].port); }

std::vector<std::string> ReplicaSet::addresses() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(address(i));
  return out;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;  // comm "(portcullis-gatew)" has no spaces
  return stat && state != "Z" && state != "X";
}

bool ReplicaSet::running(int i) const {
  return replicas_[i].process != nullptr && ProcessAlive(replicas_[i].process->pid());
}

pid_t ReplicaSet::pid(int i) const { return replicas_[i].process ? replicas_[i].process->pid() : -1; }

bool ReplicaSet::Start(int i) {
  Replica& r = replicas_[i];
  if (r.process) {
    ADD_FAILURE() << id(i) << " is already running";
    return false;
  }
  r.process = std::make_unique<GatewayProcess>(config_path(i), log_path(i));
  if (r.process->port() == 0) {
    r.process->Kill();
    r.process.reset();
    return false;
  }
  if (r.port != 0 && r.process->port() != r.port) {
    ADD_FAILURE() << id(i) << " listens on " << r.process->port() << ", not its port " << r.port;
  }
  r.port = r.process->port();
  return true;
}

void ReplicaSet::Kill(int i) {
  if (!replicas_[i].process) return;
  replicas_[i].process->Kill();
  replicas_[i].process.reset();
}

int ReplicaSet::Stop(int i) {
  if (!replicas_[i].process) return 0;
  const int status = replicas_[i].process->Stop();
  replicas_[i].process.reset();
  return status;
}

void ReplicaSet::WipeState(int i) {
  if (replicas_[i].process) ADD_FAILURE() << "wiping the state folder of " << id(i) << " while it runs";
  std::error_code ec;
  std::filesystem::remove_all(state_dir(i), ec);
  EXPECT_FALSE(ec) << state_dir(i) << ": " << ec.message();
  EXPECT_FALSE(std::filesystem::exists(state_dir(i)));
}

bool ReplicaSet::StartAll() {
  bool all = true;
  for (int i = 0; i < size(); ++i) {
    if (!replicas_[i].process && !Start(i)) {
      ADD_FAILURE() << id(i) << " did not start; see " << log_path(i);
      all = false;
    }
  }
  return all;
}

bool ReplicaSet::StopAll() {
  bool all = true;
  for (int i = 0; i < size(); ++i) {
    if (!replicas_[i].process) continue;
    const int status = Stop(i);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ADD_FAILURE() << id(i) << " did not stop cleanly: wait status " << status << "; see " << log_path(i);
      all = false;
    }
  }
  return all;
}

RecordingEndpoint::RecordingEndpoint(const std::string& name, int port,
                                     std::function<adapters::DeliverFault(const v1::Delivery&)> fault) {
  adapters::PartnerEndpointOptions eo;
  eo.tls = adapters::PartyTlsFromPki(PkiDir(), "eu-europol");
  eo.inbox_dir = MakeTempDir(name + "-inbox");
  eo.listen_address = absl::StrCat("127.0.0.1:", port);
  eo.fault = std::move(fault);
  eo.on_stored = [this](const v1::Delivery& d) {
    std::lock_guard<std::mutex> lock(mu_);
    arrivals_.push_back({d.delivery_id(), d.envelope().message_id(), d.envelope().case_reference()});
  };
  auto endpoint = adapters::PartnerEndpoint::Start(std::move(eo));
  if (!endpoint.ok()) {
    ADD_FAILURE() << "the partner endpoint did not start: " << endpoint.status();
    return;
  }
  endpoint_ = std::move(*endpoint);
  port_ = endpoint_->port();
}

std::vector<Arrival> RecordingEndpoint::arrivals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return arrivals_;
}

size_t RecordingEndpoint::stored() const {
  std::lock_guard<std::mutex> lock(mu_);
  return arrivals_.size();
}

int RecordingEndpoint::redeliveries() const { return endpoint_ ? endpoint_->duplicate_count() : 0; }

ClusterClient::ClusterClient(const std::vector<std::string>& addresses, const std::string& stem) {
  ClientCert c = PkiCert(stem);
  mtls::ClientTlsOptions o;
  o.files = {c.cert, c.key, PkiDir() + "/ca/bundle.pem", PkiDir() + "/crl", 1};
  o.expected_server_identity = "spiffe://exchange.gov.uk/gateway";
  auto creds = mtls::MakeChannelCredentials(o);
  if (!creds.ok()) {
    ADD_FAILURE() << creds.status();
    std::abort();
  }
  for (const std::string& address : addresses) {
    grpc::ChannelArguments args;
    args.SetInt("portcullis.test.unique", static_cast<int>(reinterpret_cast<uintptr_t>(this) & 0x7fffffff));
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connect timeout (20 s by default), which a TLS
    // handshake on a loaded machine needs.
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    stubs_.push_back(v1::Exchange::NewStub(grpc::CreateCustomChannel(address, *creds, args)));
  }
}

bool Resubmittable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         (status.error_code() == grpc::StatusCode::ABORTED && ReasonOf(status) == "SUBMISSION_IN_PROGRESS");
}

ClusterClient::Result ClusterClient::SubmitAnywhere(const v1::Envelope& envelope, int first,
                                                    std::chrono::milliseconds limit) {
  Result r;
  const auto until = std::chrono::steady_clock::now() + limit;
  for (int i = first % size();; i = (i + 1) % size()) {
    r.replicas.push_back(i);
    ++r.calls;
    r.status = Submit(*stubs_[i], envelope, &r.receipt);
    if (!Resubmittable(r.status) || std::chrono::steady_clock::now() >= until) return r;
    // Pacing only, once round the replicas: every one refused at once (all restarting, or the database down).
    if (r.calls % size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

StoreCheck CheckEndpointStore(const std::vector<Arrival>& arrivals,
                              const std::map<std::string, std::vector<std::string>>& cases) {
  StoreCheck c;
  auto problem = [&](std::string words) {
    if (c.problems.size() < 10) c.problems.push_back(std::move(words));
  };
  std::map<std::string, size_t> first;  // message id -> position of its first arrival
  std::map<std::string, int> times;
  for (size_t i = 0; i < arrivals.size(); ++i) {
    first.emplace(arrivals[i].message_id, i);
    if (++times[arrivals[i].message_id] == 2) {
      ++c.duplicates;
      problem(absl::StrCat(arrivals[i].message_id, ": stored again (delivery id ", arrivals[i].delivery_id, ")"));
    }
  }
  for (const auto& [case_ref, ids] : cases) {
    size_t last = 0;
    std::string last_id;
    for (const std::string& id : ids) {
      ++c.wanted;
      auto at = first.find(id);
      if (at == first.end()) {
        ++c.lost;
        problem(absl::StrCat(id, " (case ", case_ref, "): receipted, not in the endpoint's store"));
        continue;
      }
      if (!last_id.empty() && at->second < last) {
        ++c.out_of_order;
        problem(absl::StrCat(case_ref, ": ", id, " stored (#", at->second, ") before ", last_id, " (#", last,
                             ") accepted earlier"));
      }
      last = at->second;
      last_id = id;
    }
  }
  return c;
}

}  // namespace portcullis::testing
