#include "tests/support/format_test_support.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/json_doc.h"
#include "tests/support/random_envelope.h"

namespace portcullis::testing {

using adapters::JsonDoc;
using adapters::NativeFormat;

std::string ExamplesDir(const NativeFormat& format) {
  return std::string(PORTCULLIS_SOURCE_DIR) + "/adapters/" + std::string(format.name()) + "/examples";
}

std::vector<std::string> ExampleFiles(const NativeFormat& format) {
  std::vector<std::string> out;
  // Sendable examples and, under received/, the forms a recipient sees.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(ExamplesDir(format))) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<v1::Envelope> ConvertExample(const NativeFormat& format, const std::string& name) {
  return ConvertFile(format, ExamplesDir(format) + "/" + name);
}

v1::Envelope ExampleEnvelope(const NativeFormat& format, const std::string& name) {
  absl::StatusOr<v1::Envelope> env = ConvertExample(format, name);
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? *env : v1::Envelope();
}

absl::StatusOr<v1::Envelope> ConvertFile(const NativeFormat& format, const std::string& path) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Load(path);
  if (!doc.ok()) return doc.status();
  return format.ToEnvelope(*doc);
}

absl::StatusOr<v1::Envelope> ConvertText(const NativeFormat& format, const std::string& text, const std::string& name) {
  absl::StatusOr<JsonDoc> doc = JsonDoc::Parse(text, name);
  if (!doc.ok()) return doc.status();
  return format.ToEnvelope(*doc);
}

absl::StatusOr<WrittenBack> ConvertAndWriteBack(const NativeFormat& format, const std::string& path) {
  absl::StatusOr<v1::Envelope> env = ConvertFile(format, path);
  if (!env.ok()) return env.status();
  absl::StatusOr<std::string> native = format.FromEnvelope(*env);
  if (!native.ok()) {
    return absl::Status(native.status().code(), absl::StrCat("writing ", path, " back: ", native.status().message()));
  }
  return WrittenBack{*std::move(env), *std::move(native)};
}

std::string InvalidArgumentMessage(const absl::Status& status, const std::string& shown_if_ok) {
  EXPECT_FALSE(status.ok()) << shown_if_ok;
  if (status.ok()) return "";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  return std::string(status.message());
}

std::string ErrorOf(const NativeFormat& format, const std::string& text) {
  return InvalidArgumentMessage(ConvertText(format, text).status(), text);
}

std::string RefusalOf(const NativeFormat& format, const v1::Envelope& envelope) {
  absl::StatusOr<std::string> native = format.FromEnvelope(envelope);
  return InvalidArgumentMessage(native.status(), native.value_or(""));
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "not in the record: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string Edit(std::string text, Edits edits) {
  for (const auto& [from, to] : edits) text = Replace(std::move(text), from, to);
  return text;
}

::testing::AssertionResult SameEnvelope(const v1::Envelope& a, const v1::Envelope& b, const std::string& context) {
  google::protobuf::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(a, b)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << report << "\n" << context;
}

namespace {

// A node for a message: an object, an array, null, "a string" (quoted) or a plain scalar (number, true, false).
std::string Shown(const YAML::Node& n) {
  if (n.IsMap()) return "an object";
  if (n.IsSequence()) return "an array";
  if (!n.IsScalar()) return "null";
  return n.Tag() == "!" ? absl::StrCat("\"", n.Scalar(), "\"") : n.Scalar();
}

// Plain (unquoted) numbers by value, date-times by instant, anything else by its text.
bool SameScalar(const YAML::Node& a, const YAML::Node& b) {
  double da = 0, db = 0;
  if (a.Tag() == "?" && absl::SimpleAtod(a.Scalar(), &da) && absl::SimpleAtod(b.Scalar(), &db)) return da == db;
  absl::Time ta, tb;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, a.Scalar(), &ta, &err) &&
      absl::ParseTime(absl::RFC3339_full, b.Scalar(), &tb, &err)) {
    return ta == tb;
  }
  return a.Scalar() == b.Scalar();
}

