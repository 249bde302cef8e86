// Delivery benchmark (docs/benchmarks.md, "Delivery"): a real portcullis-gateway
// process with the durable outbox, a real PartnerEndpoint for Europol (in this
// process, storing into its inbox with fsync), concurrent Border Force
// clients, all over mutual TLS on loopback with a dev PKI generated for the
// run.
//
//   sustained  Europol up; C clients submit N messages as fast as receipts
//              come back. Accepted/s, delivered/s (stored at the endpoint),
//              Submit latency p50/p99.
//   drain      Europol down; C clients submit B messages (the backlog). The
//              gateway's RSS before, with the full backlog, and after; then
//              Europol starts and the time until all B are stored.
//
// Every case's messages are checked to arrive once each and in submission
// order (each case belongs to one client, which submits it in order).
//
// --backend sqlite|postgres|both (delivery_bench_backends.h): the gateway's
// storage; with both, each phase runs on SQLite then on PostgreSQL in the same
// run, and a side-by-side table ends the report.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"
#include "bench/bench_assertions.h"
#include "bench/delivery_bench_backends.h"
#include "mtls/credentials.h"
#include "portcullis/v1/exchange.grpc.pb.h"
#include "testkit/gateway_process.h"
#include "testkit/partner_port.h"
#include "testkit/sample_envelopes.h"

namespace portcullis::bench {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string mode = "both";  // sustained | drain | both
  int messages = 20000;       // Sustained phase.
  int clients = 16;
  int backlog = 100000;  // Drain phase.
  int cases = 1024;      // Distinct case references per phase (each owned by one client).
  int workers = 16;      // delivery.workers: pushes in flight per destination.
  int initial_backoff_ms = 200;
  int max_backoff_ms = 2000;
  int breaker_failures = 5;
  int breaker_cooldown_ms = 2000;
  bool ack = false;  // The endpoint acknowledges every stored delivery (more gateway work).
  int drain_timeout_s = 3600;
  std::string dir;  // Default: $PORTCULLIS_BENCH_DIR or $TMPDIR or /tmp, a new subfolder.
  bool keep = false;
  bool officer_assertions = false;  // Border Force's officers are required to be vouched for; each Submit carries one.
  std::string backend = "sqlite";   // sqlite | postgres | both
  std::string dsn;                  // PostgreSQL server (no dbname); "" = a throw-away cluster of the bench's own.
};

void Usage(const char* argv0) {
  std::printf(
      "usage: %s [--mode=sustained|drain|both] [--messages=N] [--clients=C] [--backlog=B] [--cases=K]\n"
      "          [--workers=W] [--initial-backoff-ms=MS] [--max-backoff-ms=MS] [--breaker-failures=N]\n"
      "          [--breaker-cooldown-ms=MS] [--ack] [--drain-timeout-s=S] [--dir=DIR] [--keep]\n"
      "          [--officer-assertions] [--backend=sqlite|postgres|both] [--dsn=CONNINFO]\n",
      argv0);
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    const size_t eq = a.find('=');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto next = [&]() -> std::string {
      if (eq != std::string::npos) return value;
      if (i + 1 < argc) return argv[++i];
      std::fprintf(stderr, "%s needs a value\n", a.c_str());
      std::exit(2);
    };
    auto integer = [&](int* out) {
      const std::string v = next();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0 || n > 100000000) {
        std::fprintf(stderr, "%s: bad number '%s'\n", a.c_str(), v.c_str());
        std::exit(2);
      }
      *out = static_cast<int>(n);
    };
    if (a == "--mode") f->mode = next();
    else if (a == "--messages") integer(&f->messages);
    else if (a == "--clients") integer(&f->clients);
    else if (a == "--backlog") integer(&f->backlog);
    else if (a == "--cases") integer(&f->cases);
    else if (a == "--workers") integer(&f->workers);
    else if (a == "--initial-backoff-ms") integer(&f->initial_backoff_ms);
    else if (a == "--max-backoff-ms") integer(&f->max_backoff_ms);
    else if (a == "--breaker-failures") integer(&f->breaker_failures);
    else if (a == "--breaker-cooldown-ms") integer(&f->breaker_cooldown_ms);
    else if (a == "--drain-timeout-s") integer(&f->drain_timeout_s);
    else if (a == "--ack") f->ack = true;
    else if (a == "--dir") f->dir = next();
    else if (a == "--keep") f->keep = true;
    else if (a == "--officer-assertions") f->officer_assertions = true;
    else if (a == "--backend") f->backend = next();
    else if (a == "--dsn") f->dsn = next();
    else if (a == "--help" || a == "-h") {
      Usage(argv[0]);
      std::exit(0);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      Usage(argv[0]);
      return false;
    }
  }
  if (f->mode != "sustained" && f->mode != "drain" && f->mode != "both") {
    std::fprintf(stderr, "--mode must be sustained, drain or both\n");
    return false;
  }
  if (f->backend != "sqlite" && f->backend != "postgres" && f->backend != "both") {
    std::fprintf(stderr, "--backend must be sqlite, postgres or both\n");
    return false;
  }
  if (f->clients < 1 || f->cases < f->clients || f->workers < 1) {
    std::fprintf(stderr, "need --clients >= 1, --cases >= --clients, --workers >= 1\n");
    return false;
  }
  return true;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// /proc/PID/status field in kB (VmRSS, VmHWM), -1 if unreadable.
long ProcStatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// User + system CPU seconds of a process.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {  // Fields 3.. after "pid (comm)".
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double MiB(long kb) { return kb < 0 ? -1 : static_cast<double>(kb) / 1024.0; }

std::string WriteConfig(const PhaseStorage& storage, const std::string& pki, const std::string& europol_address,
                        const Flags& f, int max_backlog) {
  const std::string& dir = storage.dir;
  std::ostringstream y;
  y << "listener: { address: \"127.0.0.1:0\" }\n"
    << "tls:\n"
    << "  server_cert: " << pki << "/gateway/server.pem\n"
    << "  server_key: " << pki << "/gateway/server.key\n"
    << "  client_cert: " << pki << "/gateway/client.pem\n"
    << "  client_key: " << pki << "/gateway/client.key\n"
    << "  ca_bundle: " << pki << "/ca/bundle.pem\n"
    << "  crl_dir: " << pki << "/crl\n"
    << "audit: { path: " << dir << "/audit.log, signing_key: " << pki << "/audit/signing.key }\n"
    << storage.StoreLine()
    << "delivery: { workers: " << f.workers << ", max_attempts: 0, initial_backoff_ms: " << f.initial_backoff_ms
    << ", max_backoff_ms: " << f.max_backoff_ms << ", max_backlog_messages: " << max_backlog
    << ", breaker_failures: " << f.breaker_failures << ", breaker_cooldown_ms: " << f.breaker_cooldown_ms << " }\n"
    << "parties:\n"
    << "  - { id: uk/border-force, name: Border Force, kind: uk_agency, identity: "
       "\"spiffe://exchange.gov.uk/uk/border-force\", clearance: OFFICIAL_SENSITIVE, delivery: { mode: pull }"
    << (f.officer_assertions ? ", officer_assertions: required, officer_keys_dir: " + pki + "/officer-keys/uk-border-force"
                             : std::string())
    << " }\n"
    << "  - { id: eu/europol, name: Europol, kind: eu_partner, identity: \"spiffe://exchange.gov.uk/eu/europol\", "
       "clearance: OFFICIAL_SENSITIVE, delivery: { mode: push, address: \""
    << europol_address << "\", server_identity: \"spiffe://exchange.gov.uk/eu/europol\" } }\n"
    << "routes:\n"
    << "  - { name: uk-to-eu, from: [uk/border-force], to: [eu/europol], body_types: [case_referral], "
       "max_classification: OFFICIAL_SENSITIVE }\n";
  const std::string path = dir + "/portcullis.yaml";
  std::ofstream(path) << y.str();
  return path;
}

// A realistic case referral, as the demo's Border Force client sends it, in `case_reference`.
v1::Envelope Referral(const std::string& message_id, const std::string& case_reference) {
  v1::Envelope e = testing::SampleReferral(message_id);
  e.set_case_reference(case_reference);
  return e;
}

