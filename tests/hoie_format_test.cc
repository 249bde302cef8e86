// Home Office Immigration Enforcement native casework records: the examples
// convert with their key fields, every random valid envelope survives
// envelope -> native -> envelope exactly (4 kinds x 200 seeds), problems are
// located (file:line:col: path: rule), and FromEnvelope refuses what a HOIE
// record cannot hold, naming the envelope field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "adapters/hoie/format.h"
#include "adapters/registry/native_formats.h"
#include "tests/support/format_test_support.h"
#include "tests/support/random_envelope.h"

namespace portcullis::adapters::hoie {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::Replace;
using testing::UtcSeconds;

v1::Envelope LoadExample(const std::string& name) { return testing::ExampleEnvelope(Format(), name); }
std::string RefusalOf(const v1::Envelope& e) { return testing::RefusalOf(Format(), e); }

// ---------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------

TEST(HoieFormat, IsRegistered) {
  ASSERT_NE(FindNativeFormat("hoie"), nullptr);
  EXPECT_EQ(FindNativeFormat("hoie")->name(), "hoie");
}

TEST(HoieFormat, EveryExampleConverts) {
  std::vector<std::string> files = testing::ExampleFiles(Format());
  ASSERT_THAT(files, SizeIs(4));
  std::vector<v1::Envelope::BodyCase> kinds;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    absl::StatusOr<v1::Envelope> env = testing::ConvertFile(Format(), file);
    ASSERT_TRUE(env.ok()) << env.status();
    EXPECT_FALSE(env->message_id().empty());
    EXPECT_FALSE(env->originating_officer().empty());
    EXPECT_TRUE(env->has_created_at());
    kinds.push_back(env->body_case());
  }
  // One of each record type.
  std::sort(kinds.begin(), kinds.end());
  EXPECT_EQ(kinds,
            (std::vector<v1::Envelope::BodyCase>{v1::Envelope::kCaseReferral, v1::Envelope::kIntelligenceReport,
                                                 v1::Envelope::kRequestForInformation, v1::Envelope::kResponse}));
}

TEST(HoieFormat, ReturnReferralMapsToTheEnvelope) {
  const v1::Envelope env = LoadExample("return-referral-2026-018842.json");
  EXPECT_EQ(env.message_id(), "HOIE-RR-2026-018842-01");
  EXPECT_EQ(env.case_reference(), "IE-RR-2026-018842");
  EXPECT_EQ(env.originating_officer(), "IE-CW-30517");
  EXPECT_EQ(env.sender(), "");
  EXPECT_THAT(env.recipients(), ::testing::ElementsAre("eu/fr-dnpaf"));
  EXPECT_EQ(env.created_at().seconds(), UtcSeconds(2026, 4, 9, 9, 42));  // +01:00 in the record.
  EXPECT_EQ(env.classification(), v1::OFFICIAL_SENSITIVE);
  EXPECT_EQ(env.priority(), v1::URGENT);
  EXPECT_THAT(env.justification().legal_basis(), HasSubstr("DPA 2018 s.35"));
  EXPECT_THAT(env.justification().purpose(), HasSubstr("readmission"));
  EXPECT_EQ(env.uk_grading().source(), v1::UK_SOURCE_2_UNTESTED);
  EXPECT_EQ(env.uk_grading().intelligence(), v1::UK_INTEL_C_INDIRECT);
  EXPECT_EQ(env.uk_grading().handling(), v1::UK_HANDLING_C_CONDITIONS);
  EXPECT_FALSE(env.has_europol_evaluation());
  const v1::CaseReferral& b = env.case_referral();
  EXPECT_THAT(b.requested_action(), HasSubstr("Loon-Plage"));
  ASSERT_THAT(b.persons(), SizeIs(1));
  EXPECT_EQ(b.persons(0).role(), v1::RETURNEE);
  EXPECT_EQ(b.persons(0).given_names(), "Rebaz");
  EXPECT_EQ(b.persons(0).family_name(), "Testkarim");
  EXPECT_EQ(b.persons(0).date_of_birth(), "1994-02-11");
  EXPECT_EQ(b.persons(0).nationality(), "IRQ");
  EXPECT_THAT(b.persons(0).documents(), SizeIs(1));
  EXPECT_THAT(b.persons(0).aliases(), ::testing::ElementsAre("Rebaz Exampleahmed"));
  ASSERT_THAT(b.suspected_facilitators(), SizeIs(1));
  EXPECT_EQ(b.suspected_facilitators(0).role(), v1::FACILITATOR);
  const v1::Crossing& c = b.crossing();
  EXPECT_EQ(c.departure_time().seconds(), UtcSeconds(2026, 4, 7, 3, 10));
  EXPECT_EQ(c.interception_time().seconds(), UtcSeconds(2026, 4, 7, 8, 25));
  EXPECT_DOUBLE_EQ(c.departure_place().longitude(), 2.1703);
  EXPECT_DOUBLE_EQ(c.interception_place().latitude(), 50.9102);
  EXPECT_EQ(c.vessel().persons_on_board(), 52u);
  EXPECT_DOUBLE_EQ(c.vessel().length_metres(), 10.5);
  EXPECT_EQ(c.vessel().engine(), "40hp outboard");
}

