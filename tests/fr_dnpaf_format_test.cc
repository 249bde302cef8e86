// DNPAF (French border police) native records: every example converts with
// its key fields, every record type survives native -> envelope -> native,
// random envelopes of every body kind round-trip exactly, and problems are
// located (file:line:col: path: rule).
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "adapters/common/native_util.h"
#include "adapters/fr_dnpaf/format.h"
#include "adapters/registry/native_formats.h"
#include "tests/support/format_test_support.h"
#include "tests/support/random_envelope.h"

namespace portcullis::adapters::fr_dnpaf {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;
using testing::Edit;
using testing::Edits;
using testing::Utc;

absl::StatusOr<v1::Envelope> Convert(const std::string& text) { return testing::ConvertText(Format(), text); }
v1::Envelope LoadExample(const std::string& file) { return testing::ExampleEnvelope(Format(), file); }
std::string FromEnvelopeError(const v1::Envelope& env) { return testing::RefusalOf(Format(), env); }

TEST(FrDnpafFormat, IsRegistered) {
  EXPECT_EQ(FindNativeFormat("fr_dnpaf"), &Format());
  EXPECT_EQ(Format().name(), "fr_dnpaf");
}

TEST(FrDnpafFormat, EveryExampleConverts) {
  std::vector<std::string> files = testing::ExampleFiles(Format());
  ASSERT_THAT(files, SizeIs(5));
  for (const std::string& file : files) {
    absl::StatusOr<v1::Envelope> env = testing::ConvertFile(Format(), file);
    ASSERT_TRUE(env.ok()) << file << ": " << env.status();
    EXPECT_FALSE(env->message_id().empty()) << file;
    EXPECT_NE(env->body_case(), v1::Envelope::BODY_NOT_SET) << file;
    EXPECT_EQ(env->classification(), v1::OFFICIAL_SENSITIVE) << file;
    EXPECT_TRUE(env->has_created_at()) << file;
  }
}

TEST(FrDnpafFormat, ReplyToTheBorderForceReferral) {
  const v1::Envelope env = LoadExample("reponse-bf-2026-005190.json");
  ASSERT_TRUE(env.has_response());
  EXPECT_EQ(env.message_id(), "DNPAF-MSG-2026-001174-01");
  EXPECT_EQ(env.correlation_id(), "BF-REF-2026-005190-01");
  EXPECT_EQ(env.case_reference(), "BF-2026-005190");
  EXPECT_EQ(env.originating_officer(), "DNPAF-OPJ-0417");
  EXPECT_THAT(env.recipients(), ::testing::ElementsAre("uk/border-force"));
  EXPECT_TRUE(env.sender().empty());
  // 10:45 in Paris (+02:00) is 08:45 UTC.
  EXPECT_EQ(FromProtoTime(env.created_at()), Utc(2026, 4, 3, 8, 45));
  EXPECT_EQ(env.priority(), v1::URGENT);
  EXPECT_THAT(env.justification().legal_basis(), HasSubstr("2023/977"));
  EXPECT_FALSE(env.justification().purpose().empty());
  EXPECT_EQ(env.europol_evaluation().source(), v1::EUROPOL_SOURCE_B_MOSTLY_RELIABLE);
  EXPECT_EQ(env.europol_evaluation().accuracy(), v1::EUROPOL_ACCURACY_2_KNOWN_PERSONALLY);
  EXPECT_THAT(env.europol_evaluation().handling(), ::testing::ElementsAre(v1::EUROPOL_HANDLING_H1));
  EXPECT_FALSE(env.has_uk_grading());
  EXPECT_THAT(env.response().answer(), HasSubstr("BL 000000"));
  ASSERT_THAT(env.response().subjects(), SizeIs(1));
  const v1::Person& p = env.response().subjects(0);
  EXPECT_EQ(p.family_name(), "Examplelefevre");
  EXPECT_EQ(p.given_names(), "Testjean Marie");
  EXPECT_EQ(p.date_of_birth(), "1979-09-14");  // 14/09/1979 natively.
  EXPECT_EQ(p.nationality(), "FRA");
  EXPECT_EQ(p.role(), v1::SUBJECT);
  EXPECT_THAT(p.documents(), SizeIs(1));
}

TEST(FrDnpafFormat, BeachDepartureReferral) {
  const v1::Envelope env = LoadExample("signalement-plage-2026-000318.json");
  ASSERT_TRUE(env.has_case_referral());
  EXPECT_EQ(env.case_reference(), "DNPAF-62-2026-000318");
  EXPECT_THAT(env.recipients(), ::testing::ElementsAre("uk/border-force", "uk/bsc"));
  EXPECT_EQ(env.priority(), v1::IMMEDIATE);
  EXPECT_EQ(env.uk_grading().source(), v1::UK_SOURCE_1_RELIABLE);
  EXPECT_EQ(env.uk_grading().intelligence(), v1::UK_INTEL_A_KNOWN_DIRECTLY);
  EXPECT_EQ(env.uk_grading().handling(), v1::UK_HANDLING_P_LAWFUL_SHARING);
  const v1::CaseReferral& b = env.case_referral();
  EXPECT_FALSE(b.requested_action().empty());
  EXPECT_EQ(FromProtoTime(b.crossing().departure_time()), Utc(2026, 4, 18, 2, 52));
  EXPECT_FALSE(b.crossing().has_interception_time());
  EXPECT_DOUBLE_EQ(b.crossing().departure_place().latitude(), 51.0085);
  EXPECT_THAT(b.crossing().departure_place().description(), HasSubstr("Gravelines"));
  EXPECT_EQ(b.crossing().vessel().persons_on_board(), 52u);
  EXPECT_DOUBLE_EQ(b.crossing().vessel().length_metres(), 10.5);
  ASSERT_THAT(b.persons(), SizeIs(1));
  EXPECT_EQ(b.persons(0).role(), v1::PILOT);
  EXPECT_EQ(b.persons(0).nationality(), "XXX");
  ASSERT_THAT(b.suspected_facilitators(), SizeIs(1));
  EXPECT_EQ(b.suspected_facilitators(0).role(), v1::FACILITATOR);
  EXPECT_EQ(b.suspected_facilitators(0).date_of_birth(), "1991-11-03");
  EXPECT_EQ(b.suspected_facilitators(0).aliases(0), "Exemplo K.");
  ASSERT_THAT(env.attachments(), SizeIs(1));
  EXPECT_EQ(env.attachments(0).media_type(), "text/plain");
  EXPECT_THAT(env.attachments(0).content(), StartsWith("Extrait de main courante"));
}

TEST(FrDnpafFormat, RequestAndIntelligenceExamples) {
  const v1::Envelope rfi = LoadExample("demande-information-2026-000344.json");
  ASSERT_TRUE(rfi.has_request_for_information());
  EXPECT_THAT(rfi.recipients(), ::testing::ElementsAre("uk/nca"));
  EXPECT_FALSE(rfi.request_for_information().directly_accessible());
  EXPECT_EQ(FromProtoTime(rfi.request_for_information().answer_by()), Utc(2026, 4, 23, 12, 5));
  EXPECT_EQ(rfi.request_for_information().subjects(0).role(), v1::FACILITATOR);

  const v1::Envelope intel = LoadExample("received/renseignement-recu-nca-2026-000611.json");
  ASSERT_TRUE(intel.has_intelligence_report());
  EXPECT_EQ(intel.sender(), "uk/nca");
  EXPECT_EQ(intel.priority(), v1::ROUTINE);
  EXPECT_EQ(intel.uk_grading().handling(), v1::UK_HANDLING_C_CONDITIONS);
  EXPECT_FALSE(intel.uk_grading().handling_conditions().empty());
  const v1::IntelligenceReport& b = intel.intelligence_report();
  EXPECT_THAT(b.routes(), ::testing::ElementsAre("Loon-Plage - Dungeness"));
  ASSERT_THAT(b.vessels(), SizeIs(1));
  EXPECT_DOUBLE_EQ(b.vessels(0).length_metres(), 11);
  EXPECT_THAT(b.financial(), HasSubstr("hawala"));
  EXPECT_EQ(b.subjects(0).aliases(0), "Rebo (invente)");
}

TEST(FrDnpafFormat, ExamplesSurviveTheRoundTrip) {
  for (const std::string& file : testing::ExampleFiles(Format())) {
    EXPECT_TRUE(testing::ExampleRoundTrips(Format(), file));
  }
}

// The property: every valid envelope of every body kind survives
// envelope -> native -> envelope field for field. Every RandomEnvelope
// option stays on: the format carries everything.
TEST(FrDnpafFormat, RandomEnvelopesRoundTripExactly) {
  int checked = 0;
  EXPECT_TRUE(testing::EveryKindRoundTrips(Format(), 200, &checked));
  EXPECT_EQ(checked, 800);
}

TEST(FrDnpafFormat, WritesUtcAndFrenchVocabulary) {
  v1::Envelope env = LoadExample("reponse-bf-2026-005190.json");
  env.set_sender("eu/fr-dnpaf");
  absl::StatusOr<std::string> native = Format().FromEnvelope(env);
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_THAT(*native, HasSubstr(R"("type_message": "REPONSE")"));
  EXPECT_THAT(*native, HasSubstr(R"("date_creation": "2026-04-03T08:45:00Z")"));
  EXPECT_THAT(*native, HasSubstr(R"("marquage": "DIFFUSION RESTREINTE")"));
  EXPECT_THAT(*native, HasSubstr(R"("date_naissance": "14/09/1979")"));
  EXPECT_THAT(*native, HasSubstr(R"("emetteur": "eu/fr-dnpaf")"));
  // The gateway treats an unspecified priority as ROUTINE: written NORMALE.
  env.set_priority(v1::PRIORITY_UNSPECIFIED);
  native = Format().FromEnvelope(env);
  ASSERT_TRUE(native.ok()) << native.status();
  EXPECT_THAT(*native, HasSubstr(R"("priorite": "NORMALE")"));
}

// A minimal valid SIGNALEMENT; each test breaks one line of it.
constexpr char kValid[] = R"({
  "type_message": "SIGNALEMENT",
  "reference_message": "DNPAF-MSG-2026-000001-01",
  "numero_procedure": "DNPAF-62-2026-000001",
  "officier": "DNPAF-OPJ-0001",
  "destinataires": ["uk/border-force"],
  "marquage": "NON PROTEGE",
  "priorite": "NORMALE",
  "base_legale": "Directive (UE) 2023/977",
  "traversee": {"embarcation": {"type": "pneumatique", "longueur_m": 7, "personnes_a_bord": 12}},
  "personnes": [{"prenoms": "Testali", "nationalite": "AFG", "date_naissance": "31/01/2000", "role": "PASSAGER"}],
  "resume": "Signalement de test invente.",
  "action_demandee": "Aucune : donnees de test."
})";