void CompareJson(const YAML::Node& a, const YAML::Node& b, const std::string& path, std::vector<std::string>* diffs) {
  if (a.Type() != b.Type() || a.Tag() != b.Tag()) {
    diffs->push_back(absl::StrCat(path, ": ", Shown(a), " vs ", Shown(b)));
    return;
  }
  if (a.IsMap()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (b[key]) {
        CompareJson(it->second, b[key], path + "." + key, diffs);
      } else {
        diffs->push_back(absl::StrCat(path, ".", key, ": missing after the round trip"));
      }
    }
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (!a[it->first.Scalar()]) diffs->push_back(absl::StrCat(path, ".", it->first.Scalar(), ": added"));
    }
  } else if (a.IsSequence()) {
    if (a.size() != b.size()) diffs->push_back(absl::StrCat(path, ": ", a.size(), " vs ", b.size(), " elements"));
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      CompareJson(a[i], b[i], absl::StrCat(path, "[", i, "]"), diffs);
    }
  } else if (!SameScalar(a, b)) {
    diffs->push_back(absl::StrCat(path, ": ", Shown(a), " vs ", Shown(b)));
  }
}

}  // namespace

::testing::AssertionResult SameJson(const YAML::Node& want, const YAML::Node& got) {
  std::vector<std::string> diffs;
  CompareJson(want, got, "(document)", &diffs);
  if (diffs.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << absl::StrJoin(diffs, "\n");
}

::testing::AssertionResult ExampleRoundTrips(const NativeFormat& format, const std::string& path, bool read_back) {
  absl::StatusOr<WrittenBack> written = ConvertAndWriteBack(format, path);
  if (!written.ok()) return ::testing::AssertionFailure() << written.status();
  ::testing::AssertionResult same_json = SameJson(YAML::LoadFile(path), YAML::Load(written->native));
  ::testing::AssertionResult same_envelope =
      read_back ? ReadsBackAs(format, written->native, written->envelope) : ::testing::AssertionSuccess();
  if (same_json && same_envelope) return ::testing::AssertionSuccess();
  ::testing::AssertionResult failure = ::testing::AssertionFailure() << path << ":";
  if (!same_json) failure << "\nwritten back with other content:\n" << same_json.message();
  if (!same_envelope) failure << "\nnot read back to the same envelope:\n" << same_envelope.message();
  return failure;
}

::testing::AssertionResult ReadsBackAs(const NativeFormat& format, const std::string& native,
                                       const v1::Envelope& expected) {
  absl::StatusOr<v1::Envelope> back = ConvertText(format, native, "rt.json");
  if (!back.ok()) return ::testing::AssertionFailure() << back.status() << "\n" << native;
  return SameEnvelope(expected, *back, native);
}

::testing::AssertionResult RoundTripsExactly(const NativeFormat& format, const v1::Envelope& envelope) {
  absl::StatusOr<std::string> native = format.FromEnvelope(envelope);
  if (!native.ok()) return ::testing::AssertionFailure() << native.status() << "\n" << envelope.DebugString();
  return ReadsBackAs(format, *native, envelope);
}

::testing::AssertionResult EveryKindRoundTrips(const NativeFormat& format, uint64_t seeds_per_kind, int* checked) {
  if (checked != nullptr) *checked = 0;
  for (BodyKind kind : kAllBodyKinds) {
    for (uint64_t seed = 0; seed < seeds_per_kind; ++seed) {
      ::testing::AssertionResult result = RoundTripsExactly(format, RandomEnvelope(kind, seed));
      if (!result) {
        return ::testing::AssertionFailure() << BodyKindName(kind) << " seed " << seed << ": " << result.message();
      }
      if (checked != nullptr) ++*checked;
    }
  }
  return ::testing::AssertionSuccess();
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

int64_t UtcSeconds(int y, int mo, int d, int h, int mi, int s) { return absl::ToUnixSeconds(Utc(y, mo, d, h, mi, s)); }

}  // namespace portcullis::testing
