// Crash test: the real gateway process is killed with SIGKILL, again and
// again, while many clients submit concurrently. After every restart, every
// message a client holds a receipt for is still in the message store (Track
// finds it), its accepted record is at the receipt's audit index, and the
// whole log (chain, Merkle roots, signed checkpoints, witness copies)
// verifies.
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/audit/log_format.h"
#include "gateway/audit/log_verifier.h"
#include "testkit/gateway_process.h"
#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {

struct Receipt {
  std::string message_id;
  uint64_t audit_index;
};

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AuditCrash, EveryReceiptSurvivesKillNineAndTheLogVerifies) {
  const int kRounds = 8;
  const int kClients = 12;
  const std::string dir = MakeTempDir("audit-crash");
  HarnessOptions options;
  options.checkpoint_every_records = 40;  // Crashes also land in the middle of checkpoint writes.
  options.witness_dir = dir + "/witness";
  std::filesystem::create_directories(options.witness_dir);
  const std::string config = WriteTestConfig(dir, options);
  const std::string audit_log = dir + "/audit.log";

  std::vector<Receipt> receipts;
  std::mutex receipts_mu;
  std::mt19937 rng(20261130);
  uint64_t refused_during_crash = 0;

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto gateway = std::make_unique<GatewayProcess>(config, dir + "/gateway.stderr");
    ASSERT_GT(gateway->port(), 0) << "the gateway did not start; see " << dir << "/gateway.stderr";
    const std::string address = gateway->address();

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> failed{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        auto stub = v1::Exchange::NewStub(ChannelTo(address, "parties/uk-border-force"));
        for (int seq = 0; !stop; ++seq) {
          const std::string id = "CRASH-" + std::to_string(round) + "-" + std::to_string(c) + "-" + std::to_string(seq);
          v1::Receipt r;
          grpc::Status s = Submit(*stub, SampleReferral(id), &r);
          if (s.ok()) {
            std::lock_guard<std::mutex> lock(receipts_mu);
            receipts.push_back({r.message_id(), r.audit_index()});
          } else {
            ++failed;
            if (stop) break;
          }
        }
      });
    }
    // Kill under load: once receipts are flowing this round (slow builds such
    // as ASan take a while to connect), at a random moment after that.
    const size_t before = [&] {
      std::lock_guard<std::mutex> lock(receipts_mu);
      return receipts.size();
    }();
    const size_t round_start = before;
    for (int i = 0; i < 600; ++i) {
      {
        std::lock_guard<std::mutex> lock(receipts_mu);
        if (receipts.size() >= before + 20) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 400)(rng)));
    gateway->Kill();
    stop = true;
    for (auto& t : clients) t.join();
    refused_during_crash += failed;

    // Restart: recovery must accept the crashed log (truncating only a torn
    // tail); then stop cleanly so the files are quiet for the verifier.
    gateway = std::make_unique<GatewayProcess>(config, dir + "/gateway.stderr");
    ASSERT_GT(gateway->port(), 0) << "the gateway refused to start after a crash; see " << dir << "/gateway.stderr";
    {
      // Every message accepted this round is still in the store.
      auto stub = v1::Exchange::NewStub(ChannelTo(gateway->address(), "parties/uk-border-force"));
      std::lock_guard<std::mutex> lock(receipts_mu);
      for (size_t i = round_start; i < receipts.size(); ++i) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        v1::TrackRequest tr;
        tr.set_message_id(receipts[i].message_id);
        v1::TrackResponse track;
        grpc::Status s = stub->Track(&ctx, tr, &track);
        ASSERT_TRUE(s.ok()) << "accepted message " << receipts[i].message_id << " is gone after the crash: "
                            << s.error_message();
      }
    }
    const int status = gateway->Stop();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;

    VerifyOptions vo;
    vo.log_path = audit_log;
    vo.public_key_path = PkiDir() + "/audit/signing.pub";
    vo.witness_paths = {options.witness_dir + "/checkpoints.log"};
    auto report = VerifyLog(vo);
    ASSERT_TRUE(report.ok()) << report.status();
    ASSERT_FALSE(report->problem.has_value()) << report->problem->message;
    EXPECT_EQ(report->signed_size, report->records) << "the clean stop signs a final checkpoint";

    const std::vector<std::string> lines = ReadLines(audit_log);
    std::lock_guard<std::mutex> lock(receipts_mu);
    uint64_t lost = 0;
    for (const Receipt& r : receipts) {
      const bool present = r.audit_index < lines.size() &&
                           lines[r.audit_index].find("\"message_id\":\"" + r.message_id + "\"") != std::string::npos &&
                           lines[r.audit_index].find("\"action\":\"submit\"") != std::string::npos &&
                           lines[r.audit_index].find("\"outcome\":\"accepted\"") != std::string::npos;
      if (!present) {
        ++lost;
        ADD_FAILURE() << "receipt " << r.message_id << " (audit index " << r.audit_index << ") has no record";
      }
    }
    ASSERT_EQ(lost, 0u);
  }
  std::printf("[ crash ] rounds %d, receipts %zu, all present (lost 0), calls failed by the kills %llu\n", kRounds,
              receipts.size(), static_cast<unsigned long long>(refused_during_crash));
  RecordProperty("receipts", static_cast<int>(receipts.size()));
  EXPECT_GT(receipts.size(), static_cast<size_t>(kRounds * 10)) << "too little load to mean anything";
}

}  // namespace
}  // namespace portcullis::testing
