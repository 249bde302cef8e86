// Each adapter's round trip on loopback with real TLS (issue 5, point 4):
// a UK agency's native record (its format) is submitted through a real
// gateway by the adapter's submit path, pushed to a partner's endpoint whose
// inbox renders it in the partner's format; the partner replies from a record
// in its own format; the reply reaches the UK agency's pull receiver and lands
// in its inbox in the agency's format. Every native file on the way must read
// back to exactly the envelope that travelled.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/time/clock.h"
#include "adapters/common/json_doc.h"
#include "adapters/common/native_inbox.h"
#include "adapters/common/native_submit.h"
#include "adapters/common/native_util.h"
#include "adapters/common/partner_endpoint.h"
#include "adapters/common/pull_receiver.h"
#include "adapters/registry/native_formats.h"
#include "tests/support/harness.h"
#include "tests/support/random_envelope.h"

namespace portcullis::adapters {
namespace {

using portcullis::testing::BodyKind;
using portcullis::testing::GatewayHarness;
using portcullis::testing::ReadFile;
using portcullis::testing::WaitUntil;

struct Side {
  const char* format;
  const char* party;
  const char* stem;  // Under the PKI's parties/.
};

struct RoundTrip {
  Side uk;
  BodyKind outgoing;  // The agency's main record kind.
  Side partner;
};

void PrintTo(const RoundTrip& p, std::ostream* os) { *os << p.uk.party << " <-> " << p.partner.party; }

std::string Name(const ::testing::TestParamInfo<RoundTrip>& info) {
  return std::string(info.param.uk.format) + "_to_" + info.param.partner.format;
}

// Writes `envelope` as a native record of `format` into `dir` and returns the path.
std::string WriteNative(const NativeFormat& format, const v1::Envelope& envelope, const std::string& dir,
                        const std::string& name) {
  absl::StatusOr<std::string> native = format.FromEnvelope(envelope);
  EXPECT_TRUE(native.ok()) << native.status();
  const std::string path = dir + "/" + name;
  std::ofstream(path) << native.value_or("");
  return path;
}

// The delivery `message_id` in `inbox`, and its native file parsed back.
void ExpectNativeMatches(const NativeFormat& format, const std::string& inbox, const std::string& message_id,
                         v1::Envelope* delivered) {
  for (const v1::Delivery& d : ListInbox(inbox)) {
    if (d.envelope().message_id() != message_id) continue;
    *delivered = d.envelope();
    const std::string native_path = NativeDir(inbox) + "/" + d.delivery_id() + ".json";
    // Rendered before the endpoint answered; Track may see DELIVERED a moment later.
    ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(native_path); })) << native_path;
    absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(ReadFile(native_path), native_path);
    ASSERT_TRUE(doc.ok()) << doc.status();
    absl::StatusOr<v1::Envelope> back = format.ToEnvelope(*doc);
    ASSERT_TRUE(back.ok()) << back.status();
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(d.envelope(), *back)) << native_path << ":\n" << diff;
    return;
  }
  ADD_FAILURE() << message_id << " is not in inbox " << inbox;
}

class AdapterRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(AdapterRoundTrip, AgencyToPartnerAndReplyBack) {
  const RoundTrip& p = GetParam();
  const NativeFormat* uk_format = FindNativeFormat(p.uk.format);
  const NativeFormat* partner_format = FindNativeFormat(p.partner.format);
  ASSERT_NE(uk_format, nullptr) << p.uk.format << " is not registered";
  ASSERT_NE(partner_format, nullptr) << p.partner.format << " is not registered";
  const std::string dir = testing::MakeTempDir(std::string("round-trip-") + Name({GetParam(), 0}));
  const std::string pki = testing::PkiDir();

  // The partner's adapter: push endpoint into its native inbox.
  auto partner_inbox = NativeInbox::Open(dir + "/partner-inbox", *partner_format);
  ASSERT_TRUE(partner_inbox.ok()) << partner_inbox.status();
  NativeInbox* partner_native = partner_inbox->get();
  PartnerEndpointOptions endpoint_options;
  endpoint_options.tls = PartyTlsFromPki(pki, p.partner.stem);
  endpoint_options.inbox = partner_native->deliveries();
  endpoint_options.complete = [partner_native](const v1::Delivery& d, bool is_new) {
    return partner_native->Complete(d, is_new);
  };
  auto endpoint = PartnerEndpoint::Start(std::move(endpoint_options));
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  const std::string endpoint_address = "127.0.0.1:" + std::to_string((*endpoint)->port());

  testing::HarnessOptions options;
  (std::string(p.partner.party) == "eu/europol" ? options.europol_push_address : options.fr_dnpaf_push_address) =
      endpoint_address;
  GatewayHarness h(std::string("round-trip-gw-") + p.uk.format + "-" + p.partner.format, options);

  // The UK agency's adapter: pull receiver into its native inbox.
  auto uk_inbox = NativeInbox::Open(dir + "/uk-inbox", *uk_format);
  ASSERT_TRUE(uk_inbox.ok()) << uk_inbox.status();
  PullReceiverOptions receiver_options;
  receiver_options.channel = h.Channel(std::string("parties/") + p.uk.stem);
  receiver_options.inbox = uk_inbox->get();
  PullReceiver receiver(std::move(receiver_options));
  receiver.Start();

