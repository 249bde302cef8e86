// Europol native message records: examples convert, every field survives
// native -> envelope -> native, random envelopes of every kind round-trip
// exactly, and problems are located (file:line:col: path: rule).
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/common/json_doc.h"
#include "adapters/europol/format.h"
#include "adapters/registry/native_formats.h"
#include "tests/support/format_test_support.h"
#include "tests/support/random_envelope.h"

namespace portcullis::adapters::europol {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::Replace;
using testing::SameEnvelope;
using testing::UtcSeconds;

absl::StatusOr<v1::Envelope> LoadExample(const std::string& name) { return testing::ConvertExample(Format(), name); }
absl::StatusOr<v1::Envelope> Convert(const std::string& text) { return testing::ConvertText(Format(), text); }
std::string ErrorOf(const std::string& text) { return testing::ErrorOf(Format(), text); }
std::string RefusalOf(const v1::Envelope& env) { return testing::RefusalOf(Format(), env); }

TEST(EuropolFormat, IsRegistered) {
  EXPECT_EQ(FindNativeFormat("europol"), &Format());
  EXPECT_EQ(Format().name(), "europol");
}

TEST(EuropolFormat, EveryExampleConverts) {
  std::vector<std::string> files = testing::ExampleFiles(Format());
  ASSERT_THAT(files, SizeIs(5));
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    absl::StatusOr<v1::Envelope> env = testing::ConvertFile(Format(), file);
    ASSERT_TRUE(env.ok()) << env.status();
    EXPECT_FALSE(env->message_id().empty());
    EXPECT_FALSE(env->case_reference().empty());
    EXPECT_FALSE(env->justification().legal_basis().empty());
    EXPECT_TRUE(env->has_created_at());
    EXPECT_NE(env->body_case(), v1::Envelope::BODY_NOT_SET);
  }
}

TEST(EuropolFormat, ReplyToTheBorderForceReferral) {
  absl::StatusOr<v1::Envelope> env = LoadExample("reply-BF-REF-2026-004512-01.json");
  ASSERT_TRUE(env.ok()) << env.status();
  ASSERT_TRUE(env->has_response());
  EXPECT_EQ(env->message_id(), "EPL-UKLB-2026-001207");
  EXPECT_EQ(env->correlation_id(), "BF-REF-2026-004512-01");
  EXPECT_EQ(env->case_reference(), "BF-2026-004512");
  EXPECT_EQ(env->sender(), "eu/europol");
  EXPECT_EQ(env->originating_officer(), "EUROPOL-UKLB-07");
  EXPECT_THAT(env->recipients(), ::testing::ElementsAre("uk/border-force"));
  EXPECT_EQ(env->classification(), v1::OFFICIAL_SENSITIVE);
  EXPECT_EQ(env->priority(), v1::URGENT);
  EXPECT_EQ(env->created_at().seconds(), UtcSeconds(2026, 3, 15, 9, 42));  // 10:42+01:00
  const v1::EuropolEvaluation& e = env->europol_evaluation();
  EXPECT_EQ(e.source(), v1::EUROPOL_SOURCE_B_MOSTLY_RELIABLE);
  EXPECT_EQ(e.accuracy(), v1::EUROPOL_ACCURACY_3_CORROBORATED);
  EXPECT_THAT(e.handling(), ::testing::ElementsAre(v1::EUROPOL_HANDLING_H1, v1::EUROPOL_HANDLING_H3));
  EXPECT_THAT(e.restrictions(), HasSubstr("consult Europol"));
  EXPECT_FALSE(env->has_uk_grading());  // Europol is the provider: no UK grading is invented.
  const v1::Person& s = env->response().subjects(0);
  EXPECT_EQ(s.role(), v1::FACILITATOR);
  EXPECT_EQ(s.date_of_birth(), "1988-09-14");
  EXPECT_THAT(s.aliases(), ::testing::ElementsAre("Kaka Shwan", "Shwan Dunkerque"));
  EXPECT_THAT(s.documents(), SizeIs(1));
}

