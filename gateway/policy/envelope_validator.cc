#include "gateway/policy/envelope_validator.h"

#include <cmath>
#include <set>
#include <string>

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"
#include "gateway/common/refusal.h"

namespace portcullis {
namespace {

constexpr size_t kMaxIdLength = 128;
constexpr size_t kMaxTextLength = 64 * 1024;

absl::Status Invalid(absl::string_view reason, absl::string_view field, absl::string_view message) {
  return Refuse(absl::StatusCode::kInvalidArgument, reason, field, message);
}

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

absl::Status CheckId(const std::string& value, const std::string& field, bool required) {
  if (value.empty()) {
    return required ? Invalid("FIELD_REQUIRED", field, "is required") : absl::OkStatus();
  }
  if (value.size() > kMaxIdLength) {
    return Invalid("FIELD_TOO_LONG", field, absl::StrCat("is ", value.size(), " characters; at most ", kMaxIdLength));
  }
  for (char c : value) {
    if (!IsIdChar(c)) return Invalid("FIELD_FORMAT", field, "may contain only letters, digits and . _ : -");
  }
  return absl::OkStatus();
}

// True when `value` is non-empty and holds nothing but white space (ASCII,
// no-break space U+00A0, zero-width space U+200B, ideographic space U+3000,
// BOM U+FEFF): text that looks present and says nothing.
bool IsBlank(absl::string_view value) {
  if (value.empty()) return false;
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      ++i;
    } else if (value.substr(i, 2) == "\xC2\xA0") {
      i += 2;
    } else if (value.substr(i, 3) == "\xE2\x80\x8B" || value.substr(i, 3) == "\xE3\x80\x80" ||
               value.substr(i, 3) == "\xEF\xBB\xBF") {
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

// Free text: required or optional, bounded, no control characters other than
// newline and tab.
absl::Status CheckText(const std::string& value, const std::string& field, bool required) {
  if (value.empty()) return required ? Invalid("FIELD_REQUIRED", field, "is required") : absl::OkStatus();
  if (IsBlank(value)) {
    return required ? Invalid("FIELD_REQUIRED", field, "is blank (only white space)")
                    : Invalid("FIELD_BLANK", field, "holds only white space; leave it empty or state the value");
  }
  if (value.size() > kMaxTextLength) {
    return Invalid("FIELD_TOO_LONG", field, absl::StrCat("is ", value.size(), " bytes; at most ", kMaxTextLength));
  }
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F) {
      return Invalid("FIELD_FORMAT", field, "contains a control character");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPerson(const v1::Person& p, const std::string& field) {
  if (p.given_names().empty() && p.family_name().empty() && p.aliases().empty()) {
    return Invalid("FIELD_REQUIRED", field + ".family_name", "a person needs a name or an alias");
  }
  PORTCULLIS_RETURN_IF_ERROR(CheckText(p.given_names(), field + ".given_names", false));
  PORTCULLIS_RETURN_IF_ERROR(CheckText(p.family_name(), field + ".family_name", false));
  if (!p.nationality().empty()) {
    bool ok = p.nationality().size() == 3;
    for (char c : p.nationality()) ok = ok && c >= 'A' && c <= 'Z';
    if (!ok) return Invalid("FIELD_FORMAT", field + ".nationality", "must be an ISO 3166-1 alpha-3 code such as IRQ");
  }
  if (!p.date_of_birth().empty()) {
    const std::string& d = p.date_of_birth();
    bool ok = d.size() == 10 && d[4] == '-' && d[7] == '-';
    for (size_t i = 0; i < d.size() && ok; ++i) ok = (i == 4 || i == 7) || (d[i] >= '0' && d[i] <= '9');
    if (!ok) return Invalid("FIELD_FORMAT", field + ".date_of_birth", "must be YYYY-MM-DD");
  }
  if (p.role() == v1::PERSON_ROLE_UNSPECIFIED) return Invalid("FIELD_REQUIRED", field + ".role", "is required");
  return absl::OkStatus();
}

template <typename Persons>
absl::Status CheckPersons(const Persons& persons, const std::string& field) {
  for (int i = 0; i < persons.size(); ++i) {
    PORTCULLIS_RETURN_IF_ERROR(CheckPerson(persons.Get(i), absl::StrCat(field, "[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status CheckGrading(const v1::Envelope& e, bool required) {
  if (!e.has_uk_grading() && !e.has_europol_evaluation()) {
    return required ? Invalid("FIELD_REQUIRED", "envelope.uk_grading",
                              "intelligence needs a UK 3x5x2 grading or a Europol evaluation")
                    : absl::OkStatus();
  }
  if (e.has_uk_grading()) {
    const auto& g = e.uk_grading();
    if (g.source() == v1::UK_SOURCE_UNSPECIFIED) return Invalid("FIELD_REQUIRED", "envelope.uk_grading.source", "is required");
    if (g.intelligence() == v1::UK_INTEL_UNSPECIFIED) return Invalid("FIELD_REQUIRED", "envelope.uk_grading.intelligence", "is required");
    if (g.handling() == v1::UK_HANDLING_UNSPECIFIED) return Invalid("FIELD_REQUIRED", "envelope.uk_grading.handling", "is required");
    if (g.handling() == v1::UK_HANDLING_C_CONDITIONS && g.handling_conditions().empty()) {
      return Invalid("FIELD_REQUIRED", "envelope.uk_grading.handling_conditions", "handling code C requires the conditions to be stated");
    }
    PORTCULLIS_RETURN_IF_ERROR(CheckText(g.handling_conditions(), "envelope.uk_grading.handling_conditions", false));
  }
  if (e.has_europol_evaluation()) {
    const auto& ev = e.europol_evaluation();
    if (ev.source() == v1::EUROPOL_SOURCE_UNSPECIFIED) return Invalid("FIELD_REQUIRED", "envelope.europol_evaluation.source", "is required");
    if (ev.accuracy() == v1::EUROPOL_ACCURACY_UNSPECIFIED) return Invalid("FIELD_REQUIRED", "envelope.europol_evaluation.accuracy", "is required");
    bool h3 = false;
    for (int i = 0; i < ev.handling_size(); ++i) {
      if (ev.handling(i) == v1::EUROPOL_HANDLING_UNSPECIFIED) {
        return Invalid("FIELD_VALUE", absl::StrCat("envelope.europol_evaluation.handling[", i, "]"), "must name a handling code H0-H3");
      }
      h3 = h3 || ev.handling(i) == v1::EUROPOL_HANDLING_H3;
    }
    if (h3 && ev.restrictions().empty()) {
      return Invalid("FIELD_REQUIRED", "envelope.europol_evaluation.restrictions", "handling code H3 requires the restrictions to be stated");
    }
    PORTCULLIS_RETURN_IF_ERROR(CheckText(ev.restrictions(), "envelope.europol_evaluation.restrictions", false));
  }
  return absl::OkStatus();
}

absl::Status CheckBody(const v1::Envelope& e) {
  switch (e.body_case()) {
    case v1::Envelope::kCaseReferral: {
      const auto& b = e.case_referral();
      PORTCULLIS_RETURN_IF_ERROR(CheckText(b.summary(), "envelope.case_referral.summary", true));
      PORTCULLIS_RETURN_IF_ERROR(CheckText(b.requested_action(), "envelope.case_referral.requested_action", true));
      PORTCULLIS_RETURN_IF_ERROR(CheckPersons(b.persons(), "envelope.case_referral.persons"));
      PORTCULLIS_RETURN_IF_ERROR(CheckPersons(b.suspected_facilitators(), "envelope.case_referral.suspected_facilitators"));
      return CheckGrading(e, false);
    }
    case v1::Envelope::kIntelligenceReport: {
      const auto& b = e.intelligence_report();
      PORTCULLIS_RETURN_IF_ERROR(CheckText(b.summary(), "envelope.intelligence_report.summary", true));
      PORTCULLIS_RETURN_IF_ERROR(CheckPersons(b.subjects(), "envelope.intelligence_report.subjects"));
      return CheckGrading(e, true);
    }
    case v1::Envelope::kRequestForInformation: {
      const auto& b = e.request_for_information();
      PORTCULLIS_RETURN_IF_ERROR(CheckText(b.question(), "envelope.request_for_information.question", true));
      PORTCULLIS_RETURN_IF_ERROR(CheckPersons(b.subjects(), "envelope.request_for_information.subjects"));
      return CheckGrading(e, false);
    }
    case v1::Envelope::kResponse: {
      PORTCULLIS_RETURN_IF_ERROR(CheckText(e.response().answer(), "envelope.response.answer", true));
      if (e.correlation_id().empty()) {
        return Invalid("FIELD_REQUIRED", "envelope.correlation_id", "a response must name the message it answers");
      }
      PORTCULLIS_RETURN_IF_ERROR(CheckPersons(e.response().subjects(), "envelope.response.subjects"));
      return CheckGrading(e, false);
    }
    case v1::Envelope::BODY_NOT_SET:
      break;
  }
  return Invalid("FIELD_REQUIRED", "envelope.body",
                 "one of case_referral, intelligence_report, request_for_information, response is required");
}


// google.protobuf.Timestamp's valid range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;
// No message of this exchange was created before 2000-01-01T00:00:00Z.
constexpr int64_t kEarliestCreatedSeconds = 946684800;

bool IsEmptyMessage(const google::protobuf::Message& m) {
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  return fields.empty();
}

// The rules every field holds, whatever its message, also for degenerate
// values: text is bounded, has no control characters but newline, tab and
// carriage return, and is not blank; repeated entries are not empty;
// timestamps are in range; numbers are finite. Walks every set field of `m`.
absl::Status CheckDegenerate(const google::protobuf::Message& m, const std::string& path) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* reflection = m.GetReflection();
  if (m.GetDescriptor()->full_name() == "google.protobuf.Timestamp") {
    const auto& t = static_cast<const google::protobuf::Timestamp&>(m);
    if (t.seconds() < kMinTimestampSeconds || t.seconds() > kMaxTimestampSeconds || t.nanos() < 0 ||
        t.nanos() > 999999999) {
      return Invalid("FIELD_OUT_OF_RANGE", path, "is not a valid time (years 0001 to 9999, nanos 0 to 999999999)");
    }
    return absl::OkStatus();
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string field = absl::StrCat(path, ".", f->name());
    const int n = f->is_repeated() ? reflection->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      const std::string item = f->is_repeated() ? absl::StrCat(field, "[", i, "]") : field;
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING: {
          if (f->type() == FieldDescriptor::TYPE_BYTES) break;
          std::string scratch;
          const std::string& v = f->is_repeated() ? reflection->GetRepeatedStringReference(m, f, i, &scratch)
                                                  : reflection->GetStringReference(m, f, &scratch);
          if (f->is_repeated() && v.empty()) return Invalid("FIELD_REQUIRED", item, "is an empty entry");
          PORTCULLIS_RETURN_IF_ERROR(CheckText(v, item, false));
          break;
        }
        case FieldDescriptor::CPPTYPE_DOUBLE: {
          const double v = f->is_repeated() ? reflection->GetRepeatedDouble(m, f, i) : reflection->GetDouble(m, f);
          if (!std::isfinite(v)) return Invalid("FIELD_OUT_OF_RANGE", item, "must be a finite number");
          break;
        }
        case FieldDescriptor::CPPTYPE_MESSAGE: {
          const google::protobuf::Message& sub =
              f->is_repeated() ? reflection->GetRepeatedMessage(m, f, i) : reflection->GetMessage(m, f);
          if (f->is_repeated() && IsEmptyMessage(sub)) return Invalid("FIELD_REQUIRED", item, "is an empty entry");
          PORTCULLIS_RETURN_IF_ERROR(CheckDegenerate(sub, item));
          break;
        }
        default:
          break;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPosition(const v1::Position& p, const std::string& field) {
  if (p.latitude() < -90 || p.latitude() > 90) {
    return Invalid("FIELD_OUT_OF_RANGE", field + ".latitude", "must be between -90 and 90 degrees");
  }
  if (p.longitude() < -180 || p.longitude() > 180) {
    return Invalid("FIELD_OUT_OF_RANGE", field + ".longitude", "must be between -180 and 180 degrees");
  }
  return absl::OkStatus();
}

absl::Status CheckVessel(const v1::Vessel& v, const std::string& field) {
  if (v.length_metres() < 0) return Invalid("FIELD_OUT_OF_RANGE", field + ".length_metres", "must not be negative");
  return absl::OkStatus();
}

// Numbers with a physical range, and a creation time this exchange can have.
absl::Status CheckRanges(const v1::Envelope& e) {
  if (e.created_at().seconds() < kEarliestCreatedSeconds) {
    return Invalid("FIELD_OUT_OF_RANGE", "envelope.created_at", "is before 2000-01-01");
  }
  if (e.has_case_referral() && e.case_referral().has_crossing()) {
    const v1::Crossing& c = e.case_referral().crossing();
    const std::string field = "envelope.case_referral.crossing";
    if (c.has_departure_place()) PORTCULLIS_RETURN_IF_ERROR(CheckPosition(c.departure_place(), field + ".departure_place"));
    if (c.has_interception_place()) {
      PORTCULLIS_RETURN_IF_ERROR(CheckPosition(c.interception_place(), field + ".interception_place"));
    }
    if (c.has_vessel()) PORTCULLIS_RETURN_IF_ERROR(CheckVessel(c.vessel(), field + ".vessel"));
  }
  if (e.has_intelligence_report()) {
    const auto& vessels = e.intelligence_report().vessels();
    for (int i = 0; i < vessels.size(); ++i) {
      PORTCULLIS_RETURN_IF_ERROR(CheckVessel(vessels.Get(i), absl::StrCat("envelope.intelligence_report.vessels[", i, "]")));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckOfficerId(const std::string& value, const std::string& field, bool required) {
  return CheckId(value, field, required);
}

absl::Status CheckStatement(const std::string& value, const std::string& field, bool required, size_t max_bytes) {
  if (value.size() > max_bytes) {
    return Invalid("FIELD_TOO_LONG", field, absl::StrCat("is ", value.size(), " bytes; at most ", max_bytes));
  }
  return CheckText(value, field, required);  // Blank text: the same answers as the envelope's.
}

std::optional<BodyType> BodyTypeOf(const v1::Envelope& e) {
  switch (e.body_case()) {
    case v1::Envelope::kCaseReferral: return BodyType::kCaseReferral;
    case v1::Envelope::kIntelligenceReport: return BodyType::kIntelligenceReport;
    case v1::Envelope::kRequestForInformation: return BodyType::kRequestForInformation;
    case v1::Envelope::kResponse: return BodyType::kResponse;
    case v1::Envelope::BODY_NOT_SET: break;
  }
  return std::nullopt;
}

absl::Status ValidateEnvelope(const v1::Envelope& e, const ValidationContext& ctx) {
  PORTCULLIS_RETURN_IF_ERROR(CheckId(e.message_id(), "envelope.message_id", true));
  PORTCULLIS_RETURN_IF_ERROR(CheckId(e.correlation_id(), "envelope.correlation_id", false));
  PORTCULLIS_RETURN_IF_ERROR(CheckId(e.case_reference(), "envelope.case_reference", true));
  PORTCULLIS_RETURN_IF_ERROR(CheckOfficerId(e.originating_officer(), "envelope.originating_officer", true));
  if (e.recipients().empty()) return Invalid("FIELD_REQUIRED", "envelope.recipients", "at least one recipient is required");
  std::set<std::string> seen;
  for (int i = 0; i < e.recipients_size(); ++i) {
    std::string field = absl::StrCat("envelope.recipients[", i, "]");
    const std::string& r = e.recipients(i);
    if (r.empty()) return Invalid("FIELD_REQUIRED", field, "recipient party id is empty");
    if (!seen.insert(r).second) return Invalid("DUPLICATE_RECIPIENT", field, absl::StrCat("'", r, "' is listed twice"));
    if (r == ctx.sender) return Invalid("RECIPIENT_IS_SENDER", field, "a party cannot send to itself");
  }
  if (!e.has_created_at() || (e.created_at().seconds() == 0 && e.created_at().nanos() == 0)) {
    return Invalid("FIELD_REQUIRED", "envelope.created_at", "is required");
  }
  if (e.created_at().nanos() < 0 || e.created_at().nanos() > 999999999) {
    return Invalid("FIELD_FORMAT", "envelope.created_at", "nanos out of range");
  }
  int64_t created_secs = e.created_at().seconds();
  if (created_secs > ctx.now_micros / 1000000 + ctx.max_clock_skew_seconds) {
    return Invalid("CREATED_IN_FUTURE", "envelope.created_at",
                   absl::StrCat("is more than ", ctx.max_clock_skew_seconds, " s in the future"));
  }
  switch (e.classification()) {
    case v1::OFFICIAL:
    case v1::OFFICIAL_SENSITIVE:
    case v1::SECRET:
      break;
    case v1::TOP_SECRET:
      return Invalid("CLASSIFICATION_FORBIDDEN", "envelope.classification", "TOP SECRET never crosses this gateway");
    case v1::CLASSIFICATION_UNSPECIFIED:
      return Invalid("FIELD_REQUIRED", "envelope.classification", "OFFICIAL, OFFICIAL_SENSITIVE or SECRET is required");
    default:
      return Invalid("FIELD_VALUE", "envelope.classification", "unknown classification value");
  }
  if (!v1::Priority_IsValid(e.priority())) return Invalid("FIELD_VALUE", "envelope.priority", "unknown priority value");
  PORTCULLIS_RETURN_IF_ERROR(CheckText(e.justification().legal_basis(), "envelope.justification.legal_basis", true));
  PORTCULLIS_RETURN_IF_ERROR(CheckText(e.justification().purpose(), "envelope.justification.purpose", false));
  PORTCULLIS_RETURN_IF_ERROR(CheckBody(e));
  for (int i = 0; i < e.attachments_size(); ++i) {
    const auto& a = e.attachments(i);
    std::string field = absl::StrCat("envelope.attachments[", i, "]");
    if (a.media_type().empty() || a.media_type().find('/') == std::string::npos) {
      return Invalid(a.media_type().empty() ? "FIELD_REQUIRED" : "FIELD_FORMAT", field + ".media_type",
                     "an IANA media type such as application/pdf is required");
    }
    if (!IsLowerHexSha256(a.sha256())) {
      return Invalid("FIELD_FORMAT", field + ".sha256", "must be the lower-case hex SHA-256 (64 characters)");
    }
    if (Sha256Hex(a.content()) != a.sha256()) {
      return Invalid("ATTACHMENT_DIGEST_MISMATCH", field + ".sha256", "does not match the attachment content");
    }
    PORTCULLIS_RETURN_IF_ERROR(CheckText(a.file_name(), field + ".file_name", false));
  }
  PORTCULLIS_RETURN_IF_ERROR(CheckRanges(e));
  return CheckDegenerate(e, "envelope");
}

}  // namespace portcullis
