// Border Force native records (crossing referrals, intelligence, information
// requests, replies): examples convert, every field survives native ->
// envelope -> native, random envelopes of every kind survive envelope ->
// native -> envelope, and problems are located (file:line:col: path: rule).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "adapters/border_force/format.h"
#include "adapters/common/json_doc.h"
#include "tests/support/format_test_support.h"
#include "tests/support/random_envelope.h"

namespace portcullis::adapters::border_force {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using testing::Replace;
using testing::UtcSeconds;

absl::StatusOr<v1::Envelope> Convert(const std::string& text) { return testing::ConvertText(Format(), text); }
absl::StatusOr<v1::Envelope> LoadExample(const std::string& name) { return testing::ConvertExample(Format(), name); }
std::string ErrorOf(const std::string& text) { return testing::ErrorOf(Format(), text); }

// Party ids of the development configuration (examples must name real parties).
std::set<std::string> ConfiguredParties() {
  std::set<std::string> out;
  for (const YAML::Node& party :
       YAML::LoadFile(std::string(PORTCULLIS_SOURCE_DIR) + "/config/portcullis.yaml")["parties"]) {
    out.insert(party["id"].as<std::string>());
  }
  return out;
}

TEST(BorderForceFormat, EveryExampleConverts) {
  std::vector<std::string> files = testing::ExampleFiles(Format());
  ASSERT_THAT(files, SizeIs(5));
  const std::set<std::string> parties = ConfiguredParties();
  std::set<v1::Envelope::BodyCase> kinds;
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    absl::StatusOr<v1::Envelope> env = testing::ConvertFile(Format(), file);
    ASSERT_TRUE(env.ok()) << env.status();
    kinds.insert(env->body_case());
    EXPECT_FALSE(env->message_id().empty());
    EXPECT_FALSE(env->case_reference().empty());
    EXPECT_FALSE(env->justification().legal_basis().empty());
    for (const std::string& recipient : env->recipients()) EXPECT_TRUE(parties.count(recipient)) << recipient;
    // Partners (and Border Force itself) are cleared up to OFFICIAL-SENSITIVE.
    EXPECT_NE(env->classification(), v1::SECRET);
  }
  EXPECT_THAT(kinds, SizeIs(4)) << "an example of every record type";
}

TEST(BorderForceFormat, FieldsMapToTheEnvelope) {
  absl::StatusOr<v1::Envelope> env = LoadExample("gravelines-rib-2026-004512.json");
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->message_id(), "BF-REF-2026-004512-01");
  EXPECT_EQ(env->case_reference(), "BF-2026-004512");
  EXPECT_EQ(env->correlation_id(), "");  // A first referral (replies: reply-europol-rfi-2026-0107.json).
  EXPECT_EQ(env->classification(), v1::OFFICIAL_SENSITIVE);
  EXPECT_EQ(env->priority(), v1::URGENT);
  EXPECT_EQ(env->uk_grading().source(), v1::UK_SOURCE_2_UNTESTED);
  EXPECT_EQ(env->uk_grading().intelligence(), v1::UK_INTEL_B_INDIRECT_CORROBORATED);
  EXPECT_EQ(env->uk_grading().handling(), v1::UK_HANDLING_C_CONDITIONS);
  const v1::Crossing& c = env->case_referral().crossing();
  EXPECT_EQ(c.departure_time().seconds(), UtcSeconds(2026, 3, 14, 2, 40));
  EXPECT_DOUBLE_EQ(c.interception_place().longitude(), 1.0358);
  EXPECT_EQ(c.vessel().persons_on_board(), 38u);
  EXPECT_DOUBLE_EQ(c.vessel().length_metres(), 9.5);
  EXPECT_EQ(env->case_referral().persons(0).role(), v1::PILOT);
  EXPECT_EQ(env->case_referral().persons(0).date_of_birth(), "1997-06-02");
  // A suspected facilitator without a role is a FACILITATOR; a stated role is kept.
  EXPECT_EQ(env->case_referral().suspected_facilitators(0).role(), v1::FACILITATOR);
  EXPECT_EQ(env->case_referral().suspected_facilitators(1).role(), v1::WITNESS);
}

