// Border Force native referrals: examples convert, every field survives
// native -> envelope -> native, and problems are located (file:line:col: path: rule).
#include <filesystem>
#include <string>

#include <google/protobuf/util/message_differencer.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "adapters/border_force/format.h"
#include "adapters/common/json_doc.h"

namespace portcullis::adapters::border_force {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

const std::string kExamples = std::string(PORTCULLIS_SOURCE_DIR) + "/adapters/border_force/examples";

std::vector<std::string> ExampleFiles() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(kExamples)) out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Compares two JSON trees by value: objects by key (any order), numbers as
// numbers, date-times as instants; `path` names the first difference.
void ExpectSameJson(const YAML::Node& a, const YAML::Node& b, const std::string& path) {
  ASSERT_EQ(a.Type(), b.Type()) << path;
  if (a.IsMap()) {
    ASSERT_EQ(a.size(), b.size()) << path << ": different keys";
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string key = it->first.Scalar();
      ASSERT_TRUE(b[key]) << path << "." << key << " missing after the round trip";
      ExpectSameJson(it->second, b[key], path + "." + key);
    }
  } else if (a.IsSequence()) {
    ASSERT_EQ(a.size(), b.size()) << path;
    for (size_t i = 0; i < a.size(); ++i) ExpectSameJson(a[i], b[i], path + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a.Tag(), b.Tag()) << path << ": string vs number";
    double da = 0, db = 0;
    absl::Time ta, tb;
    std::string err;
    if (a.Tag() == "?" && absl::SimpleAtod(a.Scalar(), &da) && absl::SimpleAtod(b.Scalar(), &db)) {
      EXPECT_EQ(da, db) << path;
    } else if (absl::ParseTime(absl::RFC3339_full, a.Scalar(), &ta, &err) &&
               absl::ParseTime(absl::RFC3339_full, b.Scalar(), &tb, &err)) {
      EXPECT_EQ(ta, tb) << path;
    } else {
      EXPECT_EQ(a.Scalar(), b.Scalar()) << path;
    }
  }
}

absl::StatusOr<v1::Envelope> Convert(const std::string& text) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(text, "bad.json");
  if (!doc.ok()) return doc.status();
  return Format().ToEnvelope(*doc);
}

TEST(BorderForceFormat, EveryExampleConverts) {
  std::vector<std::string> files = ExampleFiles();
  ASSERT_THAT(files, SizeIs(2));
  for (const std::string& file : files) {
    absl::StatusOr<JsonDoc> doc = JsonDoc::Load(file);
    ASSERT_TRUE(doc.ok()) << doc.status();
    absl::StatusOr<v1::Envelope> env = Format().ToEnvelope(*doc);
    ASSERT_TRUE(env.ok()) << env.status();
    EXPECT_TRUE(env->has_case_referral()) << file;
    EXPECT_FALSE(env->message_id().empty()) << file;
    EXPECT_FALSE(env->case_referral().requested_action().empty()) << file;
  }
}

TEST(BorderForceFormat, FieldsMapToTheEnvelope) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Load(kExamples + "/gravelines-rib-2026-004512.json");
  ASSERT_TRUE(doc.ok()) << doc.status();
  absl::StatusOr<v1::Envelope> env = Format().ToEnvelope(*doc);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->message_id(), "BF-REF-2026-004512-01");
  EXPECT_EQ(env->case_reference(), "BF-2026-004512");
  EXPECT_EQ(env->correlation_id(), "EUR-UKLB-2026-000871");
  EXPECT_EQ(env->classification(), v1::OFFICIAL_SENSITIVE);
  EXPECT_EQ(env->priority(), v1::URGENT);
  EXPECT_EQ(env->uk_grading().source(), v1::UK_SOURCE_2_UNTESTED);
  EXPECT_EQ(env->uk_grading().intelligence(), v1::UK_INTEL_B_INDIRECT_CORROBORATED);
  EXPECT_EQ(env->uk_grading().handling(), v1::UK_HANDLING_C_CONDITIONS);
  const v1::Crossing& c = env->case_referral().crossing();
  EXPECT_EQ(c.departure_time().seconds(), absl::ToUnixSeconds(absl::FromCivil(
                                              absl::CivilSecond(2026, 3, 14, 2, 40, 0), absl::UTCTimeZone())));
  EXPECT_DOUBLE_EQ(c.interception_place().longitude(), 1.0358);
  EXPECT_EQ(c.vessel().persons_on_board(), 38u);
  EXPECT_DOUBLE_EQ(c.vessel().length_metres(), 9.5);
  EXPECT_EQ(env->case_referral().persons(0).role(), v1::PILOT);
  EXPECT_EQ(env->case_referral().persons(0).date_of_birth(), "1997-06-02");
  // A suspected facilitator without a role is a FACILITATOR; a stated role is kept.
  EXPECT_EQ(env->case_referral().suspected_facilitators(0).role(), v1::FACILITATOR);
  EXPECT_EQ(env->case_referral().suspected_facilitators(1).role(), v1::WITNESS);
}

