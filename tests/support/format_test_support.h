// What the native-format tests (tests/*_format_test.cc) share, for any
// adapters::NativeFormat: the format's example files, converting a file or a
// text, the message of an INVALID_ARGUMENT result, editing a minimal record,
// comparing envelopes (with MessageDifferencer's report) and JSON trees, and
// the round trips envelope -> native -> envelope, one envelope or the
// property over every body kind (tests/support/random_envelope.h).
#ifndef PORTCULLIS_TESTS_SUPPORT_FORMAT_TEST_SUPPORT_H_
#define PORTCULLIS_TESTS_SUPPORT_FORMAT_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/common/native_format.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::testing {

// --- Example files: adapters/<format name>/examples (and examples/received) ---

// The folder of `format`'s examples (the format's name is its folder's).
std::string ExamplesDir(const adapters::NativeFormat& format);
// Every example file of `format` (the sendable ones and those under
// received/), full paths, sorted.
std::vector<std::string> ExampleFiles(const adapters::NativeFormat& format);
// The example called `name`, converted.
absl::StatusOr<v1::Envelope> ConvertExample(const adapters::NativeFormat& format, const std::string& name);
// The same, with a failure (and an empty envelope) if it does not convert.
v1::Envelope ExampleEnvelope(const adapters::NativeFormat& format, const std::string& name);

// --- Converting ---

// The native record in the file at `path`, converted.
absl::StatusOr<v1::Envelope> ConvertFile(const adapters::NativeFormat& format, const std::string& path);
// `text` read as a native record from a file called `name` (which messages name), converted.
absl::StatusOr<v1::Envelope> ConvertText(const adapters::NativeFormat& format, const std::string& text,
                                         const std::string& name = "bad.json");

// An envelope and the native text FromEnvelope writes for it.
struct WrittenBack {
  v1::Envelope envelope;
  std::string native;
};
// The file at `path` converted to an envelope and written back as native text.
absl::StatusOr<WrittenBack> ConvertAndWriteBack(const adapters::NativeFormat& format, const std::string& path);

// --- Located problems and refusals ---

// The message of `status`, which must be INVALID_ARGUMENT: "" and a failure
// (showing `shown_if_ok`) if it is OK, a failure if it has another code.
std::string InvalidArgumentMessage(const absl::Status& status, const std::string& shown_if_ok);
// The INVALID_ARGUMENT message ToEnvelope gives for `text` read as bad.json.
std::string ErrorOf(const adapters::NativeFormat& format, const std::string& text);
// The INVALID_ARGUMENT message FromEnvelope gives for `envelope`.
std::string RefusalOf(const adapters::NativeFormat& format, const v1::Envelope& envelope);

// `text` with the first `from` replaced by `to`; a failure if `from` is not there.
std::string Replace(std::string text, const std::string& from, const std::string& to);
using Edits = std::initializer_list<std::pair<std::string, std::string>>;
// `text` with each edit applied by Replace, in order.
std::string Edit(std::string text, Edits edits);

// --- Comparing ---

// `a` and `b` are equal field for field (MessageDifferencer::Equals); the
// failure lists the differences, then `context` (e.g. the native text).
::testing::AssertionResult SameEnvelope(const v1::Envelope& a, const v1::Envelope& b, const std::string& context);

// Two JSON trees hold the same content: the same keys (in any order), arrays
// of the same length and order, empty objects and arrays kept, strings and
// other scalars the same (a string is never a number), numbers by value
// (7 is 7.0), date-times by instant (any offset). The failure names every
// difference by its path.
::testing::AssertionResult SameJson(const YAML::Node& want, const YAML::Node& got);

// --- Round trips ---

// native -> envelope -> native for the example at `path`: it converts, is
// written back with the same content (SameJson) and, if `read_back`, that
// text reads back to the same envelope (ReadsBackAs). Every failure is named.
::testing::AssertionResult ExampleRoundTrips(const adapters::NativeFormat& format, const std::string& path,
                                             bool read_back = true);

// `native` reads back (as rt.json) to exactly `expected`.
::testing::AssertionResult ReadsBackAs(const adapters::NativeFormat& format, const std::string& native,
                                       const v1::Envelope& expected);
// envelope -> native -> envelope gives `envelope` exactly.
::testing::AssertionResult RoundTripsExactly(const adapters::NativeFormat& format, const v1::Envelope& envelope);
// The property: RandomEnvelope(kind, seed) round-trips exactly for every body
// kind and seeds 0 to seeds_per_kind - 1. Stops at the first failure, naming
// the kind and seed; `checked` (if given) counts the envelopes that passed.
::testing::AssertionResult EveryKindRoundTrips(const adapters::NativeFormat& format, uint64_t seeds_per_kind,
                                               int* checked = nullptr);

// --- Times ---

// The instant y-mo-d h:mi:s UTC, and its Unix seconds.
absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0);
int64_t UtcSeconds(int y, int mo, int d, int h, int mi, int s = 0);

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_FORMAT_TEST_SUPPORT_H_