TEST(EuropolFormat, RequestForInformationToTheNca) {
  absl::StatusOr<v1::Envelope> env = LoadExample("rfi-to-nca-EPL-OAC-2026-0042.json");
  ASSERT_TRUE(env.ok()) << env.status();
  ASSERT_TRUE(env->has_request_for_information());
  EXPECT_EQ(env->case_reference(), "EPL-OAC-2026-0042");  // Europol opened the case.
  EXPECT_TRUE(env->correlation_id().empty());
  EXPECT_THAT(env->recipients(), ::testing::ElementsAre("uk/nca"));
  const v1::RequestForInformation& q = env->request_for_information();
  EXPECT_FALSE(q.directly_accessible());
  EXPECT_EQ(q.answer_by().seconds(), UtcSeconds(2026, 3, 19, 9, 5));
  EXPECT_EQ(q.subjects(0).role(), v1::SUBJECT);
  EXPECT_THAT(env->europol_evaluation().handling(), ::testing::ElementsAre(v1::EUROPOL_HANDLING_H2));
  EXPECT_TRUE(env->europol_evaluation().restrictions().empty());
}

TEST(EuropolFormat, OperationalInformationCarriesBothGradingsSeparately) {
  absl::StatusOr<v1::Envelope> env = LoadExample("received/inbox-nca-operational-information.json");
  ASSERT_TRUE(env.ok()) << env.status();
  ASSERT_TRUE(env->has_intelligence_report());
  EXPECT_EQ(env->sender(), "uk/nca");
  EXPECT_EQ(env->classification(), v1::SECRET);  // "EU CONFIDENTIAL"
  EXPECT_EQ(env->priority(), v1::ROUTINE);       // "NORMAL"
  EXPECT_EQ(env->uk_grading().source(), v1::UK_SOURCE_2_UNTESTED);
  EXPECT_EQ(env->uk_grading().intelligence(), v1::UK_INTEL_B_INDIRECT_CORROBORATED);
  EXPECT_EQ(env->uk_grading().handling(), v1::UK_HANDLING_C_CONDITIONS);
  EXPECT_THAT(env->uk_grading().handling_conditions(), HasSubstr("third countries"));
  EXPECT_EQ(env->europol_evaluation().source(), v1::EUROPOL_SOURCE_B_MOSTLY_RELIABLE);
  EXPECT_EQ(env->europol_evaluation().accuracy(), v1::EUROPOL_ACCURACY_2_KNOWN_PERSONALLY);
  const v1::IntelligenceReport& r = env->intelligence_report();
  EXPECT_THAT(r.routes(), SizeIs(2));
  EXPECT_DOUBLE_EQ(r.vessels(0).length_metres(), 10);
  EXPECT_EQ(r.vessels(0).persons_on_board(), 0u);
  EXPECT_THAT(r.financial(), HasSubstr("informal transfer office"));
  EXPECT_EQ(r.subjects(0).nationality(), "GBR");
}

TEST(EuropolFormat, CaseReferralReceivedFromBorderForce) {
  absl::StatusOr<v1::Envelope> env = LoadExample("received/inbox-BF-REF-2026-004512-01.json");
  ASSERT_TRUE(env.ok()) << env.status();
  ASSERT_TRUE(env->has_case_referral());
  EXPECT_EQ(env->message_id(), "BF-REF-2026-004512-01");
  EXPECT_EQ(env->sender(), "uk/border-force");
  EXPECT_EQ(env->classification(), v1::OFFICIAL_SENSITIVE);
  EXPECT_EQ(env->uk_grading().handling(), v1::UK_HANDLING_C_CONDITIONS);
  EXPECT_FALSE(env->has_europol_evaluation());  // Never derived from the UK grading.
  const v1::CaseReferral& c = env->case_referral();
  EXPECT_EQ(c.crossing().departure_time().seconds(), UtcSeconds(2026, 3, 14, 2, 40));
  EXPECT_DOUBLE_EQ(c.crossing().interception_place().longitude(), 1.0358);
  EXPECT_EQ(c.crossing().vessel().persons_on_board(), 38u);
  EXPECT_EQ(c.persons(0).role(), v1::PILOT);
  EXPECT_EQ(c.persons(1).role(), v1::PASSENGER);
  EXPECT_EQ(c.suspected_facilitators(0).role(), v1::FACILITATOR);
  EXPECT_EQ(c.suspected_facilitators(1).role(), v1::WITNESS);
  EXPECT_FALSE(c.requested_action().empty());
}

TEST(EuropolFormat, EveryExampleSurvivesTheRoundTrip) {
  for (const std::string& file : testing::ExampleFiles(Format())) {
    EXPECT_TRUE(testing::ExampleRoundTrips(Format(), file));
  }
}

