#include "adapters/hoie/format.h"

#include <google/protobuf/repeated_field.h>
#include <google/protobuf/timestamp.pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "adapters/common/native_util.h"

namespace portcullis::adapters::hoie {
namespace {

using google::protobuf::RepeatedPtrField;
using google::protobuf::Timestamp;

// ---------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------

// Record types in the casework system's vocabulary, indexed like Kind.
enum Kind : size_t { kReferral = 0, kIntel = 1, kRfi = 2, kReply = 3 };
const std::initializer_list<std::string_view> kRecordTypes = {"RETURN_REFERRAL", "INTEL_REPORT", "RFI", "REPLY"};

// Native spellings, indexed like the proto enums they map to (index + 1).
const std::initializer_list<std::string_view> kMarkings = {"OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET"};
const std::initializer_list<std::string_view> kUrgencies = {"STANDARD", "URGENT", "IMMEDIATE"};
const std::initializer_list<std::string_view> kRoles = {"PASSENGER", "BOAT_PILOT",          "FACILITATOR",
                                                        "WITNESS",   "SUBJECT_OF_INTEREST", "RETURNEE"};
// The casework system's yes/no flag; the index is the boolean.
const std::initializer_list<std::string_view> kYesNo = {"N", "Y"};

// Every top-level key: the header keys (every record type), then each body
// key once (kBodyKeys says which record type may use which).
const std::initializer_list<std::string_view> kRootKeys = {
    // Header.
    "record_type", "message_ref", "related_message_ref", "casework_ref", "sending_party", "caseworker_id", "send_to",
    "date_created", "security_marking", "urgency", "lawful_basis", "necessity_statement", "nim_grading", "europol_eval",
    "enclosures",
    // Bodies.
    "referral_summary", "action_requested", "persons_concerned", "linked_facilitators", "arrival", "intel_summary",
    "subjects", "vessels", "routes", "financial_info", "rfi_question", "directly_accessible", "answer_by",
    "reply_text"};

// The body keys each record type may use, indexed like Kind.
constexpr std::string_view kReferralKeys[] = {"referral_summary", "action_requested", "persons_concerned",
                                              "linked_facilitators", "arrival"};
constexpr std::string_view kIntelKeys[] = {"intel_summary", "subjects", "vessels", "routes", "financial_info"};
constexpr std::string_view kRfiKeys[] = {"rfi_question", "subjects", "directly_accessible", "answer_by"};
constexpr std::string_view kReplyKeys[] = {"reply_text", "subjects"};
constexpr absl::Span<const std::string_view> kBodyKeys[] = {kReferralKeys, kIntelKeys, kRfiKeys, kReplyKeys};

constexpr double kMaxVesselLength = 500;
constexpr int64_t kMaxPersonsOnBoard = 10000;

// ---------------------------------------------------------------------------
// Reading (native -> envelope)
// ---------------------------------------------------------------------------

void ReadText(JsonReader& r, const JsonValue& object, std::string_view key, bool required, std::string* out) {
  std::optional<std::string> v = required ? r.RequiredString(object, key) : r.OptionalString(object, key);
  if (v) *out = *std::move(v);
}

void ReadId(JsonReader& r, const JsonValue& object, std::string_view key, bool required, std::string* out) {
  if (std::optional<std::string> v = ReadMessageId(r, object, key, required)) *out = *std::move(v);
}

void ReadTexts(JsonReader& r, const JsonValue& object, std::string_view key, bool required,
               RepeatedPtrField<std::string>* out) {
  for (std::string& s : r.StringArray(object, key, required)) out->Add(std::move(s));
}

std::optional<Timestamp> ReadTime(JsonReader& r, const JsonValue& object, std::string_view key) {
  std::optional<absl::Time> t = r.Timestamp(object, key, false);
  if (!t) return std::nullopt;
  return ToProtoTime(*t);
}

void ReadPerson(JsonReader& r, const JsonValue& p, v1::Person* out) {
  if (!r.Object(p, {"forenames", "surname", "date_of_birth", "nationality_code", "person_role", "identity_documents",
                    "known_aliases"})) {
    return;
  }
  ReadText(r, p, "forenames", false, out->mutable_given_names());
  ReadText(r, p, "surname", false, out->mutable_family_name());
  if (std::optional<std::string> v = r.Date(p, "date_of_birth", false)) out->set_date_of_birth(*v);
  if (std::optional<std::string> v = r.OptionalString(p, "nationality_code")) {
    if (IsCountryCode(*v)) {
      out->set_nationality(*v);
    } else {
      r.Add(r.Field(p, "nationality_code"), kCountryCodeRule);
    }
  }
  if (std::optional<size_t> v = r.Enum(p, "person_role", true, kRoles)) {
    out->set_role(static_cast<v1::PersonRole>(*v + 1));
  }
  ReadTexts(r, p, "identity_documents", false, out->mutable_documents());
  ReadTexts(r, p, "known_aliases", false, out->mutable_aliases());
  if (!r.Field(p, "forenames").present() && !r.Field(p, "surname").present() &&
      !r.Field(p, "known_aliases").present()) {
    r.Add(p, "needs forenames, surname or known_aliases");
  }
}

void ReadPersons(JsonReader& r, const JsonValue& object, std::string_view key, RepeatedPtrField<v1::Person>* out) {
  for (const JsonValue& p : r.Array(object, key, false)) ReadPerson(r, p, out->Add());
}

std::optional<v1::Position> ReadPlace(JsonReader& r, const JsonValue& parent, std::string_view key) {
  const JsonValue place = r.Field(parent, key);
  if (!r.Object(place, {"latitude", "longitude", "location_text"})) return std::nullopt;
  v1::Position out;
  if (std::optional<double> v = r.Number(place, "latitude", true, -90, 90)) out.set_latitude(*v);
  if (std::optional<double> v = r.Number(place, "longitude", true, -180, 180)) out.set_longitude(*v);
  ReadText(r, place, "location_text", false, out.mutable_description());
  return out;
}

void ReadVessel(JsonReader& r, const JsonValue& vessel, v1::Vessel* out) {
  if (!r.Object(vessel, {"vessel_type", "vessel_name", "vessel_reg", "length_metres", "engine_desc", "pob"})) return;
  ReadText(r, vessel, "vessel_type", false, out->mutable_type());
  ReadText(r, vessel, "vessel_name", false, out->mutable_name());
  ReadText(r, vessel, "vessel_reg", false, out->mutable_registration());
  if (std::optional<double> v = r.Number(vessel, "length_metres", false, 0.1, kMaxVesselLength)) {
    out->set_length_metres(*v);
  }
  ReadText(r, vessel, "engine_desc", false, out->mutable_engine());
  if (std::optional<int64_t> v = r.Integer(vessel, "pob", false, 0, kMaxPersonsOnBoard)) {
    out->set_persons_on_board(static_cast<uint32_t>(*v));
  }
}

void ReadArrival(JsonReader& r, const JsonValue& root, v1::CaseReferral* out) {
  const JsonValue arrival = r.Field(root, "arrival");
  if (!r.Object(arrival, {"embarked_at", "embarkation_point", "detected_at", "detection_point", "vessel"})) return;
  v1::Crossing* c = out->mutable_crossing();
  if (std::optional<Timestamp> t = ReadTime(r, arrival, "embarked_at")) *c->mutable_departure_time() = *t;
  if (std::optional<v1::Position> p = ReadPlace(r, arrival, "embarkation_point")) *c->mutable_departure_place() = *p;
  if (std::optional<Timestamp> t = ReadTime(r, arrival, "detected_at")) *c->mutable_interception_time() = *t;
  if (std::optional<v1::Position> p = ReadPlace(r, arrival, "detection_point")) {
    *c->mutable_interception_place() = *p;
  }
  const JsonValue vessel = r.Field(arrival, "vessel");
  if (vessel.present()) ReadVessel(r, vessel, c->mutable_vessel());
}

void ReadHeader(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  ReadId(r, root, "message_ref", true, env->mutable_message_id());
  ReadId(r, root, "related_message_ref", false, env->mutable_correlation_id());
  ReadId(r, root, "casework_ref", true, env->mutable_case_reference());
  ReadText(r, root, "sending_party", false, env->mutable_sender());
  ReadId(r, root, "caseworker_id", true, env->mutable_originating_officer());
  ReadTexts(r, root, "send_to", true, env->mutable_recipients());
  if (std::optional<Timestamp> t = ReadTime(r, root, "date_created")) *env->mutable_created_at() = *t;
  if (std::optional<size_t> v = r.Enum(root, "security_marking", true, kMarkings)) {
    env->set_classification(static_cast<v1::Classification>(*v + 1));
  }
  if (std::optional<size_t> v = r.Enum(root, "urgency", true, kUrgencies)) {
    env->set_priority(static_cast<v1::Priority>(*v + 1));
  }
  ReadText(r, root, "lawful_basis", true, env->mutable_justification()->mutable_legal_basis());
  ReadText(r, root, "necessity_statement", false, env->mutable_justification()->mutable_purpose());
  ReadUkGrading(r, root, "nim_grading", env);
  ReadEuropolEvaluation(r, root, "europol_eval", env);
  ReadAttachments(r, root, "enclosures", env);
}

// A problem for every body key of another record type (each key once).
void RefuseForeignKeys(JsonReader& r, const JsonValue& root, Kind kind) {
  const absl::Span<const std::string_view> own = kBodyKeys[kind];
  std::set<std::string_view> seen(own.begin(), own.end());
  for (absl::Span<const std::string_view> keys : kBodyKeys) {
    for (std::string_view key : keys) {
      if (!seen.insert(key).second) continue;
      const JsonValue v = r.Field(root, key);
      if (v.present()) {
        r.Add(v, absl::StrCat("not used when record_type is \"", std::string(Nth(kRecordTypes, kind)), "\""));
      }
    }
  }
}

void ReadReferral(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::CaseReferral* b = env->mutable_case_referral();
  ReadText(r, root, "referral_summary", true, b->mutable_summary());
  ReadText(r, root, "action_requested", true, b->mutable_requested_action());
  ReadPersons(r, root, "persons_concerned", b->mutable_persons());
  ReadPersons(r, root, "linked_facilitators", b->mutable_suspected_facilitators());
  ReadArrival(r, root, b);
}

void ReadIntel(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::IntelligenceReport* b = env->mutable_intelligence_report();
  ReadText(r, root, "intel_summary", true, b->mutable_summary());
  ReadPersons(r, root, "subjects", b->mutable_subjects());
  for (const JsonValue& v : r.Array(root, "vessels", false)) ReadVessel(r, v, b->add_vessels());
  ReadTexts(r, root, "routes", false, b->mutable_routes());
  ReadText(r, root, "financial_info", false, b->mutable_financial());
  if (!r.Field(root, "nim_grading").present() && !r.Field(root, "europol_eval").present()) {
    r.Add(r.Field(root, "nim_grading"), "required in an INTEL_REPORT unless europol_eval is given");
  }
}

void ReadRfi(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::RequestForInformation* b = env->mutable_request_for_information();
  ReadText(r, root, "rfi_question", true, b->mutable_question());
  ReadPersons(r, root, "subjects", b->mutable_subjects());
  if (std::optional<size_t> v = r.Enum(root, "directly_accessible", true, kYesNo)) {
    b->set_directly_accessible(*v == 1);
  }
  if (std::optional<Timestamp> t = ReadTime(r, root, "answer_by")) *b->mutable_answer_by() = *t;
}

void ReadReply(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::Response* b = env->mutable_response();
  ReadText(r, root, "reply_text", true, b->mutable_answer());
  ReadPersons(r, root, "subjects", b->mutable_subjects());
  if (!r.Field(root, "related_message_ref").present()) {
    r.Add(r.Field(root, "related_message_ref"), "required in a REPLY record");
  }
}

using BodyReader = void (*)(JsonReader&, const JsonValue&, v1::Envelope*);
constexpr BodyReader kBodyReaders[] = {ReadReferral, ReadIntel, ReadRfi, ReadReply};

absl::StatusOr<v1::Envelope> ToEnvelopeImpl(const JsonDoc& doc) {
  JsonReader r(doc);
  const JsonValue root = r.Root();
  v1::Envelope env;
  if (r.Object(root, kRootKeys)) {
    ReadHeader(r, root, &env);
    if (std::optional<size_t> kind = r.Enum(root, "record_type", true, kRecordTypes)) {
      RefuseForeignKeys(r, root, static_cast<Kind>(*kind));
      kBodyReaders[*kind](r, root, &env);
    }
  }
  PORTCULLIS_RETURN_IF_ERROR(r.status());
  return env;
}

// ---------------------------------------------------------------------------
// Writing (envelope -> native). Anything a native record could not hold, or
// that ToEnvelope would refuse, is refused here naming the envelope field.
// ---------------------------------------------------------------------------

absl::Status Refuse(const std::string& field, const std::string& rule) {
  return absl::InvalidArgumentError(field + ": " + rule);
}

absl::Status FirstError(std::initializer_list<absl::Status> checks) {
  for (const absl::Status& s : checks) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Required(const std::string& field, const std::string& value) {
  return value.empty() ? Refuse(field, "required in a HOIE record") : absl::OkStatus();
}

absl::Status CheckId(const std::string& field, const std::string& value, bool required) {
  if (value.empty()) return required ? Required(field, value) : absl::OkStatus();
  return IsMessageId(value) ? absl::OkStatus() : Refuse(field, kMessageIdRule);
}

absl::Status CheckRange(const std::string& field, double value, double lo, double hi) {
  if (value >= lo && value <= hi) return absl::OkStatus();
  return Refuse(field, absl::StrCat("must be between ", lo, " and ", hi));
}

bool IsRealDate(const std::string& s) {
  absl::CivilDay day;
  return s.size() == 10 && s[4] == '-' && s[7] == '-' && absl::ParseCivilTime(s, &day) &&
         absl::FormatCivilTime(day) == s;
}

// The native spelling of a 1-based proto enum value, or nullopt if out of range.
std::optional<JsonOut> EnumJson(std::initializer_list<std::string_view> list, int value) {
  if (value < 1 || value > static_cast<int>(list.size())) return std::nullopt;
  return JsonOut::String(std::string(Nth(list, static_cast<size_t>(value - 1))));
}

void SetText(JsonOut& out, std::string key, const std::string& value) {
  if (!value.empty()) out.Set(std::move(key), JsonOut::String(value));
}

void SetTime(JsonOut& out, std::string key, bool has, const Timestamp& t) {
  if (has) out.Set(std::move(key), JsonOut::String(FormatProtoTime(t)));
}

// An array of non-empty strings, written only if non-empty.
absl::Status SetTexts(JsonOut& out, std::string key, const RepeatedPtrField<std::string>& list,
                      const std::string& path) {
  for (int i = 0; i < list.size(); ++i) {
    if (list.Get(i).empty()) return Refuse(absl::StrCat(path, "[", i, "]"), "must not be empty");
  }
  if (!list.empty()) out.Set(std::move(key), StringsJson(list));
  return absl::OkStatus();
}

// Sets `key` to `value`, or returns why there is no value.
absl::Status SetResult(JsonOut& out, std::string key, absl::StatusOr<JsonOut> value) {
  if (!value.ok()) return value.status();
  out.Set(std::move(key), *std::move(value));
  return absl::OkStatus();
}

absl::StatusOr<JsonOut> PersonJson(const v1::Person& p, const std::string& path) {
  if (p.given_names().empty() && p.family_name().empty() && p.aliases().empty()) {
    return Refuse(path, "needs given_names, family_name or aliases");
  }
  if (!p.nationality().empty() && !IsCountryCode(p.nationality())) {
    return Refuse(path + ".nationality", kCountryCodeRule);
  }
  if (!p.date_of_birth().empty() && !IsRealDate(p.date_of_birth())) {
    return Refuse(path + ".date_of_birth", "must be a date YYYY-MM-DD that exists");
  }
  std::optional<JsonOut> role = EnumJson(kRoles, p.role());
  if (!role) return Refuse(path + ".role", "required (a HOIE person_role)");
  JsonOut out = JsonOut::Object();
  SetText(out, "forenames", p.given_names());
  SetText(out, "surname", p.family_name());
  SetText(out, "date_of_birth", p.date_of_birth());
  SetText(out, "nationality_code", p.nationality());
  out.Set("person_role", *std::move(role));
  PORTCULLIS_RETURN_IF_ERROR(SetTexts(out, "identity_documents", p.documents(), path + ".documents"));
  PORTCULLIS_RETURN_IF_ERROR(SetTexts(out, "known_aliases", p.aliases(), path + ".aliases"));
  return out;
}

absl::Status SetPersons(JsonOut& out, std::string key, const RepeatedPtrField<v1::Person>& list,
                        const std::string& path) {
  return SetArray(out, key, list, path, PersonJson);
}

absl::StatusOr<JsonOut> PlaceJson(const v1::Position& p, const std::string& path) {
  PORTCULLIS_RETURN_IF_ERROR(FirstError({CheckRange(path + ".latitude", p.latitude(), -90, 90),
                                   CheckRange(path + ".longitude", p.longitude(), -180, 180)}));
  JsonOut out = JsonOut::Object();
  out.Set("latitude", JsonOut::Number(p.latitude())).Set("longitude", JsonOut::Number(p.longitude()));
  SetText(out, "location_text", p.description());
  return out;
}

absl::StatusOr<JsonOut> VesselJson(const v1::Vessel& v, const std::string& path) {
  if (v.length_metres() != 0) {
    PORTCULLIS_RETURN_IF_ERROR(CheckRange(path + ".length_metres", v.length_metres(), 0.1, kMaxVesselLength));
  }
  PORTCULLIS_RETURN_IF_ERROR(CheckRange(path + ".persons_on_board", v.persons_on_board(), 0, kMaxPersonsOnBoard));
  JsonOut out = JsonOut::Object();
  SetText(out, "vessel_type", v.type());
  SetText(out, "vessel_name", v.name());
  SetText(out, "vessel_reg", v.registration());
  if (v.length_metres() != 0) out.Set("length_metres", JsonOut::Number(v.length_metres()));
  SetText(out, "engine_desc", v.engine());
  if (v.persons_on_board() != 0) out.Set("pob", JsonOut::Integer(v.persons_on_board()));
  return out;
}

absl::StatusOr<JsonOut> ArrivalJson(const v1::Crossing& c) {
  constexpr char kPath[] = "case_referral.crossing";
  JsonOut out = JsonOut::Object();
  SetTime(out, "embarked_at", c.has_departure_time(), c.departure_time());
  if (c.has_departure_place()) {
    PORTCULLIS_RETURN_IF_ERROR(
        SetResult(out, "embarkation_point", PlaceJson(c.departure_place(), absl::StrCat(kPath, ".departure_place"))));
  }
  SetTime(out, "detected_at", c.has_interception_time(), c.interception_time());
  if (c.has_interception_place()) {
    PORTCULLIS_RETURN_IF_ERROR(SetResult(out, "detection_point",
                                   PlaceJson(c.interception_place(), absl::StrCat(kPath, ".interception_place"))));
  }
  if (c.has_vessel()) {
    PORTCULLIS_RETURN_IF_ERROR(SetResult(out, "vessel", VesselJson(c.vessel(), absl::StrCat(kPath, ".vessel"))));
  }
  return out;
}

absl::Status ReferralJson(const v1::Envelope& env, JsonOut& out) {
  const v1::CaseReferral& b = env.case_referral();
  PORTCULLIS_RETURN_IF_ERROR(FirstError({Required("case_referral.summary", b.summary()),
                                   Required("case_referral.requested_action", b.requested_action())}));
  out.Set("referral_summary", JsonOut::String(b.summary()));
  out.Set("action_requested", JsonOut::String(b.requested_action()));
  PORTCULLIS_RETURN_IF_ERROR(SetPersons(out, "persons_concerned", b.persons(), "case_referral.persons"));
  PORTCULLIS_RETURN_IF_ERROR(
      SetPersons(out, "linked_facilitators", b.suspected_facilitators(), "case_referral.suspected_facilitators"));
  if (b.has_crossing()) PORTCULLIS_RETURN_IF_ERROR(SetResult(out, "arrival", ArrivalJson(b.crossing())));
  return absl::OkStatus();
}

absl::Status IntelJson(const v1::Envelope& env, JsonOut& out) {
  const v1::IntelligenceReport& b = env.intelligence_report();
  PORTCULLIS_RETURN_IF_ERROR(Required("intelligence_report.summary", b.summary()));
  if (!env.has_uk_grading() && !env.has_europol_evaluation()) {
    return Refuse("uk_grading", "an intelligence report needs a UK 3x5x2 grading or a Europol evaluation");
  }
  out.Set("intel_summary", JsonOut::String(b.summary()));
  PORTCULLIS_RETURN_IF_ERROR(SetPersons(out, "subjects", b.subjects(), "intelligence_report.subjects"));
  if (!b.vessels().empty()) {
    JsonOut vessels = JsonOut::Array();
    for (int i = 0; i < b.vessels_size(); ++i) {
      absl::StatusOr<JsonOut> v = VesselJson(b.vessels(i), absl::StrCat("intelligence_report.vessels[", i, "]"));
      if (!v.ok()) return v.status();
      vessels.Push(*std::move(v));
    }
    out.Set("vessels", std::move(vessels));
  }
  PORTCULLIS_RETURN_IF_ERROR(SetTexts(out, "routes", b.routes(), "intelligence_report.routes"));
  SetText(out, "financial_info", b.financial());
  return absl::OkStatus();
}

absl::Status RfiJson(const v1::Envelope& env, JsonOut& out) {
  const v1::RequestForInformation& b = env.request_for_information();
  PORTCULLIS_RETURN_IF_ERROR(Required("request_for_information.question", b.question()));
  out.Set("rfi_question", JsonOut::String(b.question()));
  PORTCULLIS_RETURN_IF_ERROR(SetPersons(out, "subjects", b.subjects(), "request_for_information.subjects"));
  out.Set("directly_accessible", JsonOut::String(std::string(Nth(kYesNo, b.directly_accessible() ? 1 : 0))));
  SetTime(out, "answer_by", b.has_answer_by(), b.answer_by());
  return absl::OkStatus();
}

absl::Status ReplyJson(const v1::Envelope& env, JsonOut& out) {
  const v1::Response& b = env.response();
  PORTCULLIS_RETURN_IF_ERROR(
      FirstError({Required("response.answer", b.answer()), Required("correlation_id", env.correlation_id())}));
  out.Set("reply_text", JsonOut::String(b.answer()));
  return SetPersons(out, "subjects", b.subjects(), "response.subjects");
}

using BodyWriter = absl::Status (*)(const v1::Envelope&, JsonOut&);
constexpr BodyWriter kBodyWriters[] = {ReferralJson, IntelJson, RfiJson, ReplyJson};

std::optional<Kind> KindOf(const v1::Envelope& env) {
  if (std::optional<size_t> i = BodyIndex(env)) return static_cast<Kind>(*i);  // Kind follows BodyIndex's order.
  return std::nullopt;
}

absl::Status CheckHeader(const v1::Envelope& env) {
  return FirstError({CheckId("message_id", env.message_id(), true),
                     CheckId("correlation_id", env.correlation_id(), false),
                     CheckId("case_reference", env.case_reference(), true),
                     CheckId("originating_officer", env.originating_officer(), true),
                     env.recipients().empty() ? Refuse("recipients", "at least one is required") : absl::OkStatus(),
                     Required("justification.legal_basis", env.justification().legal_basis())});
}

absl::Status CheckAttachments(const v1::Envelope& env) {
  for (int i = 0; i < env.attachments_size(); ++i) {
    const v1::Attachment& a = env.attachments(i);
    const std::string path = absl::StrCat("attachments[", i, "]");
    PORTCULLIS_RETURN_IF_ERROR(Required(path + ".media_type", a.media_type()));
    if (a.sha256() != Sha256Hex(a.content())) return Refuse(path + ".sha256", "does not match the content's SHA-256");
  }
  return absl::OkStatus();
}

absl::StatusOr<JsonOut> HeaderJson(const v1::Envelope& env, Kind kind) {
  PORTCULLIS_RETURN_IF_ERROR(CheckHeader(env));
  std::optional<JsonOut> marking = EnumJson(kMarkings, env.classification());
  if (!marking) {
    return Refuse("classification", absl::StrCat(v1::Classification_Name(env.classification()),
                                                 " cannot be written as a HOIE security_marking (OFFICIAL, "
                                                 "OFFICIAL-SENSITIVE or SECRET)"));
  }
  // PRIORITY_UNSPECIFIED means ROUTINE by contract (exchange.proto).
  std::optional<JsonOut> urgency =
      EnumJson(kUrgencies, env.priority() == v1::PRIORITY_UNSPECIFIED ? v1::ROUTINE : env.priority());
  if (!urgency) return Refuse("priority", absl::StrCat("unknown value ", env.priority()));
  JsonOut out = JsonOut::Object();
  out.Set("record_type", JsonOut::String(std::string(Nth(kRecordTypes, kind))));
  out.Set("message_ref", JsonOut::String(env.message_id()));
  SetText(out, "related_message_ref", env.correlation_id());
  out.Set("casework_ref", JsonOut::String(env.case_reference()));
  SetText(out, "sending_party", env.sender());
  out.Set("caseworker_id", JsonOut::String(env.originating_officer()));
  PORTCULLIS_RETURN_IF_ERROR(SetTexts(out, "send_to", env.recipients(), "recipients"));
  SetTime(out, "date_created", env.has_created_at(), env.created_at());
  out.Set("security_marking", *std::move(marking));
  out.Set("urgency", *std::move(urgency));
  out.Set("lawful_basis", JsonOut::String(env.justification().legal_basis()));
  SetText(out, "necessity_statement", env.justification().purpose());
  if (env.has_uk_grading()) PORTCULLIS_RETURN_IF_ERROR(SetResult(out, "nim_grading", UkGradingJson(env.uk_grading())));
  if (env.has_europol_evaluation()) {
    PORTCULLIS_RETURN_IF_ERROR(SetResult(out, "europol_eval", EuropolEvaluationJson(env.europol_evaluation())));
  }
  return out;
}

absl::StatusOr<std::string> FromEnvelopeImpl(const v1::Envelope& env) {
  std::optional<Kind> kind = KindOf(env);
  if (!kind) return Refuse("body", "not set (a case referral, intelligence report, RFI or response is needed)");
  absl::StatusOr<JsonOut> out = HeaderJson(env, *kind);
  if (!out.ok()) return out.status();
  PORTCULLIS_RETURN_IF_ERROR(kBodyWriters[*kind](env, *out));
  PORTCULLIS_RETURN_IF_ERROR(CheckAttachments(env));
  if (!env.attachments().empty()) out->Set("enclosures", AttachmentsJson(env.attachments()));
  return out->Dump();
}

}  // namespace

const NativeFormat& Format() {
  static const NativeFormat* const format =
      new FunctionFormat("hoie",
                         "Home Office Immigration Enforcement returns and removals casework (referrals, RFIs, replies)",
                         ToEnvelopeImpl, FromEnvelopeImpl);
  return *format;
}

}  // namespace portcullis::adapters::hoie