TEST(BorderForceFormat, ReplyExampleAnswersTheEuropolRfi) {
  absl::StatusOr<v1::Envelope> env = LoadExample("reply-europol-rfi-2026-0107.json");
  ASSERT_TRUE(env.ok()) << env.status();
  ASSERT_TRUE(env->has_response());
  EXPECT_EQ(env->message_id(), "BF-RPL-2026-004512-02");
  EXPECT_EQ(env->correlation_id(), "EPL-RFI-2026-0107");
  EXPECT_THAT(env->recipients(), ElementsAre("eu/europol"));
  EXPECT_TRUE(env->sender().empty());
  EXPECT_EQ(env->created_at().seconds(), UtcSeconds(2026, 3, 16, 10, 42));
  EXPECT_THAT(env->response().answer(), HasSubstr("no earlier UK sighting"));
  const v1::EuropolEvaluation& eval = env->europol_evaluation();
  EXPECT_EQ(eval.source(), v1::EUROPOL_SOURCE_A_NO_DOUBT);
  EXPECT_EQ(eval.accuracy(), v1::EUROPOL_ACCURACY_1_NOT_IN_DOUBT);
  EXPECT_THAT(eval.handling(), ElementsAre(v1::EUROPOL_HANDLING_H0, v1::EUROPOL_HANDLING_H3));
  EXPECT_THAT(eval.restrictions(), HasSubstr("judicial proceedings"));
  EXPECT_EQ(env->uk_grading().handling(), v1::UK_HANDLING_C_CONDITIONS);
  ASSERT_THAT(env->response().subjects(), SizeIs(2));
  EXPECT_EQ(env->response().subjects(0).role(), v1::PILOT);
  EXPECT_EQ(env->response().subjects(1).role(), v1::FACILITATOR);
  ASSERT_THAT(env->attachments(), SizeIs(1));
  EXPECT_EQ(env->attachments(0).media_type(), "text/plain");
  EXPECT_THAT(env->attachments(0).content(), HasSubstr("No earlier UK sighting of this hull."));
}

TEST(BorderForceFormat, InformationRequestExampleGoesToTheFrenchBorderPolice) {
  absl::StatusOr<v1::Envelope> env = LoadExample("rfi-fr-dnpaf-2026-005190.json");
  ASSERT_TRUE(env.ok()) << env.status();
  ASSERT_TRUE(env->has_request_for_information());
  const v1::RequestForInformation& rfi = env->request_for_information();
  EXPECT_EQ(env->message_id(), "BF-RFI-2026-005190-02");
  EXPECT_THAT(env->recipients(), ElementsAre("eu/fr-dnpaf"));
  EXPECT_TRUE(env->correlation_id().empty());
  EXPECT_TRUE(rfi.directly_accessible());
  EXPECT_EQ(rfi.answer_by().seconds() - env->created_at().seconds(), 8 * 3600);
  EXPECT_THAT(rfi.question(), HasSubstr("Exemple II"));
  ASSERT_THAT(rfi.subjects(), SizeIs(1));
  EXPECT_EQ(rfi.subjects(0).role(), v1::SUBJECT);  // the default for subjects
  EXPECT_EQ(rfi.subjects(0).nationality(), "FRA");
  EXPECT_FALSE(env->has_uk_grading());
  EXPECT_FALSE(env->has_europol_evaluation());
}