TEST(BorderForceFormat, EveryFieldSurvivesTheRoundTrip) {
  for (const std::string& file : ExampleFiles()) {
    SCOPED_TRACE(file);
    absl::StatusOr<JsonDoc> doc = JsonDoc::Load(file);
    ASSERT_TRUE(doc.ok()) << doc.status();
    absl::StatusOr<v1::Envelope> env = Format().ToEnvelope(*doc);
    ASSERT_TRUE(env.ok()) << env.status();
    absl::StatusOr<std::string> native = Format().FromEnvelope(*env);
    ASSERT_TRUE(native.ok()) << native.status();
    ExpectSameJson(YAML::LoadFile(file), YAML::Load(*native), "(document)");
    // And back again: the same envelope.
    absl::StatusOr<v1::Envelope> again = Convert(*native);
    ASSERT_TRUE(again.ok()) << again.status() << "\n" << *native;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*env, *again))
        << env->DebugString() << "\n" << again->DebugString();
  }
}

TEST(BorderForceFormat, FromEnvelopeRefusesOtherBodies) {
  v1::Envelope env;
  env.set_message_id("X-1");
  env.mutable_response()->set_answer("no trace");
  EXPECT_EQ(Format().FromEnvelope(env).status().code(), absl::StatusCode::kUnimplemented);
  env.mutable_case_referral()->set_summary("s");
  env.set_classification(v1::TOP_SECRET);
  EXPECT_EQ(Format().FromEnvelope(env).status().code(), absl::StatusCode::kInvalidArgument);
}

// A minimal valid referral; each test breaks one line of it.
constexpr char kValid[] = R"({
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

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<v1::Envelope> env = Convert(text);
  EXPECT_FALSE(env.ok());
  if (env.ok()) return "";
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(env.status().message());
}

TEST(BorderForceFormat, ValidMinimalReferralConverts) { EXPECT_TRUE(Convert(kValid).ok()) << Convert(kValid).status(); }

TEST(BorderForceFormat, WrongTypeIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("length_m": 7)", R"("length_m": "7")")),
            "bad.json:9:44: vessel.length_m: must be a number, not a string");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("summary": "Invented test referral.")", R"("summary": 12)")),
            "bad.json:11:14: summary: must be a string, not a number");
}

TEST(BorderForceFormat, MissingRequiredFieldIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"(  "officer": "BF-LO-0001",
)", "")),
            "bad.json:1:1: officer: required");
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("type": "dinghy", )", "")), "bad.json:9:13: vessel.type: required");
}

TEST(BorderForceFormat, UnknownKeyIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("role": "PASSENGER")", R"("role": "PASSENGER", "colour": "red")")),
            "bad.json:10:103: persons[0].colour: unknown field");
}

TEST(BorderForceFormat, BadEnumIsLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("OFFICIAL")", R"("TOP SECRET")")),
            "bad.json:6:25: protective_marking: must be one of \"OFFICIAL\", \"OFFICIAL-SENSITIVE\", \"SECRET\", "
            "not \"TOP SECRET\"");
}

TEST(BorderForceFormat, BadDatesAreLocated) {
  EXPECT_EQ(ErrorOf(Replace(kValid, "2000-01-31", "2000-02-30")),
            "bad.json:10:68: persons[0].dob: must be a date YYYY-MM-DD that exists, not \"2000-02-30\"");
  EXPECT_THAT(ErrorOf(Replace(kValid, R"("priority": "ROUTINE",)",
                              R"("priority": "ROUTINE", "created": "14/03/2026 08:15",)")),
              HasSubstr("bad.json:7:37: created: must be an ISO 8601 date-time with an offset"));
}

TEST(BorderForceFormat, SyntaxErrorIsLocated) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(Replace(kValid, R"("case_ref": "BF-2026-000001",)",
                                                       R"("case_ref": "BF-2026-000001")"),
                                               "bad.json");
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(doc.status().message(), HasSubstr("bad.json:4:"));
  EXPECT_THAT(doc.status().message(), HasSubstr("(document): not valid JSON"));
}

TEST(BorderForceFormat, LoadNamesTheFile) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Load(kExamples + "/no-such-file.json");
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(doc.status().message(), HasSubstr("no-such-file.json"));
}

TEST(BorderForceFormat, EveryProblemIsReported) {
  std::string text = Replace(kValid, R"("length_m": 7)", R"("length_m": -3)");
  text = Replace(text, R"("AFG")", R"("Afghan")");
  text = Replace(text, R"("ROUTINE")", R"("SOON")");
  text = Replace(text, R"(  "case_ref": "BF-2026-000001",
)", R"(  "caseref": "BF-2026-000001",
)");
  const std::string message = ErrorOf(text);
  EXPECT_THAT(message, HasSubstr("bad.json:3:3: caseref: unknown field"));
  EXPECT_THAT(message, HasSubstr("bad.json:1:1: case_ref: required"));
  EXPECT_THAT(message, HasSubstr("bad.json:7:15: priority: must be one of"));
  EXPECT_THAT(message, HasSubstr("bad.json:9:44: vessel.length_m: must be between"));
  EXPECT_THAT(message, HasSubstr("bad.json:10:54: persons[0].nationality: must be an ISO 3166-1 alpha-3 code"));
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 4) << message;
}

TEST(BorderForceFormat, ConditionsRequiredWithHandlingC) {
  EXPECT_EQ(ErrorOf(Replace(kValid, R"("recipients")",
                            R"("grading": {"source": "1", "intelligence": "A", "handling": "C"}, "recipients")")),
            "bad.json:8:14: grading.conditions: required when handling is \"C\"");
}

}  // namespace
}  // namespace portcullis::adapters::border_force