constexpr char kTraverseeLine[] =
    R"(  "traversee": {"embarcation": {"type": "pneumatique", "longueur_m": 7, "personnes_a_bord": 12}},
)";
constexpr char kActionLine[] = R"(,
  "action_demandee": "Aucune : donnees de test.")";

// The INVALID_ARGUMENT message of `text` as bad.json ("" and a failure if it converts).
std::string ErrorOf(const std::string& text) { return testing::ErrorOf(Format(), text); }

// The message for kValid with `edits`.
std::string ErrorWith(Edits edits) { return ErrorOf(Edit(kValid, edits)); }

TEST(FrDnpafFormat, ValidMinimalRecordConverts) {
  absl::StatusOr<v1::Envelope> env = Convert(kValid);
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->case_referral().persons(0).date_of_birth(), "2000-01-31");
  EXPECT_FALSE(env->has_created_at());  // Stamped by the submitting adapter.
}

TEST(FrDnpafFormat, AnyOffsetIsAccepted) {
  absl::StatusOr<v1::Envelope> env = Convert(Edit(kValid, {{R"("priorite": "NORMALE",)",
                                                            R"("priorite": "NORMALE", )"
                                                            R"("date_creation": "2026-05-01T23:30:00-04:00",)"}}));
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(FromProtoTime(env->created_at()), Utc(2026, 5, 2, 3, 30));
}

