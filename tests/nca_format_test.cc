// NCA native records: every example converts with its key fields, every
// envelope survives envelope -> native -> envelope exactly (property, all
// four body kinds), problems are located (file:line:col: path: rule), and
// FromEnvelope refuses what the format cannot express, naming the field.
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "adapters/nca/format.h"
#include "adapters/registry/native_formats.h"
#include "tests/support/format_test_support.h"
#include "tests/support/random_envelope.h"

namespace portcullis::adapters::nca {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;
using testing::Replace;
using testing::SameEnvelope;
using testing::UtcSeconds;

v1::Envelope LoadExample(const std::string& name) { return testing::ExampleEnvelope(Format(), name); }
absl::StatusOr<v1::Envelope> Convert(const std::string& text, const std::string& name = "bad.json") {
  return testing::ConvertText(Format(), text, name);
}
std::string ErrorOf(const std::string& text) { return testing::ErrorOf(Format(), text); }
std::string RefusalOf(const v1::Envelope& env) { return testing::RefusalOf(Format(), env); }

TEST(NcaFormat, IsRegistered) {
  EXPECT_EQ(FindNativeFormat("nca"), &Format());
  EXPECT_EQ(Format().name(), "nca");
}

TEST(NcaFormat, EveryExampleConverts) {
  std::vector<std::string> files = testing::ExampleFiles(Format());
  ASSERT_THAT(files, SizeIs(5));
  int kinds[4] = {0, 0, 0, 0};
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    absl::StatusOr<v1::Envelope> env = testing::ConvertFile(Format(), file);
    ASSERT_TRUE(env.ok()) << env.status();
    EXPECT_FALSE(env->message_id().empty());
    EXPECT_FALSE(env->case_reference().empty());
    EXPECT_FALSE(env->originating_officer().empty());
    EXPECT_GE(env->recipients_size(), 1);
    EXPECT_NE(env->classification(), v1::CLASSIFICATION_UNSPECIFIED);
    EXPECT_FALSE(env->justification().legal_basis().empty());
    ++kinds[env->body_case() - v1::Envelope::kCaseReferral];
  }
  EXPECT_THAT(kinds, ::testing::ElementsAre(1, 2, 1, 1)) << "referral, intrep x2, rfi, reply";
}

TEST(NcaFormat, IntelligenceReportToEuropolMapsEveryField) {
  const v1::Envelope env = LoadExample("intrep-europol-secret-2026-000318.json");
  ASSERT_TRUE(env.has_intelligence_report());
  EXPECT_EQ(env.message_id(), "NCA-IR-2026-000318");
  EXPECT_EQ(env.case_reference(), "NCA-OP-2026-0417");
  EXPECT_EQ(env.originating_officer(), "NCA-10482");
  EXPECT_TRUE(env.sender().empty());
  EXPECT_THAT(env.recipients(), ::testing::ElementsAre("eu/europol"));
  EXPECT_EQ(env.created_at().seconds(), UtcSeconds(2026, 3, 18, 10, 42));
  EXPECT_EQ(env.classification(), v1::SECRET);
  EXPECT_EQ(env.priority(), v1::URGENT);
  EXPECT_THAT(env.justification().purpose(), StartsWith("The network finances"));
  EXPECT_EQ(env.uk_grading().source(), v1::UK_SOURCE_2_UNTESTED);
  EXPECT_EQ(env.uk_grading().intelligence(), v1::UK_INTEL_B_INDIRECT_CORROBORATED);
  EXPECT_EQ(env.uk_grading().handling(), v1::UK_HANDLING_C_CONDITIONS);
  EXPECT_THAT(env.uk_grading().handling_conditions(), StartsWith("Europol analysis only"));
  EXPECT_EQ(env.europol_evaluation().source(), v1::EUROPOL_SOURCE_B_MOSTLY_RELIABLE);
  EXPECT_EQ(env.europol_evaluation().accuracy(), v1::EUROPOL_ACCURACY_3_CORROBORATED);
  EXPECT_THAT(env.europol_evaluation().handling(),
              ::testing::ElementsAre(v1::EUROPOL_HANDLING_H1, v1::EUROPOL_HANDLING_H3));
  const v1::IntelligenceReport& r = env.intelligence_report();
  ASSERT_THAT(r.subjects(), SizeIs(2));
  EXPECT_EQ(r.subjects(0).family_name(), "Testkarim");
  EXPECT_EQ(r.subjects(0).date_of_birth(), "1991-04-17");
  EXPECT_EQ(r.subjects(0).role(), v1::FACILITATOR);
  EXPECT_THAT(r.subjects(0).aliases(), ::testing::ElementsAre("Kaka Testo"));
  EXPECT_THAT(r.subjects(0).documents(), SizeIs(1));
  EXPECT_EQ(r.subjects(1).role(), v1::SUBJECT);
  EXPECT_EQ(r.subjects(1).nationality(), "XXX");
  ASSERT_THAT(r.vessels(), SizeIs(1));
  EXPECT_DOUBLE_EQ(r.vessels(0).length_metres(), 10.5);
  EXPECT_EQ(r.vessels(0).persons_on_board(), 0u);
  EXPECT_THAT(r.routes(), SizeIs(2));
  EXPECT_THAT(r.financial(), StartsWith("Hawala"));
  ASSERT_THAT(env.attachments(), SizeIs(1));
  EXPECT_EQ(env.attachments(0).sha256(), "0dce60373642a0083df87a7fc1229d29e590e1b9fd724d74c647ec080ac1811f");
  EXPECT_THAT(env.attachments(0).content(), StartsWith("INVENTED TEST DATA"));
}