TEST(HoieFormat, RfiMapsToTheEnvelope) {
  const v1::Envelope env = LoadExample("rfi-identity-2026-020317.json");
  ASSERT_TRUE(env.has_request_for_information());
  const v1::RequestForInformation& q = env.request_for_information();
  EXPECT_THAT(q.question(), HasSubstr("fingerprint"));
  EXPECT_TRUE(q.directly_accessible());
  EXPECT_EQ(q.answer_by().seconds(), UtcSeconds(2026, 5, 18, 22, 5));
  ASSERT_THAT(q.subjects(), SizeIs(1));
  EXPECT_EQ(q.subjects(0).role(), v1::RETURNEE);
  EXPECT_EQ(env.classification(), v1::OFFICIAL);
  EXPECT_THAT(env.recipients(), ::testing::ElementsAre("eu/europol"));
}

TEST(HoieFormat, ReplyMapsToTheEnvelope) {
  const v1::Envelope env = LoadExample("reply-to-dnpaf-2026-019560.json");
  ASSERT_TRUE(env.has_response());
  EXPECT_EQ(env.correlation_id(), "DNPAF-RFI-2026-000734");
  EXPECT_EQ(env.priority(), v1::ROUTINE);
  EXPECT_THAT(env.response().answer(), HasSubstr("reporting conditions"));
  ASSERT_THAT(env.response().subjects(), SizeIs(1));
  EXPECT_EQ(env.response().subjects(0).role(), v1::SUBJECT);
  ASSERT_THAT(env.attachments(), SizeIs(1));
  EXPECT_EQ(env.attachments(0).file_name(), "reporting-note.txt");
  EXPECT_EQ(env.attachments(0).media_type(), "text/plain");
  EXPECT_THAT(env.attachments(0).content(), HasSubstr("Mockhaile"));
}

TEST(HoieFormat, ReceivedIntelligenceMapsToTheEnvelope) {
  const v1::Envelope env = LoadExample("received/inbox-intel-from-nca-2026-007731.json");
  ASSERT_TRUE(env.has_intelligence_report());
  EXPECT_EQ(env.sender(), "uk/nca");
  EXPECT_EQ(env.uk_grading().handling(), v1::UK_HANDLING_P_LAWFUL_SHARING);
  EXPECT_EQ(env.europol_evaluation().source(), v1::EUROPOL_SOURCE_B_MOSTLY_RELIABLE);
  EXPECT_EQ(env.europol_evaluation().accuracy(), v1::EUROPOL_ACCURACY_3_CORROBORATED);
  EXPECT_THAT(env.europol_evaluation().handling(), ::testing::ElementsAre(v1::EUROPOL_HANDLING_H1));
  const v1::IntelligenceReport& r = env.intelligence_report();
  ASSERT_THAT(r.subjects(), SizeIs(2));
  EXPECT_EQ(r.subjects(1).role(), v1::FACILITATOR);
  EXPECT_EQ(r.subjects(1).nationality(), "XXX");
  ASSERT_THAT(r.vessels(), SizeIs(1));
  EXPECT_EQ(r.vessels(0).persons_on_board(), 60u);
  EXPECT_THAT(r.routes(), ::testing::ElementsAre("Dunkerque - Dungeness"));
  EXPECT_THAT(r.financial(), HasSubstr("cash"));
}