TEST(FrDnpafFormat, WrongTypeIsLocated) {
  EXPECT_EQ(ErrorWith({{R"("longueur_m": 7)", R"("longueur_m": "7")"}}),
            "bad.json:10:70: traversee.embarcation.longueur_m: must be a number, not a string");
  EXPECT_EQ(ErrorWith({{R"("resume": "Signalement de test invente.")", R"("resume": 12)"}}),
            "bad.json:12:13: resume: must be a string, not a number");
}

TEST(FrDnpafFormat, MissingRequiredFieldIsLocated) {
  EXPECT_EQ(ErrorWith({{"  \"officier\": \"DNPAF-OPJ-0001\",\n", ""}}), "bad.json:1:1: officier: required");
  EXPECT_EQ(ErrorWith({{R"(, "role": "PASSAGER")", ""}}), "bad.json:11:17: personnes[0].role: required");
}

TEST(FrDnpafFormat, UnknownKeyIsLocated) {
  EXPECT_EQ(ErrorWith({{R"("role": "PASSAGER")", R"("role": "PASSAGER", "couleur": "rouge")"}}),
            "bad.json:11:114: personnes[0].couleur: unknown field");
}

TEST(FrDnpafFormat, BadEnumIsLocated) {
  EXPECT_EQ(ErrorWith({{R"("NON PROTEGE")", R"("CONFIDENTIEL DEFENSE")"}}),
            "bad.json:7:15: marquage: must be one of \"NON PROTEGE\", \"DIFFUSION RESTREINTE\", \"SECRET\", "
            "not \"CONFIDENTIEL DEFENSE\"");
  EXPECT_EQ(ErrorWith({{R"("PASSAGER")", R"("PASSENGER")"}}),
            "bad.json:11:102: personnes[0].role: must be one of \"PASSAGER\", \"PILOTE\", \"PASSEUR\", \"TEMOIN\", "
            "\"SUJET\", \"RETOURNE\", not \"PASSENGER\"");
}