TEST(NcaFormat, ReplyCorrelatesToTheEarlierMessage) {
  const v1::Envelope env = LoadExample("reply-europol-2026-000057.json");
  ASSERT_TRUE(env.has_response());
  EXPECT_EQ(env.correlation_id(), "EPL-OAC-2026-0042-RFI-03");  // Europol's example RFI to the NCA.
  EXPECT_EQ(env.sender(), "uk/nca");
  EXPECT_EQ(env.priority(), v1::ROUTINE);
  EXPECT_THAT(env.response().answer(), StartsWith("Subject is known to NCA"));
  ASSERT_THAT(env.response().subjects(), SizeIs(1));
  EXPECT_EQ(env.response().subjects(0).role(), v1::SUBJECT);
}

TEST(NcaFormat, RfiCarriesTheDirective2023977Fields) {
  const v1::Envelope env = LoadExample("rfi-nl-kmar-2026-000041.json");
  ASSERT_TRUE(env.has_request_for_information());
  const v1::RequestForInformation& q = env.request_for_information();
  EXPECT_TRUE(q.directly_accessible());
  EXPECT_EQ(q.answer_by().seconds(), UtcSeconds(2026, 3, 19, 15, 5));
  EXPECT_THAT(q.question(), StartsWith("Please provide the registered keeper"));
  EXPECT_EQ(q.subjects(0).nationality(), "NLD");
  EXPECT_FALSE(env.has_uk_grading());
}

TEST(NcaFormat, ReferralCarriesTheCrossing) {
  const v1::Envelope env = LoadExample("referral-immigration-enforcement-2026-000009.json");
  ASSERT_TRUE(env.has_case_referral());
  const v1::CaseReferral& c = env.case_referral();
  EXPECT_THAT(c.requested_action(), StartsWith("Immigration Enforcement:"));
  EXPECT_EQ(c.crossing().departure_time().seconds(), UtcSeconds(2026, 3, 22, 1, 50));
  EXPECT_DOUBLE_EQ(c.crossing().interception_place().longitude(), 1.0358);
  EXPECT_EQ(c.crossing().vessel().persons_on_board(), 41u);
  EXPECT_EQ(c.persons(0).role(), v1::PILOT);
  EXPECT_EQ(c.suspected_facilitators(0).role(), v1::FACILITATOR);
  EXPECT_TRUE(c.suspected_facilitators(0).family_name().empty());
}

// native -> envelope -> native -> envelope: the same envelope, and the
// written record is a fixed point (writing it again gives the same text).
TEST(NcaFormat, ExamplesSurviveTheRoundTrip) {
  for (const std::string& file : testing::ExampleFiles(Format())) {
    SCOPED_TRACE(file);
    absl::StatusOr<testing::WrittenBack> written = testing::ConvertAndWriteBack(Format(), file);
    ASSERT_TRUE(written.ok()) << written.status();
    absl::StatusOr<v1::Envelope> again = Convert(written->native, "rt.json");
    ASSERT_TRUE(again.ok()) << again.status() << "\n" << written->native;
    EXPECT_TRUE(SameEnvelope(written->envelope, *again, written->native));
    EXPECT_EQ(Format().FromEnvelope(*again).value_or(""), written->native);
  }
}