TEST(HoieFormat, EveryExampleFieldSurvivesTheRoundTrip) {
  for (const std::string& file : testing::ExampleFiles(Format())) {
    EXPECT_TRUE(testing::ExampleRoundTrips(Format(), file, /*read_back=*/false));
  }
}

// ---------------------------------------------------------------------------
// Property: envelope -> native -> envelope is exact
// ---------------------------------------------------------------------------

TEST(HoieFormat, RandomEnvelopesRoundTripExactly) {
  int checked = 0;
  EXPECT_TRUE(testing::EveryKindRoundTrips(Format(), 200, &checked));
  EXPECT_EQ(checked, 800);
}

// ---------------------------------------------------------------------------
// Located problems
// ---------------------------------------------------------------------------

// A minimal valid RFI; each test breaks a line of it.
constexpr char kValid[] = R"({
  "record_type": "RFI",
  "message_ref": "HOIE-RFI-2026-000001-01",
  "casework_ref": "IE-RR-2026-000001",
  "caseworker_id": "IE-CW-00001",
  "send_to": ["eu/europol"],
  "security_marking": "OFFICIAL",
  "urgency": "STANDARD",
  "lawful_basis": "DPA 2018 s.35",
  "rfi_question": "Invented test question?",
  "subjects": [{"forenames": "Test", "nationality_code": "AFG", "date_of_birth": "2000-01-31", "person_role": "RETURNEE"}],
  "directly_accessible": "N",
  "answer_by": "2026-05-25T12:00:00Z"
})";

// The file the broken records are written to (messages name it); one per
// test and process, since ctest runs tests side by side.
std::string BadFile() {
  return ::testing::TempDir() + "hoie-bad-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
         std::to_string(getpid()) + ".json";
}

absl::StatusOr<v1::Envelope> ConvertFile(const std::string& text) {
  std::ofstream(BadFile(), std::ios::binary | std::ios::trunc) << text;
  return testing::ConvertFile(Format(), BadFile());
}

// The INVALID_ARGUMENT message for `text`, with the file name shortened to "bad.json".
std::string ErrorOf(const std::string& text) {
  std::string message = testing::InvalidArgumentMessage(ConvertFile(text).status(), text);
  for (size_t at = message.find(BadFile()); at != std::string::npos; at = message.find(BadFile())) {
    message.replace(at, BadFile().size(), "bad.json");
  }
  return message;
}

TEST(HoieFormat, MinimalRfiConverts) {
  absl::StatusOr<v1::Envelope> env = ConvertFile(kValid);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_FALSE(env->request_for_information().directly_accessible());
  EXPECT_FALSE(env->has_created_at());  // Left for the submitting adapter to stamp.
}

TEST(HoieFormat, WrongTypeIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("Invented test question?")", "42")),
            "bad.json:10:19: rfi_question: must be a string, not a number");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("send_to": ["eu/europol"])", R"("send_to": "eu/europol")")),
            "bad.json:6:14: send_to: must be an array, not a string");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("directly_accessible": "N")", R"("directly_accessible": false)")),
            "bad.json:12:26: directly_accessible: must be a string, not a boolean");
}