// A channel of its own (own connection and handshake) for one client.
std::shared_ptr<grpc::Channel> ClientChannel(const std::string& address, const std::string& pki, int n) {
  mtls::ClientTlsOptions o;
  o.files = {pki + "/parties/uk-border-force.pem", pki + "/parties/uk-border-force.key", pki + "/ca/bundle.pem",
             pki + "/crl", 60};
  o.expected_server_identity = "spiffe://exchange.gov.uk/gateway";
  auto creds = mtls::MakeChannelCredentials(o);
  if (!creds.ok()) {
    std::fprintf(stderr, "client credentials: %s\n", std::string(creds.status().message()).c_str());
    std::exit(1);
  }
  grpc::ChannelArguments args;
  args.SetInt("portcullis.bench.client", n);  // Distinct args: no shared subchannel.
  return grpc::CreateCustomChannel(address, *creds, args);
}

// Message ids are "<phase>-<case>-<seq>": seq counts up from 0 within a case in submission order.
std::string CaseOf(const std::string& id) { return id.substr(0, id.rfind('-')); }
long SeqOf(const std::string& id) { return std::strtol(id.c_str() + id.rfind('-') + 1, nullptr, 10); }

// Counts what the endpoint stores: per case the next expected seq.
struct OrderCheck {
  std::mutex mu;
  std::map<std::string, long> next;
  long out_of_order = 0;
  void Stored(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    long& n = next[CaseOf(id)];
    if (SeqOf(id) != n) ++out_of_order;
    n = SeqOf(id) + 1;
  }
};

struct SubmitResult {
  int accepted = 0;
  int refused = 0;
  std::string first_error;
  std::vector<double> latency_ms;
  double seconds = 0;
};

