// The seam between an agency's or partner's own record format and the
// exchange envelope (docs/adapters.md). One NativeFormat per format, each in
// its own library (adapters/<name>/); this header is the base layer they all
// extend and includes no format. The registry that knows every format
// (FindNativeFormat, adapters/registry/native_formats.h) sits above them.
//
// Every format covers every body kind both ways: what the agency sends
// (referrals, reports, RFIs, replies) and what lands in its inbox from anyone
// else. Markings and both grading schemes (UK 3x5x2, Europol evaluation and
// handling codes) always travel: a handling restriction must never be lost
// on the way into an inbox. Attachments travel as base64.
//
// Formats are stateless and thread-safe.
#ifndef PORTCULLIS_ADAPTERS_COMMON_NATIVE_FORMAT_H_
#define PORTCULLIS_ADAPTERS_COMMON_NATIVE_FORMAT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "adapters/common/json_doc.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::adapters {

class NativeFormat {
 public:
  virtual ~NativeFormat() = default;

  // The name used in configuration, e.g. "border_force".
  virtual std::string_view name() const = 0;
  // One line for people, e.g. "Border Force crossing referrals (case system export)".
  virtual std::string_view description() const = 0;

  // Validates a native record and converts it to an envelope ready for
  // Exchange.Submit. INVALID_ARGUMENT lists every problem found, one per
  // line, as `file:line:col: field.path: rule` (JsonReader::status()).
  virtual absl::StatusOr<v1::Envelope> ToEnvelope(const JsonDoc& doc) const = 0;

  // The native JSON of an envelope (an inbox file, or a record to edit and
  // send). Any body kind. INVALID_ARGUMENT naming the envelope field if the
  // envelope holds something the format cannot express (e.g. a missing
  // required field); such an envelope would not have passed the gateway.
  //
  // Round trip: for every envelope the gateway accepts,
  // ToEnvelope(Parse(FromEnvelope(e))) == e, field for field.
  virtual absl::StatusOr<std::string> FromEnvelope(const v1::Envelope& envelope) const = 0;
};

// A format given by its two conversion functions (what every format in
// adapters/<name>/ is).
class FunctionFormat final : public NativeFormat {
 public:
  using ToFn = absl::StatusOr<v1::Envelope> (*)(const JsonDoc&);
  using FromFn = absl::StatusOr<std::string> (*)(const v1::Envelope&);
  FunctionFormat(std::string_view name, std::string_view description, ToFn to, FromFn from)
      : name_(name), description_(description), to_(to), from_(from) {}
  std::string_view name() const override { return name_; }
  std::string_view description() const override { return description_; }
  absl::StatusOr<v1::Envelope> ToEnvelope(const JsonDoc& doc) const override { return to_(doc); }
  absl::StatusOr<std::string> FromEnvelope(const v1::Envelope& envelope) const override { return from_(envelope); }

 private:
  const std::string_view name_;
  const std::string_view description_;
  const ToFn to_;
  const FromFn from_;
};

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_NATIVE_FORMAT_H_