TEST(HoieFormat, MissingRequiredFieldIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, "  \"caseworker_id\": \"IE-CW-00001\",\n", "")),
            "bad.json:1:1: caseworker_id: required");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("person_role": "RETURNEE")", R"("surname": "Examplesurname")")),
            "bad.json:11:16: subjects[0].person_role: required");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("record_type": "RFI")", R"("record_type": "REPLY")")),
            "bad.json:10:19: rfi_question: not used when record_type is \"REPLY\"\n"
            "bad.json:12:26: directly_accessible: not used when record_type is \"REPLY\"\n"
            "bad.json:13:16: answer_by: not used when record_type is \"REPLY\"\n"
            "bad.json:1:1: reply_text: required\n"
            "bad.json:1:1: related_message_ref: required in a REPLY record");
}

TEST(HoieFormat, UnknownKeyIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("person_role": "RETURNEE")", R"("person_role": "RETURNEE", "colour": "red")")),
            "bad.json:11:123: subjects[0].colour: unknown field");
  // A Border Force field name is not a HOIE one.
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("urgency": "STANDARD")", R"("urgency": "STANDARD", "priority": "ROUTINE")")),
            "bad.json:8:26: priority: unknown field");
}

TEST(HoieFormat, BadEnumIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("security_marking": "OFFICIAL")", R"("security_marking": "TOP SECRET")")),
            "bad.json:7:23: security_marking: must be one of \"OFFICIAL\", \"OFFICIAL-SENSITIVE\", \"SECRET\", "
            "not \"TOP SECRET\"");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("record_type": "RFI")", R"("record_type": "RFI_REQUEST")")),
            "bad.json:2:18: record_type: must be one of \"RETURN_REFERRAL\", \"INTEL_REPORT\", \"RFI\", \"REPLY\", "
            "not \"RFI_REQUEST\"");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("directly_accessible": "N")", R"("directly_accessible": "yes")")),
            "bad.json:12:26: directly_accessible: must be one of \"N\", \"Y\", not \"yes\"");
}

TEST(HoieFormat, ImpossibleDatesAreLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, "2000-01-31", "2000-02-30")),
            "bad.json:11:82: subjects[0].date_of_birth: must be a date YYYY-MM-DD that exists, not \"2000-02-30\"");
  EXPECT_EQ(ErrorOf(Replace(kValid, "2026-05-25T12:00:00Z", "2026-05-32T12:00:00Z")),
            "bad.json:13:16: answer_by: must be an ISO 8601 date-time with an offset, e.g. \"2026-03-14T02:40:00Z\", "
            "not \"2026-05-32T12:00:00Z\"");
}

TEST(HoieFormat, EveryProblemIsReportedAtOnce) {
  std::string text = Replace(kValid, R"("AFG")", R"("Afghan")");
  text = Replace(text, R"("STANDARD")", R"("SOON")");
  text = Replace(text, R"("HOIE-RFI-2026-000001-01")", R"("HOIE RFI 1")");
  text = Replace(text, "  \"casework_ref\": \"IE-RR-2026-000001\",\n", "  \"case_ref\": \"IE-RR-2026-000001\",\n");
  EXPECT_EQ(ErrorOf(text),
            "bad.json:4:3: case_ref: unknown field\n"
            "bad.json:3:18: message_ref: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -\n"
            "bad.json:1:1: casework_ref: required\n"
            "bad.json:8:14: urgency: must be one of \"STANDARD\", \"URGENT\", \"IMMEDIATE\", not \"SOON\"\n"
            "bad.json:11:58: subjects[0].nationality_code: must be an ISO 3166-1 alpha-3 code such as \"IRQ\", or "
            "\"XXX\" if unknown");
}

TEST(HoieFormat, RecordTypeRules) {
  // An intelligence report needs a grading; a person needs a name or alias.
  EXPECT_EQ(ErrorOf(Replace(Replace(kValid, R"("record_type": "RFI")", R"("record_type": "INTEL_REPORT")"),
                            R"(  "rfi_question": "Invented test question?",)", R"(  "intel_summary": "Invented.",)")),
            "bad.json:12:26: directly_accessible: not used when record_type is \"INTEL_REPORT\"\n"
            "bad.json:13:16: answer_by: not used when record_type is \"INTEL_REPORT\"\n"
            "bad.json:1:1: nim_grading: required in an INTEL_REPORT unless europol_eval is given");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("forenames": "Test", )", "")),
            "bad.json:11:16: subjects[0]: needs forenames, surname or known_aliases");
}