TEST(BorderForceFormat, IntelligenceExampleFromTheNca) {
  absl::StatusOr<v1::Envelope> env = LoadExample("received/intelligence-from-nca-2026-0311.json");
  ASSERT_TRUE(env.ok()) << env.status();
  ASSERT_TRUE(env->has_intelligence_report());
  const v1::IntelligenceReport& report = env->intelligence_report();
  EXPECT_EQ(env->sender(), "uk/nca");
  EXPECT_THAT(env->recipients(), ElementsAre("uk/border-force", "uk/bsc"));
  EXPECT_EQ(env->uk_grading().handling(), v1::UK_HANDLING_P_LAWFUL_SHARING);
  ASSERT_THAT(report.subjects(), SizeIs(2));
  EXPECT_EQ(report.subjects(0).role(), v1::SUBJECT);
  EXPECT_EQ(report.subjects(1).role(), v1::FACILITATOR);
  ASSERT_THAT(report.vessels(), SizeIs(1));
  EXPECT_DOUBLE_EQ(report.vessels(0).length_metres(), 10);
  EXPECT_THAT(report.routes(), ElementsAre("Gravelines - Dungeness", "Loon-Plage - Gravelines (overland)"));
  EXPECT_THAT(report.financial(), HasSubstr("hawala"));
}

TEST(BorderForceFormat, EveryFieldSurvivesTheRoundTrip) {
  // And back again: the same envelope.
  for (const std::string& file : testing::ExampleFiles(Format())) {
    EXPECT_TRUE(testing::ExampleRoundTrips(Format(), file));
  }
}

// Property: for every body kind, envelope -> native -> envelope is exact.
TEST(BorderForceFormat, RandomEnvelopesOfEveryKindSurviveTheRoundTrip) {
  EXPECT_TRUE(testing::EveryKindRoundTrips(Format(), 200));
}

// A random envelope of `kind` (seed 1) with `change` applied; FromEnvelope's refusal.
template <typename Change>
absl::Status RefusalOf(testing::BodyKind kind, Change change) {
  v1::Envelope e = testing::RandomEnvelope(kind, 1);
  change(e);
  return Format().FromEnvelope(e).status();
}

TEST(BorderForceFormat, FromEnvelopeRefusesUnexpressibleClassifications) {
  for (v1::Classification c : {v1::TOP_SECRET, v1::CLASSIFICATION_UNSPECIFIED}) {
    absl::Status s = RefusalOf(testing::BodyKind::kResponse, [c](v1::Envelope& e) {
      e.set_message_id("MSG-1");
      e.set_classification(c);
    });
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), absl::StrCat("message MSG-1: classification: ", v1::Classification_Name(c),
                                        " has no Border Force protective marking"));
  }
}

TEST(BorderForceFormat, FromEnvelopeNamesMissingBodyText) {
  using testing::BodyKind;
  const struct {
    BodyKind kind;
    std::string field;
    std::function<void(v1::Envelope&)> clear;
  } cases[] = {
      {BodyKind::kCaseReferral, "case_referral.summary",
       [](v1::Envelope& e) { e.mutable_case_referral()->clear_summary(); }},
      {BodyKind::kCaseReferral, "case_referral.requested_action",
       [](v1::Envelope& e) { e.mutable_case_referral()->clear_requested_action(); }},
      {BodyKind::kIntelligenceReport, "intelligence_report.summary",
       [](v1::Envelope& e) { e.mutable_intelligence_report()->clear_summary(); }},
      {BodyKind::kRequestForInformation, "request_for_information.question",
       [](v1::Envelope& e) { e.mutable_request_for_information()->clear_question(); }},
      {BodyKind::kResponse, "response.answer", [](v1::Envelope& e) { e.mutable_response()->clear_answer(); }},
  };
  for (const auto& c : cases) {
    absl::Status s = RefusalOf(c.kind, c.clear);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(s.message(), HasSubstr(c.field + ": required")) << s;
  }
}

