// Building blocks every native format shares (adapters/<agency>/format.cc):
// time conversion, identifier rules, the two grading schemes and attachments
// in one native shape each. Field names inside these blocks are the same in
// every format; where the block sits (its key) is the format's choice.
#ifndef PORTCULLIS_ADAPTERS_COMMON_NATIVE_UTIL_H_
#define PORTCULLIS_ADAPTERS_COMMON_NATIVE_UTIL_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/repeated_field.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/common/json_doc.h"
#include "portcullis/v1/exchange.pb.h"
#include "util/sha256.h"  // Sha256Hex, for attachment digests.
#include "util/status_macros.h"  // PORTCULLIS_RETURN_IF_ERROR: formats chain many checks.


namespace portcullis::adapters {

google::protobuf::Timestamp ToProtoTime(absl::Time t);
absl::Time FromProtoTime(const google::protobuf::Timestamp& t);
// RFC 3339 in UTC, with fractional seconds only when there are any
// ("2026-03-14T08:15:30Z"); JsonReader::Timestamp reads it back exactly.
std::string FormatProtoTime(const google::protobuf::Timestamp& t);

// An envelope message id: 1 to 128 characters from [A-Za-z0-9._:-].
bool IsMessageId(std::string_view s);
inline constexpr char kMessageIdRule[] = "must be 1 to 128 characters from A-Z a-z 0-9 . _ : -";
// An ISO 3166-1 alpha-3 code ("IRQ"; "XXX" for unknown).
bool IsCountryCode(std::string_view s);
inline constexpr char kCountryCodeRule[] =
    "must be an ISO 3166-1 alpha-3 code such as \"IRQ\", or \"XXX\" if unknown";

// The i-th spelling of a list given to JsonReader::Enum.
std::string_view Nth(std::initializer_list<std::string_view> list, size_t i);

// The body's place in the order every format lists its record types: 0 case
// referral, 1 intelligence report, 2 request for information, 3 response;
// nullopt if no body is set.
std::optional<size_t> BodyIndex(const v1::Envelope& env);

// A required string member, checked with IsMessageId.
std::optional<std::string> ReadMessageId(JsonReader& r, const JsonValue& object, std::string_view key,
                                         bool required);

// UK 3x5x2 grading block: {"source": "1".."3", "intelligence": "A".."E",
// "handling": "P"|"C", "conditions": "..."} (conditions required with "C",
// refused with "P"). Absent: nothing is set.
void ReadUkGrading(JsonReader& r, const JsonValue& object, std::string_view key, v1::Envelope* out);
// The block for `g`; INVALID_ARGUMENT naming uk_grading if incomplete.
absl::StatusOr<JsonOut> UkGradingJson(const v1::UkGrading& g);

// Europol evaluation block: {"source": "A"|"B"|"C"|"X", "accuracy": "1".."4",
// "handling": ["H0".."H3", ...], "restrictions": "..."} (restrictions
// required with H3, refused without it; no code twice).
void ReadEuropolEvaluation(JsonReader& r, const JsonValue& object, std::string_view key, v1::Envelope* out);
absl::StatusOr<JsonOut> EuropolEvaluationJson(const v1::EuropolEvaluation& e);

// Attachments array: [{"file_name": "...", "media_type": "application/pdf",
// "sha256": "<64 lower-case hex>", "content_base64": "..."}]; the digest is
// checked against the decoded content (a mismatch is a located problem).
void ReadAttachments(JsonReader& r, const JsonValue& object, std::string_view key, v1::Envelope* out);
JsonOut AttachmentsJson(const google::protobuf::RepeatedPtrField<v1::Attachment>& attachments);

// Lower-case hex SHA-256 of `data`.

// Sets out[key] to the array of `convert(item, "field[i]")` for each item
// (nothing when there are none); the first refusal is returned.
template <typename T, typename Convert>
absl::Status SetArray(JsonOut& out, std::string_view key, const google::protobuf::RepeatedPtrField<T>& items,
                      const std::string& field, Convert convert) {
  if (items.empty()) return absl::OkStatus();
  JsonOut list = JsonOut::Array();
  for (int i = 0; i < items.size(); ++i) {
    absl::StatusOr<JsonOut> item = convert(items.Get(i), field + "[" + std::to_string(i) + "]");
    if (!item.ok()) return item.status();
    list.Push(*std::move(item));
  }
  out.Set(std::string(key), std::move(list));
  return absl::OkStatus();
}

// A JSON array of strings.
JsonOut StringsJson(const google::protobuf::RepeatedPtrField<std::string>& list);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_NATIVE_UTIL_H_