// The property: every valid envelope of every kind survives
// envelope -> native -> envelope exactly. Nothing is switched off in
// RandomEnvelopeOptions: the format carries attachments, both gradings and sender.
TEST(EuropolFormat, RandomEnvelopesRoundTripExactly) {
  int checked = 0;
  EXPECT_TRUE(testing::EveryKindRoundTrips(Format(), 200, &checked));
  EXPECT_EQ(checked, 800);
}

// Presence survives too: an empty crossing, an empty vessel, a zero-length
// vessel in a report and an RFI not directly accessible.
TEST(EuropolFormat, EmptyPartsSurviveTheRoundTrip) {
  v1::Envelope e = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 1);
  e.mutable_case_referral()->mutable_crossing()->Clear();
  std::vector<v1::Envelope> cases = {e};
  e.mutable_case_referral()->mutable_crossing()->mutable_vessel();
  cases.push_back(e);
  e = testing::RandomEnvelope(testing::BodyKind::kIntelligenceReport, 1);
  e.mutable_intelligence_report()->add_vessels();
  cases.push_back(e);
  e = testing::RandomEnvelope(testing::BodyKind::kRequestForInformation, 1);
  e.mutable_request_for_information()->set_directly_accessible(false);
  e.mutable_request_for_information()->clear_answer_by();
  cases.push_back(e);
  for (const v1::Envelope& original : cases) EXPECT_TRUE(testing::RoundTripsExactly(Format(), original));
}

TEST(EuropolFormat, EuSecretIsReadAsSecretAndWrittenEuConfidential) {
  absl::StatusOr<testing::WrittenBack> written = testing::ConvertAndWriteBack(
      Format(), testing::ExamplesDir(Format()) + "/received/inbox-nca-operational-information.json");
  ASSERT_TRUE(written.ok()) << written.status();
  std::string text = written->native;
  const std::string from = R"("EU CONFIDENTIAL")";
  ASSERT_NE(text.find(from), std::string::npos) << text;
  text.replace(text.find(from), from.size(), R"("EU SECRET")");
  absl::StatusOr<v1::Envelope> secret = Convert(text);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->classification(), v1::SECRET);
  EXPECT_TRUE(SameEnvelope(written->envelope, *secret, text));
}

TEST(EuropolFormat, TimesAreWrittenInUtcWithZ) {
  absl::StatusOr<v1::Envelope> env = LoadExample("reply-BF-REF-2026-004512-01.json");
  ASSERT_TRUE(env.ok()) << env.status();
  env->mutable_created_at()->set_nanos(250000000);
  absl::StatusOr<std::string> native = Format().FromEnvelope(*env);
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_THAT(*native, HasSubstr(R"("created": "2026-03-15T09:42:00.25Z")"));
}

TEST(EuropolFormat, EveryMarkingHasOneSpelling) {
  absl::StatusOr<v1::Envelope> env = LoadExample("reply-BF-REF-2026-004512-01.json");
  ASSERT_TRUE(env.ok()) << env.status();
  const std::pair<v1::Classification, const char*> levels[] = {{v1::OFFICIAL, "BASIC PROTECTION LEVEL"},
                                                                {v1::OFFICIAL_SENSITIVE, "EU RESTRICTED"},
                                                                {v1::SECRET, "EU CONFIDENTIAL"}};
  for (const auto& [classification, spelling] : levels) {
    env->set_classification(classification);
    absl::StatusOr<std::string> native = Format().FromEnvelope(*env);
    ASSERT_TRUE(native.ok()) << native.status();
    EXPECT_THAT(*native, HasSubstr(std::string("\"security_level\": \"") + spelling + "\""));
  }
}

// --- FromEnvelope refuses what the format cannot express, naming the field ---

TEST(EuropolFormat, FromEnvelopeRefusesUnexpressibleClassification) {
  v1::Envelope env = testing::RandomEnvelope(testing::BodyKind::kResponse, 7);
  env.set_message_id("EPL-X-1");
  env.set_classification(v1::TOP_SECRET);
  EXPECT_EQ(RefusalOf(env), "message EPL-X-1: classification: TOP_SECRET has no Europol security level");
  env.set_classification(v1::CLASSIFICATION_UNSPECIFIED);
  EXPECT_EQ(RefusalOf(env),
            "message EPL-X-1: classification: CLASSIFICATION_UNSPECIFIED has no Europol security level");
}

