#include "adapters/border_force/format.h"

#include <cstdint>
#include <optional>
#include <vector>

#include <google/protobuf/timestamp.pb.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "adapters/common/native_util.h"

namespace portcullis::adapters::border_force {
namespace {

// Native spellings, indexed like the proto enums they map to (index + 1).
const std::initializer_list<std::string_view> kMarkings = {"OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET"};
const std::initializer_list<std::string_view> kPriorities = {"ROUTINE", "URGENT", "IMMEDIATE"};
const std::initializer_list<std::string_view> kSources = {"1", "2", "3"};
const std::initializer_list<std::string_view> kIntelligence = {"A", "B", "C", "D", "E"};
const std::initializer_list<std::string_view> kHandling = {"P", "C"};
const std::initializer_list<std::string_view> kRoles = {"PASSENGER", "PILOT",   "FACILITATOR",
                                                             "WITNESS",   "SUBJECT", "RETURNEE"};

// `object.key` as a position; false if absent or invalid.
bool ReadPlace(JsonReader& r, const JsonValue& parent, std::string_view key, v1::Position* out) {
  JsonValue place = r.Field(parent, key);
  if (!r.Object(place, {"lat", "lon", "description"})) return false;
  std::optional<double> lat = r.Number(place, "lat", true, -90, 90);
  std::optional<double> lon = r.Number(place, "lon", true, -180, 180);
  std::optional<std::string> description = r.OptionalString(place, "description");
  if (lat) out->set_latitude(*lat);
  if (lon) out->set_longitude(*lon);
  if (description) out->set_description(*description);
  return true;
}

void ReadPerson(JsonReader& r, const JsonValue& p, bool facilitator, v1::Person* out) {
  if (!r.Object(p, {"given_names", "family_name", "dob", "nationality", "role", "documents", "aliases"})) return;
  if (auto v = r.OptionalString(p, "given_names")) out->set_given_names(*v);
  if (auto v = r.OptionalString(p, "family_name")) out->set_family_name(*v);
  if (auto v = r.Date(p, "dob", false)) out->set_date_of_birth(*v);
  if (auto v = r.RequiredString(p, "nationality")) {
    if (IsCountryCode(*v)) {
      out->set_nationality(*v);
    } else {
      r.Add(r.Field(p, "nationality"), "must be an ISO 3166-1 alpha-3 code such as \"IRQ\", or \"XXX\" if unknown");
    }
  }
  // A suspected facilitator is a FACILITATOR unless the record says otherwise.
  if (auto role = r.Enum(p, "role", !facilitator, kRoles)) {
    out->set_role(static_cast<v1::PersonRole>(*role + 1));
  } else if (facilitator && !r.Field(p, "role").present()) {
    out->set_role(v1::FACILITATOR);
  }
  for (std::string& d : r.StringArray(p, "documents", false)) out->add_documents(std::move(d));
  for (std::string& a : r.StringArray(p, "aliases", false)) out->add_aliases(std::move(a));
  if (out->given_names().empty() && out->family_name().empty() && out->aliases_size() == 0) {
    r.Add(p, "needs given_names, family_name or aliases");
  }
}

JsonOut PlaceJson(const v1::Position& p) {
  JsonOut out = JsonOut::Object();
  out.Set("lat", JsonOut::Number(p.latitude())).Set("lon", JsonOut::Number(p.longitude()));
  if (!p.description().empty()) out.Set("description", JsonOut::String(p.description()));
  return out;
}


absl::StatusOr<JsonOut> PersonJson(const v1::Person& p, bool facilitator, const std::string& path) {
  JsonOut out = JsonOut::Object();
  if (!p.given_names().empty()) out.Set("given_names", JsonOut::String(p.given_names()));
  if (!p.family_name().empty()) out.Set("family_name", JsonOut::String(p.family_name()));
  if (!p.date_of_birth().empty()) out.Set("dob", JsonOut::String(p.date_of_birth()));
  out.Set("nationality", JsonOut::String(p.nationality().empty() ? "XXX" : p.nationality()));
  const int role = static_cast<int>(p.role());
  if (role >= 1 && role <= static_cast<int>(kRoles.size())) {
    if (!(facilitator && p.role() == v1::FACILITATOR)) {
      out.Set("role", JsonOut::String(std::string(Nth(kRoles, static_cast<size_t>(role - 1)))));
    }
  } else if (!facilitator) {
    return absl::InvalidArgumentError(absl::StrCat(path, ".role: not set; Border Force records need a role"));
  }
  if (p.documents_size() > 0) out.Set("documents", StringsJson(p.documents()));
  if (p.aliases_size() > 0) out.Set("aliases", StringsJson(p.aliases()));
  return out;
}

absl::StatusOr<v1::Envelope> ToEnvelopeImpl(const JsonDoc& doc) {
  JsonReader r(doc);
  const JsonValue root = r.Root();
  v1::Envelope env;
  if (r.Object(root, {"referral_ref", "case_ref", "in_reply_to", "created", "from_party", "officer", "legal_basis",
                      "purpose", "protective_marking", "grading", "crossing", "vessel", "persons",
                      "suspected_facilitators", "summary", "requested_action", "recipients", "priority"})) {
    if (auto v = r.RequiredString(root, "referral_ref")) {
      if (IsMessageId(*v)) {
        env.set_message_id(*v);
      } else {
        r.Add(r.Field(root, "referral_ref"), "must be 1 to 128 characters from A-Z a-z 0-9 . _ : -");
      }
    }
    if (auto v = r.RequiredString(root, "case_ref")) env.set_case_reference(*v);
    if (auto v = r.OptionalString(root, "in_reply_to")) env.set_correlation_id(*v);
    if (auto v = r.Timestamp(root, "created", false)) *env.mutable_created_at() = ToProtoTime(*v);
    if (auto v = r.OptionalString(root, "from_party")) env.set_sender(*v);
    if (auto v = r.RequiredString(root, "officer")) env.set_originating_officer(*v);
    if (auto v = r.RequiredString(root, "legal_basis")) env.mutable_justification()->set_legal_basis(*v);
    if (auto v = r.OptionalString(root, "purpose")) env.mutable_justification()->set_purpose(*v);
    if (auto v = r.Enum(root, "protective_marking", true, kMarkings)) {
      env.set_classification(static_cast<v1::Classification>(*v + 1));
    }
    if (auto v = r.Enum(root, "priority", true, kPriorities)) env.set_priority(static_cast<v1::Priority>(*v + 1));
    for (std::string& recipient : r.StringArray(root, "recipients", true)) env.add_recipients(std::move(recipient));

    const JsonValue grading = r.Field(root, "grading");
    if (r.Object(grading, {"source", "intelligence", "handling", "conditions"})) {
      v1::UkGrading* g = env.mutable_uk_grading();
      if (auto v = r.Enum(grading, "source", true, kSources)) g->set_source(static_cast<v1::UkSourceEvaluation>(*v + 1));
      if (auto v = r.Enum(grading, "intelligence", true, kIntelligence)) {
        g->set_intelligence(static_cast<v1::UkIntelligenceAssessment>(*v + 1));
      }
      std::optional<size_t> handling = r.Enum(grading, "handling", true, kHandling);
      if (handling) g->set_handling(static_cast<v1::UkHandlingCode>(*handling + 1));
      std::optional<std::string> conditions = r.OptionalString(grading, "conditions");
      if (conditions) g->set_handling_conditions(*conditions);
      if (handling && *handling == 1 && !conditions && !r.Field(grading, "conditions").present()) {
        r.Add(r.Field(grading, "conditions"), "required when handling is \"C\"");
      }
      if (handling && *handling == 0 && conditions) {
        r.Add(r.Field(grading, "conditions"), "only allowed when handling is \"C\"");
      }
    }

    v1::CaseReferral* referral = env.mutable_case_referral();
    if (auto v = r.RequiredString(root, "summary")) referral->set_summary(*v);
    if (auto v = r.RequiredString(root, "requested_action")) referral->set_requested_action(*v);

    const JsonValue crossing = r.Field(root, "crossing");
    if (r.Object(crossing, {"departure_time", "departure_place", "interception_time", "interception_place"})) {
      v1::Crossing* c = referral->mutable_crossing();
      std::optional<absl::Time> departed = r.Timestamp(crossing, "departure_time", false);
      std::optional<absl::Time> intercepted = r.Timestamp(crossing, "interception_time", false);
      if (departed) *c->mutable_departure_time() = ToProtoTime(*departed);
      if (intercepted) *c->mutable_interception_time() = ToProtoTime(*intercepted);
      if (departed && intercepted && *intercepted < *departed) {
        r.Add(r.Field(crossing, "interception_time"), "must not be before departure_time");
      }
      v1::Position place;
      if (ReadPlace(r, crossing, "departure_place", &place)) *c->mutable_departure_place() = place;
      place.Clear();
      if (ReadPlace(r, crossing, "interception_place", &place)) *c->mutable_interception_place() = place;
    }
    const JsonValue vessel = r.Field(root, "vessel");
    if (r.Object(vessel, {"type", "name", "registration", "length_m", "engine", "persons_on_board"})) {
      v1::Vessel* v = referral->mutable_crossing()->mutable_vessel();
      if (auto s = r.RequiredString(vessel, "type")) v->set_type(*s);
      if (auto s = r.OptionalString(vessel, "name")) v->set_name(*s);
      if (auto s = r.OptionalString(vessel, "registration")) v->set_registration(*s);
      if (auto d = r.Number(vessel, "length_m", false, 0.1, 500)) v->set_length_metres(*d);
      if (auto s = r.OptionalString(vessel, "engine")) v->set_engine(*s);
      if (auto n = r.Integer(vessel, "persons_on_board", false, 0, 10000)) {
        v->set_persons_on_board(static_cast<uint32_t>(*n));
      }
    }
    for (const JsonValue& p : r.Array(root, "persons", false)) ReadPerson(r, p, false, referral->add_persons());
    for (const JsonValue& p : r.Array(root, "suspected_facilitators", false)) {
      ReadPerson(r, p, true, referral->add_suspected_facilitators());
    }
  }
  if (absl::Status s = r.status(); !s.ok()) return s;
  return env;
}

absl::StatusOr<std::string> FromEnvelopeImpl(const v1::Envelope& env) {
  if (env.body_case() != v1::Envelope::kCaseReferral) {
    return absl::UnimplementedError(
        absl::StrCat("message ", env.message_id(), ": Border Force records hold case referrals only"));
  }
  const int marking = static_cast<int>(env.classification());
  if (marking < 1 || marking > static_cast<int>(kMarkings.size())) {
    return absl::InvalidArgumentError(absl::StrCat("message ", env.message_id(), ": classification ",
                                                   v1::Classification_Name(env.classification()),
                                                   " has no Border Force protective marking"));
  }
  const int priority = env.priority() == v1::PRIORITY_UNSPECIFIED ? 1 : static_cast<int>(env.priority());
  if (priority > static_cast<int>(kPriorities.size())) {
    return absl::InvalidArgumentError(absl::StrCat("message ", env.message_id(), ": unknown priority"));
  }
  JsonOut out = JsonOut::Object();
  out.Set("referral_ref", JsonOut::String(env.message_id()));
  out.Set("case_ref", JsonOut::String(env.case_reference()));
  if (!env.correlation_id().empty()) out.Set("in_reply_to", JsonOut::String(env.correlation_id()));
  if (env.has_created_at()) out.Set("created", JsonOut::String(FormatProtoTime(env.created_at())));
  if (!env.sender().empty()) out.Set("from_party", JsonOut::String(env.sender()));
  out.Set("officer", JsonOut::String(env.originating_officer()));
  out.Set("legal_basis", JsonOut::String(env.justification().legal_basis()));
  if (!env.justification().purpose().empty()) out.Set("purpose", JsonOut::String(env.justification().purpose()));
  out.Set("protective_marking", JsonOut::String(std::string(Nth(kMarkings, static_cast<size_t>(marking - 1)))));
  out.Set("priority", JsonOut::String(std::string(Nth(kPriorities, static_cast<size_t>(priority - 1)))));
  out.Set("recipients", StringsJson(env.recipients()));
  if (env.has_uk_grading()) {
    const v1::UkGrading& g = env.uk_grading();
    const int source = g.source(), intel = g.intelligence(), handling = g.handling();
    if (source < 1 || source > 3 || intel < 1 || intel > 5 || handling < 1 || handling > 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("message ", env.message_id(), ": uk_grading is incomplete (source, intelligence, handling)"));
    }
    JsonOut grading = JsonOut::Object();
    grading.Set("source", JsonOut::String(std::string(Nth(kSources, static_cast<size_t>(source - 1)))));
    grading.Set("intelligence", JsonOut::String(std::string(Nth(kIntelligence, static_cast<size_t>(intel - 1)))));
    grading.Set("handling", JsonOut::String(std::string(Nth(kHandling, static_cast<size_t>(handling - 1)))));
    if (!g.handling_conditions().empty()) grading.Set("conditions", JsonOut::String(g.handling_conditions()));
    out.Set("grading", std::move(grading));
  }
  const v1::CaseReferral& referral = env.case_referral();
  if (referral.has_crossing()) {
    const v1::Crossing& c = referral.crossing();
    JsonOut crossing = JsonOut::Object();
    if (c.has_departure_time()) crossing.Set("departure_time", JsonOut::String(FormatProtoTime(c.departure_time())));
    if (c.has_departure_place()) crossing.Set("departure_place", PlaceJson(c.departure_place()));
    if (c.has_interception_time()) {
      crossing.Set("interception_time", JsonOut::String(FormatProtoTime(c.interception_time())));
    }
    if (c.has_interception_place()) crossing.Set("interception_place", PlaceJson(c.interception_place()));
    if (!crossing.empty()) out.Set("crossing", std::move(crossing));
    if (c.has_vessel()) {
      const v1::Vessel& v = c.vessel();
      JsonOut vessel = JsonOut::Object();
      vessel.Set("type", JsonOut::String(v.type()));
      if (!v.name().empty()) vessel.Set("name", JsonOut::String(v.name()));
      if (!v.registration().empty()) vessel.Set("registration", JsonOut::String(v.registration()));
      if (v.length_metres() > 0) vessel.Set("length_m", JsonOut::Number(v.length_metres()));
      if (!v.engine().empty()) vessel.Set("engine", JsonOut::String(v.engine()));
      vessel.Set("persons_on_board", JsonOut::Integer(v.persons_on_board()));
      out.Set("vessel", std::move(vessel));
    }
  }
  const std::pair<const char*, const google::protobuf::RepeatedPtrField<v1::Person>*> lists[] = {
      {"persons", &referral.persons()}, {"suspected_facilitators", &referral.suspected_facilitators()}};
  for (const auto& [name, list] : lists) {
    if (list->empty()) continue;
    const bool facilitator = std::string_view(name) == "suspected_facilitators";
    JsonOut people = JsonOut::Array();
    for (int i = 0; i < list->size(); ++i) {
      absl::StatusOr<JsonOut> person = PersonJson(list->Get(i), facilitator, absl::StrCat(name, "[", i, "]"));
      if (!person.ok()) return person.status();
      people.Push(*std::move(person));
    }
    out.Set(name, std::move(people));
  }
  out.Set("summary", JsonOut::String(referral.summary()));
  out.Set("requested_action", JsonOut::String(referral.requested_action()));
  return out.Dump();
}

class BorderForceFormat final : public NativeFormat {
 public:
  std::string_view name() const override { return "border_force"; }
  std::string_view description() const override {
    return "Border Force / Border Security Command small-boat crossing referrals";
  }
  absl::StatusOr<v1::Envelope> ToEnvelope(const JsonDoc& doc) const override { return ToEnvelopeImpl(doc); }
  absl::StatusOr<std::string> FromEnvelope(const v1::Envelope& envelope) const override {
    return FromEnvelopeImpl(envelope);
  }
};

}  // namespace

const NativeFormat& Format() {
  static const BorderForceFormat* const format = new BorderForceFormat;
  return *format;
}

}  // namespace portcullis::adapters::border_force