TEST(FrDnpafFormat, ImpossibleDateIsLocated) {
  EXPECT_EQ(ErrorWith({{"31/01/2000", "31/02/1997"}}),
            "bad.json:11:80: personnes[0].date_naissance: must be a date JJ/MM/AAAA that exists, not \"31/02/1997\"");
  // The envelope's ISO spelling is not the native one.
  EXPECT_EQ(ErrorWith({{"31/01/2000", "2000-01-31"}}),
            "bad.json:11:80: personnes[0].date_naissance: must be a date JJ/MM/AAAA that exists, not \"2000-01-31\"");
}

TEST(FrDnpafFormat, EveryProblemIsReported) {
  const std::string message = ErrorWith({{R"("longueur_m": 7)", R"("longueur_m": -3)"},
                                           {R"("AFG")", R"("Afghan")"},
                                         {R"("NORMALE")", R"("BIENTOT")"},
                                         {"31/01/2000", "30/02/2000"},
                                         {R"(  "numero_procedure")", R"(  "numero_affaire")"}});
  EXPECT_EQ(message,
            "bad.json:4:3: numero_affaire: unknown field\n"
            "bad.json:1:1: numero_procedure: required\n"
            "bad.json:8:15: priorite: must be one of \"NORMALE\", \"URGENTE\", \"IMMEDIATE\", not \"BIENTOT\"\n"
            "bad.json:10:70: traversee.embarcation.longueur_m: must be between 0 and 1000\n"
            "bad.json:11:83: personnes[0].date_naissance: must be a date JJ/MM/AAAA that exists, not \"30/02/2000\"\n"
            "bad.json:11:55: personnes[0].nationalite: must be an ISO 3166-1 alpha-3 code such as \"IRQ\", or "
            "\"XXX\" if unknown");
}

TEST(FrDnpafFormat, BodyKeysBelongToTheirRecordType) {
  EXPECT_EQ(ErrorWith({{R"("resume")", R"("question": "Qui ?", "resume")"}}),
            "bad.json:12:15: question: not allowed in a SIGNALEMENT record");
  EXPECT_EQ(ErrorWith({{R"("SIGNALEMENT")", R"("RAPPORT")"}}),
            "bad.json:2:19: type_message: must be one of \"SIGNALEMENT\", \"RENSEIGNEMENT\", \"DEMANDE_INFORMATION\", "
            "\"REPONSE\", not \"RAPPORT\"");
}

TEST(FrDnpafFormat, ReplyNeedsItsCorrelationAndIntelligenceItsGrading) {
  // kValid without its SIGNALEMENT-only keys.
  const std::string common = Edit(kValid, {{kTraverseeLine, ""}, {kActionLine, ""}});

  const std::string reply = Edit(common, {{R"("SIGNALEMENT")", R"("REPONSE")"}, {R"("resume")", R"("reponse")"}});
  EXPECT_EQ(ErrorOf(reply), "bad.json:1:1: en_reponse_a: required");
  EXPECT_TRUE(Convert(Edit(reply, {{R"("numero_procedure")", R"("en_reponse_a": "BF-REF-1", "numero_procedure")"}}))
                  .ok());

  const std::string intel = Edit(common, {{R"("SIGNALEMENT")", R"("RENSEIGNEMENT")"}});
  EXPECT_EQ(ErrorOf(intel),
            "bad.json:1:1: cotation_uk: required in a RENSEIGNEMENT record unless evaluation_europol is given");
  const std::string graded =
      Edit(intel, {{R"("resume")", R"("evaluation_europol": {"source": "X", "accuracy": "4"}, "resume")"}});
  EXPECT_TRUE(Convert(graded).ok()) << Convert(graded).status();
}