TEST(BorderForceFormat, FromEnvelopeNamesOtherMissingFields) {
  using testing::BodyKind;
  EXPECT_THAT(RefusalOf(BodyKind::kResponse, [](v1::Envelope& e) { e.clear_correlation_id(); }).message(),
              HasSubstr("correlation_id: a REPLY must name the message it answers"));
  EXPECT_THAT(RefusalOf(BodyKind::kIntelligenceReport, [](v1::Envelope& e) { e.clear_body(); }).message(),
              HasSubstr("body: not set"));
  EXPECT_THAT(RefusalOf(BodyKind::kIntelligenceReport, [](v1::Envelope& e) { e.clear_recipients(); }).message(),
              HasSubstr("recipients: at least one is required"));
  EXPECT_THAT(RefusalOf(BodyKind::kRequestForInformation,
                        [](v1::Envelope& e) {
                          e.mutable_request_for_information()->clear_subjects();
                          v1::Person* p = e.mutable_request_for_information()->add_subjects();
                          p->set_family_name("Testkarim");
                        })
                  .message(),
              HasSubstr("request_for_information.subjects[0].role: not set"));
  EXPECT_THAT(
      RefusalOf(BodyKind::kCaseReferral, [](v1::Envelope& e) { e.mutable_justification()->clear_legal_basis(); })
          .message(),
      HasSubstr("justification.legal_basis: required"));
}

// An unrecorded nationality stays unrecorded (it is not turned into "XXX").
TEST(BorderForceFormat, NationalityMayBeLeftOut) {
  v1::Envelope e = testing::RandomEnvelope(testing::BodyKind::kResponse, 3);
  v1::Person* p = e.mutable_response()->add_subjects();
  p->add_aliases("Shwan");
  p->set_role(v1::FACILITATOR);
  absl::StatusOr<std::string> native = Format().FromEnvelope(e);
  ASSERT_TRUE(native.ok()) << native.status();
  absl::StatusOr<v1::Envelope> back = Convert(*native);
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << *native;
  ASSERT_THAT(back->response().subjects(), SizeIs(e.response().subjects_size()));
  EXPECT_EQ(back->response().subjects(e.response().subjects_size() - 1).nationality(), "");
}

// A minimal valid referral; each test breaks one line of it.
constexpr char kValid[] = R"({
  "record_type": "CROSSING_REFERRAL",
  "referral_ref": "BF-REF-2026-000001-01",
  "case_ref": "BF-2026-000001",
  "officer": "BF-LO-0001",
  "legal_basis": "DPA 2018 s.35",
  "protective_marking": "OFFICIAL",
  "priority": "ROUTINE",
  "recipients": ["eu/europol"],
  "vessel": {"type": "dinghy", "length_m": 7, "persons_on_board": 12},
  "persons": [{"given_names": "Test", "nationality": "AFG", "dob": "2000-01-31", "role": "PASSENGER"}],
  "summary": "Invented test referral.",
  "requested_action": "None: test data."
})";

TEST(BorderForceFormat, ValidMinimalReferralConverts) { EXPECT_TRUE(Convert(kValid).ok()) << Convert(kValid).status(); }

TEST(BorderForceFormat, WrongTypeIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("length_m": 7)", R"("length_m": "7")")),
            "bad.json:10:44: vessel.length_m: must be a number, not a string");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("summary": "Invented test referral.")", R"("summary": 12)")),
            "bad.json:12:14: summary: must be a string, not a number");
}

TEST(BorderForceFormat, MissingRequiredFieldIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(  "officer": "BF-LO-0001",
)",
                            "")),
            "bad.json:1:1: officer: required");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("type": "dinghy", )", "")), "bad.json:10:13: vessel.type: required");
}

TEST(BorderForceFormat, UnknownKeyIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("role": "PASSENGER")", R"("role": "PASSENGER", "colour": "red")")),
            "bad.json:11:103: persons[0].colour: unknown field");
}

TEST(BorderForceFormat, BadEnumIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("OFFICIAL")", R"("TOP SECRET")")),
            "bad.json:7:25: protective_marking: must be one of \"OFFICIAL\", \"OFFICIAL-SENSITIVE\", \"SECRET\", "
            "not \"TOP SECRET\"");
}

TEST(BorderForceFormat, BadDatesAreLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, "2000-01-31", "2000-02-30")),
            "bad.json:11:68: persons[0].dob: must be a date YYYY-MM-DD that exists, not \"2000-02-30\"");
  EXPECT_THAT(
      ErrorOf(Replace(kValid, R"("priority": "ROUTINE",)", R"("priority": "ROUTINE", "created": "14/03/2026 08:15",)")),
      HasSubstr("bad.json:8:37: created: must be an ISO 8601 date-time with an offset"));
}