// The property: every random valid envelope of every body kind round-trips exactly.
TEST(NcaFormat, RandomEnvelopesRoundTripExactly) {
  int checked = 0;
  EXPECT_TRUE(testing::EveryKindRoundTrips(Format(), 200, &checked));
  EXPECT_EQ(checked, 800);
}

// A minimal valid INTREP; each test breaks one line of it.
constexpr char kValid[] = R"({
  "record_type": "INTREP",
  "urn": "NCA-IR-2026-000001",
  "op_ref": "NCA-OP-2026-0001",
  "officer_no": "NCA-00001",
  "disseminate_to": ["eu/europol"],
  "gsc_marking": "OFFICIAL",
  "precedence": "ROUTINE",
  "lawful_basis": "DPA 2018 s.35",
  "grading_3x5x2": {"source": "1", "intelligence": "A", "handling": "P"},
  "content": {
    "sanitised_summary": "Invented test report.",
    "nominals": [{"surname": "Testkarim", "nationality": "IRQ", "birth_date": "2000-01-31", "role": "SUBJECT"}],
    "vessels": [{"vessel_type": "dinghy", "loa_m": 7, "pob": 12}]
  }
})";

TEST(NcaFormat, ValidMinimalRecordConverts) {
  absl::StatusOr<v1::Envelope> env = Convert(kValid);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_FALSE(env->has_created_at()) << "left for the submitting adapter to stamp";
  EXPECT_EQ(env->intelligence_report().vessels(0).persons_on_board(), 12u);
}

TEST(NcaFormat, WrongTypeIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("loa_m": 7)", R"("loa_m": "7")")),
            "bad.json:14:52: content.vessels[0].loa_m: must be a number, not a string");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("Invented test report.")", "12")),
            "bad.json:12:26: content.sanitised_summary: must be a string, not a number");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(["eu/europol"])", R"("eu/europol")")),
            "bad.json:6:21: disseminate_to: must be an array, not a string");
}

TEST(NcaFormat, MissingRequiredFieldIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, "  \"officer_no\": \"NCA-00001\",\n", "")), "bad.json:1:1: officer_no: required");
  EXPECT_EQ(ErrorOf(Replace(kValid, "    \"sanitised_summary\": \"Invented test report.\",\n", "")),
            "bad.json:11:14: content.sanitised_summary: required");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(, "role": "SUBJECT")", "")),
            "bad.json:13:18: content.nominals[0].role: required");
}

TEST(NcaFormat, RecordTypeRulesAreLocated) {
  // An INTREP needs a grading; a REPLY needs the message it answers.
  EXPECT_EQ(
      ErrorOf(Replace(kValid,
                      "  \"grading_3x5x2\": {\"source\": \"1\", \"intelligence\": \"A\", \"handling\": \"P\"},\n", "")),
      "bad.json:1:1: grading_3x5x2: required on an INTREP (unless europol_evaluation is given)");
  std::string reply = Replace(kValid, R"("INTREP")", R"("REPLY")");
  reply = Replace(reply, R"("sanitised_summary")", R"("reply_text")");
  reply = Replace(reply, "    \"vessels\": [{\"vessel_type\": \"dinghy\", \"loa_m\": 7, \"pob\": 12}]\n", "");
  reply = Replace(reply, "}],\n", "}]\n");
  EXPECT_EQ(ErrorOf(reply), "bad.json:1:1: reply_to_urn: required on a REPLY");
  // Keys of another record type are unknown in this one.
  EXPECT_EQ(ErrorOf(Replace(reply, R"("reply_text")", R"("sanitised_summary")")),
            "bad.json:12:5: content.sanitised_summary: unknown field\n"
            "bad.json:11:14: content.reply_text: required\n"
            "bad.json:1:1: reply_to_urn: required on a REPLY");
}

TEST(NcaFormat, UnknownKeyIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("role": "SUBJECT")", R"("role": "SUBJECT", "hair": "red")")),
            "bad.json:13:112: content.nominals[0].hair: unknown field");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(  "precedence")", R"(  "protective_marking": "OFFICIAL", "precedence")")),
            "bad.json:8:3: protective_marking: unknown field");
}

TEST(NcaFormat, BadEnumIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("OFFICIAL")", R"("TOP SECRET")")),
            "bad.json:7:18: gsc_marking: must be one of \"OFFICIAL\", \"OFFICIAL-SENSITIVE\", \"SECRET\", "
            "not \"TOP SECRET\"");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("INTREP")", R"("INTELLIGENCE")")),
            "bad.json:2:18: record_type: must be one of \"INTREP\", \"REFERRAL\", \"RFI\", \"REPLY\", "
            "not \"INTELLIGENCE\"");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("intelligence": "A")", R"("intelligence": "F")")),
            "bad.json:10:52: grading_3x5x2.intelligence: must be one of \"A\", \"B\", \"C\", \"D\", \"E\", not \"F\"");
}