TEST(EuropolFormat, FromEnvelopeRefusesMissingBodyText) {
  v1::Envelope env = testing::RandomEnvelope(testing::BodyKind::kResponse, 3);
  env.set_message_id("EPL-X-2");
  env.mutable_response()->clear_answer();
  EXPECT_EQ(RefusalOf(env), "message EPL-X-2: response.answer: required by the Europol format");

  env = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 3);
  env.set_message_id("EPL-X-3");
  env.mutable_case_referral()->clear_requested_action();
  EXPECT_EQ(RefusalOf(env), "message EPL-X-3: case_referral.requested_action: required by the Europol format");
  env.mutable_case_referral()->clear_summary();
  EXPECT_EQ(RefusalOf(env), "message EPL-X-3: case_referral.summary: required by the Europol format");

  env = testing::RandomEnvelope(testing::BodyKind::kIntelligenceReport, 3);
  env.set_message_id("EPL-X-4");
  env.mutable_intelligence_report()->clear_summary();
  EXPECT_EQ(RefusalOf(env), "message EPL-X-4: intelligence_report.summary: required by the Europol format");

  env = testing::RandomEnvelope(testing::BodyKind::kRequestForInformation, 3);
  env.set_message_id("EPL-X-5");
  env.mutable_request_for_information()->clear_question();
  EXPECT_EQ(RefusalOf(env), "message EPL-X-5: request_for_information.question: required by the Europol format");
}

TEST(EuropolFormat, FromEnvelopeRefusesOtherGaps) {
  v1::Envelope env = testing::RandomEnvelope(testing::BodyKind::kResponse, 11);
  env.set_message_id("EPL-X-6");
  env.clear_correlation_id();
  EXPECT_EQ(RefusalOf(env), "message EPL-X-6: correlation_id: a REPLY must name the message it answers");

  env = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 11);
  env.set_message_id("EPL-X-7");
  env.mutable_case_referral()->add_persons()->set_family_name("Testperson");  // No role.
  EXPECT_THAT(RefusalOf(env), HasSubstr(": not set; Europol records need an involvement"));
  EXPECT_THAT(RefusalOf(env), HasSubstr("message EPL-X-7: case_referral.persons["));

  env = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 11);
  env.set_message_id("EPL-X-8");
  env.clear_body();
  EXPECT_EQ(RefusalOf(env), "message EPL-X-8: body: not set; a Europol record needs one of the four record types");

  env = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 11);
  env.set_message_id("EPL-X-9");
  env.mutable_justification()->clear_legal_basis();
  EXPECT_EQ(RefusalOf(env), "message EPL-X-9: justification.legal_basis: required by the Europol format");

  env = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 11);
  env.set_message_id("EPL-X-10");
  env.mutable_europol_evaluation()->set_source(v1::EUROPOL_SOURCE_A_NO_DOUBT);  // No accuracy.
  EXPECT_THAT(RefusalOf(env), HasSubstr("message EPL-X-10: europol_evaluation: incomplete"));
}

// --- Located problems in native records ---

// A minimal valid reply; each test breaks one line of it.
constexpr char kValid[] = R"({
  "message_reference": "EPL-UKLB-2026-000001",
  "record_type": "REPLY",
  "case_reference": "BF-2026-000001",
  "in_reply_to": "BF-REF-2026-000001-01",
  "author": "EUROPOL-UKLB-01",
  "addressees": ["uk/border-force"],
  "security_level": "BASIC PROTECTION LEVEL",
  "priority": "NORMAL",
  "legal_basis": "Regulation (EU) 2016/794 Art. 25",
  "europol_evaluation": {"source": "A", "accuracy": "1", "handling": ["H0"]},
  "content": {
    "answer": "No trace: invented test reply.",
    "subjects": [{"family_name": "Testperson", "date_of_birth": "2000-01-31", "involvement": "WITNESS"}]
  }
})";

TEST(EuropolFormat, ValidMinimalReplyConverts) {
  absl::StatusOr<v1::Envelope> env = Convert(kValid);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_FALSE(env->has_created_at());  // The submitting adapter stamps it.
  EXPECT_TRUE(env->sender().empty());   // The gateway sets it.
  EXPECT_EQ(env->classification(), v1::OFFICIAL);
}

TEST(EuropolFormat, WrongTypeIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("answer": "No trace: invented test reply.")", R"("answer": 12)")),
            "bad.json:13:15: content.answer: must be a string, not a number");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(["uk/border-force"])", R"("uk/border-force")")),
            "bad.json:7:17: addressees: must be an array, not a string");
}