TEST(BorderForceFormat, SyntaxErrorIsLocated) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(
      Replace(kValid, R"("case_ref": "BF-2026-000001",)", R"("case_ref": "BF-2026-000001")"), "bad.json");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(doc.status().message(), HasSubstr("bad.json:5:"));
  EXPECT_THAT(doc.status().message(), HasSubstr("(document): not valid JSON"));
}

TEST(BorderForceFormat, LoadNamesTheFile) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Load(testing::ExamplesDir(Format()) + "/no-such-file.json");
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(doc.status().message(), HasSubstr("no-such-file.json"));
}

TEST(BorderForceFormat, EveryProblemIsReported) {
  std::string text = Replace(kValid, R"("length_m": 7)", R"("length_m": -3)");
  text = Replace(text, R"("AFG")", R"("Afghan")");
  text = Replace(text, R"("ROUTINE")", R"("SOON")");
  text = Replace(text, R"(  "case_ref": "BF-2026-000001",
)",
                 R"(  "caseref": "BF-2026-000001",
)");
  const std::string message = ErrorOf(text);
  EXPECT_THAT(message, HasSubstr("bad.json:4:3: caseref: unknown field"));
  EXPECT_THAT(message, HasSubstr("bad.json:1:1: case_ref: required"));
  EXPECT_THAT(message, HasSubstr("bad.json:8:15: priority: must be one of"));
  EXPECT_THAT(message, HasSubstr("bad.json:10:44: vessel.length_m: must be between"));
  EXPECT_THAT(message, HasSubstr("bad.json:11:54: persons[0].nationality: must be an ISO 3166-1 alpha-3 code"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 4) << message;
}

TEST(BorderForceFormat, ConditionsRequiredWithHandlingC) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("recipients")",
                            R"("grading": {"source": "1", "intelligence": "A", "handling": "C"}, "recipients")")),
            "bad.json:9:14: grading.conditions: required when handling is \"C\"");
}

TEST(BorderForceFormat, CreatedIsOptional) {
  absl::StatusOr<v1::Envelope> env = Convert(kValid);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_FALSE(env->has_created_at());  // the submitting adapter stamps it
  env = Convert(Replace(kValid, R"("priority": "ROUTINE",)",
                        R"("priority": "ROUTINE", "created": "2026-03-14T09:15:30.25+01:00",)"));
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->created_at().seconds(), UtcSeconds(2026, 3, 14, 8, 15, 30));
  EXPECT_EQ(env->created_at().nanos(), 250000000);
}

TEST(BorderForceFormat, RecordTypeIsRequired) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(  "record_type": "CROSSING_REFERRAL",
)",
                            "")),
            "bad.json:1:1: record_type: required");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("CROSSING_REFERRAL")", R"("REFERRAL")")),
            "bad.json:2:18: record_type: must be one of \"CROSSING_REFERRAL\", \"INTELLIGENCE\", "
            "\"INFORMATION_REQUEST\", \"REPLY\", not \"REFERRAL\"");
  // Without a record type the header is still checked.
  EXPECT_EQ(ErrorOf(Replace(Replace(kValid, R"("CROSSING_REFERRAL")", "7"), R"("OFFICIAL")", R"("RESTRICTED")")),
            "bad.json:2:18: record_type: must be a string, not a number\n"
            "bad.json:7:25: protective_marking: must be one of \"OFFICIAL\", \"OFFICIAL-SENSITIVE\", \"SECRET\", "
            "not \"RESTRICTED\"");
}

TEST(BorderForceFormat, TopLevelMustBeAnObject) {
  EXPECT_EQ(ErrorOf("[1, 2]"), "bad.json:1:1: (document): must be an object, not an array");
}

