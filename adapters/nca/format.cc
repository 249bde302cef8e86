#include "adapters/nca/format.h"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/repeated_field.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/message_differencer.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "adapters/common/native_util.h"

namespace portcullis::adapters::nca {
namespace {

using google::protobuf::RepeatedPtrField;

// Native spellings, indexed like the proto enums they map to (index + 1).
const std::initializer_list<std::string_view> kMarkings = {"OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET"};
const std::initializer_list<std::string_view> kPrecedence = {"ROUTINE", "URGENT", "IMMEDIATE"};
const std::initializer_list<std::string_view> kRoles = {"PASSENGER", "PILOT",   "FACILITATOR",
                                                        "WITNESS",   "SUBJECT", "RETURNEE"};
// "N" is false, "Y" is true.
const std::initializer_list<std::string_view> kYesNo = {"N", "Y"};
// record_type values, in the order of kKinds below.
const std::initializer_list<std::string_view> kRecordTypes = {"INTREP", "REFERRAL", "RFI", "REPLY"};
enum : size_t { kIntrep = 0, kReferral = 1, kRfi = 2, kReply = 3 };

// Keys of the record and of its nested blocks.
const std::initializer_list<std::string_view> kRecordKeys = {
    "record_type",  "urn",         "reply_to_urn", "op_ref",     "originating_party", "officer_no",
    "disseminate_to", "recorded_at", "gsc_marking", "precedence", "lawful_basis",     "necessity_statement",
    "grading_3x5x2", "europol_evaluation", "content", "attachments"};
const std::initializer_list<std::string_view> kNominalKeys = {
    "forenames", "surname", "birth_date", "nationality", "role", "identity_documents", "aliases"};
const std::initializer_list<std::string_view> kVesselKeys = {"vessel_type", "vessel_name", "registration_mark",
                                                             "loa_m",       "propulsion",  "pob"};
const std::initializer_list<std::string_view> kPointKeys = {"lat_dd", "lon_dd", "location_note"};
const std::initializer_list<std::string_view> kCrossingKeys = {"departed_at", "departure_point", "intercepted_at",
                                                               "interception_point", "vessel"};

// ---------------------------------------------------------------------------
// Reading (native -> envelope)
// ---------------------------------------------------------------------------

// A string member into `*out` (left alone when absent or invalid).
void ReadText(JsonReader& r, const JsonValue& object, std::string_view key, bool required, std::string* out) {
  std::optional<std::string> v = required ? r.RequiredString(object, key) : r.OptionalString(object, key);
  if (v) *out = *std::move(v);
}

void ReadStrings(JsonReader& r, const JsonValue& object, std::string_view key, RepeatedPtrField<std::string>* out) {
  for (std::string& s : r.StringArray(object, key, false)) out->Add(std::move(s));
}

// An enum member as the proto enum value (index in `list` + 1).
template <typename E>
std::optional<E> ReadEnum(JsonReader& r, const JsonValue& object, std::string_view key, bool required,
                          std::initializer_list<std::string_view> list) {
  std::optional<size_t> i = r.Enum(object, key, required, list);
  if (!i) return std::nullopt;
  return static_cast<E>(*i + 1);
}

// An optional date-time member into `*make()` (only called when present and valid).
template <typename Make>
std::optional<absl::Time> ReadTime(JsonReader& r, const JsonValue& object, std::string_view key, Make make) {
  std::optional<absl::Time> t = r.Timestamp(object, key, false);
  if (t) *make() = ToProtoTime(*t);
  return t;
}

// An optional object member `key` with `allowed` keys, filled into `*make()`
// (only called when the member is present and an object).
template <typename Make, typename Fill>
void ReadBlock(JsonReader& r, const JsonValue& parent, std::string_view key,
               std::initializer_list<std::string_view> allowed, Make make, Fill fill) {
  const JsonValue block = r.Field(parent, key);
  if (r.Object(block, allowed)) fill(r, block, make());
}

void ReadNominal(JsonReader& r, const JsonValue& p, v1::Person* out) {
  if (!r.Object(p, kNominalKeys)) return;
  ReadText(r, p, "forenames", false, out->mutable_given_names());
  ReadText(r, p, "surname", false, out->mutable_family_name());
  if (auto v = r.Date(p, "birth_date", false)) out->set_date_of_birth(*v);
  if (auto v = r.OptionalString(p, "nationality")) {
    if (IsCountryCode(*v)) {
      out->set_nationality(*v);
    } else {
      r.Add(r.Field(p, "nationality"), kCountryCodeRule);
    }
  }
  if (auto v = ReadEnum<v1::PersonRole>(r, p, "role", true, kRoles)) out->set_role(*v);
  ReadStrings(r, p, "identity_documents", out->mutable_documents());
  ReadStrings(r, p, "aliases", out->mutable_aliases());
  if (!r.Field(p, "forenames").present() && !r.Field(p, "surname").present() && !r.Field(p, "aliases").present()) {
    r.Add(p, "needs forenames, surname or aliases");
  }
}

void ReadNominals(JsonReader& r, const JsonValue& content, std::string_view key, RepeatedPtrField<v1::Person>* out) {
  for (const JsonValue& p : r.Array(content, key, false)) ReadNominal(r, p, out->Add());
}

void ReadVessel(JsonReader& r, const JsonValue& v, v1::Vessel* out) {
  ReadText(r, v, "vessel_type", false, out->mutable_type());
  ReadText(r, v, "vessel_name", false, out->mutable_name());
  ReadText(r, v, "registration_mark", false, out->mutable_registration());
  if (auto d = r.Number(v, "loa_m", false, 0.1, 500)) out->set_length_metres(*d);
  ReadText(r, v, "propulsion", false, out->mutable_engine());
  if (auto n = r.Integer(v, "pob", false, 0, 10000)) out->set_persons_on_board(static_cast<uint32_t>(*n));
}

void ReadPoint(JsonReader& r, const JsonValue& p, v1::Position* out) {
  if (auto lat = r.Number(p, "lat_dd", true, -90, 90)) out->set_latitude(*lat);
  if (auto lon = r.Number(p, "lon_dd", true, -180, 180)) out->set_longitude(*lon);
  ReadText(r, p, "location_note", false, out->mutable_description());
}

void ReadCrossing(JsonReader& r, const JsonValue& x, v1::Crossing* c) {
  std::optional<absl::Time> departed = ReadTime(r, x, "departed_at", [c] { return c->mutable_departure_time(); });
  std::optional<absl::Time> intercepted =
      ReadTime(r, x, "intercepted_at", [c] { return c->mutable_interception_time(); });
  if (departed && intercepted && *intercepted < *departed) {
    r.Add(r.Field(x, "intercepted_at"), "must not be before departed_at");
  }
  ReadBlock(r, x, "departure_point", kPointKeys, [c] { return c->mutable_departure_place(); }, ReadPoint);
  ReadBlock(r, x, "interception_point", kPointKeys, [c] { return c->mutable_interception_place(); }, ReadPoint);
  ReadBlock(r, x, "vessel", kVesselKeys, [c] { return c->mutable_vessel(); }, ReadVessel);
}

void ReadIntrep(JsonReader& r, const JsonValue& content, v1::Envelope* env) {
  if (!r.Object(content, {"sanitised_summary", "nominals", "vessels", "routes", "financial_intelligence"})) return;
  v1::IntelligenceReport* b = env->mutable_intelligence_report();
  ReadText(r, content, "sanitised_summary", true, b->mutable_summary());
  ReadNominals(r, content, "nominals", b->mutable_subjects());
  for (const JsonValue& v : r.Array(content, "vessels", false)) {
    if (r.Object(v, kVesselKeys)) ReadVessel(r, v, b->add_vessels());
  }
  ReadStrings(r, content, "routes", b->mutable_routes());
  ReadText(r, content, "financial_intelligence", false, b->mutable_financial());
}

void ReadReferral(JsonReader& r, const JsonValue& content, v1::Envelope* env) {
  if (!r.Object(content, {"sanitised_summary", "action_requested", "crossing", "nominals", "ocg_nominals"})) return;
  v1::CaseReferral* b = env->mutable_case_referral();
  ReadText(r, content, "sanitised_summary", true, b->mutable_summary());
  ReadText(r, content, "action_requested", true, b->mutable_requested_action());
  ReadBlock(r, content, "crossing", kCrossingKeys, [b] { return b->mutable_crossing(); }, ReadCrossing);
  ReadNominals(r, content, "nominals", b->mutable_persons());
  ReadNominals(r, content, "ocg_nominals", b->mutable_suspected_facilitators());
}

void ReadRfi(JsonReader& r, const JsonValue& content, v1::Envelope* env) {
  if (!r.Object(content, {"information_requested", "nominals", "directly_accessible", "response_deadline"})) return;
  v1::RequestForInformation* b = env->mutable_request_for_information();
  ReadText(r, content, "information_requested", true, b->mutable_question());
  ReadNominals(r, content, "nominals", b->mutable_subjects());
  if (auto v = r.Enum(content, "directly_accessible", true, kYesNo)) b->set_directly_accessible(*v == 1);
  ReadTime(r, content, "response_deadline", [b] { return b->mutable_answer_by(); });
}

void ReadReply(JsonReader& r, const JsonValue& content, v1::Envelope* env) {
  if (!r.Object(content, {"reply_text", "nominals"})) return;
  v1::Response* b = env->mutable_response();
  ReadText(r, content, "reply_text", true, b->mutable_answer());
  ReadNominals(r, content, "nominals", b->mutable_subjects());
}

// disseminate_to: at least one party id, none twice.
void ReadRecipients(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  std::set<std::string> seen;
  for (const JsonValue& v : r.Array(root, "disseminate_to", true)) {
    std::optional<std::string> party = r.StringValue(v);
    if (!party) continue;
    if (!seen.insert(*party).second) {
      r.Add(v, "appears twice");
    } else {
      env->add_recipients(*std::move(party));
    }
  }
}

// Everything outside `content`.
void ReadHeader(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  if (auto v = ReadMessageId(r, root, "urn", true)) env->set_message_id(*v);
  if (auto v = ReadMessageId(r, root, "reply_to_urn", false)) env->set_correlation_id(*v);
  if (auto v = ReadMessageId(r, root, "op_ref", true)) env->set_case_reference(*v);
  ReadText(r, root, "originating_party", false, env->mutable_sender());
  if (auto v = ReadMessageId(r, root, "officer_no", true)) env->set_originating_officer(*v);
  ReadRecipients(r, root, env);
  ReadTime(r, root, "recorded_at", [env] { return env->mutable_created_at(); });
  if (auto v = ReadEnum<v1::Classification>(r, root, "gsc_marking", true, kMarkings)) env->set_classification(*v);
  if (auto v = ReadEnum<v1::Priority>(r, root, "precedence", true, kPrecedence)) env->set_priority(*v);
  ReadText(r, root, "lawful_basis", true, env->mutable_justification()->mutable_legal_basis());
  ReadText(r, root, "necessity_statement", false, env->mutable_justification()->mutable_purpose());
  ReadUkGrading(r, root, "grading_3x5x2", env);
  ReadEuropolEvaluation(r, root, "europol_evaluation", env);
  ReadAttachments(r, root, "attachments", env);
}

// ---------------------------------------------------------------------------
// Writing (envelope -> native)
// ---------------------------------------------------------------------------

absl::Status Refuse(const std::string& field, const std::string& rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

// The native spelling of proto enum value `value` (1-based), if any.
std::optional<std::string> Spelling(std::initializer_list<std::string_view> list, int value) {
  if (value < 1 || value > static_cast<int>(list.size())) return std::nullopt;
  return std::string(Nth(list, static_cast<size_t>(value - 1)));
}

void PutText(JsonOut& out, std::string key, const std::string& value) {
  if (!value.empty()) out.Set(std::move(key), JsonOut::String(value));
}

// A required text: INVALID_ARGUMENT naming the envelope `field` when empty.
absl::Status PutRequired(JsonOut& out, std::string key, const std::string& value, const std::string& field) {
  if (value.empty()) return Refuse(field, absl::StrCat("required (NCA field ", key, ")"));
  out.Set(std::move(key), JsonOut::String(value));
  return absl::OkStatus();
}

void PutStrings(JsonOut& out, std::string key, const RepeatedPtrField<std::string>& list) {
  if (!list.empty()) out.Set(std::move(key), StringsJson(list));
}

void PutTime(JsonOut& out, std::string key, bool present, const google::protobuf::Timestamp& t) {
  if (present) out.Set(std::move(key), JsonOut::String(FormatProtoTime(t)));
}

// A block built by a shared helper (grading, evaluation), when present.
absl::Status PutBlock(JsonOut& out, std::string key, bool present, const absl::StatusOr<JsonOut>& block) {
  if (!present) return absl::OkStatus();
  if (!block.ok()) return block.status();
  out.Set(std::move(key), *block);
  return absl::OkStatus();
}

absl::StatusOr<JsonOut> NominalJson(const v1::Person& p, const std::string& field) {
  std::optional<std::string> role = Spelling(kRoles, p.role());
  if (!role) return Refuse(absl::StrCat(field, ".role"), "required (every NCA nominal has a role)");
  if (p.given_names().empty() && p.family_name().empty() && p.aliases().empty()) {
    return Refuse(absl::StrCat(field, ".family_name"), "a nominal needs a name or an alias");
  }
  JsonOut out = JsonOut::Object();
  PutText(out, "forenames", p.given_names());
  PutText(out, "surname", p.family_name());
  PutText(out, "birth_date", p.date_of_birth());
  PutText(out, "nationality", p.nationality());
  out.Set("role", JsonOut::String(*role));
  PutStrings(out, "identity_documents", p.documents());
  PutStrings(out, "aliases", p.aliases());
  return out;
}

absl::Status PutNominals(JsonOut& content, std::string key, const RepeatedPtrField<v1::Person>& list,
                         const std::string& field) {
  if (list.empty()) return absl::OkStatus();
  JsonOut nominals = JsonOut::Array();
  for (int i = 0; i < list.size(); ++i) {
    absl::StatusOr<JsonOut> n = NominalJson(list.Get(i), absl::StrCat(field, "[", i, "]"));
    if (!n.ok()) return n.status();
    nominals.Push(*std::move(n));
  }
  content.Set(std::move(key), std::move(nominals));
  return absl::OkStatus();
}

JsonOut VesselJson(const v1::Vessel& v) {
  JsonOut out = JsonOut::Object();
  PutText(out, "vessel_type", v.type());
  PutText(out, "vessel_name", v.name());
  PutText(out, "registration_mark", v.registration());
  if (v.length_metres() != 0) out.Set("loa_m", JsonOut::Number(v.length_metres()));
  PutText(out, "propulsion", v.engine());
  out.Set("pob", JsonOut::Integer(v.persons_on_board()));
  return out;
}

JsonOut PointJson(const v1::Position& p) {
  JsonOut out = JsonOut::Object();
  out.Set("lat_dd", JsonOut::Number(p.latitude())).Set("lon_dd", JsonOut::Number(p.longitude()));
  PutText(out, "location_note", p.description());
  return out;
}

JsonOut CrossingJson(const v1::Crossing& c) {
  JsonOut out = JsonOut::Object();
  PutTime(out, "departed_at", c.has_departure_time(), c.departure_time());
  if (c.has_departure_place()) out.Set("departure_point", PointJson(c.departure_place()));
  PutTime(out, "intercepted_at", c.has_interception_time(), c.interception_time());
  if (c.has_interception_place()) out.Set("interception_point", PointJson(c.interception_place()));
  if (c.has_vessel()) out.Set("vessel", VesselJson(c.vessel()));
  return out;
}

absl::Status WriteIntrep(const v1::Envelope& env, JsonOut* content) {
  if (!env.has_uk_grading() && !env.has_europol_evaluation()) {
    return Refuse("uk_grading",
                  "required on an intelligence report (NCA grading_3x5x2), unless europol_evaluation is set");
  }
  const v1::IntelligenceReport& b = env.intelligence_report();
  PORTCULLIS_RETURN_IF_ERROR(PutRequired(*content, "sanitised_summary", b.summary(), "intelligence_report.summary"));
  PORTCULLIS_RETURN_IF_ERROR(PutNominals(*content, "nominals", b.subjects(), "intelligence_report.subjects"));
  if (!b.vessels().empty()) {
    JsonOut vessels = JsonOut::Array();
    for (const v1::Vessel& v : b.vessels()) vessels.Push(VesselJson(v));
    content->Set("vessels", std::move(vessels));
  }
  PutStrings(*content, "routes", b.routes());
  PutText(*content, "financial_intelligence", b.financial());
  return absl::OkStatus();
}

absl::Status WriteReferral(const v1::Envelope& env, JsonOut* content) {
  const v1::CaseReferral& b = env.case_referral();
  PORTCULLIS_RETURN_IF_ERROR(PutRequired(*content, "sanitised_summary", b.summary(), "case_referral.summary"));
  PORTCULLIS_RETURN_IF_ERROR(
      PutRequired(*content, "action_requested", b.requested_action(), "case_referral.requested_action"));
  // An empty crossing block is kept: the envelope says a crossing was recorded.
  if (b.has_crossing()) content->Set("crossing", CrossingJson(b.crossing()));
  PORTCULLIS_RETURN_IF_ERROR(PutNominals(*content, "nominals", b.persons(), "case_referral.persons"));
  return PutNominals(*content, "ocg_nominals", b.suspected_facilitators(), "case_referral.suspected_facilitators");
}

absl::Status WriteRfi(const v1::Envelope& env, JsonOut* content) {
  const v1::RequestForInformation& b = env.request_for_information();
  PORTCULLIS_RETURN_IF_ERROR(
      PutRequired(*content, "information_requested", b.question(), "request_for_information.question"));
  PORTCULLIS_RETURN_IF_ERROR(PutNominals(*content, "nominals", b.subjects(), "request_for_information.subjects"));
  content->Set("directly_accessible", JsonOut::String(std::string(Nth(kYesNo, b.directly_accessible() ? 1 : 0))));
  PutTime(*content, "response_deadline", b.has_answer_by(), b.answer_by());
  return absl::OkStatus();
}

absl::Status WriteReply(const v1::Envelope& env, JsonOut* content) {
  if (env.correlation_id().empty()) {
    return Refuse("correlation_id", "required on a response (NCA reply_to_urn)");
  }
  PORTCULLIS_RETURN_IF_ERROR(PutRequired(*content, "reply_text", env.response().answer(), "response.answer"));
  return PutNominals(*content, "nominals", env.response().subjects(), "response.subjects");
}

// One record type: its envelope body and how its `content` block reads and
// writes. Indexed like kRecordTypes.
struct RecordKind {
  v1::Envelope::BodyCase body;
  void (*read)(JsonReader&, const JsonValue&, v1::Envelope*);
  absl::Status (*write)(const v1::Envelope&, JsonOut*);
};
const RecordKind kKinds[] = {
    {v1::Envelope::kIntelligenceReport, ReadIntrep, WriteIntrep},
    {v1::Envelope::kCaseReferral, ReadReferral, WriteReferral},
    {v1::Envelope::kRequestForInformation, ReadRfi, WriteRfi},
    {v1::Envelope::kResponse, ReadReply, WriteReply},
};

void ReadRecord(JsonReader& r, const JsonValue& root, v1::Envelope* env) {
  std::optional<size_t> type = r.Enum(root, "record_type", true, kRecordTypes);
  ReadHeader(r, root, env);
  const JsonValue content = r.Field(root, "content");
  if (!content.present()) {
    r.Add(content, "required");
  } else if (type) {
    kKinds[*type].read(r, content, env);
  }
  if (type == kIntrep && !r.Field(root, "grading_3x5x2").present() && !r.Field(root, "europol_evaluation").present()) {
    r.Add(r.Field(root, "grading_3x5x2"), "required on an INTREP (unless europol_evaluation is given)");
  }
  if (type == kReply && !r.Field(root, "reply_to_urn").present()) {
    r.Add(r.Field(root, "reply_to_urn"), "required on a REPLY");
  }
}

absl::StatusOr<v1::Envelope> ToEnvelopeImpl(const JsonDoc& doc) {
  JsonReader r(doc);
  v1::Envelope env;
  if (r.Object(r.Root(), kRecordKeys)) ReadRecord(r, r.Root(), &env);
  if (absl::Status s = r.status(); !s.ok()) return s;
  return env;
}

// The header fields, in export order.
absl::Status WriteHeader(const v1::Envelope& env, JsonOut* out) {
  std::optional<std::string> marking = Spelling(kMarkings, env.classification());
  if (!marking) {
    return Refuse("classification", absl::StrCat(v1::Classification_Name(env.classification()),
                                                 " has no NCA GSC marking (OFFICIAL, OFFICIAL-SENSITIVE, SECRET)"));
  }
  // PRIORITY_UNSPECIFIED is ROUTINE by contract.
  std::optional<std::string> precedence =
      Spelling(kPrecedence, env.priority() == v1::PRIORITY_UNSPECIFIED ? v1::ROUTINE : env.priority());
  if (!precedence) return Refuse("priority", "unknown value");
  if (env.recipients().empty()) return Refuse("recipients", "at least one is required (NCA disseminate_to)");
  PORTCULLIS_RETURN_IF_ERROR(PutRequired(*out, "urn", env.message_id(), "message_id"));
  PutText(*out, "reply_to_urn", env.correlation_id());
  PORTCULLIS_RETURN_IF_ERROR(PutRequired(*out, "op_ref", env.case_reference(), "case_reference"));
  PutText(*out, "originating_party", env.sender());
  PORTCULLIS_RETURN_IF_ERROR(PutRequired(*out, "officer_no", env.originating_officer(), "originating_officer"));
  out->Set("disseminate_to", StringsJson(env.recipients()));
  PutTime(*out, "recorded_at", env.has_created_at(), env.created_at());
  out->Set("gsc_marking", JsonOut::String(*marking));
  out->Set("precedence", JsonOut::String(*precedence));
  PORTCULLIS_RETURN_IF_ERROR(
      PutRequired(*out, "lawful_basis", env.justification().legal_basis(), "justification.legal_basis"));
  PutText(*out, "necessity_statement", env.justification().purpose());
  PORTCULLIS_RETURN_IF_ERROR(PutBlock(*out, "grading_3x5x2", env.has_uk_grading(), UkGradingJson(env.uk_grading())));
  return PutBlock(*out, "europol_evaluation", env.has_europol_evaluation(),
                  EuropolEvaluationJson(env.europol_evaluation()));
}

absl::StatusOr<std::string> RecordText(const v1::Envelope& env) {
  size_t type = 0;
  while (type < std::size(kKinds) && kKinds[type].body != env.body_case()) ++type;
  if (type == std::size(kKinds)) {
    return Refuse("body", "required (case_referral, intelligence_report, request_for_information or response)");
  }
  JsonOut out = JsonOut::Object();
  out.Set("record_type", JsonOut::String(std::string(Nth(kRecordTypes, type))));
  PORTCULLIS_RETURN_IF_ERROR(WriteHeader(env, &out));
  JsonOut content = JsonOut::Object();
  PORTCULLIS_RETURN_IF_ERROR(kKinds[type].write(env, &content));
  out.Set("content", std::move(content));
  if (!env.attachments().empty()) out.Set("attachments", AttachmentsJson(env.attachments()));
  return out.Dump();
}

// The field paths of a differencer report ("modified: a.b: x -> y" lines),
// without the values: they may be personal data.
std::string DifferingFields(const std::string& report) {
  std::vector<std::string> fields;
  for (absl::string_view line : absl::StrSplit(report, '\n')) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(": ", 2));
    if (parts.size() >= 2) fields.push_back(absl::StrCat(parts[0], " ", parts[1]));
  }
  return absl::StrJoin(fields, "; ");
}

// A record is only handed out if it reads back as the same envelope, so that
// an inbox never holds a file the NCA system would refuse or misread (e.g.
// a vessel length beyond what the native rules allow).
absl::Status CheckReadsBack(const v1::Envelope& env, const std::string& text) {
  v1::Envelope expected = env;
  if (expected.priority() == v1::PRIORITY_UNSPECIFIED) expected.set_priority(v1::ROUTINE);
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(text, "nca-record");
  if (!doc.ok()) return absl::InternalError(absl::StrCat("NCA record does not parse: ", doc.status().message()));
  absl::StatusOr<v1::Envelope> back = ToEnvelopeImpl(*doc);
  if (!back.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("envelope ", env.message_id(),
                                                   " holds values the NCA format refuses:\n", back.status().message()));
  }
  google::protobuf::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (!differencer.Compare(expected, *back)) {
    return absl::InvalidArgumentError(absl::StrCat("envelope ", env.message_id(),
                                                   " does not read back identically from the NCA format: ",
                                                   DifferingFields(report)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FromEnvelopeImpl(const v1::Envelope& env) {
  absl::StatusOr<std::string> text = RecordText(env);
  if (!text.ok()) return text.status();
  PORTCULLIS_RETURN_IF_ERROR(CheckReadsBack(env, *text));
  return text;
}

}  // namespace

const NativeFormat& Format() {
  static const NativeFormat* const format =
      new FunctionFormat("nca",
                         "National Crime Agency graded intelligence reports, referrals, RFIs and replies "
                         "(intelligence system export)",
                         ToEnvelopeImpl, FromEnvelopeImpl);
  return *format;
}

}  // namespace portcullis::adapters::nca
