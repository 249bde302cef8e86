// Europol's native message record (see format.h, schema.json, README.md).
//
// Layout: the message's own fields at the top level, `record_type` (Europol's
// word for the body kind) and the body under `content`, whose keys depend on
// the record type. The Europol evaluation and the provider's UK 3x5x2 grading
// are two separate blocks (the shared native_util blocks): the schemes do not
// map one to one and neither is ever derived from the other.
#include "adapters/europol/format.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include <google/protobuf/timestamp.pb.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "adapters/common/native_util.h"

namespace portcullis::adapters::europol {
namespace {

using Persons = google::protobuf::RepeatedPtrField<v1::Person>;

// Record types, in the order of kBodies below.
const std::initializer_list<std::string_view> kRecordTypes = {"CASE_REFERRAL", "OPERATIONAL_INFORMATION",
                                                              "REQUEST_FOR_INFORMATION", "REPLY"};
constexpr size_t kReply = 3;

// Security levels, indexed like v1::Classification - 1. "EU SECRET" is read
// as SECRET (the UK's SECRET ~ EU CONFIDENTIAL / EU SECRET) and never written:
// SECRET is always written "EU CONFIDENTIAL", so the envelope round trip is exact.
const std::initializer_list<std::string_view> kSecurityLevels = {"BASIC PROTECTION LEVEL", "EU RESTRICTED",
                                                                 "EU CONFIDENTIAL", "EU SECRET"};
constexpr int kWrittenSecurityLevels = 3;

// Indexed like v1::Priority - 1 (PRIORITY_UNSPECIFIED means ROUTINE: NORMAL).
const std::initializer_list<std::string_view> kPriorities = {"NORMAL", "URGENT", "IMMEDIATE"};

// A person's involvement, indexed like v1::PersonRole - 1.
const std::initializer_list<std::string_view> kInvolvements = {
    "SMUGGLED_PERSON", "PILOT", "SUSPECTED_FACILITATOR", "WITNESS", "PERSON_OF_INTEREST", "RETURNEE"};

// Directive 2023/977 Art. 2: directly / indirectly accessible information,
// indexed by RequestForInformation.directly_accessible.
const std::initializer_list<std::string_view> kInformationAccess = {"INDIRECTLY_ACCESSIBLE",
                                                                    "DIRECTLY_ACCESSIBLE"};

// ---------------------------------------------------------------------------
// Reading (native -> envelope). Every reader records its problems in `r` and
// carries on, so one pass finds everything.
// ---------------------------------------------------------------------------

void ReadText(JsonReader& r, const JsonValue& object, std::string_view key, bool required, std::string* out) {
  std::optional<std::string> v = required ? r.RequiredString(object, key) : r.OptionalString(object, key);
  if (v) *out = *std::move(v);
}

void ReadId(JsonReader& r, const JsonValue& object, std::string_view key, bool required, std::string* out) {
  if (std::optional<std::string> v = ReadMessageId(r, object, key, required)) *out = *std::move(v);
}

void ReadStrings(JsonReader& r, const JsonValue& object, std::string_view key, bool required,
                 google::protobuf::RepeatedPtrField<std::string>* out) {
  for (std::string& s : r.StringArray(object, key, required)) out->Add(std::move(s));
}

template <typename SetTime>
void ReadTime(JsonReader& r, const JsonValue& object, std::string_view key, SetTime set) {
  if (std::optional<absl::Time> t = r.Timestamp(object, key, false)) *set() = ToProtoTime(*t);
}

void ReadPerson(JsonReader& r, const JsonValue& p, v1::Person* out) {
  if (!r.Object(p, {"given_names", "family_name", "date_of_birth", "nationality", "involvement",
                    "identity_documents", "aliases"})) {
    return;
  }
  ReadText(r, p, "given_names", false, out->mutable_given_names());
  ReadText(r, p, "family_name", false, out->mutable_family_name());
  if (std::optional<std::string> dob = r.Date(p, "date_of_birth", false)) out->set_date_of_birth(*dob);
  if (std::optional<std::string> nationality = r.OptionalString(p, "nationality")) {
    if (IsCountryCode(*nationality)) {
      out->set_nationality(*nationality);
    } else {
      r.Add(r.Field(p, "nationality"), kCountryCodeRule);
    }
  }
  if (std::optional<size_t> role = r.Enum(p, "involvement", true, kInvolvements)) {
    out->set_role(static_cast<v1::PersonRole>(*role + 1));
  }
  ReadStrings(r, p, "identity_documents", false, out->mutable_documents());
  ReadStrings(r, p, "aliases", false, out->mutable_aliases());
  if (out->given_names().empty() && out->family_name().empty() && out->aliases().empty()) {
    r.Add(p, "needs given_names, family_name or aliases");
  }
}

void ReadPersons(JsonReader& r, const JsonValue& object, std::string_view key, Persons* out) {
  for (const JsonValue& p : r.Array(object, key, false)) ReadPerson(r, p, out->Add());
}

void ReadVessel(JsonReader& r, const JsonValue& v, v1::Vessel* out) {
  if (!r.Object(v, {"type", "name", "registration", "length_m", "engine", "persons_on_board"})) return;
  ReadText(r, v, "type", false, out->mutable_type());
  ReadText(r, v, "name", false, out->mutable_name());
  ReadText(r, v, "registration", false, out->mutable_registration());
  if (std::optional<double> length = r.Number(v, "length_m", false, 0, 1000)) out->set_length_metres(*length);
  ReadText(r, v, "engine", false, out->mutable_engine());
  if (std::optional<int64_t> n =
          r.Integer(v, "persons_on_board", false, 0, std::numeric_limits<uint32_t>::max())) {
    out->set_persons_on_board(static_cast<uint32_t>(*n));
  }
}

template <typename MutablePlace>
void ReadPlace(JsonReader& r, const JsonValue& parent, std::string_view key, MutablePlace mutable_place) {
  const JsonValue place = r.Field(parent, key);
  if (!r.Object(place, {"lat", "lon", "description"})) return;
  v1::Position* out = mutable_place();
  if (std::optional<double> lat = r.Number(place, "lat", true, -90, 90)) out->set_latitude(*lat);
  if (std::optional<double> lon = r.Number(place, "lon", true, -180, 180)) out->set_longitude(*lon);
  ReadText(r, place, "description", false, out->mutable_description());
}

void ReadCrossing(JsonReader& r, const JsonValue& content, v1::CaseReferral* referral) {
  const JsonValue c = r.Field(content, "crossing");
  if (!r.Object(c, {"departure_time", "departure_place", "interception_time", "interception_place", "vessel"})) {
    return;
  }
  v1::Crossing* x = referral->mutable_crossing();
  ReadTime(r, c, "departure_time", [x] { return x->mutable_departure_time(); });
  ReadPlace(r, c, "departure_place", [x] { return x->mutable_departure_place(); });
  ReadTime(r, c, "interception_time", [x] { return x->mutable_interception_time(); });
  ReadPlace(r, c, "interception_place", [x] { return x->mutable_interception_place(); });
  const JsonValue vessel = r.Field(c, "vessel");
  if (vessel.present()) ReadVessel(r, vessel, x->mutable_vessel());
  if (x->has_departure_time() && x->has_interception_time() &&
      FromProtoTime(x->interception_time()) < FromProtoTime(x->departure_time())) {
    r.Add(r.Field(c, "interception_time"), "must not be before departure_time");
  }
}

void ReadCaseReferral(JsonReader& r, const JsonValue& c, v1::Envelope* env) {
  v1::CaseReferral* b = env->mutable_case_referral();
  if (!r.Object(c, {"summary", "crossing", "persons", "suspected_facilitators", "requested_action"})) return;
  ReadText(r, c, "summary", true, b->mutable_summary());
  ReadCrossing(r, c, b);
  ReadPersons(r, c, "persons", b->mutable_persons());
  ReadPersons(r, c, "suspected_facilitators", b->mutable_suspected_facilitators());
  ReadText(r, c, "requested_action", true, b->mutable_requested_action());
}

void ReadOperationalInformation(JsonReader& r, const JsonValue& c, v1::Envelope* env) {
  v1::IntelligenceReport* b = env->mutable_intelligence_report();
  if (!r.Object(c, {"summary", "subjects", "vessels", "routes", "financial"})) return;
  ReadText(r, c, "summary", true, b->mutable_summary());
  ReadPersons(r, c, "subjects", b->mutable_subjects());
  for (const JsonValue& v : r.Array(c, "vessels", false)) ReadVessel(r, v, b->add_vessels());
  ReadStrings(r, c, "routes", false, b->mutable_routes());
  ReadText(r, c, "financial", false, b->mutable_financial());
}

void ReadRequestForInformation(JsonReader& r, const JsonValue& c, v1::Envelope* env) {
  v1::RequestForInformation* b = env->mutable_request_for_information();
  if (!r.Object(c, {"question", "subjects", "information_access", "answer_by"})) return;
  ReadText(r, c, "question", true, b->mutable_question());
  ReadPersons(r, c, "subjects", b->mutable_subjects());
  if (std::optional<size_t> access = r.Enum(c, "information_access", true, kInformationAccess)) {
    b->set_directly_accessible(*access == 1);
  }
  ReadTime(r, c, "answer_by", [b] { return b->mutable_answer_by(); });
}

void ReadReply(JsonReader& r, const JsonValue& c, v1::Envelope* env) {
  v1::Response* b = env->mutable_response();
  if (!r.Object(c, {"answer", "subjects"})) return;
  ReadText(r, c, "answer", true, b->mutable_answer());
  ReadPersons(r, c, "subjects", b->mutable_subjects());
}

// Content readers, in the order of kRecordTypes.
using ContentReader = void (*)(JsonReader&, const JsonValue&, v1::Envelope*);
constexpr ContentReader kContentReaders[] = {ReadCaseReferral, ReadOperationalInformation,
                                             ReadRequestForInformation, ReadReply};

void ReadContent(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  const std::optional<size_t> type = r.Enum(root, "record_type", true, kRecordTypes);
  const JsonValue content = r.Field(root, "content");
  if (!content.present()) r.Add(content, "required");
  // Without a valid record type the content's keys cannot be checked.
  if (!type) return;
  kContentReaders[*type](r, content, env);
  if (*type == kReply && env->correlation_id().empty() && !r.Field(root, "in_reply_to").present()) {
    r.Add(r.Field(root, "in_reply_to"), "required when record_type is \"REPLY\"");
  }
}

void ReadHeader(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  ReadId(r, root, "message_reference", true, env->mutable_message_id());
  ReadId(r, root, "case_reference", true, env->mutable_case_reference());
  ReadId(r, root, "in_reply_to", false, env->mutable_correlation_id());
  ReadTime(r, root, "created", [env] { return env->mutable_created_at(); });
  ReadText(r, root, "sending_party", false, env->mutable_sender());
  ReadId(r, root, "author", true, env->mutable_originating_officer());
  ReadStrings(r, root, "addressees", true, env->mutable_recipients());
  if (std::optional<size_t> level = r.Enum(root, "security_level", true, kSecurityLevels)) {
    // The last spelling, "EU SECRET", is SECRET too.
    const size_t written = std::min(*level, static_cast<size_t>(kWrittenSecurityLevels) - 1);
    env->set_classification(static_cast<v1::Classification>(written + 1));
  }
  if (std::optional<size_t> priority = r.Enum(root, "priority", true, kPriorities)) {
    env->set_priority(static_cast<v1::Priority>(*priority + 1));
  }
  ReadText(r, root, "legal_basis", true, env->mutable_justification()->mutable_legal_basis());
  ReadText(r, root, "purpose", false, env->mutable_justification()->mutable_purpose());
  ReadEuropolEvaluation(r, root, "europol_evaluation", env);
  ReadUkGrading(r, root, "provider_uk_grading", env);
}

absl::StatusOr<v1::Envelope> ToEnvelopeImpl(const JsonDoc& doc) {
  JsonReader r(doc);
  const JsonValue root = r.Root();
  v1::Envelope env;
  if (r.Object(root, {"message_reference", "record_type", "case_reference", "in_reply_to", "created",
                      "sending_party", "author", "addressees", "security_level", "priority", "legal_basis",
                      "purpose", "europol_evaluation", "provider_uk_grading", "content", "attachments"})) {
    ReadHeader(r, root, &env);
    ReadContent(r, root, &env);
    ReadAttachments(r, root, "attachments", &env);
  }
  if (absl::Status s = r.status(); !s.ok()) return s;
  return env;
}

// ---------------------------------------------------------------------------
// Writing (envelope -> native). INVALID_ARGUMENT names the envelope field the
// format cannot express.
// ---------------------------------------------------------------------------

JsonOut Str(std::string_view s) { return JsonOut::String(std::string(s)); }

absl::Status Unexpressible(std::string_view field, std::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", std::string(rule)));
}

// Sets `key` to `value` unless it is empty; with `required` an empty value is
// an error naming the envelope field `field`.
absl::Status PutText(JsonOut& out, std::string_view key, const std::string& value, bool required,
                     std::string_view field) {
  if (value.empty()) return required ? Unexpressible(field, "required by the Europol format") : absl::OkStatus();
  out.Set(std::string(key), JsonOut::String(value));
  return absl::OkStatus();
}

void PutOptional(JsonOut& out, std::string_view key, const std::string& value) {
  if (!value.empty()) out.Set(std::string(key), JsonOut::String(value));
}

void PutTime(JsonOut& out, std::string_view key, bool present, const google::protobuf::Timestamp& t) {
  if (present) out.Set(std::string(key), JsonOut::String(FormatProtoTime(t)));
}

// The spelling of proto enum value `value` (1-based) in `list`, or an error.
absl::StatusOr<JsonOut> EnumJson(std::initializer_list<std::string_view> list, int value, int count,
                                 std::string_view field, std::string_view what) {
  if (value < 1 || value > count) return Unexpressible(field, what);
  return Str(Nth(list, static_cast<size_t>(value - 1)));
}

absl::StatusOr<JsonOut> PersonJson(const v1::Person& p, const std::string& field) {
  if (p.given_names().empty() && p.family_name().empty() && p.aliases().empty()) {
    return Unexpressible(field, "needs given_names, family_name or aliases");
  }
  absl::StatusOr<JsonOut> involvement = EnumJson(kInvolvements, p.role(), static_cast<int>(kInvolvements.size()),
                                                 field + ".role", "not set; Europol records need an involvement");
  if (!involvement.ok()) return involvement.status();
  JsonOut out = JsonOut::Object();
  PutOptional(out, "given_names", p.given_names());
  PutOptional(out, "family_name", p.family_name());
  PutOptional(out, "date_of_birth", p.date_of_birth());
  PutOptional(out, "nationality", p.nationality());
  out.Set("involvement", *std::move(involvement));
  if (!p.documents().empty()) out.Set("identity_documents", StringsJson(p.documents()));
  if (!p.aliases().empty()) out.Set("aliases", StringsJson(p.aliases()));
  return out;
}

// Sets `key` to the persons, unless there are none.
absl::Status PutPersons(JsonOut& out, std::string_view key, const Persons& persons, std::string_view field) {
  return SetArray(out, key, persons, std::string(field), PersonJson);
}

JsonOut VesselJson(const v1::Vessel& v) {
  JsonOut out = JsonOut::Object();
  PutOptional(out, "type", v.type());
  PutOptional(out, "name", v.name());
  PutOptional(out, "registration", v.registration());
  if (v.length_metres() != 0) out.Set("length_m", JsonOut::Number(v.length_metres()));
  PutOptional(out, "engine", v.engine());
  if (v.persons_on_board() != 0) out.Set("persons_on_board", JsonOut::Integer(v.persons_on_board()));
  return out;
}

void PutPlace(JsonOut& out, std::string_view key, bool present, const v1::Position& p) {
  if (!present) return;
  JsonOut place = JsonOut::Object();
  place.Set("lat", JsonOut::Number(p.latitude())).Set("lon", JsonOut::Number(p.longitude()));
  PutOptional(place, "description", p.description());
  out.Set(std::string(key), std::move(place));
}

JsonOut CrossingJson(const v1::Crossing& c) {
  JsonOut out = JsonOut::Object();
  PutTime(out, "departure_time", c.has_departure_time(), c.departure_time());
  PutPlace(out, "departure_place", c.has_departure_place(), c.departure_place());
  PutTime(out, "interception_time", c.has_interception_time(), c.interception_time());
  PutPlace(out, "interception_place", c.has_interception_place(), c.interception_place());
  if (c.has_vessel()) out.Set("vessel", VesselJson(c.vessel()));
  return out;
}

absl::Status CaseReferralJson(const v1::Envelope& env, JsonOut& out) {
  const v1::CaseReferral& b = env.case_referral();
  absl::Status s = PutText(out, "summary", b.summary(), true, "case_referral.summary");
  if (s.ok() && b.has_crossing()) out.Set("crossing", CrossingJson(b.crossing()));
  if (s.ok()) s = PutPersons(out, "persons", b.persons(), "case_referral.persons");
  if (s.ok()) {
    s = PutPersons(out, "suspected_facilitators", b.suspected_facilitators(), "case_referral.suspected_facilitators");
  }
  if (s.ok()) s = PutText(out, "requested_action", b.requested_action(), true, "case_referral.requested_action");
  return s;
}

absl::Status OperationalInformationJson(const v1::Envelope& env, JsonOut& out) {
  const v1::IntelligenceReport& b = env.intelligence_report();
  absl::Status s = PutText(out, "summary", b.summary(), true, "intelligence_report.summary");
  if (s.ok()) s = PutPersons(out, "subjects", b.subjects(), "intelligence_report.subjects");
  if (!s.ok()) return s;
  if (!b.vessels().empty()) {
    JsonOut vessels = JsonOut::Array();
    for (const v1::Vessel& v : b.vessels()) vessels.Push(VesselJson(v));
    out.Set("vessels", std::move(vessels));
  }
  if (!b.routes().empty()) out.Set("routes", StringsJson(b.routes()));
  PutOptional(out, "financial", b.financial());
  return s;
}

absl::Status RequestForInformationJson(const v1::Envelope& env, JsonOut& out) {
  const v1::RequestForInformation& b = env.request_for_information();
  absl::Status s = PutText(out, "question", b.question(), true, "request_for_information.question");
  if (s.ok()) s = PutPersons(out, "subjects", b.subjects(), "request_for_information.subjects");
  out.Set("information_access", Str(Nth(kInformationAccess, b.directly_accessible() ? 1 : 0)));
  PutTime(out, "answer_by", b.has_answer_by(), b.answer_by());
  return s;
}

absl::Status ReplyJson(const v1::Envelope& env, JsonOut& out) {
  if (env.correlation_id().empty()) return Unexpressible("correlation_id", "a REPLY must name the message it answers");
  absl::Status s = PutText(out, "answer", env.response().answer(), true, "response.answer");
  if (s.ok()) s = PutPersons(out, "subjects", env.response().subjects(), "response.subjects");
  return s;
}

// Content writers, in the order of kRecordTypes.
using ContentWriter = absl::Status (*)(const v1::Envelope&, JsonOut&);
constexpr ContentWriter kContentWriters[] = {CaseReferralJson, OperationalInformationJson,
                                             RequestForInformationJson, ReplyJson};

// The record type index of the envelope's body, or an error.
absl::StatusOr<size_t> RecordTypeOf(const v1::Envelope& env) {
  if (std::optional<size_t> i = BodyIndex(env)) return *i;
  return Unexpressible("body", "not set; a Europol record needs one of the four record types");
}

absl::Status PutHeader(const v1::Envelope& env, JsonOut& out) {
  absl::Status s = PutText(out, "case_reference", env.case_reference(), true, "case_reference");
  if (!s.ok()) return s;
  PutOptional(out, "in_reply_to", env.correlation_id());
  PutTime(out, "created", env.has_created_at(), env.created_at());
  PutOptional(out, "sending_party", env.sender());
  s = PutText(out, "author", env.originating_officer(), true, "originating_officer");
  if (!s.ok()) return s;
  if (env.recipients().empty()) return Unexpressible("recipients", "at least one addressee is required");
  out.Set("addressees", StringsJson(env.recipients()));
  absl::StatusOr<JsonOut> level = EnumJson(kSecurityLevels, env.classification(), kWrittenSecurityLevels,
                                           "classification",
                                           absl::StrCat(v1::Classification_Name(env.classification()),
                                                        " has no Europol security level"));
  if (!level.ok()) return level.status();
  out.Set("security_level", *std::move(level));
  // PRIORITY_UNSPECIFIED is ROUTINE by contract, written NORMAL.
  const int priority = env.priority() == v1::PRIORITY_UNSPECIFIED ? v1::ROUTINE : env.priority();
  absl::StatusOr<JsonOut> p = EnumJson(kPriorities, priority, static_cast<int>(kPriorities.size()), "priority",
                                       "unknown priority");
  if (!p.ok()) return p.status();
  out.Set("priority", *std::move(p));
  s = PutText(out, "legal_basis", env.justification().legal_basis(), true, "justification.legal_basis");
  PutOptional(out, "purpose", env.justification().purpose());
  return s;
}

// Sets `key` to a grading block if the envelope has one.
template <typename Block, typename Render>
absl::Status PutGrading(JsonOut& out, std::string_view key, bool present, const Block& block, Render render) {
  if (!present) return absl::OkStatus();
  absl::StatusOr<JsonOut> json = render(block);
  if (!json.ok()) return json.status();
  out.Set(std::string(key), *std::move(json));
  return absl::OkStatus();
}

absl::StatusOr<JsonOut> RecordJson(const v1::Envelope& env) {
  absl::StatusOr<size_t> type = RecordTypeOf(env);
  if (!type.ok()) return type.status();
  JsonOut out = JsonOut::Object();
  absl::Status s = PutText(out, "message_reference", env.message_id(), true, "message_id");
  if (s.ok()) out.Set("record_type", Str(Nth(kRecordTypes, *type)));
  if (s.ok()) s = PutHeader(env, out);
  if (s.ok()) {
    s = PutGrading(out, "europol_evaluation", env.has_europol_evaluation(), env.europol_evaluation(),
                   EuropolEvaluationJson);
  }
  if (s.ok()) s = PutGrading(out, "provider_uk_grading", env.has_uk_grading(), env.uk_grading(), UkGradingJson);
  JsonOut content = JsonOut::Object();
  if (s.ok()) s = kContentWriters[*type](env, content);
  if (!s.ok()) return s;
  out.Set("content", std::move(content));
  if (!env.attachments().empty()) out.Set("attachments", AttachmentsJson(env.attachments()));
  return out;
}

absl::StatusOr<std::string> FromEnvelopeImpl(const v1::Envelope& env) {
  absl::StatusOr<JsonOut> record = RecordJson(env);
  if (!record.ok()) {
    return absl::Status(record.status().code(),
                        absl::StrCat("message ", env.message_id(), ": ", record.status().message()));
  }
  return record->Dump();
}

}  // namespace

const NativeFormat& Format() {
  static const NativeFormat* const format =
      new FunctionFormat("europol",
                         "Europol message records (replies, RFIs, case referrals, operational information)",
                         ToEnvelopeImpl, FromEnvelopeImpl);
  return *format;
}

}  // namespace portcullis::adapters::europol