// A minimal valid reply to a Europol RFI.
constexpr char kReply[] = R"({
  "record_type": "REPLY",
  "reply_ref": "BF-RPL-2026-000001-02",
  "case_ref": "BF-2026-000001",
  "in_reply_to": "EPL-RFI-2026-0107",
  "officer": "BF-LO-0001",
  "legal_basis": "DPA 2018 s.35",
  "protective_marking": "OFFICIAL",
  "priority": "ROUTINE",
  "recipients": ["eu/europol"],
  "answer": "No trace in Border Force holdings."
})";

TEST(BorderForceFormat, ValidMinimalReplyConverts) {
  absl::StatusOr<v1::Envelope> env = Convert(kReply);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->correlation_id(), "EPL-RFI-2026-0107");
  EXPECT_EQ(env->response().answer(), "No trace in Border Force holdings.");
}

TEST(BorderForceFormat, ReplyNeedsWhatItAnswers) {
  EXPECT_EQ(ErrorOf(Replace(kReply, R"(  "in_reply_to": "EPL-RFI-2026-0107",
)",
                            "")),
            "bad.json:1:1: in_reply_to: required");
  EXPECT_EQ(ErrorOf(Replace(kReply, "EPL-RFI-2026-0107", "EPL RFI 0107")),
            "bad.json:5:18: in_reply_to: must be 1 to 128 characters from A-Z a-z 0-9 . _ : -");
  EXPECT_EQ(ErrorOf(Replace(kReply, R"(  "answer": "No trace in Border Force holdings."
)",
                            R"(  "summary": "No trace."
)")),
            "bad.json:11:3: summary: unknown field\nbad.json:1:1: answer: required");
}

TEST(BorderForceFormat, KeysOfAnotherRecordTypeAreUnknown) {
  // The referral's own reference key is not a reply's.
  EXPECT_EQ(ErrorOf(Replace(kReply, R"("reply_ref")", R"("referral_ref")")),
            "bad.json:3:3: referral_ref: unknown field\nbad.json:1:1: reply_ref: required");
}

TEST(BorderForceFormat, InformationRequestNeedsItsAccess) {
  const std::string rfi =
      Replace(Replace(Replace(kReply, R"("REPLY")", R"("INFORMATION_REQUEST")"), R"("reply_ref")", R"("rfi_ref")"),
              R"("answer": "No trace in Border Force holdings.")",
              R"("question": "Known to you?", "answer_by": "2026-02-29T12:00:00Z")");
  EXPECT_EQ(ErrorOf(rfi),
            "bad.json:1:1: information_access: required\n"
            "bad.json:11:45: answer_by: must be an ISO 8601 date-time with an offset, e.g. "
            "\"2026-03-14T02:40:00Z\", not \"2026-02-29T12:00:00Z\"");
}

TEST(BorderForceFormat, EvaluationAndAttachmentsAreChecked) {
  EXPECT_EQ(ErrorOf(Replace(kReply, R"("recipients")",
                            R"("partner_evaluation": {"source": "A", "accuracy": "5"}, "recipients")")),
            "bad.json:10:53: partner_evaluation.accuracy: must be one of \"1\", \"2\", \"3\", \"4\", not \"5\"");
  EXPECT_EQ(ErrorOf(Replace(kReply, R"("recipients")",
                            R"("attachments": [{"media_type": "text/plain", "sha256": ")" + std::string(64, 'a') +
                                R"(", "content_base64": "aGk="}], "recipients")")),
            "bad.json:10:58: attachments[0].sha256: does not match the content's SHA-256");
}

TEST(BorderForceFormat, DuplicateKeyIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(  "officer": "BF-LO-0001",
)",
                            R"(  "officer": "BF-LO-0001",
  "officer": "BF-LO-0002",
)")),
            "bad.json:6:3: officer: duplicate key; first at line 5");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("role": "PASSENGER")", R"("role": "PASSENGER", "role": "PILOT")")),
            "bad.json:11:103: persons[0].role: duplicate key; first at line 11");
}

}  // namespace
}  // namespace portcullis::adapters::border_force
