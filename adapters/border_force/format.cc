#include "adapters/border_force/format.h"

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "adapters/common/native_util.h"

namespace portcullis::adapters::border_force {
namespace {

using Persons = google::protobuf::RepeatedPtrField<v1::Person>;

// Native spellings, indexed like the proto enums they map to (index + 1).
const std::initializer_list<std::string_view> kMarkings = {"OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET"};
const std::initializer_list<std::string_view> kPriorities = {"ROUTINE", "URGENT", "IMMEDIATE"};
const std::initializer_list<std::string_view> kRoles = {"PASSENGER", "PILOT",   "FACILITATOR",
                                                        "WITNESS",   "SUBJECT", "RETURNEE"};
// RequestForInformation.directly_accessible: false, true.
const std::initializer_list<std::string_view> kAccess = {"INDIRECT", "DIRECT"};

// "record_type" values, indexed like kRecordTypes.
const std::initializer_list<std::string_view> kRecordTypeNames = {"CROSSING_REFERRAL", "INTELLIGENCE",
                                                                  "INFORMATION_REQUEST", "REPLY"};

// Keys every record type has (besides its own reference key and body).
#define BORDER_FORCE_HEADER_KEYS                                                                          \
  "record_type", "case_ref", "in_reply_to", "created", "from_party", "officer", "legal_basis", "purpose", \
      "protective_marking", "priority", "recipients", "grading", "partner_evaluation", "attachments"

const std::initializer_list<std::string_view> kReferralKeys = {
    BORDER_FORCE_HEADER_KEYS, "referral_ref", "crossing",        "vessel", "persons",
    "suspected_facilitators", "summary",      "requested_action"};
const std::initializer_list<std::string_view> kIntelligenceKeys = {
    BORDER_FORCE_HEADER_KEYS, "intel_ref", "summary", "subjects", "vessels", "routes", "financial"};
const std::initializer_list<std::string_view> kRequestKeys = {
    BORDER_FORCE_HEADER_KEYS, "rfi_ref", "question", "subjects", "information_access", "answer_by"};
const std::initializer_list<std::string_view> kReplyKeys = {BORDER_FORCE_HEADER_KEYS, "reply_ref", "answer",
                                                            "subjects"};
#undef BORDER_FORCE_HEADER_KEYS

// ---------------------------------------------------------------------------
// Reading: shared parts
// ---------------------------------------------------------------------------

// `parent.key` as a position; nullopt if absent or not an object.
std::optional<v1::Position> ReadPlace(JsonReader& r, const JsonValue& parent, std::string_view key) {
  const JsonValue place = r.Field(parent, key);
  if (!r.Object(place, {"lat", "lon", "description"})) return std::nullopt;
  v1::Position out;
  if (auto lat = r.Number(place, "lat", true, -90, 90)) out.set_latitude(*lat);
  if (auto lon = r.Number(place, "lon", true, -180, 180)) out.set_longitude(*lon);
  if (auto description = r.OptionalString(place, "description")) out.set_description(*description);
  return out;
}

// A vessel object; nullopt if absent or not an object.
std::optional<v1::Vessel> ReadVessel(JsonReader& r, const JsonValue& vessel) {
  if (!r.Object(vessel, {"type", "name", "registration", "length_m", "engine", "persons_on_board"})) {
    return std::nullopt;
  }
  v1::Vessel v;
  if (auto s = r.RequiredString(vessel, "type")) v.set_type(*s);
  if (auto s = r.OptionalString(vessel, "name")) v.set_name(*s);
  if (auto s = r.OptionalString(vessel, "registration")) v.set_registration(*s);
  if (auto d = r.Number(vessel, "length_m", false, 0.1, 500)) v.set_length_metres(*d);
  if (auto s = r.OptionalString(vessel, "engine")) v.set_engine(*s);
  if (auto n = r.Integer(vessel, "persons_on_board", false, 0, 10000)) {
    v.set_persons_on_board(static_cast<uint32_t>(*n));
  }
  return v;
}

// One person. `default_role` is the role when "role" is left out
// (PERSON_ROLE_UNSPECIFIED: "role" is required).
void ReadPerson(JsonReader& r, const JsonValue& p, v1::PersonRole default_role, v1::Person* out) {
  if (!r.Object(p, {"given_names", "family_name", "dob", "nationality", "role", "documents", "aliases"})) return;
  if (auto v = r.OptionalString(p, "given_names")) out->set_given_names(*v);
  if (auto v = r.OptionalString(p, "family_name")) out->set_family_name(*v);
  if (auto v = r.Date(p, "dob", false)) out->set_date_of_birth(*v);
  if (auto v = r.OptionalString(p, "nationality")) {
    if (IsCountryCode(*v)) {
      out->set_nationality(*v);
    } else {
      r.Add(r.Field(p, "nationality"), kCountryCodeRule);
    }
  }
  const bool role_required = default_role == v1::PERSON_ROLE_UNSPECIFIED;
  if (auto role = r.Enum(p, "role", role_required, kRoles)) {
    out->set_role(static_cast<v1::PersonRole>(*role + 1));
  } else if (!role_required && !r.Field(p, "role").present()) {
    out->set_role(default_role);
  }
  for (std::string& d : r.StringArray(p, "documents", false)) out->add_documents(std::move(d));
  for (std::string& a : r.StringArray(p, "aliases", false)) out->add_aliases(std::move(a));
  if (out->given_names().empty() && out->family_name().empty() && out->aliases_size() == 0) {
    r.Add(p, "needs given_names, family_name or aliases");
  }
}

void ReadPersons(JsonReader& r, const JsonValue& root, std::string_view key, v1::PersonRole default_role,
                 Persons* out) {
  for (const JsonValue& p : r.Array(root, key, false)) ReadPerson(r, p, default_role, out->Add());
}

// ---------------------------------------------------------------------------
// Reading: one function per record type
// ---------------------------------------------------------------------------

void ReadCrossing(JsonReader& r, const JsonValue& root, v1::CaseReferral* referral) {
  const JsonValue crossing = r.Field(root, "crossing");
  if (!r.Object(crossing, {"departure_time", "departure_place", "interception_time", "interception_place"})) return;
  v1::Crossing* c = referral->mutable_crossing();
  std::optional<absl::Time> departed = r.Timestamp(crossing, "departure_time", false);
  std::optional<absl::Time> intercepted = r.Timestamp(crossing, "interception_time", false);
  if (departed) *c->mutable_departure_time() = ToProtoTime(*departed);
  if (intercepted) *c->mutable_interception_time() = ToProtoTime(*intercepted);
  if (departed && intercepted && *intercepted < *departed) {
    r.Add(r.Field(crossing, "interception_time"), "must not be before departure_time");
  }
  if (auto place = ReadPlace(r, crossing, "departure_place")) *c->mutable_departure_place() = *place;
  if (auto place = ReadPlace(r, crossing, "interception_place")) *c->mutable_interception_place() = *place;
}

void ReadReferral(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::CaseReferral* referral = env->mutable_case_referral();
  if (auto v = r.RequiredString(root, "summary")) referral->set_summary(*v);
  if (auto v = r.RequiredString(root, "requested_action")) referral->set_requested_action(*v);
  ReadCrossing(r, root, referral);
  if (auto vessel = ReadVessel(r, r.Field(root, "vessel"))) *referral->mutable_crossing()->mutable_vessel() = *vessel;
  ReadPersons(r, root, "persons", v1::PERSON_ROLE_UNSPECIFIED, referral->mutable_persons());
  ReadPersons(r, root, "suspected_facilitators", v1::FACILITATOR, referral->mutable_suspected_facilitators());
}

void ReadIntelligence(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::IntelligenceReport* report = env->mutable_intelligence_report();
  if (auto v = r.RequiredString(root, "summary")) report->set_summary(*v);
  ReadPersons(r, root, "subjects", v1::SUBJECT, report->mutable_subjects());
  for (const JsonValue& v : r.Array(root, "vessels", false)) {
    v1::Vessel* vessel = report->add_vessels();
    if (auto read = ReadVessel(r, v)) *vessel = *read;
  }
  for (std::string& route : r.StringArray(root, "routes", false)) report->add_routes(std::move(route));
  if (auto v = r.OptionalString(root, "financial")) report->set_financial(*v);
}

void ReadRequest(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::RequestForInformation* request = env->mutable_request_for_information();
  if (auto v = r.RequiredString(root, "question")) request->set_question(*v);
  ReadPersons(r, root, "subjects", v1::SUBJECT, request->mutable_subjects());
  if (auto v = r.Enum(root, "information_access", true, kAccess)) request->set_directly_accessible(*v == 1);
  if (auto t = r.Timestamp(root, "answer_by", false)) *request->mutable_answer_by() = ToProtoTime(*t);
}

void ReadReply(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  v1::Response* reply = env->mutable_response();
  if (auto v = r.RequiredString(root, "answer")) reply->set_answer(*v);
  ReadPersons(r, root, "subjects", v1::SUBJECT, reply->mutable_subjects());
}

// ---------------------------------------------------------------------------
// Writing: shared parts. Refusals name the envelope field.
// ---------------------------------------------------------------------------

absl::Status Refuse(const std::string& field, const std::string& rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

absl::Status RequireText(const std::string& value, const std::string& field) {
  return value.empty() ? Refuse(field, "required by the Border Force format") : absl::OkStatus();
}

JsonOut Text(const std::string& s) { return JsonOut::String(s); }
JsonOut Spelling(std::initializer_list<std::string_view> list, int proto_value) {
  return JsonOut::String(std::string(Nth(list, static_cast<size_t>(proto_value - 1))));
}
void SetTime(JsonOut& out, std::string key, const google::protobuf::Timestamp& t) {
  out.Set(std::move(key), JsonOut::String(FormatProtoTime(t)));
}
void SetIfAny(JsonOut& out, std::string key, const std::string& s) {
  if (!s.empty()) out.Set(std::move(key), Text(s));
}

JsonOut PlaceJson(const v1::Position& p) {
  JsonOut out = JsonOut::Object();
  out.Set("lat", JsonOut::Number(p.latitude())).Set("lon", JsonOut::Number(p.longitude()));
  SetIfAny(out, "description", p.description());
  return out;
}

absl::StatusOr<JsonOut> VesselJson(const v1::Vessel& v, const std::string& path) {
  PORTCULLIS_RETURN_IF_ERROR(RequireText(v.type(), path + ".type"));
  JsonOut out = JsonOut::Object();
  out.Set("type", Text(v.type()));
  SetIfAny(out, "name", v.name());
  SetIfAny(out, "registration", v.registration());
  if (v.length_metres() > 0) out.Set("length_m", JsonOut::Number(v.length_metres()));
  SetIfAny(out, "engine", v.engine());
  out.Set("persons_on_board", JsonOut::Integer(v.persons_on_board()));
  return out;
}

absl::StatusOr<JsonOut> PersonJson(const v1::Person& p, v1::PersonRole default_role, const std::string& path) {
  if (p.given_names().empty() && p.family_name().empty() && p.aliases_size() == 0) {
    return Refuse(path, "needs given_names, family_name or aliases");
  }
  const int role = static_cast<int>(p.role());
  if (role < 1 || role > static_cast<int>(kRoles.size())) return Refuse(path + ".role", "not set");
  JsonOut out = JsonOut::Object();
  SetIfAny(out, "given_names", p.given_names());
  SetIfAny(out, "family_name", p.family_name());
  SetIfAny(out, "dob", p.date_of_birth());
  SetIfAny(out, "nationality", p.nationality());
  if (p.role() != default_role) out.Set("role", Spelling(kRoles, role));
  if (p.documents_size() > 0) out.Set("documents", StringsJson(p.documents()));
  if (p.aliases_size() > 0) out.Set("aliases", StringsJson(p.aliases()));
  return out;
}

// Sets `key` to the persons of `list` unless it is empty; `path` is the envelope field.
absl::Status SetPersons(JsonOut& out, std::string key, const Persons& list, v1::PersonRole default_role,
                        const std::string& path) {
  if (list.empty()) return absl::OkStatus();
  JsonOut people = JsonOut::Array();
  for (int i = 0; i < list.size(); ++i) {
    absl::StatusOr<JsonOut> person = PersonJson(list.Get(i), default_role, absl::StrCat(path, "[", i, "]"));
    if (!person.ok()) return person.status();
    people.Push(*std::move(person));
  }
  out.Set(std::move(key), std::move(people));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Writing: one function per record type
// ---------------------------------------------------------------------------

// The crossing's own fields; the vessel sits at the top level ("vessel"). An
// envelope crossing that holds nothing but a vessel is implied by "vessel".
JsonOut CrossingJson(const v1::Crossing& c) {
  JsonOut out = JsonOut::Object();
  if (c.has_departure_time()) SetTime(out, "departure_time", c.departure_time());
  if (c.has_departure_place()) out.Set("departure_place", PlaceJson(c.departure_place()));
  if (c.has_interception_time()) SetTime(out, "interception_time", c.interception_time());
  if (c.has_interception_place()) out.Set("interception_place", PlaceJson(c.interception_place()));
  return out;
}

absl::Status WriteReferral(const v1::Envelope& env, JsonOut& out) {
  const v1::CaseReferral& referral = env.case_referral();
  PORTCULLIS_RETURN_IF_ERROR(RequireText(referral.summary(), "case_referral.summary"));
  PORTCULLIS_RETURN_IF_ERROR(RequireText(referral.requested_action(), "case_referral.requested_action"));
  if (referral.has_crossing()) {
    JsonOut crossing = CrossingJson(referral.crossing());
    if (!crossing.empty() || !referral.crossing().has_vessel()) out.Set("crossing", std::move(crossing));
    if (referral.crossing().has_vessel()) {
      absl::StatusOr<JsonOut> vessel = VesselJson(referral.crossing().vessel(), "case_referral.crossing.vessel");
      if (!vessel.ok()) return vessel.status();
      out.Set("vessel", *std::move(vessel));
    }
  }
  PORTCULLIS_RETURN_IF_ERROR(
      SetPersons(out, "persons", referral.persons(), v1::PERSON_ROLE_UNSPECIFIED, "case_referral.persons"));
  PORTCULLIS_RETURN_IF_ERROR(SetPersons(out, "suspected_facilitators", referral.suspected_facilitators(), v1::FACILITATOR,
                                "case_referral.suspected_facilitators"));
  out.Set("summary", Text(referral.summary()));
  out.Set("requested_action", Text(referral.requested_action()));
  return absl::OkStatus();
}

absl::Status WriteIntelligence(const v1::Envelope& env, JsonOut& out) {
  const v1::IntelligenceReport& report = env.intelligence_report();
  PORTCULLIS_RETURN_IF_ERROR(RequireText(report.summary(), "intelligence_report.summary"));
  out.Set("summary", Text(report.summary()));
  PORTCULLIS_RETURN_IF_ERROR(SetPersons(out, "subjects", report.subjects(), v1::SUBJECT, "intelligence_report.subjects"));
  if (report.vessels_size() > 0) {
    JsonOut vessels = JsonOut::Array();
    for (int i = 0; i < report.vessels_size(); ++i) {
      absl::StatusOr<JsonOut> v = VesselJson(report.vessels(i), absl::StrCat("intelligence_report.vessels[", i, "]"));
      if (!v.ok()) return v.status();
      vessels.Push(*std::move(v));
    }
    out.Set("vessels", std::move(vessels));
  }
  if (report.routes_size() > 0) out.Set("routes", StringsJson(report.routes()));
  SetIfAny(out, "financial", report.financial());
  return absl::OkStatus();
}

absl::Status WriteRequest(const v1::Envelope& env, JsonOut& out) {
  const v1::RequestForInformation& request = env.request_for_information();
  PORTCULLIS_RETURN_IF_ERROR(RequireText(request.question(), "request_for_information.question"));
  out.Set("question", Text(request.question()));
  PORTCULLIS_RETURN_IF_ERROR(SetPersons(out, "subjects", request.subjects(), v1::SUBJECT, "request_for_information.subjects"));
  out.Set("information_access", Spelling(kAccess, request.directly_accessible() ? 2 : 1));
  if (request.has_answer_by()) SetTime(out, "answer_by", request.answer_by());
  return absl::OkStatus();
}

absl::Status WriteReply(const v1::Envelope& env, JsonOut& out) {
  const v1::Response& reply = env.response();
  PORTCULLIS_RETURN_IF_ERROR(RequireText(reply.answer(), "response.answer"));
  out.Set("answer", Text(reply.answer()));
  return SetPersons(out, "subjects", reply.subjects(), v1::SUBJECT, "response.subjects");
}

// ---------------------------------------------------------------------------
// Record types and the header every one of them shares
// ---------------------------------------------------------------------------

// Indexed like kRecordTypeNames.
struct RecordType {
  std::string_view id_key;                       // the key holding the message id
  std::initializer_list<std::string_view> keys;  // every key allowed at the top level
  v1::Envelope::BodyCase body;
  bool needs_reply_to;  // "in_reply_to" required
  void (*read)(JsonReader&, const JsonValue&, v1::Envelope*);
  absl::Status (*write)(const v1::Envelope&, JsonOut&);
};

const RecordType kRecordTypes[] = {
    {"referral_ref", kReferralKeys, v1::Envelope::kCaseReferral, false, ReadReferral, WriteReferral},
    {"intel_ref", kIntelligenceKeys, v1::Envelope::kIntelligenceReport, false, ReadIntelligence, WriteIntelligence},
    {"rfi_ref", kRequestKeys, v1::Envelope::kRequestForInformation, false, ReadRequest, WriteRequest},
    {"reply_ref", kReplyKeys, v1::Envelope::kResponse, true, ReadReply, WriteReply},
};

const RecordType* RecordTypeFor(v1::Envelope::BodyCase body) {
  for (const RecordType& t : kRecordTypes) {
    if (t.body == body) return &t;
  }
  return nullptr;
}

// The record's type, or nullptr (problem recorded).
const RecordType* ReadRecordType(JsonReader& r, const JsonValue& root) {
  std::optional<size_t> i = r.Enum(root, "record_type", true, kRecordTypeNames);
  return i ? &kRecordTypes[*i] : nullptr;
}

// Everything outside the body, except the message id (its key depends on the type).
void ReadHeader(JsonReader& r, const JsonValue& root, bool needs_reply_to, v1::Envelope* env) {
  if (auto v = r.RequiredString(root, "case_ref")) env->set_case_reference(*v);
  if (auto v = ReadMessageId(r, root, "in_reply_to", needs_reply_to)) env->set_correlation_id(*v);
  if (auto t = r.Timestamp(root, "created", false)) *env->mutable_created_at() = ToProtoTime(*t);
  if (auto v = r.OptionalString(root, "from_party")) env->set_sender(*v);
  if (auto v = r.RequiredString(root, "officer")) env->set_originating_officer(*v);
  if (auto v = r.RequiredString(root, "legal_basis")) env->mutable_justification()->set_legal_basis(*v);
  if (auto v = r.OptionalString(root, "purpose")) env->mutable_justification()->set_purpose(*v);
  if (auto v = r.Enum(root, "protective_marking", true, kMarkings)) {
    env->set_classification(static_cast<v1::Classification>(*v + 1));
  }
  if (auto v = r.Enum(root, "priority", true, kPriorities)) env->set_priority(static_cast<v1::Priority>(*v + 1));
  for (std::string& recipient : r.StringArray(root, "recipients", true)) env->add_recipients(std::move(recipient));
  ReadUkGrading(r, root, "grading", env);
  ReadEuropolEvaluation(r, root, "partner_evaluation", env);
  ReadAttachments(r, root, "attachments", env);
}

// True if the document's top level is an object (without recording anything).
bool RootIsObject(const JsonDoc& doc) {
  JsonReader probe(doc);
  return probe.Object(doc.root(), {});
}

absl::StatusOr<v1::Envelope> ToEnvelopeImpl(const JsonDoc& doc) {
  JsonReader r(doc);
  const JsonValue root = r.Root();
  v1::Envelope env;
  if (!RootIsObject(doc)) {
    r.Object(root, {});  // "(document): must be an object, not ..."
    return r.status();
  }
  // Without a known record type the header is still checked, so that one
  // pass finds as much as it can; keys and body need the type.
  const RecordType* type = ReadRecordType(r, root);
  if (type != nullptr) r.Object(root, type->keys);
  ReadHeader(r, root, type != nullptr && type->needs_reply_to, &env);
  if (type != nullptr) {
    if (auto id = ReadMessageId(r, root, type->id_key, true)) env.set_message_id(*id);
    type->read(r, root, &env);
  }
  PORTCULLIS_RETURN_IF_ERROR(r.status());
  return env;
}

absl::Status CheckHeader(const v1::Envelope& env, const RecordType& type) {
  if (!IsMessageId(env.message_id())) return Refuse("message_id", kMessageIdRule);
  PORTCULLIS_RETURN_IF_ERROR(RequireText(env.case_reference(), "case_reference"));
  PORTCULLIS_RETURN_IF_ERROR(RequireText(env.originating_officer(), "originating_officer"));
  PORTCULLIS_RETURN_IF_ERROR(RequireText(env.justification().legal_basis(), "justification.legal_basis"));
  if (env.recipients().empty()) return Refuse("recipients", "at least one is required");
  if (!env.correlation_id().empty() && !IsMessageId(env.correlation_id())) {
    return Refuse("correlation_id", kMessageIdRule);
  }
  if (type.needs_reply_to && env.correlation_id().empty()) {
    return Refuse("correlation_id", "a REPLY must name the message it answers");
  }
  const int marking = static_cast<int>(env.classification());
  if (marking < 1 || marking > static_cast<int>(kMarkings.size())) {
    return Refuse("classification", absl::StrCat(v1::Classification_Name(env.classification()),
                                                 " has no Border Force protective marking"));
  }
  if (!v1::Priority_IsValid(env.priority())) return Refuse("priority", "unknown value");
  return absl::OkStatus();
}

absl::StatusOr<JsonOut> HeaderJson(const v1::Envelope& env, const RecordType& type) {
  JsonOut out = JsonOut::Object();
  out.Set("record_type", Spelling(kRecordTypeNames, static_cast<int>(&type - kRecordTypes) + 1));
  out.Set(std::string(type.id_key), Text(env.message_id()));
  out.Set("case_ref", Text(env.case_reference()));
  SetIfAny(out, "in_reply_to", env.correlation_id());
  if (env.has_created_at()) SetTime(out, "created", env.created_at());
  SetIfAny(out, "from_party", env.sender());
  out.Set("officer", Text(env.originating_officer()));
  out.Set("legal_basis", Text(env.justification().legal_basis()));
  SetIfAny(out, "purpose", env.justification().purpose());
  out.Set("protective_marking", Spelling(kMarkings, env.classification()));
  // PRIORITY_UNSPECIFIED is treated as ROUTINE by the gateway, and written so.
  out.Set("priority", Spelling(kPriorities, env.priority() == v1::PRIORITY_UNSPECIFIED ? 1 : env.priority()));
  out.Set("recipients", StringsJson(env.recipients()));
  if (env.has_uk_grading()) {
    absl::StatusOr<JsonOut> grading = UkGradingJson(env.uk_grading());
    if (!grading.ok()) return grading.status();
    out.Set("grading", *std::move(grading));
  }
  if (env.has_europol_evaluation()) {
    absl::StatusOr<JsonOut> evaluation = EuropolEvaluationJson(env.europol_evaluation());
    if (!evaluation.ok()) return evaluation.status();
    out.Set("partner_evaluation", *std::move(evaluation));
  }
  return out;
}

absl::StatusOr<std::string> FromEnvelopeImpl(const v1::Envelope& env) {
  const RecordType* type = RecordTypeFor(env.body_case());
  if (type == nullptr) return Refuse("body", "not set");
  PORTCULLIS_RETURN_IF_ERROR(CheckHeader(env, *type));
  absl::StatusOr<JsonOut> out = HeaderJson(env, *type);
  if (!out.ok()) return out.status();
  PORTCULLIS_RETURN_IF_ERROR(type->write(env, *out));
  if (env.attachments_size() > 0) out->Set("attachments", AttachmentsJson(env.attachments()));
  return out->Dump();
}

// Prefixes a refusal with the message it is about.
absl::StatusOr<std::string> NameTheMessage(absl::StatusOr<std::string> native, const v1::Envelope& env) {
  if (native.ok()) return native;
  return absl::Status(native.status().code(),
                      absl::StrCat("message ", env.message_id(), ": ", std::string(native.status().message())));
}

absl::StatusOr<std::string> FromEnvelopeNamed(const v1::Envelope& env) {
  return NameTheMessage(FromEnvelopeImpl(env), env);
}

}  // namespace

const NativeFormat& Format() {
  static const NativeFormat* const format =
      new FunctionFormat("border_force",
                         "Border Force / Border Security Command case system records (crossing referrals, "
                         "intelligence, information requests, replies)",
                         ToEnvelopeImpl, FromEnvelopeNamed);
  return *format;
}

}  // namespace portcullis::adapters::border_force