TEST(NcaFormat, ImpossibleDatesAreLocated) {
  EXPECT_EQ(
      ErrorOf(Replace(kValid, "2000-01-31", "2000-02-30")),
      "bad.json:13:79: content.nominals[0].birth_date: must be a date YYYY-MM-DD that exists, not \"2000-02-30\"");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(  "gsc_marking")", R"(  "recorded_at": "18/03/2026 10:42", "gsc_marking")")),
            "bad.json:7:18: recorded_at: must be an ISO 8601 date-time with an offset, e.g. \"2026-03-14T02:40:00Z\", "
            "not \"18/03/2026 10:42\"");
}

TEST(NcaFormat, EveryProblemIsReportedAtOnce) {
  std::string text = Replace(kValid, R"("loa_m": 7)", R"("loa_m": -3)");
  text = Replace(text, R"("IRQ")", R"("Iraqi")");
  text = Replace(text, R"("ROUTINE")", R"("FLASH")");
  text = Replace(text, R"("urn": "NCA-IR-2026-000001")", R"("urn": "NCA IR 2026/1")");
  text = Replace(text, "  \"op_ref\": \"NCA-OP-2026-0001\",\n", "  \"operation\": \"NCA-OP-2026-0001\",\n");
  EXPECT_EQ(ErrorOf(text),
            "bad.json:4:3: operation: unknown field\n"
            "bad.json:3:10: urn: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -\n"
            "bad.json:1:1: op_ref: required\n"
            "bad.json:8:17: precedence: must be one of \"ROUTINE\", \"URGENT\", \"IMMEDIATE\", not \"FLASH\"\n"
            "bad.json:13:58: content.nominals[0].nationality: must be an ISO 3166-1 alpha-3 code such as \"IRQ\", or "
            "\"XXX\" if unknown\n"
            "bad.json:14:52: content.vessels[0].loa_m: must be between 0.1 and 500");
}

TEST(NcaFormat, ConditionsRequiredWithHandlingC) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("handling": "P")", R"("handling": "C")")),
            "bad.json:10:20: grading_3x5x2.conditions: required when handling is \"C\"");
}

TEST(NcaFormat, RecipientsAreDistinct) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(["eu/europol"])", R"(["eu/europol", "eu/europol"])")),
            "bad.json:6:36: disseminate_to[1]: appears twice");
}

v1::Envelope ValidEnvelope(testing::BodyKind kind) { return testing::RandomEnvelope(kind, 7); }

TEST(NcaFormat, FromEnvelopeRefusesUnexpressibleClassification) {
  v1::Envelope env = ValidEnvelope(testing::BodyKind::kIntelligenceReport);
  env.set_classification(v1::TOP_SECRET);
  EXPECT_EQ(RefusalOf(env), "classification: TOP_SECRET has no NCA GSC marking (OFFICIAL, OFFICIAL-SENSITIVE, SECRET)");
  env.set_classification(v1::CLASSIFICATION_UNSPECIFIED);
  EXPECT_THAT(RefusalOf(env), StartsWith("classification: CLASSIFICATION_UNSPECIFIED has no NCA GSC marking"));
}

TEST(NcaFormat, FromEnvelopeRefusesMissingRequiredText) {
  v1::Envelope env = ValidEnvelope(testing::BodyKind::kIntelligenceReport);
  env.mutable_intelligence_report()->clear_summary();
  EXPECT_EQ(RefusalOf(env), "intelligence_report.summary: required (NCA field sanitised_summary)");
  env = ValidEnvelope(testing::BodyKind::kCaseReferral);
  env.mutable_case_referral()->clear_requested_action();
  EXPECT_EQ(RefusalOf(env), "case_referral.requested_action: required (NCA field action_requested)");
  env = ValidEnvelope(testing::BodyKind::kRequestForInformation);
  env.mutable_request_for_information()->clear_question();
  EXPECT_EQ(RefusalOf(env), "request_for_information.question: required (NCA field information_requested)");
  env = ValidEnvelope(testing::BodyKind::kResponse);
  env.mutable_response()->clear_answer();
  EXPECT_EQ(RefusalOf(env), "response.answer: required (NCA field reply_text)");
  env = ValidEnvelope(testing::BodyKind::kResponse);
  env.clear_justification();
  EXPECT_EQ(RefusalOf(env), "justification.legal_basis: required (NCA field lawful_basis)");
}