TEST(FrDnpafFormat, ConditionsRequiredWithHandlingC) {
  EXPECT_EQ(ErrorWith({{R"("resume")",
                        R"("cotation_uk": {"source": "1", "intelligence": "A", "handling": "C"}, "resume")"}}),
            "bad.json:12:18: cotation_uk.conditions: required when handling is \"C\"");
}

TEST(FrDnpafFormat, FromEnvelopeRefusesUnexpressibleClassifications) {
  v1::Envelope env = testing::RandomEnvelope(testing::BodyKind::kResponse, 1);
  env.set_classification(v1::TOP_SECRET);
  EXPECT_THAT(FromEnvelopeError(env), StartsWith("classification: TOP_SECRET has no French marking"));
  env.set_classification(v1::CLASSIFICATION_UNSPECIFIED);
  EXPECT_THAT(FromEnvelopeError(env), StartsWith("classification: CLASSIFICATION_UNSPECIFIED has no French marking"));
}

TEST(FrDnpafFormat, FromEnvelopeRefusesMissingRequiredText) {
  v1::Envelope referral = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 2);
  referral.mutable_case_referral()->clear_summary();
  EXPECT_EQ(FromEnvelopeError(referral), "case_referral.summary: required (resume)");
  referral = testing::RandomEnvelope(testing::BodyKind::kCaseReferral, 2);
  referral.mutable_case_referral()->clear_requested_action();
  EXPECT_EQ(FromEnvelopeError(referral), "case_referral.requested_action: required (action_demandee)");

  v1::Envelope intel = testing::RandomEnvelope(testing::BodyKind::kIntelligenceReport, 3);
  intel.mutable_intelligence_report()->clear_summary();
  EXPECT_EQ(FromEnvelopeError(intel), "intelligence_report.summary: required (resume)");

  v1::Envelope rfi = testing::RandomEnvelope(testing::BodyKind::kRequestForInformation, 4);
  rfi.mutable_request_for_information()->clear_question();
  EXPECT_EQ(FromEnvelopeError(rfi), "request_for_information.question: required (question)");

  v1::Envelope reply = testing::RandomEnvelope(testing::BodyKind::kResponse, 5);
  reply.mutable_response()->clear_answer();
  EXPECT_EQ(FromEnvelopeError(reply), "response.answer: required (reponse)");
  reply = testing::RandomEnvelope(testing::BodyKind::kResponse, 5);
  reply.clear_correlation_id();
  EXPECT_THAT(FromEnvelopeError(reply), StartsWith("correlation_id: required on a response (en_reponse_a)"));
  reply = testing::RandomEnvelope(testing::BodyKind::kResponse, 5);
  reply.mutable_justification()->clear_legal_basis();
  EXPECT_EQ(FromEnvelopeError(reply), "justification.legal_basis: required (base_legale)");
  reply.clear_response();
  EXPECT_THAT(FromEnvelopeError(reply), StartsWith("body: required"));
}

TEST(FrDnpafFormat, FromEnvelopeRefusesWhatCannotReadBack) {
  v1::Envelope env = testing::RandomEnvelope(testing::BodyKind::kResponse, 6);
  v1::Person* p = env.mutable_response()->add_subjects();
  p->set_family_name("Examplenom");
  p->set_role(v1::SUBJECT);
  p->set_date_of_birth("1997-02-31");
  const std::string field = absl::StrCat("response.subjects[", env.response().subjects_size() - 1, "]");
  EXPECT_EQ(FromEnvelopeError(env), field + ".date_of_birth: must be a date YYYY-MM-DD that exists");
  p->clear_date_of_birth();
  p->clear_role();
  EXPECT_THAT(FromEnvelopeError(env), StartsWith(field + ".role: required"));

  v1::Envelope intel = testing::RandomEnvelope(testing::BodyKind::kIntelligenceReport, 7);
  intel.clear_uk_grading();
  intel.clear_europol_evaluation();
  EXPECT_EQ(FromEnvelopeError(intel),
            "uk_grading: required on an intelligence report unless europol_evaluation is set");
}

}  // namespace
}  // namespace portcullis::adapters::fr_dnpaf
