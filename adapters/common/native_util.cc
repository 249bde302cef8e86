#include "adapters/common/native_util.h"

#include <openssl/sha.h>

#include <cstdint>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace portcullis::adapters {
namespace {

const std::initializer_list<std::string_view> kUkSources = {"1", "2", "3"};
const std::initializer_list<std::string_view> kUkIntelligence = {"A", "B", "C", "D", "E"};
const std::initializer_list<std::string_view> kUkHandling = {"P", "C"};
const std::initializer_list<std::string_view> kEuSources = {"A", "B", "C", "X"};
const std::initializer_list<std::string_view> kEuAccuracy = {"1", "2", "3", "4"};
const std::initializer_list<std::string_view> kEuHandling = {"H0", "H1", "H2", "H3"};

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

}  // namespace

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t seconds = absl::ToUnixSeconds(t);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return out;
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

std::string FormatProtoTime(const google::protobuf::Timestamp& t) {
  // absl's RFC3339_full spells UTC "+00:00"; records say "Z".
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", FromProtoTime(t), absl::UTCTimeZone());
}

bool IsMessageId(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-') return false;
  }
  return true;
}

bool IsCountryCode(std::string_view s) {
  if (s.size() != 3) return false;
  for (char c : s) {
    if (!absl::ascii_isupper(c)) return false;
  }
  return true;
}

std::optional<size_t> BodyIndex(const v1::Envelope& env) {
  switch (env.body_case()) {
    case v1::Envelope::kCaseReferral: return 0;
    case v1::Envelope::kIntelligenceReport: return 1;
    case v1::Envelope::kRequestForInformation: return 2;
    case v1::Envelope::kResponse: return 3;
    case v1::Envelope::BODY_NOT_SET: break;
  }
  return std::nullopt;
}

std::string_view Nth(std::initializer_list<std::string_view> list, size_t i) { return *(list.begin() + i); }

std::optional<std::string> ReadMessageId(JsonReader& r, const JsonValue& object, std::string_view key,
                                         bool required) {
  std::optional<std::string> v = required ? r.RequiredString(object, key) : r.OptionalString(object, key);
  if (v && !IsMessageId(*v)) {
    r.Add(r.Field(object, key), kMessageIdRule);
    return std::nullopt;
  }
  return v;
}