// `clients` threads, each with its own connection, submit `total` messages in
// all; client c owns cases c, c + clients, ... (cases / clients of them) and
// cycles through them.
SubmitResult SubmitAll(const std::string& phase, const std::string& address, const std::string& pki, int total,
                       int clients, int cases, BenchAssertions* assertions) {
  const int per_client_cases = cases / clients;
  std::vector<std::vector<double>> lat(clients);
  std::atomic<int> accepted{0}, refused{0};
  std::mutex err_mu;
  std::string first_error;
  std::vector<std::thread> threads;
  // Every assertion minted before the clock starts (one per call, each with its
  // own jti): the identity provider's cost is the agency's, and its CPU must not
  // compete with the gateway's on this machine.
  std::vector<std::vector<std::string>> tokens(clients);
  for (int c = 0; assertions != nullptr && c < clients; ++c) {
    const std::string officer = testing::SampleReferral("x").originating_officer();
    for (int j = 0; j <= total / clients; ++j) tokens[c].push_back(assertions->Mint(officer));
  }
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    const int count = total / clients + (c < total % clients ? 1 : 0);
    threads.emplace_back([&, c, count] {
      auto stub = v1::Exchange::NewStub(ClientChannel(address, pki, c));
      lat[c].reserve(count);
      for (int j = 0; j < count; ++j) {
        const int case_index = c + clients * (j % per_client_cases);
        const std::string case_ref = phase + "-" + std::to_string(case_index);
        v1::SubmitRequest req;
        *req.mutable_envelope() = Referral(case_ref + "-" + std::to_string(j / per_client_cases), case_ref);
        v1::Receipt receipt;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
        if (assertions != nullptr) ctx.AddMetadata("authorization", "Bearer " + tokens[c][j]);
        const auto t0 = Clock::now();
        grpc::Status s = stub->Submit(&ctx, req, &receipt);
        lat[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (s.ok()) {
          ++accepted;
        } else {
          ++refused;
          std::lock_guard<std::mutex> lock(err_mu);
          if (first_error.empty()) first_error = std::to_string(s.error_code()) + " " + s.error_message();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  SubmitResult r;
  r.seconds = Seconds(Clock::now() - start);
  r.accepted = accepted;
  r.refused = refused;
  r.first_error = first_error;
  for (auto& v : lat) r.latency_ms.insert(r.latency_ms.end(), v.begin(), v.end());
  std::sort(r.latency_ms.begin(), r.latency_ms.end());
  return r;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return sorted[i];
}

// The minter of Border Force's assertions with --officer-assertions, else nullptr. Exits if the key is unusable.
BenchAssertions* Assertions(const Flags& f, const std::string& pki) {
  if (!f.officer_assertions) return nullptr;
  static std::unique_ptr<BenchAssertions> minter = BenchAssertions::Load(
      pki + "/idp/uk-border-force/dev-1.key", "uk/border-force", "spiffe://exchange.gov.uk/gateway");
  if (minter == nullptr) std::exit(1);
  return minter.get();
}

// A free loopback port for Europol, named in the config before anything listens on it.
int ReservePort(const adapters::PartnerEndpointOptions& eo) {
  absl::StatusOr<int> port = testing::FreePortFor(eo);
  if (!port.ok()) {
    std::fprintf(stderr, "endpoint: %s\n", std::string(port.status().message()).c_str());
    std::exit(1);
  }
  return *port;
}

adapters::PartnerEndpointOptions EuropolOptions(const std::string& pki, const std::string& inbox, OrderCheck* order) {
  adapters::PartnerEndpointOptions eo;
  eo.tls = adapters::PartyTlsFromPki(pki, "eu-europol");
  eo.inbox_dir = inbox;
  eo.officer = "EUROPOL-LO-17";
  eo.on_stored = [order](const v1::Delivery& d) { order->Stored(d.envelope().message_id()); };
  eo.on_error = [](const absl::Status& s) { std::fprintf(stderr, "endpoint: %s\n", std::string(s.message()).c_str()); };
  return eo;
}

std::unique_ptr<testing::GatewayProcess> StartGateway(const std::string& dir, const std::string& config) {
  auto g = std::make_unique<testing::GatewayProcess>(config, dir + "/gateway.stderr");
  if (g->port() == 0) {
    std::fprintf(stderr, "the gateway did not start; see %s/gateway.stderr\n", dir.c_str());
    std::exit(1);
  }
  return g;
}

// Waits until `done` or `timeout_s`; prints progress every 10 s.
template <typename Done, typename Progress>
bool WaitUntil(Done done, Progress progress, int timeout_s) {
  const auto start = Clock::now();
  auto last = start;
  while (!done()) {
    if (Clock::now() - start > std::chrono::seconds(timeout_s)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (Clock::now() - last > std::chrono::seconds(10)) {
      last = Clock::now();
      progress(Seconds(last - start));
    }
  }
  return true;
}

void PrintRow(const char* name, const std::string& value) { std::printf("| %-50s | %28s |\n", name, value.c_str()); }
std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// The end of a phase: the files' sizes, the first refusal, both processes
// stopped; 0 if everything was accepted and stored once, in case order.
int Finish(const PhaseStorage& storage, const SubmitResult& sub, const OrderCheck& order, bool all,
           testing::GatewayProcess& gateway, adapters::PartnerEndpoint& endpoint) {
  PrintRow(storage.SizeLabel().c_str(), storage.SizeValue());
  if (!sub.first_error.empty()) std::printf("first refusal: %s\n", sub.first_error.c_str());
  std::fflush(stdout);
  gateway.Stop();
  endpoint.Shutdown();
  return all && sub.refused == 0 && order.out_of_order == 0 ? 0 : 1;
}

// The phase's folder and storage on `backend` (a fresh database on PostgreSQL).
PhaseStorage StorageFor(const std::string& backend, const std::string& phase, const std::string& root,
                        BenchPostgres* pg) {
  const std::string dir = root + "/" + backend + "-" + phase;
  fs::create_directories(dir);
  if (backend == "postgres") return pg->Phase(phase, dir);
  PhaseStorage s;
  s.backend = backend;
  s.dir = dir;
  return s;
}

int Sustained(const Flags& f, const std::string& root, const std::string& pki, const std::string& backend,
              BenchPostgres* pg) {
  const PhaseStorage storage = StorageFor(backend, "sustained", root, pg);
  const std::string& dir = storage.dir;
  OrderCheck order;
  adapters::PartnerEndpointOptions eo = EuropolOptions(pki, dir + "/inbox", &order);
  eo.listen_address = "127.0.0.1:" + std::to_string(ReservePort(eo));
  auto gateway =
      StartGateway(dir, WriteConfig(storage, pki, eo.listen_address, f, std::max(100000, f.messages + 1000)));
  if (f.ack) eo.gateway_address = gateway->address();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  if (!endpoint.ok()) {
    std::fprintf(stderr, "endpoint: %s\n", std::string(endpoint.status().message()).c_str());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const pid_t pid = gateway->pid();
  const long rss_before = ProcStatusKb(pid, "VmRSS");
  const double cpu_before = CpuSeconds(pid);
  std::printf("sustained on %s: %d messages, %d clients, %d cases, workers %d%s ...\n", backend.c_str(), f.messages,
              f.clients, f.cases, f.workers, f.ack ? ", acknowledging" : "");
  std::fflush(stdout);
  const auto start = Clock::now();
  SubmitResult sub = SubmitAll("S", gateway->address(), pki, f.messages, f.clients, f.cases, Assertions(f, pki));
  const double delivered_at_accept_end = (*endpoint)->stored_count();
  const bool all = WaitUntil([&] { return (*endpoint)->stored_count() >= sub.accepted; },
                             [&](double s) {
                               std::printf("  ... %.0f s after the last receipt: %d of %d stored\n", s,
                                           (*endpoint)->stored_count(), sub.accepted);
                               std::fflush(stdout);
                             },
                             f.drain_timeout_s);
  const double deliver_s = Seconds(Clock::now() - start);
  const long rss_after = ProcStatusKb(pid, "VmRSS");
  const long hwm = ProcStatusKb(pid, "VmHWM");
  const double cpu = CpuSeconds(pid) - cpu_before;
  if (f.ack) {
    WaitUntil([&] { return (*endpoint)->acknowledged_count() >= sub.accepted; }, [](double) {}, 60);
  }
  std::printf("\n### Sustained (Europol up), %s\n\n| measure | value |\n|---|---:|\n", backend.c_str());
  AddSummary({backend, "sustained", sub.accepted, sub.accepted / sub.seconds, Percentile(sub.latency_ms, 0.5),
              Percentile(sub.latency_ms, 0.99), (*endpoint)->stored_count() / deliver_s,
              1000.0 * cpu / std::max(1, sub.accepted)});
  PrintRow("messages submitted / accepted / refused",
           std::to_string(f.messages) + " / " + std::to_string(sub.accepted) + " / " + std::to_string(sub.refused));
  PrintRow("clients (threads, own connection each)", std::to_string(f.clients));
  PrintRow("accepted messages/s", Fmt("%.0f", sub.accepted / sub.seconds));
  PrintRow("Submit latency p50 / p99 / max (ms)", Fmt("%.1f", Percentile(sub.latency_ms, 0.5)) + " / " +
                                                     Fmt("%.1f", Percentile(sub.latency_ms, 0.99)) + " / " +
                                                     Fmt("%.1f", sub.latency_ms.empty() ? 0 : sub.latency_ms.back()));
  PrintRow("stored at the endpoint when the last receipt came",
           Fmt("%.0f", delivered_at_accept_end) + Fmt(" (%.0f %%)", 100.0 * delivered_at_accept_end / std::max(1, sub.accepted)));
  PrintRow("delivered messages/s (all stored / total time)", Fmt("%.0f", (*endpoint)->stored_count() / deliver_s));
  PrintRow("time: all accepted / all stored (s)", Fmt("%.1f", sub.seconds) + " / " + Fmt("%.1f", deliver_s));
  PrintRow("endpoint stored / duplicates / out of case order",
           std::to_string((*endpoint)->stored_count()) + " / " + std::to_string((*endpoint)->duplicate_count()) +
               " / " + std::to_string(order.out_of_order));
  if (f.ack) PrintRow("acknowledged (gateway confirmed)", std::to_string((*endpoint)->acknowledged_count()));
  PrintRow("gateway CPU s per 1000 messages", Fmt("%.2f", 1000.0 * cpu / std::max(1, sub.accepted)));
  PrintRow("gateway VmRSS before / after, VmHWM (MiB)",
           Fmt("%.0f", MiB(rss_before)) + " / " + Fmt("%.0f", MiB(rss_after)) + ", " + Fmt("%.0f", MiB(hwm)));
  return Finish(storage, sub, order, all, *gateway, **endpoint);
}

int Drain(const Flags& f, const std::string& root, const std::string& pki, const std::string& backend,
          BenchPostgres* pg) {
  const PhaseStorage storage = StorageFor(backend, "drain", root, pg);
  const std::string& dir = storage.dir;
  OrderCheck order;
  adapters::PartnerEndpointOptions eo = EuropolOptions(pki, dir + "/inbox", &order);
  eo.listen_address = "127.0.0.1:" + std::to_string(ReservePort(eo));  // Nobody listens there yet.
  auto gateway = StartGateway(dir, WriteConfig(storage, pki, eo.listen_address, f, f.backlog + 1000));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const pid_t pid = gateway->pid();
  const long rss_idle = ProcStatusKb(pid, "VmRSS");
  std::printf("drain on %s: backlog %d, %d clients, %d cases, workers %d, Europol down ...\n", backend.c_str(),
              f.backlog, f.clients, f.cases, f.workers);
  std::fflush(stdout);
  SubmitResult sub = SubmitAll("D", gateway->address(), pki, f.backlog, f.clients, f.cases, Assertions(f, pki));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long rss_full = ProcStatusKb(pid, "VmRSS");
  const long hwm_full = ProcStatusKb(pid, "VmHWM");
  std::printf("  backlog of %d submitted in %.1f s (%.0f/s); gateway VmRSS %.0f MiB (idle %.0f MiB); starting Europol\n",
              sub.accepted, sub.seconds, sub.accepted / sub.seconds, MiB(rss_full), MiB(rss_idle));
  std::fflush(stdout);

  const double cpu_before = CpuSeconds(pid);
  if (f.ack) eo.gateway_address = gateway->address();
  const auto up = Clock::now();
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  if (!endpoint.ok()) {
    std::fprintf(stderr, "endpoint: %s\n", std::string(endpoint.status().message()).c_str());
    return 1;
  }
  Clock::time_point first{};
  long rss_peak_drain = rss_full;
  const bool all = WaitUntil(
      [&] {
        const int n = (*endpoint)->stored_count();
        if (n > 0 && first == Clock::time_point{}) first = Clock::now();
        return n >= sub.accepted;
      },
      [&](double s) {
        const long rss = ProcStatusKb(pid, "VmRSS");
        rss_peak_drain = std::max(rss_peak_drain, rss);
        std::printf("  ... %.0f s: %d of %d stored, gateway VmRSS %.0f MiB\n", s, (*endpoint)->stored_count(),
                    sub.accepted, MiB(rss));
        std::fflush(stdout);
      },
      f.drain_timeout_s);
  const auto done = Clock::now();
  const double cpu = CpuSeconds(pid) - cpu_before;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long rss_after = ProcStatusKb(pid, "VmRSS");
  const long hwm = ProcStatusKb(pid, "VmHWM");
  const int stored = (*endpoint)->stored_count();

  std::printf("\n### Drain (Europol down, then up), %s\n\n| measure | value |\n|---|---:|\n", backend.c_str());
  AddSummary({backend, "drain", sub.accepted, sub.accepted / sub.seconds, Percentile(sub.latency_ms, 0.5),
              Percentile(sub.latency_ms, 0.99), stored / Seconds(done - up), 1000.0 * cpu / std::max(1, stored)});
  PrintRow("backlog submitted / accepted / refused",
           std::to_string(f.backlog) + " / " + std::to_string(sub.accepted) + " / " + std::to_string(sub.refused));
  PrintRow("accepted messages/s while Europol is down", Fmt("%.0f", sub.accepted / sub.seconds));
  PrintRow("Submit latency p50 / p99 (ms)",
           Fmt("%.1f", Percentile(sub.latency_ms, 0.5)) + " / " + Fmt("%.1f", Percentile(sub.latency_ms, 0.99)));
  PrintRow("gateway VmRSS idle, before submitting (MiB)", Fmt("%.0f", MiB(rss_idle)));
  PrintRow("gateway VmRSS with the full backlog (MiB)", Fmt("%.0f", MiB(rss_full)) + Fmt(" (VmHWM %.0f)", MiB(hwm_full)));
  PrintRow("gateway VmRSS peak sampled while draining (MiB)", Fmt("%.0f", MiB(rss_peak_drain)));
  PrintRow("gateway VmRSS after the drain, VmHWM (MiB)", Fmt("%.0f", MiB(rss_after)) + Fmt(", %.0f", MiB(hwm)));
  PrintRow("Europol up -> first delivery stored (s)",
           first == Clock::time_point{} ? std::string("never") : Fmt("%.2f", Seconds(first - up)));
  PrintRow(all ? "Europol up -> all stored (s)" : "Europol up -> gave up (s)", Fmt("%.1f", Seconds(done - up)));
  PrintRow("drain rate, messages/s (from Europol up)", Fmt("%.0f", stored / Seconds(done - up)));
  if (first != Clock::time_point{} && done > first) {
    PrintRow("drain rate, messages/s (from first delivery)", Fmt("%.0f", stored / Seconds(done - first)));
  }
  PrintRow("endpoint stored / duplicates / out of case order",
           std::to_string(stored) + " / " + std::to_string((*endpoint)->duplicate_count()) + " / " +
               std::to_string(order.out_of_order));
  PrintRow("gateway CPU s per 1000 messages drained", Fmt("%.2f", 1000.0 * cpu / std::max(1, stored)));
  return Finish(storage, sub, order, all, *gateway, **endpoint);
}

}  // namespace
}  // namespace portcullis::bench

int main(int argc, char** argv) {
  using namespace portcullis::bench;
  Flags f;
  if (!ParseFlags(argc, argv, &f)) return 2;
  std::string base = f.dir;
  if (base.empty()) {
    const char* env = std::getenv("PORTCULLIS_BENCH_DIR");
    if (env == nullptr || *env == '\0') env = std::getenv("TMPDIR");
    base = (env != nullptr && *env != '\0') ? env : "/tmp";
  }
  const std::string root = base + "/portcullis-delivery-bench-" + std::to_string(::getpid());
  fs::create_directories(root);
  const std::string pki = root + "/pki";
  const std::string gen = std::string("bash '") + PORTCULLIS_SOURCE_DIR + "/certs/gen-dev-pki.sh' '" + pki +
                          "' >'" + root + "/pki.log' 2>&1";
  if (std::system(gen.c_str()) != 0) {
    std::fprintf(stderr, "generating the dev PKI failed; see %s/pki.log\n", root.c_str());
    return 1;
  }
  std::printf("delivery bench in %s (nproc %ld)\n", root.c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("config: workers %d, backoff %d..%d ms, breaker %d failures / %d ms, acks %s\n", f.workers,
              f.initial_backoff_ms, f.max_backoff_ms, f.breaker_failures, f.breaker_cooldown_ms, f.ack ? "on" : "off");
  std::unique_ptr<BenchPostgres> pg;
  if (f.backend != "sqlite") {
    pg = BenchPostgres::Start(f.dsn, root + "/pg");
    std::printf("postgres: %s\n", pg->describe().c_str());
  }
  int rc = 0;
  for (const std::string backend : {"sqlite", "postgres"}) {
    if (f.backend != "both" && f.backend != backend) continue;
    if (f.mode != "drain") rc |= Sustained(f, root, pki, backend, pg.get());
    if (f.mode != "sustained") rc |= Drain(f, root, pki, backend, pg.get());
  }
  PrintSummary();
  pg.reset();
  if (!f.keep) fs::remove_all(root);
  std::printf(rc == 0 ? "\nOK: everything accepted was stored once, each case in order\n"
                      : "\nPROBLEM: see above (refusals, undelivered, duplicates or out of order)\n");
  return rc;
}
