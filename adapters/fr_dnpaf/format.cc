#include "adapters/fr_dnpaf/format.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/timestamp.pb.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "adapters/common/native_util.h"

namespace portcullis::adapters::fr_dnpaf {
namespace {

using google::protobuf::RepeatedPtrField;

// Record types ("type_message"), in the order of the envelope's body oneof.
enum RecordType : size_t { kSignalement = 0, kRenseignement = 1, kDemande = 2, kReponse = 3 };
const std::initializer_list<std::string_view> kRecordTypes = {"SIGNALEMENT", "RENSEIGNEMENT", "DEMANDE_INFORMATION",
                                                              "REPONSE"};
// Native spellings, indexed like the proto enums they map to (index + 1).
const std::initializer_list<std::string_view> kMarkings = {"NON PROTEGE", "DIFFUSION RESTREINTE", "SECRET"};
const std::initializer_list<std::string_view> kPriorities = {"NORMALE", "URGENTE", "IMMEDIATE"};
const std::initializer_list<std::string_view> kRoles = {"PASSAGER", "PILOTE", "PASSEUR", "TEMOIN", "SUJET", "RETOURNE"};
// acces_direct: index 1 is true.
const std::initializer_list<std::string_view> kYesNo = {"NON", "OUI"};

// Every key a record may have; which body keys a record type may use is in kBodyKeys.
const std::initializer_list<std::string_view> kRootKeys = {
    "type_message", "reference_message", "en_reponse_a", "numero_procedure", "emetteur", "officier",
    "destinataires", "date_creation", "marquage", "priorite", "base_legale", "finalite", "cotation_uk",
    "evaluation_europol", "resume", "action_demandee", "traversee", "passeurs_presumes", "personnes",
    "embarcations", "itineraires", "renseignements_financiers", "question", "acces_direct",
    "reponse_attendue_avant", "reponse", "pieces_jointes"};

constexpr unsigned kAllTypes = 0xF;
constexpr unsigned Bit(RecordType t) { return 1u << t; }

// Body keys and the record types that may carry them.
struct BodyKey {
  std::string_view key;
  unsigned types;
};
constexpr BodyKey kBodyKeys[] = {
    {"resume", Bit(kSignalement) | Bit(kRenseignement)},
    {"action_demandee", Bit(kSignalement)},
    {"traversee", Bit(kSignalement)},
    {"passeurs_presumes", Bit(kSignalement)},
    {"personnes", kAllTypes},
    {"embarcations", Bit(kRenseignement)},
    {"itineraires", Bit(kRenseignement)},
    {"renseignements_financiers", Bit(kRenseignement)},
    {"question", Bit(kDemande)},
    {"acces_direct", Bit(kDemande)},
    {"reponse_attendue_avant", Bit(kDemande)},
    {"reponse", Bit(kReponse)},
};

constexpr int64_t kMaxPersonsOnBoard = 4294967295;  // uint32 in the envelope.
constexpr double kMaxLengthMetres = 1000;

std::string Spelling(std::initializer_list<std::string_view> list, size_t i) { return std::string(Nth(list, i)); }

// ---------------------------------------------------------------------------
// Dates of birth: JJ/MM/AAAA natively, YYYY-MM-DD in the envelope.
// ---------------------------------------------------------------------------

bool HasShape(const std::string& s, size_t size, std::initializer_list<size_t> separators, char separator) {
  if (s.size() != size) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool is_separator = false;
    for (size_t at : separators) is_separator = is_separator || at == i;
    if (is_separator ? s[i] != separator : !absl::ascii_isdigit(s[i])) return false;
  }
  return true;
}

// "YYYY-MM-DD" that exists (ParseCivilTime normalises 30 February to March).
bool IsIsoDate(const std::string& s) {
  absl::CivilDay day;
  return HasShape(s, 10, {4, 7}, '-') && absl::ParseCivilTime(s, &day) && absl::FormatCivilTime(day) == s;
}

std::optional<std::string> FrenchToIso(const std::string& s) {
  if (!HasShape(s, 10, {2, 5}, '/')) return std::nullopt;
  std::string iso = absl::StrCat(s.substr(6, 4), "-", s.substr(3, 2), "-", s.substr(0, 2));
  if (!IsIsoDate(iso)) return std::nullopt;
  return iso;
}

std::optional<std::string> IsoToFrench(const std::string& iso) {
  if (!IsIsoDate(iso)) return std::nullopt;
  return absl::StrCat(iso.substr(8, 2), "/", iso.substr(5, 2), "/", iso.substr(0, 4));
}

// ---------------------------------------------------------------------------
// Native -> envelope
// ---------------------------------------------------------------------------

std::optional<std::string> ReadFrenchDate(JsonReader& r, const JsonValue& object, std::string_view key) {
  std::optional<std::string> s = r.OptionalString(object, key);
  if (!s) return std::nullopt;
  std::optional<std::string> iso = FrenchToIso(*s);
  if (!iso) r.Add(r.Field(object, key), absl::StrCat("must be a date JJ/MM/AAAA that exists, not \"", *s, "\""));
  return iso;
}

std::optional<google::protobuf::Timestamp> ReadTime(JsonReader& r, const JsonValue& object, std::string_view key) {
  std::optional<absl::Time> t = r.Timestamp(object, key, false);
  if (!t) return std::nullopt;
  return ToProtoTime(*t);
}

void ReadPerson(JsonReader& r, const JsonValue& p, v1::Person* out) {
  if (!r.Object(p, {"nom", "prenoms", "date_naissance", "nationalite", "role", "documents", "alias"})) return;
  if (auto v = r.OptionalString(p, "nom")) out->set_family_name(*v);
  if (auto v = r.OptionalString(p, "prenoms")) out->set_given_names(*v);
  if (auto v = ReadFrenchDate(r, p, "date_naissance")) out->set_date_of_birth(*v);
  if (auto v = r.OptionalString(p, "nationalite")) {
    if (IsCountryCode(*v)) {
      out->set_nationality(*v);
    } else {
      r.Add(r.Field(p, "nationalite"), kCountryCodeRule);
    }
  }
  if (auto v = r.Enum(p, "role", true, kRoles)) out->set_role(static_cast<v1::PersonRole>(*v + 1));
  for (std::string& d : r.StringArray(p, "documents", false)) out->add_documents(std::move(d));
  for (std::string& a : r.StringArray(p, "alias", false)) out->add_aliases(std::move(a));
  if (!r.Field(p, "nom").present() && !r.Field(p, "prenoms").present() && !r.Field(p, "alias").present()) {
    r.Add(p, "needs nom, prenoms or alias");
  }
}

void ReadPersons(JsonReader& r, const JsonValue& root, std::string_view key, RepeatedPtrField<v1::Person>* out) {
  for (const JsonValue& p : r.Array(root, key, false)) ReadPerson(r, p, out->Add());
}

// False if `value` is absent or not an object.
bool ReadVessel(JsonReader& r, const JsonValue& value, v1::Vessel* out) {
  if (!r.Object(value, {"type", "nom", "immatriculation", "longueur_m", "moteur", "personnes_a_bord"})) return false;
  if (auto s = r.OptionalString(value, "type")) out->set_type(*s);
  if (auto s = r.OptionalString(value, "nom")) out->set_name(*s);
  if (auto s = r.OptionalString(value, "immatriculation")) out->set_registration(*s);
  if (auto d = r.Number(value, "longueur_m", false, 0, kMaxLengthMetres)) out->set_length_metres(*d);
  if (auto s = r.OptionalString(value, "moteur")) out->set_engine(*s);
  if (auto n = r.Integer(value, "personnes_a_bord", false, 0, kMaxPersonsOnBoard)) {
    out->set_persons_on_board(static_cast<uint32_t>(*n));
  }
  return true;
}

// False if `parent.key` is absent or not an object.
bool ReadPlace(JsonReader& r, const JsonValue& parent, std::string_view key, v1::Position* out) {
  const JsonValue place = r.Field(parent, key);
  if (!r.Object(place, {"latitude", "longitude", "description"})) return false;
  if (auto v = r.Number(place, "latitude", true, -90, 90)) out->set_latitude(*v);
  if (auto v = r.Number(place, "longitude", true, -180, 180)) out->set_longitude(*v);
  if (auto v = r.OptionalString(place, "description")) out->set_description(*v);
  return true;
}

void ReadCrossing(JsonReader& r, const JsonValue& root, v1::CaseReferral* referral) {
  const JsonValue t = r.Field(root, "traversee");
  if (!r.Object(t, {"heure_depart", "lieu_depart", "heure_interception", "lieu_interception", "embarcation"})) {
    return;
  }
  v1::Crossing* c = referral->mutable_crossing();
  std::optional<google::protobuf::Timestamp> departed = ReadTime(r, t, "heure_depart");
  std::optional<google::protobuf::Timestamp> intercepted = ReadTime(r, t, "heure_interception");
  if (departed) *c->mutable_departure_time() = *departed;
  if (intercepted) *c->mutable_interception_time() = *intercepted;
  if (departed && intercepted && FromProtoTime(*intercepted) < FromProtoTime(*departed)) {
    r.Add(r.Field(t, "heure_interception"), "must not be before heure_depart");
  }
  v1::Position place;
  if (ReadPlace(r, t, "lieu_depart", &place)) *c->mutable_departure_place() = place;
  place.Clear();
  if (ReadPlace(r, t, "lieu_interception", &place)) *c->mutable_interception_place() = place;
  v1::Vessel vessel;
  if (ReadVessel(r, r.Field(t, "embarcation"), &vessel)) *c->mutable_vessel() = vessel;
}

void ReadSignalement(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::CaseReferral* b = env->mutable_case_referral();
  if (auto v = r.RequiredString(root, "resume")) b->set_summary(*v);
  if (auto v = r.RequiredString(root, "action_demandee")) b->set_requested_action(*v);
  ReadCrossing(r, root, b);
  ReadPersons(r, root, "personnes", b->mutable_persons());
  ReadPersons(r, root, "passeurs_presumes", b->mutable_suspected_facilitators());
}

void ReadRenseignement(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::IntelligenceReport* b = env->mutable_intelligence_report();
  if (auto v = r.RequiredString(root, "resume")) b->set_summary(*v);
  ReadPersons(r, root, "personnes", b->mutable_subjects());
  for (const JsonValue& v : r.Array(root, "embarcations", false)) ReadVessel(r, v, b->add_vessels());
  for (std::string& route : r.StringArray(root, "itineraires", false)) b->add_routes(std::move(route));
  if (auto v = r.OptionalString(root, "renseignements_financiers")) b->set_financial(*v);
  if (!r.Field(root, "cotation_uk").present() && !r.Field(root, "evaluation_europol").present()) {
    r.Add(r.Field(root, "cotation_uk"), "required in a RENSEIGNEMENT record unless evaluation_europol is given");
  }
}

void ReadDemande(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::RequestForInformation* b = env->mutable_request_for_information();
  if (auto v = r.RequiredString(root, "question")) b->set_question(*v);
  ReadPersons(r, root, "personnes", b->mutable_subjects());
  if (auto v = r.Enum(root, "acces_direct", false, kYesNo)) b->set_directly_accessible(*v == 1);
  if (auto t = ReadTime(r, root, "reponse_attendue_avant")) *b->mutable_answer_by() = *t;
}

void ReadReponse(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::Response* b = env->mutable_response();
  if (auto v = r.RequiredString(root, "reponse")) b->set_answer(*v);
  ReadPersons(r, root, "personnes", b->mutable_subjects());
}

using BodyReader = void (*)(JsonReader&, const JsonValue&, v1::Envelope*);
constexpr BodyReader kBodyReaders[] = {ReadSignalement, ReadRenseignement, ReadDemande, ReadReponse};

// A body key of another record type is a problem at its value.
void RefuseForeignBodyKeys(JsonReader& r, const JsonValue& root, size_t type) {
  for (const BodyKey& k : kBodyKeys) {
    const JsonValue v = r.Field(root, k.key);
    if (v.present() && (k.types & (1u << type)) == 0) {
      r.Add(v, absl::StrCat("not allowed in a ", Spelling(kRecordTypes, type), " record"));
    }
  }
}

void ReadHeader(JsonReader& r, const JsonValue& root, std::optional<size_t> type, v1::Envelope* env) {
  if (auto v = ReadMessageId(r, root, "reference_message", true)) env->set_message_id(*v);
  if (auto v = ReadMessageId(r, root, "en_reponse_a", type == kReponse)) env->set_correlation_id(*v);
  if (auto v = ReadMessageId(r, root, "numero_procedure", true)) env->set_case_reference(*v);
  if (auto v = r.OptionalString(root, "emetteur")) env->set_sender(*v);
  if (auto v = r.RequiredString(root, "officier")) env->set_originating_officer(*v);
  for (std::string& d : r.StringArray(root, "destinataires", true)) env->add_recipients(std::move(d));
  if (auto t = ReadTime(r, root, "date_creation")) *env->mutable_created_at() = *t;
  if (auto v = r.Enum(root, "marquage", true, kMarkings)) {
    env->set_classification(static_cast<v1::Classification>(*v + 1));
  }
  if (auto v = r.Enum(root, "priorite", true, kPriorities)) env->set_priority(static_cast<v1::Priority>(*v + 1));
  if (auto v = r.RequiredString(root, "base_legale")) env->mutable_justification()->set_legal_basis(*v);
  if (auto v = r.OptionalString(root, "finalite")) env->mutable_justification()->set_purpose(*v);
  ReadUkGrading(r, root, "cotation_uk", env);
  ReadEuropolEvaluation(r, root, "evaluation_europol", env);
  ReadAttachments(r, root, "pieces_jointes", env);
}

absl::StatusOr<v1::Envelope> ToEnvelopeImpl(const JsonDoc& doc) {
  JsonReader r(doc);
  const JsonValue root = r.Root();
  v1::Envelope env;
  if (r.Object(root, kRootKeys)) {
    const std::optional<size_t> type = r.Enum(root, "type_message", true, kRecordTypes);
    ReadHeader(r, root, type, &env);
    if (type) {
      RefuseForeignBodyKeys(r, root, *type);
      kBodyReaders[*type](r, root, &env);
    }
  }
  if (absl::Status s = r.status(); !s.ok()) return s;
  return env;
}

// ---------------------------------------------------------------------------
// Envelope -> native. A problem names the envelope field ("field: rule").
// ---------------------------------------------------------------------------

absl::Status Invalid(std::string_view field, std::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", std::string(rule)));
}

// One condition an envelope must meet to be written natively.
struct Check {
  bool ok;
  std::string field;
  std::string rule;
};

absl::Status FirstFailure(std::initializer_list<Check> checks) {
  for (const Check& c : checks) {
    if (!c.ok) return Invalid(c.field, c.rule);
  }
  return absl::OkStatus();
}

bool InRange(double v, double lo, double hi) { return v >= lo && v <= hi; }  // False for NaN.

void SetIf(JsonOut& out, std::string_view key, const std::string& value) {
  if (!value.empty()) out.Set(std::string(key), JsonOut::String(value));
}

void SetTime(JsonOut& out, std::string_view key, bool has, const google::protobuf::Timestamp& t) {
  if (has) out.Set(std::string(key), JsonOut::String(FormatProtoTime(t)));
}

// Required text: INVALID_ARGUMENT naming `field` (and the native key) if empty.
absl::Status SetRequired(JsonOut& out, std::string_view key, const std::string& value, std::string_view field) {
  if (value.empty()) return Invalid(field, absl::StrCat("required (", std::string(key), ")"));
  out.Set(std::string(key), JsonOut::String(value));
  return absl::OkStatus();
}

// A list of non-empty strings (an empty one would not read back).
absl::Status SetStrings(JsonOut& out, std::string_view key, const RepeatedPtrField<std::string>& list,
                        const std::string& field) {
  for (int i = 0; i < list.size(); ++i) {
    if (list.Get(i).empty()) return Invalid(absl::StrCat(field, "[", i, "]"), "must not be empty");
  }
  if (!list.empty()) out.Set(std::string(key), StringsJson(list));
  return absl::OkStatus();
}

absl::StatusOr<JsonOut> PersonJson(const v1::Person& p, const std::string& field) {
  std::optional<std::string> dob = IsoToFrench(p.date_of_birth());
  const int role = static_cast<int>(p.role());
  if (absl::Status s = FirstFailure({
          {p.date_of_birth().empty() || dob.has_value(), field + ".date_of_birth",
           "must be a date YYYY-MM-DD that exists"},
          {p.nationality().empty() || IsCountryCode(p.nationality()), field + ".nationality", kCountryCodeRule},
          {role >= 1 && role <= static_cast<int>(kRoles.size()), field + ".role",
           "required: PASSENGER, PILOT, FACILITATOR, WITNESS, SUBJECT or RETURNEE"},
          {!p.family_name().empty() || !p.given_names().empty() || !p.aliases().empty(), field,
           "needs family_name, given_names or aliases"},
      });
      !s.ok()) {
    return s;
  }
  JsonOut out = JsonOut::Object();
  SetIf(out, "nom", p.family_name());
  SetIf(out, "prenoms", p.given_names());
  if (dob) out.Set("date_naissance", JsonOut::String(*dob));
  SetIf(out, "nationalite", p.nationality());
  out.Set("role", JsonOut::String(Spelling(kRoles, static_cast<size_t>(role - 1))));
  if (absl::Status s = SetStrings(out, "documents", p.documents(), field + ".documents"); !s.ok()) return s;
  if (absl::Status s = SetStrings(out, "alias", p.aliases(), field + ".aliases"); !s.ok()) return s;
  return out;
}

absl::Status SetPersons(JsonOut& out, std::string_view key, const RepeatedPtrField<v1::Person>& persons,
                        const std::string& field) {
  return SetArray(out, key, persons, field, PersonJson);
}

absl::StatusOr<JsonOut> VesselJson(const v1::Vessel& v, const std::string& field) {
  if (!InRange(v.length_metres(), 0, kMaxLengthMetres)) {
    return Invalid(field + ".length_metres", absl::StrCat("must be between 0 and ", kMaxLengthMetres));
  }
  JsonOut out = JsonOut::Object();
  SetIf(out, "type", v.type());
  SetIf(out, "nom", v.name());
  SetIf(out, "immatriculation", v.registration());
  if (v.length_metres() != 0) out.Set("longueur_m", JsonOut::Number(v.length_metres()));
  SetIf(out, "moteur", v.engine());
  if (v.persons_on_board() != 0) out.Set("personnes_a_bord", JsonOut::Integer(v.persons_on_board()));
  return out;
}

absl::StatusOr<JsonOut> PlaceJson(const v1::Position& p, const std::string& field) {
  if (absl::Status s =
          FirstFailure({{InRange(p.latitude(), -90, 90), field + ".latitude", "must be between -90 and 90"},
                        {InRange(p.longitude(), -180, 180), field + ".longitude", "must be between -180 and 180"}});
      !s.ok()) {
    return s;
  }
  JsonOut out = JsonOut::Object();
  out.Set("latitude", JsonOut::Number(p.latitude())).Set("longitude", JsonOut::Number(p.longitude()));
  SetIf(out, "description", p.description());
  return out;
}

// Sets `key` to `part`, or passes on its failure.
absl::Status SetObject(JsonOut& out, std::string_view key, absl::StatusOr<JsonOut> part) {
  if (!part.ok()) return part.status();
  out.Set(std::string(key), *std::move(part));
  return absl::OkStatus();
}

absl::Status SetPlace(JsonOut& out, std::string_view key, bool has, const v1::Position& p, const std::string& field) {
  return has ? SetObject(out, key, PlaceJson(p, field)) : absl::OkStatus();
}

absl::StatusOr<JsonOut> CrossingJson(const v1::Crossing& c) {
  const std::string field = "case_referral.crossing";
  if (c.has_departure_time() && c.has_interception_time() &&
      FromProtoTime(c.interception_time()) < FromProtoTime(c.departure_time())) {
    return Invalid(field + ".interception_time", "must not be before departure_time");
  }
  JsonOut out = JsonOut::Object();
  SetTime(out, "heure_depart", c.has_departure_time(), c.departure_time());
  absl::Status s =
      SetPlace(out, "lieu_depart", c.has_departure_place(), c.departure_place(), field + ".departure_place");
  SetTime(out, "heure_interception", c.has_interception_time(), c.interception_time());
  if (s.ok()) {
    s = SetPlace(out, "lieu_interception", c.has_interception_place(), c.interception_place(),
                 field + ".interception_place");
  }
  if (s.ok() && c.has_vessel()) s = SetObject(out, "embarcation", VesselJson(c.vessel(), field + ".vessel"));
  if (!s.ok()) return s;
  return out;
}

absl::Status WriteSignalement(const v1::Envelope& env, JsonOut& out) {
  const v1::CaseReferral& b = env.case_referral();
  absl::Status s = SetRequired(out, "resume", b.summary(), "case_referral.summary");
  if (s.ok()) s = SetRequired(out, "action_demandee", b.requested_action(), "case_referral.requested_action");
  if (s.ok() && b.has_crossing()) s = SetObject(out, "traversee", CrossingJson(b.crossing()));
  if (s.ok()) s = SetPersons(out, "personnes", b.persons(), "case_referral.persons");
  if (s.ok()) {
    s = SetPersons(out, "passeurs_presumes", b.suspected_facilitators(), "case_referral.suspected_facilitators");
  }
  return s;
}

absl::Status WriteRenseignement(const v1::Envelope& env, JsonOut& out) {
  const v1::IntelligenceReport& b = env.intelligence_report();
  if (!env.has_uk_grading() && !env.has_europol_evaluation()) {
    return Invalid("uk_grading", "required on an intelligence report unless europol_evaluation is set");
  }
  absl::Status s = SetRequired(out, "resume", b.summary(), "intelligence_report.summary");
  if (s.ok()) s = SetPersons(out, "personnes", b.subjects(), "intelligence_report.subjects");
  if (!s.ok()) return s;
  if (!b.vessels().empty()) {
    JsonOut vessels = JsonOut::Array();
    for (int i = 0; i < b.vessels_size(); ++i) {
      absl::StatusOr<JsonOut> v = VesselJson(b.vessels(i), absl::StrCat("intelligence_report.vessels[", i, "]"));
      if (!v.ok()) return v.status();
      vessels.Push(*std::move(v));
    }
    out.Set("embarcations", std::move(vessels));
  }
  s = SetStrings(out, "itineraires", b.routes(), "intelligence_report.routes");
  SetIf(out, "renseignements_financiers", b.financial());
  return s;
}

absl::Status WriteDemande(const v1::Envelope& env, JsonOut& out) {
  const v1::RequestForInformation& b = env.request_for_information();
  absl::Status s = SetRequired(out, "question", b.question(), "request_for_information.question");
  if (s.ok()) s = SetPersons(out, "personnes", b.subjects(), "request_for_information.subjects");
  out.Set("acces_direct", JsonOut::String(Spelling(kYesNo, b.directly_accessible() ? 1 : 0)));
  SetTime(out, "reponse_attendue_avant", b.has_answer_by(), b.answer_by());
  return s;
}

absl::Status WriteReponse(const v1::Envelope& env, JsonOut& out) {
  absl::Status s = SetRequired(out, "reponse", env.response().answer(), "response.answer");
  if (s.ok()) s = SetPersons(out, "personnes", env.response().subjects(), "response.subjects");
  return s;
}

using BodyWriter = absl::Status (*)(const v1::Envelope&, JsonOut&);
constexpr BodyWriter kBodyWriters[] = {WriteSignalement, WriteRenseignement, WriteDemande, WriteReponse};

absl::StatusOr<size_t> RecordTypeOf(const v1::Envelope& env) {
  if (std::optional<size_t> i = BodyIndex(env)) return *i;  // kSignalement..kReponse follow BodyIndex's order.
  return Invalid("body", "required: case_referral, intelligence_report, request_for_information or response");
}

// The grading blocks' own rules, checked before the shared writers (which
// would write a block their readers refuse).
absl::Status CheckGradings(const v1::Envelope& env) {
  const v1::UkGrading& g = env.uk_grading();
  const bool conditions = g.handling() == v1::UK_HANDLING_C_CONDITIONS;
  bool h3 = false, twice = false;
  unsigned seen = 0;
  for (int h : env.europol_evaluation().handling()) {
    h3 = h3 || h == v1::EUROPOL_HANDLING_H3;
    twice = twice || (h >= 0 && h < 32 && (seen & (1u << h)) != 0);
    if (h >= 0 && h < 32) seen |= 1u << h;
  }
  const std::string& restrictions = env.europol_evaluation().restrictions();
  return FirstFailure({
      {!env.has_uk_grading() || conditions == !g.handling_conditions().empty(), "uk_grading.handling_conditions",
       "required with handling C, and only then"},
      {!env.has_europol_evaluation() || h3 == !restrictions.empty(), "europol_evaluation.restrictions",
       "required with handling H3, and only then"},
      {!twice, "europol_evaluation.handling", "a handling code appears twice"},
  });
}

absl::Status WriteHeader(const v1::Envelope& env, size_t type, JsonOut& out) {
  const int marking = static_cast<int>(env.classification());
  const bool reply = type == kReponse;
  bool recipients_ok = !env.recipients().empty();
  for (const std::string& r : env.recipients()) recipients_ok = recipients_ok && !r.empty();
  if (absl::Status s = FirstFailure({
          {IsMessageId(env.message_id()), "message_id", kMessageIdRule},
          {env.correlation_id().empty() ? !reply : IsMessageId(env.correlation_id()), "correlation_id",
           reply ? absl::StrCat("required on a response (en_reponse_a); ", kMessageIdRule) : kMessageIdRule},
          {IsMessageId(env.case_reference()), "case_reference", kMessageIdRule},
          {!env.originating_officer().empty(), "originating_officer", "required (officier)"},
          {recipients_ok, "recipients", "at least one, none empty (destinataires)"},
          {marking >= 1 && marking <= static_cast<int>(kMarkings.size()), "classification",
           absl::StrCat(v1::Classification_Name(env.classification()),
                        " has no French marking: only OFFICIAL (NON PROTEGE), OFFICIAL_SENSITIVE (DIFFUSION "
                        "RESTREINTE) and SECRET can be written")},
          {v1::Priority_IsValid(env.priority()), "priority", "unknown value"},
          {!env.justification().legal_basis().empty(), "justification.legal_basis", "required (base_legale)"},
      });
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckGradings(env); !s.ok()) return s;
  out.Set("reference_message", JsonOut::String(env.message_id()));
  SetIf(out, "en_reponse_a", env.correlation_id());
  out.Set("numero_procedure", JsonOut::String(env.case_reference()));
  SetIf(out, "emetteur", env.sender());
  out.Set("officier", JsonOut::String(env.originating_officer()));
  out.Set("destinataires", StringsJson(env.recipients()));
  SetTime(out, "date_creation", env.has_created_at(), env.created_at());
  out.Set("marquage", JsonOut::String(Spelling(kMarkings, static_cast<size_t>(marking - 1))));
  // PRIORITY_UNSPECIFIED is ROUTINE to the gateway: written as NORMALE.
  const int priority = env.priority() == v1::PRIORITY_UNSPECIFIED ? v1::ROUTINE : env.priority();
  out.Set("priorite", JsonOut::String(Spelling(kPriorities, static_cast<size_t>(priority - 1))));
  out.Set("base_legale", JsonOut::String(env.justification().legal_basis()));
  SetIf(out, "finalite", env.justification().purpose());
  absl::Status s;
  if (env.has_uk_grading()) s = SetObject(out, "cotation_uk", UkGradingJson(env.uk_grading()));
  if (s.ok() && env.has_europol_evaluation()) {
    s = SetObject(out, "evaluation_europol", EuropolEvaluationJson(env.europol_evaluation()));
  }
  return s;
}

absl::Status CheckAttachments(const v1::Envelope& env) {
  for (int i = 0; i < env.attachments_size(); ++i) {
    const v1::Attachment& a = env.attachments(i);
    const std::string field = absl::StrCat("attachments[", i, "]");
    if (absl::Status s = FirstFailure({{!a.media_type().empty(), field + ".media_type", "required"},
                                       {Sha256Hex(a.content()) == a.sha256(), field + ".sha256",
                                        "must be the lower-case hex SHA-256 of the content"}});
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FromEnvelopeImpl(const v1::Envelope& env) {
  absl::StatusOr<size_t> type = RecordTypeOf(env);
  if (!type.ok()) return type.status();
  JsonOut out = JsonOut::Object();
  out.Set("type_message", JsonOut::String(Spelling(kRecordTypes, *type)));
  absl::Status s = WriteHeader(env, *type, out);
  if (s.ok()) s = kBodyWriters[*type](env, out);
  if (s.ok()) s = CheckAttachments(env);
  if (!s.ok()) return s;
  if (env.attachments_size() > 0) out.Set("pieces_jointes", AttachmentsJson(env.attachments()));
  return out.Dump();
}

}  // namespace

const NativeFormat& Format() {
  static const NativeFormat* const format =
      new FunctionFormat("fr_dnpaf",
                         "French border police (DNPAF) records: signalements, renseignements, demandes d'information, reponses",
                         ToEnvelopeImpl, FromEnvelopeImpl);
  return *format;
}

}  // namespace portcullis::adapters::fr_dnpaf
