// Crash tests on PostgreSQL (issue 14, docs/storage.md "Crash and restart
// tests"): the real portcullis-gateway process, on a database of a real
// throw-away PostgreSQL cluster started here, is SIGKILLed again and again
// while several clients submit to Europol's push endpoint. Afterwards every
// message a client holds a receipt for is in the database with its acceptance
// record at the receipt's audit index, no message is accepted twice, the
// chain exported from the database passes the offline verifier (signatures,
// witness), and every receipted message reached the endpoint exactly once per
// delivery id, each case in submission order.
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/common/partner_endpoint.h"
#include "adapters/common/party_tls.h"
#include "testkit/gateway_process.h"
#include "tests/support/harness.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/pg_receipts.h"

namespace portcullis::testing {
namespace {

TEST(PgCrash, EveryReceiptSurvivesKillNineWithItsRecordAndIsDeliveredOnce) {
  const int kRounds = 6;
  const int kClients = 6;
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL did not start: " << pg.status();
  auto dsn = (*pg)->CreateDatabase("crash");
  ASSERT_TRUE(dsn.ok()) << dsn.status();
  const std::string dir = MakeTempDir("pg-crash");

  // Europol's reference endpoint, up the whole time: it stores each delivery
  // id once (a repeated push answers duplicate=true) and does not acknowledge.
  adapters::PartnerEndpointOptions eo;
  eo.tls = adapters::PartyTlsFromPki(PkiDir(), "eu-europol");
  eo.inbox_dir = MakeTempDir("pg-crash-inbox");
  eo.listen_address = "127.0.0.1:0";
  std::mutex stored_mu;
  std::vector<std::string> stored;  // Message ids in the order the endpoint stored them.
  eo.on_stored = [&](const v1::Delivery& d) {
    std::lock_guard<std::mutex> lock(stored_mu);
    stored.push_back(d.envelope().message_id());
  };
  auto endpoint = adapters::PartnerEndpoint::Start(eo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();

  HarnessOptions options;
  options.europol_push_address = "127.0.0.1:" + std::to_string((*endpoint)->port());
  options.max_attempts = 1000;
  options.store_dsn = *dsn;
  options.checkpoint_every_records = 25;
  options.witness_dir = MakeTempDir("pg-crash-witness");
  const std::string config = WriteTestConfig(dir, options);

  std::mutex receipts_mu;
  std::map<MessageKey, v1::Receipt> receipts;
  std::map<std::string, std::vector<std::string>> receipted;  // Case -> message ids, in submission order.
  std::mt19937 rng(1414);
  int runs = 0, kills = 0;
  std::unique_ptr<GatewayProcess> gateway;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    gateway = std::make_unique<GatewayProcess>(config, dir + "/gateway.stderr");
    ASSERT_GT(gateway->port(), 0) << "the gateway did not start; see " << dir << "/gateway.stderr";
    ++runs;
    const std::string address = gateway->address();
    std::atomic<bool> stop{false};
    std::atomic<int> this_round{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        auto stub = v1::Exchange::NewStub(ChannelTo(address, "parties/uk-border-force"));
        const std::string case_ref = "CASE-" + std::to_string(round) + "-" + std::to_string(c);
        for (int seq = 0; !stop; ++seq) {
          v1::Envelope e = SampleReferral(case_ref + "-" + std::to_string(seq));
          e.set_case_reference(case_ref);
          v1::Receipt r;
          if (!Submit(*stub, e, &r).ok()) break;  // The gateway is gone: this case ends here.
          std::lock_guard<std::mutex> lock(receipts_mu);
          receipts[{r.sender(), r.message_id()}] = r;
          receipted[case_ref].push_back(r.message_id());
          ++this_round;
        }
      });
    }
    // Kill under load: once receipts flow this round, at a random moment after.
    WaitUntil([&] { return this_round >= 10; }, std::chrono::seconds(60));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 400)(rng)));
    gateway->Kill();
    ++kills;
    stop = true;
    for (auto& t : clients) t.join();
    EXPECT_GE(this_round, 10) << "no load before the kill";
  }

  // A last start delivers what is left, then stops cleanly (signing the tail).
  gateway = std::make_unique<GatewayProcess>(config, dir + "/gateway.stderr");
  ASSERT_GT(gateway->port(), 0);
  ++runs;
  std::set<std::string> wanted;
  for (const auto& [c, ids] : receipted) wanted.insert(ids.begin(), ids.end());
  auto all_stored = [&] {
    std::lock_guard<std::mutex> lock(stored_mu);
    const std::set<std::string> have(stored.begin(), stored.end());
    return std::includes(have.begin(), have.end(), wanted.begin(), wanted.end());
  };
  EXPECT_TRUE(WaitUntil(all_stored, std::chrono::seconds(60)));
  const int status = gateway->Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;

  // The database: every receipt's message and its acceptance record.
  const StoredMessages db = ReadStoredMessages(*dsn);
  const ReceiptCheck check = CheckReceipts(db, receipts);
  for (const std::string& p : check.problems) ADD_FAILURE() << p;

  // The endpoint: exactly once per delivery id, in case order.
  std::lock_guard<std::mutex> lock(stored_mu);
  std::map<std::string, int> times;
  for (const std::string& id : stored) ++times[id];
  size_t undelivered = 0, duplicated = 0, out_of_order = 0;
  for (const std::string& id : wanted) undelivered += times.count(id) == 0;
  for (const auto& [id, n] : times) duplicated += n > 1;
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < stored.size(); ++i) position.emplace(stored[i], i);
  for (const auto& [c, ids] : receipted) {
    for (size_t k = 1; k < ids.size(); ++k) {
      if (position.count(ids[k - 1]) && position.count(ids[k]) && position[ids[k - 1]] > position[ids[k]]) {
        ++out_of_order;
      }
    }
  }

  // The chain, exported from the database as `portcullis-audit export` writes it.
  const VerifyReport report = VerifyExportedLog(db, dir + "/export", {options.witness_dir + "/checkpoints.log"});
  EXPECT_FALSE(report.problem.has_value()) << report.problem->message;
  EXPECT_EQ(report.records, db.line.size());
  EXPECT_EQ(report.signed_size, db.line.size()) << "the clean stop signs the tail";
  EXPECT_GT(report.witness_checkpoints, 0u);

  std::printf("[ pg crash ] runs %d, kills %d, receipts %zu, in the database %zu, lost %zu, wrong index %zu, "
              "wrong record %zu, accepted twice %zu; delivered %zu, undelivered %zu, duplicates %zu, out of order "
              "%zu; audit records %zu, checkpoints %zu, verified %s\n",
              runs, kills, check.receipts, db.audit_index.size(), check.lost, check.wrong_index, check.wrong_record,
              check.accepted_twice, stored.size(), undelivered, duplicated, out_of_order, db.line.size(),
              db.checkpoints.size(), report.problem.has_value() ? "NO" : "yes");
  EXPECT_EQ(check.lost, 0u);
  EXPECT_EQ(check.wrong_index, 0u);
  EXPECT_EQ(check.wrong_record, 0u);
  EXPECT_EQ(check.accepted_twice, 0u);
  EXPECT_EQ(undelivered, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(kills, kRounds);
  EXPECT_GE(check.receipts, static_cast<size_t>(kRounds * 10)) << "too little load to mean anything";
}

}  // namespace
}  // namespace portcullis::testing