  // 1. The agency's record, in its own format, submitted by the adapter's path.
  testing::RandomEnvelopeOptions random;
  random.sender = false;
  v1::Envelope outgoing = testing::RandomEnvelope(p.outgoing, 11, random);
  outgoing.clear_recipients();
  outgoing.add_recipients(p.partner.party);
  outgoing.set_classification(v1::OFFICIAL);  // The test config clears fr-dnpaf for OFFICIAL only.
  outgoing.clear_created_at();                 // Stamped at submission, as for a record that leaves it out.
  outgoing.clear_correlation_id();             // A first message: nothing of this party's for it to answer.
  const std::string outgoing_file = WriteNative(*uk_format, outgoing, dir, "outgoing.json");
  std::vector<NativeRecord> batch = PrepareBatch(*uk_format, {outgoing_file}, p.uk.party, absl::Now());
  ASSERT_EQ(CountBad(batch), 0u) << batch[0].problem;
  auto uk_stub = h.Client(std::string("parties/") + p.uk.stem);
  ASSERT_EQ(SubmitBatch(*uk_stub, batch, false), 1u) << batch[0].status.error_message();

  // 2. It arrives at the partner, natively rendered, exactly as sent.
  ASSERT_TRUE(WaitUntil([&] { return (*endpoint)->stored_count() == 1; }));
  ASSERT_TRUE(WaitUntil([&] { return !ListInbox(partner_native->dir()).empty(); }));
  v1::Envelope received;
  ExpectNativeMatches(*partner_format, partner_native->dir(), outgoing.message_id(), &received);
  v1::Envelope expected = batch[0].envelope;
  expected.set_sender(p.uk.party);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(expected, received))
      << expected.DebugString() << "\nvs\n" << received.DebugString();

  // 3. The partner acknowledges and replies from a record in its own format.
  auto partner_stub = h.Client(std::string("parties/") + p.partner.stem);
  {
    grpc::ClientContext context;
    v1::AcknowledgeRequest ack;
    ack.set_sender(p.uk.party);
    ack.set_message_id(outgoing.message_id());
    ack.set_decision(v1::ACCEPT);
    ack.set_officer("PARTNER-LO-1");
    v1::AcknowledgeResponse response;
    ASSERT_TRUE(partner_stub->Acknowledge(&context, ack, &response).ok());
  }
  v1::Envelope reply = testing::RandomEnvelope(BodyKind::kResponse, 12, random);
  reply.set_correlation_id(outgoing.message_id());
  reply.set_case_reference(outgoing.case_reference());
  reply.clear_recipients();
  reply.add_recipients(p.uk.party);
  reply.set_classification(v1::OFFICIAL);
  const std::string reply_file = WriteNative(*partner_format, reply, dir, "reply.json");
  std::vector<NativeRecord> replies = PrepareBatch(*partner_format, {reply_file}, p.partner.party, absl::Now());
  ASSERT_EQ(CountBad(replies), 0u) << replies[0].problem;
  ASSERT_EQ(SubmitBatch(*partner_stub, replies, false), 1u) << replies[0].status.error_message();

  // 4. The reply lands in the agency's inbox, in the agency's format, confirmed.
  ASSERT_TRUE(WaitUntil([&] { return receiver.stored_count() == 1; }));
  v1::Envelope reply_received;
  ExpectNativeMatches(*uk_format, (*uk_inbox)->dir(), reply.message_id(), &reply_received);
  EXPECT_EQ(reply_received.correlation_id(), outgoing.message_id());
  EXPECT_EQ(reply_received.sender(), p.partner.party);
  EXPECT_TRUE(testing::WaitForState(h, reply.message_id(), v1::DELIVERED, std::string("parties/") + p.partner.stem));
  EXPECT_EQ(testing::StateOf(h, outgoing.message_id(), std::string("parties/") + p.uk.stem), v1::ACKNOWLEDGED);
  receiver.Stop();
  (*endpoint)->Shutdown();
}

INSTANTIATE_TEST_SUITE_P(
    EveryAdapter, AdapterRoundTrip,
    ::testing::Values(
        RoundTrip{{"border_force", "uk/border-force", "uk-border-force"}, BodyKind::kCaseReferral,
                  {"europol", "eu/europol", "eu-europol"}},
        RoundTrip{{"border_force", "uk/border-force", "uk-border-force"}, BodyKind::kCaseReferral,
                  {"fr_dnpaf", "eu/fr-dnpaf", "eu-fr-dnpaf"}},
        RoundTrip{{"nca", "uk/nca", "uk-nca"}, BodyKind::kIntelligenceReport, {"europol", "eu/europol", "eu-europol"}},
        RoundTrip{{"nca", "uk/nca", "uk-nca"}, BodyKind::kRequestForInformation,
                  {"fr_dnpaf", "eu/fr-dnpaf", "eu-fr-dnpaf"}},
        RoundTrip{{"hoie", "uk/immigration-enforcement", "uk-immigration-enforcement"},
                  BodyKind::kRequestForInformation, {"europol", "eu/europol", "eu-europol"}},
        RoundTrip{{"hoie", "uk/immigration-enforcement", "uk-immigration-enforcement"}, BodyKind::kCaseReferral,
                  {"fr_dnpaf", "eu/fr-dnpaf", "eu-fr-dnpaf"}}),
    Name);

}  // namespace
}  // namespace portcullis::adapters