TEST(HoieFormat, SyntaxErrorNamesTheFile) {
  absl::StatusOr<v1::Envelope> env =
      ConvertFile(Replace(kValid, R"("urgency": "STANDARD",)", R"("urgency": "STANDARD")"));
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(env.status().message(), HasSubstr(BadFile() + ":9:"));
  EXPECT_THAT(env.status().message(), HasSubstr("(document): not valid JSON"));
}

// ---------------------------------------------------------------------------
// FromEnvelope refusals
// ---------------------------------------------------------------------------

TEST(HoieFormat, FromEnvelopeRefusesUnwritableClassifications) {
  v1::Envelope e = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 1);
  e.set_classification(v1::TOP_SECRET);
  EXPECT_EQ(RefusalOf(e),
            "classification: TOP_SECRET cannot be written as a HOIE security_marking (OFFICIAL, OFFICIAL-SENSITIVE "
            "or SECRET)");
  e.set_classification(v1::CLASSIFICATION_UNSPECIFIED);
  EXPECT_THAT(RefusalOf(e), HasSubstr("classification: CLASSIFICATION_UNSPECIFIED cannot be written"));
}

TEST(HoieFormat, FromEnvelopeRefusesMissingBodyText) {
  v1::Envelope e = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 2);
  e.mutable_case_referral()->clear_requested_action();
  EXPECT_EQ(RefusalOf(e), "case_referral.requested_action: required in a HOIE record");
  e = testing::RandomEnvelope(testing::BodyKind::kIntelligenceReport, 2);
  e.mutable_intelligence_report()->clear_summary();
  EXPECT_EQ(RefusalOf(e), "intelligence_report.summary: required in a HOIE record");
  e = testing::RandomEnvelope(testing::BodyKind::kRequestForInformation, 2);
  e.mutable_request_for_information()->clear_question();
  EXPECT_EQ(RefusalOf(e), "request_for_information.question: required in a HOIE record");
  e = testing::RandomEnvelope(testing::BodyKind::kResponse, 2);
  e.mutable_response()->clear_answer();
  EXPECT_EQ(RefusalOf(e), "response.answer: required in a HOIE record");
}

TEST(HoieFormat, FromEnvelopeRefusesWhatItCouldNotReadBack) {
  v1::Envelope e = testing::RandomEnvelope(testing::BodyKind::kResponse, 3);
  e.clear_correlation_id();
  EXPECT_EQ(RefusalOf(e), "correlation_id: required in a HOIE record");
  e = testing::RandomEnvelope(testing::BodyKind::kRequestForInformation, 4);
  e.mutable_request_for_information()->clear_subjects();
  e.mutable_request_for_information()->add_subjects()->set_family_name("Examplename");
  EXPECT_EQ(RefusalOf(e), "request_for_information.subjects[0].role: required (a HOIE person_role)");
  e = testing::RandomEnvelope(testing::BodyKind::kIntelligenceReport, 5);
  e.clear_uk_grading();
  e.clear_europol_evaluation();
  EXPECT_THAT(RefusalOf(e), HasSubstr("uk_grading: "));
  e = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 6);
  e.clear_recipients();
  EXPECT_EQ(RefusalOf(e), "recipients: at least one is required");
  e = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 6);
  e.clear_body();
  EXPECT_THAT(RefusalOf(e), HasSubstr("body: not set"));
}

TEST(HoieFormat, UnspecifiedPriorityIsWrittenAsStandard) {
  v1::Envelope e = testing::RandomEnvelope(testing::BodyKind::kRequestForInformation, 7);
  e.set_priority(v1::PRIORITY_UNSPECIFIED);
  absl::StatusOr<std::string> native = Format().FromEnvelope(e);
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_THAT(*native, HasSubstr("\"urgency\": \"STANDARD\""));
}

}  // namespace
}  // namespace portcullis::adapters::hoie