TEST(NcaFormat, FromEnvelopeRefusesWhatTheContractForbids) {
  v1::Envelope env = ValidEnvelope(testing::BodyKind::kResponse);
  env.clear_correlation_id();
  EXPECT_EQ(RefusalOf(env), "correlation_id: required on a response (NCA reply_to_urn)");
  env = ValidEnvelope(testing::BodyKind::kIntelligenceReport);
  env.clear_uk_grading();
  env.clear_europol_evaluation();
  EXPECT_THAT(RefusalOf(env), StartsWith("uk_grading: required on an intelligence report"));
  env = ValidEnvelope(testing::BodyKind::kRequestForInformation);
  v1::Person* p = env.mutable_request_for_information()->add_subjects();
  p->set_family_name("Testkarim");
  EXPECT_EQ(RefusalOf(env),
            absl::StrCat("request_for_information.subjects[", env.request_for_information().subjects_size() - 1,
                         "].role: required (every NCA nominal has a role)"));
  env.clear_body();
  EXPECT_THAT(RefusalOf(env), StartsWith("body: required"));
}

TEST(NcaFormat, FromEnvelopeRefusesValuesTheNativeRulesForbid) {
  v1::Envelope env = ValidEnvelope(testing::BodyKind::kIntelligenceReport);
  env.mutable_intelligence_report()->add_vessels()->set_length_metres(900);
  const std::string message = RefusalOf(env);
  EXPECT_THAT(message, HasSubstr("holds values the NCA format refuses"));
  EXPECT_THAT(message, HasSubstr(".loa_m: must be between 0.1 and 500"));
}

TEST(NcaFormat, FromEnvelopeRefusesWhatWouldNotReadBackAndNamesOnlyTheField) {
  v1::Envelope env = ValidEnvelope(testing::BodyKind::kCaseReferral);
  env.mutable_case_referral()->mutable_crossing()->mutable_departure_place()->set_latitude(std::nan(""));
  env.mutable_case_referral()->mutable_crossing()->mutable_departure_place()->set_description("Testkarim's beach");
  const std::string message = RefusalOf(env);
  // NaN is written as 0, which proto3 reads as the default: the field is "deleted".
  EXPECT_THAT(message, HasSubstr("does not read back identically from the NCA format: deleted "
                                 "case_referral.crossing.departure_place.latitude"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("Testkarim"))) << "no values (personal data) in the message";
}

// Presence the property may rarely hit: an empty crossing, an RFI without a
// deadline and not directly accessible, a nominal known only by an alias.
TEST(NcaFormat, SparseEnvelopesRoundTrip) {
  v1::Envelope env = ValidEnvelope(testing::BodyKind::kCaseReferral);
  env.mutable_case_referral()->clear_crossing();
  env.mutable_case_referral()->mutable_crossing();
  v1::Person* p = env.mutable_case_referral()->add_suspected_facilitators();
  p->add_aliases("Kaka Testo");
  p->set_role(v1::FACILITATOR);
  v1::Envelope rfi = ValidEnvelope(testing::BodyKind::kRequestForInformation);
  rfi.mutable_request_for_information()->clear_answer_by();
  rfi.mutable_request_for_information()->set_directly_accessible(false);
  rfi.clear_sender();
  rfi.clear_created_at();
  for (const v1::Envelope& e : {env, rfi}) EXPECT_TRUE(testing::RoundTripsExactly(Format(), e));
  EXPECT_THAT(Format().FromEnvelope(env).value_or(""), HasSubstr("\"crossing\": {}"));
  EXPECT_THAT(Format().FromEnvelope(rfi).value_or(""), HasSubstr("\"directly_accessible\": \"N\""));
}

TEST(NcaFormat, UnspecifiedPriorityIsWrittenAsRoutine) {
  v1::Envelope env = ValidEnvelope(testing::BodyKind::kRequestForInformation);
  env.set_priority(v1::PRIORITY_UNSPECIFIED);
  absl::StatusOr<std::string> native = Format().FromEnvelope(env);
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_THAT(*native, HasSubstr("\"precedence\": \"ROUTINE\""));
  EXPECT_EQ(Convert(*native)->priority(), v1::ROUTINE);
}

}  // namespace
}  // namespace portcullis::adapters::nca