TEST(EuropolFormat, MissingRequiredFieldIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(  "author": "EUROPOL-UKLB-01",
)", "")),
            "bad.json:1:1: author: required");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("source": "A", )", "")), "bad.json:11:25: europol_evaluation.source: required");
}

TEST(EuropolFormat, ReplyNeedsInReplyTo) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(  "in_reply_to": "BF-REF-2026-000001-01",
)", "")),
            "bad.json:1:1: in_reply_to: required when record_type is \"REPLY\"");
}

TEST(EuropolFormat, UnknownKeyIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("involvement": "WITNESS")", R"("involvement": "WITNESS", "colour": "red")")),
            "bad.json:14:105: content.subjects[0].colour: unknown field");
  // A key of another record type is unknown in this one.
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("answer": )", R"("question": "?", "answer": )")),
            "bad.json:13:5: content.question: unknown field");
}

TEST(EuropolFormat, BadEnumIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("BASIC PROTECTION LEVEL")", R"("EU TOP SECRET")")),
            "bad.json:8:21: security_level: must be one of \"BASIC PROTECTION LEVEL\", \"EU RESTRICTED\", "
            "\"EU CONFIDENTIAL\", \"EU SECRET\", not \"EU TOP SECRET\"");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("REPLY")", R"("RESPONSE")")),
            "bad.json:3:18: record_type: must be one of \"CASE_REFERRAL\", \"OPERATIONAL_INFORMATION\", "
            "\"REQUEST_FOR_INFORMATION\", \"REPLY\", not \"RESPONSE\"");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(["H0"])", R"(["H4"])")),
            "bad.json:11:71: europol_evaluation.handling[0]: must be one of \"H0\", \"H1\", \"H2\", \"H3\"");
}

TEST(EuropolFormat, ImpossibleDateIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, "2000-01-31", "2000-02-30")),
            "bad.json:14:65: content.subjects[0].date_of_birth: must be a date YYYY-MM-DD that exists, not "
            "\"2000-02-30\"");
  EXPECT_THAT(ErrorOf(Replace(kValid, R"("priority": "NORMAL",)",
                              R"("priority": "NORMAL", "created": "2026-02-30T10:00:00Z",)")),
              HasSubstr("bad.json:9:36: created: must be an ISO 8601 date-time with an offset"));
}

TEST(EuropolFormat, H3NeedsRestrictions) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(["H0"])", R"(["H0", "H3"])")),
            "bad.json:11:25: europol_evaluation.restrictions: required when handling includes \"H3\"");
}

TEST(EuropolFormat, EveryProblemIsReported) {
  std::string text = Replace(kValid, R"("NORMAL")", R"("SOON")");
  text = Replace(text, R"("involvement": "WITNESS")", R"("involvement": "WITNESS", "nationality": "French")");
  text = Replace(text, R"("accuracy": "1")", R"("accuracy": 1)");
  text = Replace(text, R"(  "case_reference": "BF-2026-000001",
)", R"(  "case_ref": "BF-2026-000001",
)");
  const std::string message = ErrorOf(text);
  EXPECT_THAT(message, HasSubstr("bad.json:4:3: case_ref: unknown field"));
  EXPECT_THAT(message, HasSubstr("bad.json:1:1: case_reference: required"));
  EXPECT_THAT(message, HasSubstr("bad.json:9:15: priority: must be one of"));
  EXPECT_THAT(message, HasSubstr("bad.json:11:53: europol_evaluation.accuracy: must be a string, not a number"));
  EXPECT_THAT(message, HasSubstr("content.subjects[0].nationality: must be an ISO 3166-1 alpha-3 code"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 4) << message;
}

TEST(EuropolFormat, ProblemsNameATempFile) {
  const std::string path = ::testing::TempDir() + "/europol-bad-record-" + std::to_string(getpid()) + ".json";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string text = Replace(kValid, R"("uk/border-force")", R"("")");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  absl::StatusOr<JsonDoc> doc = JsonDoc::Load(path);
  ASSERT_TRUE(doc.ok()) << doc.status();
  absl::StatusOr<v1::Envelope> env = Format().ToEnvelope(*doc);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().message(), path + ":7:18: addressees[0]: must not be empty");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace portcullis::adapters::europol