void ReadUkGrading(JsonReader& r, const JsonValue& object, std::string_view key, v1::Envelope* out) {
  const JsonValue grading = r.Field(object, key);
  if (!grading.present() || !r.Object(grading, {"source", "intelligence", "handling", "conditions"})) return;
  v1::UkGrading* g = out->mutable_uk_grading();
  if (auto v = r.Enum(grading, "source", true, kUkSources)) g->set_source(static_cast<v1::UkSourceEvaluation>(*v + 1));
  if (auto v = r.Enum(grading, "intelligence", true, kUkIntelligence)) {
    g->set_intelligence(static_cast<v1::UkIntelligenceAssessment>(*v + 1));
  }
  std::optional<size_t> handling = r.Enum(grading, "handling", true, kUkHandling);
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

absl::StatusOr<JsonOut> UkGradingJson(const v1::UkGrading& g) {
  const int source = g.source(), intel = g.intelligence(), handling = g.handling();
  if (source < 1 || source > 3 || intel < 1 || intel > 5 || handling < 1 || handling > 2) {
    return absl::InvalidArgumentError("uk_grading: incomplete (source, intelligence and handling are all needed)");
  }
  // The reader's rules, so that what is written reads back.
  if ((handling == v1::UK_HANDLING_C_CONDITIONS) != !g.handling_conditions().empty()) {
    return absl::InvalidArgumentError("uk_grading.handling_conditions: required with handling C, only with C");
  }
  JsonOut out = JsonOut::Object();
  out.Set("source", JsonOut::String(std::string(Nth(kUkSources, static_cast<size_t>(source - 1)))));
  out.Set("intelligence", JsonOut::String(std::string(Nth(kUkIntelligence, static_cast<size_t>(intel - 1)))));
  out.Set("handling", JsonOut::String(std::string(Nth(kUkHandling, static_cast<size_t>(handling - 1)))));
  if (!g.handling_conditions().empty()) out.Set("conditions", JsonOut::String(g.handling_conditions()));
  return out;
}

void ReadEuropolEvaluation(JsonReader& r, const JsonValue& object, std::string_view key, v1::Envelope* out) {
  const JsonValue block = r.Field(object, key);
  if (!block.present() || !r.Object(block, {"source", "accuracy", "handling", "restrictions"})) return;
  v1::EuropolEvaluation* e = out->mutable_europol_evaluation();
  if (auto v = r.Enum(block, "source", true, kEuSources)) e->set_source(static_cast<v1::EuropolSourceReliability>(*v + 1));
  if (auto v = r.Enum(block, "accuracy", true, kEuAccuracy)) {
    e->set_accuracy(static_cast<v1::EuropolInformationAccuracy>(*v + 1));
  }
  std::set<std::string> seen;
  bool h3 = false;
  for (const JsonValue& code : r.Array(block, "handling", false)) {
    std::optional<std::string> s = r.StringValue(code);
    if (!s) continue;
    size_t i = 0;
    while (i < kEuHandling.size() && Nth(kEuHandling, i) != *s) ++i;
    if (i == kEuHandling.size()) {
      r.Add(code, "must be one of \"H0\", \"H1\", \"H2\", \"H3\"");
    } else if (!seen.insert(*s).second) {
      r.Add(code, "appears twice");
    } else {
      e->add_handling(static_cast<v1::EuropolHandlingCode>(i + 1));
      h3 = h3 || i == 3;
    }
  }
  std::optional<std::string> restrictions = r.OptionalString(block, "restrictions");
  if (restrictions) e->set_restrictions(*restrictions);
  if (h3 && !restrictions && !r.Field(block, "restrictions").present()) {
    r.Add(r.Field(block, "restrictions"), "required when handling includes \"H3\"");
  }
  if (!h3 && restrictions) r.Add(r.Field(block, "restrictions"), "only allowed when handling includes \"H3\"");
}

absl::StatusOr<JsonOut> EuropolEvaluationJson(const v1::EuropolEvaluation& e) {
  const int source = e.source(), accuracy = e.accuracy();
  if (source < 1 || source > 4 || accuracy < 1 || accuracy > 4) {
    return absl::InvalidArgumentError("europol_evaluation: incomplete (source and accuracy are both needed)");
  }
  JsonOut out = JsonOut::Object();
  out.Set("source", JsonOut::String(std::string(Nth(kEuSources, static_cast<size_t>(source - 1)))));
  out.Set("accuracy", JsonOut::String(std::string(Nth(kEuAccuracy, static_cast<size_t>(accuracy - 1)))));
  bool h3 = false;
  std::set<int> seen;
  for (int h : e.handling()) {
    if (!seen.insert(h).second) return absl::InvalidArgumentError("europol_evaluation.handling: a code appears twice");
    h3 = h3 || h == v1::EUROPOL_HANDLING_H3;
  }
  if (h3 != !e.restrictions().empty()) {
    return absl::InvalidArgumentError("europol_evaluation.restrictions: required with handling H3, only with H3");
  }
  if (e.handling_size() > 0) {
    JsonOut codes = JsonOut::Array();
    for (int h : e.handling()) {
      if (h < 1 || h > 4) return absl::InvalidArgumentError("europol_evaluation.handling: unknown code");
      codes.Push(JsonOut::String(std::string(Nth(kEuHandling, static_cast<size_t>(h - 1)))));
    }
    out.Set("handling", std::move(codes));
  }
  if (!e.restrictions().empty()) out.Set("restrictions", JsonOut::String(e.restrictions()));
  return out;
}

void ReadAttachments(JsonReader& r, const JsonValue& object, std::string_view key, v1::Envelope* out) {
  for (const JsonValue& a : r.Array(object, key, false)) {
    if (!r.Object(a, {"file_name", "media_type", "sha256", "content_base64"})) continue;
    v1::Attachment* att = out->add_attachments();
    if (auto v = r.OptionalString(a, "file_name")) att->set_file_name(*v);
    if (auto v = r.RequiredString(a, "media_type")) att->set_media_type(*v);
    std::optional<std::string> sha = r.RequiredString(a, "sha256");
    if (sha && !IsLowerHex64(*sha)) {
      r.Add(r.Field(a, "sha256"), "must be 64 lower-case hex digits");
      sha.reset();
    }
    if (sha) att->set_sha256(*sha);
    std::optional<std::string> content = r.RequiredString(a, "content_base64");
    if (!content) continue;
    std::string bytes;
    if (!absl::Base64Unescape(*content, &bytes)) {
      r.Add(r.Field(a, "content_base64"), "is not valid base64");
      continue;
    }
    if (sha && Sha256Hex(bytes) != *sha) r.Add(r.Field(a, "sha256"), "does not match the content's SHA-256");
    att->set_content(std::move(bytes));
  }
}

JsonOut AttachmentsJson(const google::protobuf::RepeatedPtrField<v1::Attachment>& attachments) {
  JsonOut out = JsonOut::Array();
  for (const v1::Attachment& a : attachments) {
    JsonOut item = JsonOut::Object();
    if (!a.file_name().empty()) item.Set("file_name", JsonOut::String(a.file_name()));
    item.Set("media_type", JsonOut::String(a.media_type()));
    item.Set("sha256", JsonOut::String(a.sha256()));
    item.Set("content_base64", JsonOut::String(absl::Base64Escape(a.content())));
    out.Push(std::move(item));
  }
  return out;
}

JsonOut StringsJson(const google::protobuf::RepeatedPtrField<std::string>& list) {
  JsonOut out = JsonOut::Array();
  for (const std::string& s : list) out.Push(JsonOut::String(s));
  return out;
}

}  // namespace portcullis::adapters
