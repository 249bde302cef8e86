// Item 6 of issue 11: whatever fails inside the gateway (its message store,
// its audit log), a caller of any RPC gets a precise code and either a refusal
// the gateway chose (listed in docs/reasons.md) or a generic one with an
// incident id; never the store's or the log's own words (SQL errors, paths).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "portcullis/v1/admin.grpc.pb.h"
#include "portcullis/v1/audit.grpc.pb.h"
#include "portcullis/v1/refusal_status.h"
#include "tests/support/faulty_store.h"
#include "tests/support/harness.h"
#include "tests/support/test_storage.h"

namespace portcullis::testing {
namespace {

using Call = std::function<grpc::Status(GatewayHarness&)>;

grpc::ClientContext* Deadline(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

// Every RPC of the three services, each with a request that reaches the
// store or the log (a message that exists, a delivery id, a case); the Audit
// service's calls as an auditor, so that none stops at NOT_AN_AUDITOR.
std::vector<std::pair<std::string, Call>> EveryRpc() {
  std::vector<std::pair<std::string, Call>> calls;
  calls.emplace_back("Exchange.Submit", [](GatewayHarness& h) {
    v1::Receipt r;
    return Submit(*h.Client("parties/uk-border-force"), SampleReferral("FAULT-NEW"), &r);
  });
  calls.emplace_back("Exchange.Track", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::TrackRequest req;
    req.set_message_id("FAULT-1");
    v1::TrackResponse resp;
    return h.Client("parties/uk-border-force")->Track(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Exchange.Acknowledge", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::AcknowledgeRequest req;
    req.set_sender("uk/border-force");
    req.set_message_id("FAULT-1");
    req.set_decision(v1::ACCEPT);
    req.set_officer("EU-LO-0001");
    v1::AcknowledgeResponse resp;
    return h.Client("parties/eu-europol")->Acknowledge(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Exchange.Confirm", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::ConfirmRequest req;
    req.set_through_delivery_id("0123456789abcdef0123456789abcdef");
    v1::ConfirmResponse resp;
    return h.Client("parties/eu-europol")->Confirm(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Exchange.ListCase", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::ListCaseRequest req;
    req.set_case_reference("BF-2026-004512");
    req.set_officer("BF-LO-4471");
    req.set_justification("fault test");
    v1::ListCaseResponse resp;
    return h.Client("parties/uk-border-force")->ListCase(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Exchange.Receive", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::ReceiveRequest req;
    req.set_resume_after_delivery_id("0123456789abcdef0123456789abcdef");
    auto reader = h.Client("parties/eu-europol")->Receive(Deadline(&ctx), req);
    v1::Delivery d;
    while (reader->Read(&d)) {
    }
    return reader->Finish();
  });
  calls.emplace_back("Admin.ListDeadLetters", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::ListDeadLettersRequest req;
    req.set_reason("fault test");
    req.set_officer("OPS-0001");
    v1::ListDeadLettersResponse resp;
    return v1::Admin::NewStub(h.Channel("parties/ops-operator"))->ListDeadLetters(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Admin.RetryDeadLetter", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::RetryDeadLetterRequest req;
    req.set_delivery_id("0123456789abcdef0123456789abcdef");
    req.set_reason("fault test");
    req.set_officer("OPS-0001");
    v1::DeadLetter resp;
    return v1::Admin::NewStub(h.Channel("parties/ops-operator"))->RetryDeadLetter(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Admin.CancelDeadLetter", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::CancelDeadLetterRequest req;
    req.set_delivery_id("0123456789abcdef0123456789abcdef");
    req.set_reason("fault test");
    req.set_officer("OPS-0001");
    v1::DeadLetter resp;
    return v1::Admin::NewStub(h.Channel("parties/ops-operator"))->CancelDeadLetter(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Admin.GetDeliveryStats", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::GetDeliveryStatsRequest req;
    v1::DeliveryStats resp;
    return v1::Admin::NewStub(h.Channel("parties/ops-operator"))->GetDeliveryStats(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Audit.Query", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::AuditQueryRequest req;
    req.set_reason("fault test");
    v1::AuditQueryResponse resp;
    return v1::Audit::NewStub(h.Channel("parties/audit-ico"))->Query(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Audit.GetCheckpoint", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::GetCheckpointRequest req;
    v1::SignedCheckpoint resp;
    return v1::Audit::NewStub(h.Channel("parties/audit-ico"))->GetCheckpoint(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Audit.GetInclusionProof", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::InclusionProofRequest req;
    req.set_index(0);
    v1::InclusionProof resp;
    return v1::Audit::NewStub(h.Channel("parties/audit-ico"))->GetInclusionProof(Deadline(&ctx), req, &resp);
  });
  calls.emplace_back("Audit.GetConsistencyProof", [](GatewayHarness& h) {
    grpc::ClientContext ctx;
    v1::ConsistencyProofRequest req;
    req.set_old_size(1);
    v1::ConsistencyProof resp;
    return v1::Audit::NewStub(h.Channel("parties/audit-ico"))->GetConsistencyProof(Deadline(&ctx), req, &resp);
  });
  return calls;
}

// What a caller may never see, whatever failed.
void ExpectNothingInternal(const std::string& rpc, const grpc::Status& s) {
  const std::string all = s.error_message() + s.error_details();
  for (const char* secret : {"sqlite", "SQLITE", "/var/lib", "secret-store", "EIO", "fdatasync", "injected", ".log"}) {
    EXPECT_EQ(all.find(secret), std::string::npos) << rpc << " leaked '" << secret << "': " << s.error_message();
  }
  std::optional<v1::Refusal> r = v1::RefusalInStatus(s);
  ASSERT_TRUE(r.has_value()) << rpc << ": no refusal in " << s.error_message();
  const std::string& reason = r->reason();
  if (reason == "INTERNAL_ERROR" || reason == "TEMPORARILY_UNAVAILABLE" || reason == "REQUEST_FAILED") {
    EXPECT_EQ(v1::RefusalMetadata(s, "incident_id").value_or("").size(), 16u) << rpc;
  }
}

// A message, a delivery to a pull party (eu/europol) and a case to find.
void Seed(GatewayHarness& h) {
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("FAULT-1"), &receipt).ok());
}

class StoreFaults : public ::testing::TestWithParam<absl::StatusCode> {};

TEST_P(StoreFaults, ReachNoCallerInTheirOwnWords) {
  auto armed = std::make_shared<std::atomic<int>>(0);
  HarnessOptions o;
  o.hooks.wrap_store = [armed](std::unique_ptr<MessageStore> inner) -> std::unique_ptr<MessageStore> {
    return std::make_unique<FaultyStore>(std::move(inner), armed);
  };
  GatewayHarness h("edge-store-faults-" + std::to_string(static_cast<int>(GetParam())), o);
  Seed(h);
  *armed = static_cast<int>(GetParam());
  int failed = 0;
  std::string passed;
  for (auto& [rpc, call] : EveryRpc()) {
    ::testing::internal::CaptureStderr();
    grpc::Status s = call(h);
    const std::string log = ::testing::internal::GetCapturedStderr();
    if (s.ok()) {  // An RPC that does not touch the store (e.g. a checkpoint) may succeed.
      passed += " " + rpc;
      continue;
    }
    ++failed;
    ExpectNothingInternal(rpc, s);
    // The operators can find the incident: the whole text is in the gateway's log under its id.
    if (auto incident = v1::RefusalMetadata(s, "incident_id")) {
      EXPECT_NE(log.find(*incident), std::string::npos) << rpc;
      EXPECT_NE(log.find(kInjectedStoreError), std::string::npos) << rpc;
    }
  }
  // Every store-backed RPC failed (Submit, Track, Acknowledge, Confirm, ListCase, Receive, four Admin calls).
  // On PostgreSQL a submission's rows are written in PgAcceptance's transaction, not through the MessageStore
  // this hook wraps (a database that fails it: AuditService.AuditDiskFailureRefusesWorkAndAcknowledgesNothing).
  const bool submit_not_wrapped = TestsOnPostgres() && passed.find(" Exchange.Submit") != std::string::npos;
  EXPECT_GE(failed + (submit_not_wrapped ? 1 : 0), 10) << "succeeded:" << passed;
}

INSTANTIATE_TEST_SUITE_P(Codes, StoreFaults,
                         ::testing::Values(absl::StatusCode::kInternal, absl::StatusCode::kUnavailable,
                                           absl::StatusCode::kNotFound, absl::StatusCode::kFailedPrecondition));

TEST(EdgeFaults, AuditFailuresReachNoCallerInTheirOwnWords) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  HarnessOptions o;
  o.hooks.audit_fault_injector = [fail](absl::string_view op) {
    return *fail && op == "sync"
               ? absl::UnavailableError("injected fdatasync failure: EIO on /var/lib/portcullis/audit.log")
               : absl::OkStatus();
  };
  GatewayHarness h("edge-audit-faults", o);
  Seed(h);
  *fail = true;
  if (TestsOnPostgres()) CutOffDatabase(h.store_dsn(), true);  // The database is gone.
  v1::Receipt receipt;
  (void)Submit(*h.Client("parties/uk-border-force"), SampleReferral("FAULT-TRIGGER"), &receipt);
  WaitUntil([&] { return !h.gateway()->audit()->Health().ok(); },
            std::chrono::seconds(5), std::chrono::milliseconds(50));
  ASSERT_FALSE(h.gateway()->audit()->Health().ok());
  for (auto& [rpc, call] : EveryRpc()) {
    grpc::Status s = call(h);
    // Every call is recorded before it is answered, the auditor's reads too:
    // with the log failed, each is refused for that, in the gateway's words.
    EXPECT_FALSE(s.ok()) << rpc;
    ExpectNothingInternal(rpc, s);
    EXPECT_EQ(ReasonOf(s), "AUDIT_UNAVAILABLE") << rpc;
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << rpc;
  }
}

// Reading the log fails (records or proofs; the log can still write): no
// caller, auditor or party, sees the failure's words (the path, the errno);
// each read that failed is a generic refusal with an incident id, under which
// the gateway's log has the whole text.
class AuditReadFaults : public ::testing::TestWithParam<absl::StatusCode> {};

TEST_P(AuditReadFaults, ReachNoCallerInTheirOwnWords) {
  auto fail = std::make_shared<std::atomic<bool>>(false);
  const absl::StatusCode code = GetParam();
  HarnessOptions o;
  o.hooks.audit_fault_injector = [fail, code](absl::string_view op) {
    return *fail && op == "read"
               ? absl::Status(code, "injected read failure: EIO on /var/lib/portcullis/audit.log")
               : absl::OkStatus();
  };
  GatewayHarness h("edge-audit-read-faults-" + std::to_string(static_cast<int>(code)), o);
  Seed(h);
  v1::Receipt receipt;
  ASSERT_TRUE(Submit(*h.Client("parties/uk-border-force"), SampleReferral("FAULT-READ"), &receipt).ok());
  ASSERT_TRUE(h.gateway()->audit()->CheckpointNow().ok());  // So that GetConsistencyProof has a new size.
  *fail = true;

  std::vector<std::pair<std::string, Call>> calls = EveryRpc();
  // A party proving its own record, and an index beyond the log (the same failure: it is read either way).
  for (uint64_t index : {receipt.audit_index(), uint64_t{1} << 40}) {
    calls.emplace_back("Audit.GetInclusionProof(sender, " + std::to_string(index) + ")",
                       [index](GatewayHarness& g) {
                         grpc::ClientContext ctx;
                         v1::InclusionProofRequest req;
                         req.set_index(index);
                         v1::InclusionProof resp;
                         return v1::Audit::NewStub(g.Channel("parties/uk-border-force"))
                             ->GetInclusionProof(Deadline(&ctx), req, &resp);
                       });
  }
  std::set<std::string> refused;
  for (auto& [rpc, call] : calls) {
    ::testing::internal::CaptureStderr();
    grpc::Status s = call(h);
    const std::string log = ::testing::internal::GetCapturedStderr();
    if (s.ok()) continue;  // A call that does not read the log (Exchange, Admin, a checkpoint).
    refused.insert(rpc);
    ExpectNothingInternal(rpc, s);
    if (rpc.rfind("Audit.", 0) != 0) continue;
    EXPECT_TRUE(ReasonOf(s) == "TEMPORARILY_UNAVAILABLE" || ReasonOf(s) == "INTERNAL_ERROR" ||
                ReasonOf(s) == "REQUEST_FAILED")
        << rpc << ": " << s.error_message();
    EXPECT_EQ(s.error_code(), static_cast<grpc::StatusCode>(static_cast<int>(code))) << rpc;
    const std::optional<std::string> incident = v1::RefusalMetadata(s, "incident_id");
    ASSERT_TRUE(incident.has_value()) << rpc << ": " << s.error_message();
    EXPECT_EQ(incident->size(), 16u) << rpc;
    // The operators find the whole text under the incident id.
    const size_t at = log.find(*incident);
    EXPECT_NE(at, std::string::npos) << rpc;
    if (at != std::string::npos) {
      EXPECT_NE(log.find("/var/lib/portcullis/audit.log", at), std::string::npos) << rpc << ": " << log;
    }
  }
  for (const char* rpc : {"Audit.Query", "Audit.GetInclusionProof", "Audit.GetConsistencyProof"}) {
    EXPECT_EQ(refused.count(rpc), 1u) << rpc << " did not read the log";
  }
  EXPECT_EQ(refused.count("Audit.GetInclusionProof(sender, " + std::to_string(receipt.audit_index()) + ")"), 1u);
  EXPECT_EQ(refused.count("Audit.GetInclusionProof(sender, " + std::to_string(uint64_t{1} << 40) + ")"), 1u);
  // A failed read leaves the log healthy: with the disk back, the same calls are answered.
  *fail = false;
  EXPECT_TRUE(h.gateway()->audit()->Health().ok());
  for (auto& [rpc, call] : calls) {
    if (rpc.rfind("Audit.", 0) != 0 || rpc.find(std::to_string(uint64_t{1} << 40)) != std::string::npos) continue;
    EXPECT_TRUE(call(h).ok()) << rpc;
  }
}

INSTANTIATE_TEST_SUITE_P(Codes, AuditReadFaults,
                         ::testing::Values(absl::StatusCode::kUnavailable, absl::StatusCode::kDataLoss,
                                           absl::StatusCode::kInternal));

}  // namespace
}  // namespace portcullis::testing
