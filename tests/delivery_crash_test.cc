// Exactly-once effect across crashes (issue 4): the real gateway process is
// SIGKILLed again and again while clients submit to Europol's push endpoint.
// In the end every message a client holds a receipt for reaches the endpoint
// exactly once after its delivery-id dedup, each case in submission order,
// and the audit log verifies.
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
#include "gateway/audit/log_verifier.h"
#include "testkit/gateway_process.h"
#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {

TEST(DeliveryCrash, EveryReceiptedMessageIsDeliveredExactlyOnceInCaseOrder) {
  const int kRounds = 6;
  const int kClients = 6;
  const std::string dir = MakeTempDir("delivery-crash");

  // Europol's reference endpoint, up the whole time; it stores each delivery
  // id once (a repeated push answers duplicate=true) and does not acknowledge.
  adapters::PartnerEndpointOptions eo;
  eo.tls = adapters::PartyTlsFromPki(PkiDir(), "eu-europol");
  eo.inbox_dir = MakeTempDir("delivery-crash-inbox");
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
  const std::string config = WriteTestConfig(dir, options);

  std::mutex receipts_mu;
  std::map<std::string, std::vector<std::string>> receipted;  // Case -> message ids, in submission order.
  size_t receipts = 0;
  std::mt19937 rng(4242);
  std::unique_ptr<GatewayProcess> gateway;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    gateway = std::make_unique<GatewayProcess>(config, dir + "/gateway.stderr");
    ASSERT_GT(gateway->port(), 0) << "the gateway did not start; see " << dir << "/gateway.stderr";
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
          receipted[case_ref].push_back(r.message_id());
          ++receipts;
          ++this_round;
        }
      });
    }
    // Kill under load: once receipts flow this round (slow sanitizer builds take a while).
    for (int i = 0; i < 1200 && this_round < 10; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 400)(rng)));
    gateway->Kill();
    stop = true;
    for (auto& t : clients) t.join();
  }

  // A last start delivers what is left.
  gateway = std::make_unique<GatewayProcess>(config, dir + "/gateway.stderr");
  ASSERT_GT(gateway->port(), 0);
  std::set<std::string> wanted;
  for (const auto& [c, ids] : receipted) wanted.insert(ids.begin(), ids.end());
  auto all_stored = [&] {
    std::lock_guard<std::mutex> lock(stored_mu);
    const std::set<std::string> have(stored.begin(), stored.end());
    return std::includes(have.begin(), have.end(), wanted.begin(), wanted.end());
  };
  for (int i = 0; i < 1200 && !all_stored(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int status = gateway->Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;

  std::lock_guard<std::mutex> lock(stored_mu);
  std::map<std::string, int> times;
  for (const std::string& id : stored) ++times[id];
  size_t lost = 0, duplicated = 0, out_of_order = 0;
  for (const std::string& id : wanted) lost += times.count(id) == 0;
  for (const auto& [id, n] : times) duplicated += n > 1;
  // Per case, the endpoint's order is the submission order (a message
  // accepted without its receipt reaching the client may sit between).
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < stored.size(); ++i) position.emplace(stored[i], i);
  for (const auto& [c, ids] : receipted) {
    for (size_t k = 1; k < ids.size(); ++k) {
      if (position.count(ids[k - 1]) && position.count(ids[k]) && position[ids[k - 1]] > position[ids[k]]) {
        ++out_of_order;
      }
    }
  }
  std::printf("[ delivery crash ] rounds %d, receipts %zu, stored %zu, lost %zu, duplicates %zu, out of order %zu\n",
              kRounds, receipts, stored.size(), lost, duplicated, out_of_order);
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_GE(receipts, static_cast<size_t>(kRounds * 10)) << "too little load to mean anything";

  VerifyOptions vo;
  vo.log_path = dir + "/audit.log";
  vo.public_key_path = PkiDir() + "/audit/signing.pub";
  auto report = VerifyLog(vo);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_FALSE(report->problem.has_value()) << report->problem->message;
}

}  // namespace
}  // namespace portcullis::testing
