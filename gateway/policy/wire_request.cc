#include "gateway/policy/wire_request.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/unknown_field_set.h>

#include "absl/strings/str_cat.h"
#include "gateway/common/refusal.h"

namespace portcullis {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::UnknownField;

std::string Join(const std::string& path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

const char* WireTypeName(UnknownField::Type type) {
  switch (type) {
    case UnknownField::TYPE_VARINT: return "varint";
    case UnknownField::TYPE_FIXED32: return "fixed32";
    case UnknownField::TYPE_FIXED64: return "fixed64";
    case UnknownField::TYPE_LENGTH_DELIMITED: return "length-delimited";
    case UnknownField::TYPE_GROUP: return "group";
  }
  return "unknown";
}

absl::Status UnknownEnum(const std::string& field, int value) {
  return Refuse(absl::StatusCode::kInvalidArgument, "UNKNOWN_ENUM_VALUE", field,
                absl::StrCat("holds ", value, ", which the contract does not define"));
}

}  // namespace

absl::Status CheckContractFields(const Message& message, const std::string& path) {
  const Reflection* reflection = message.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = reflection->GetUnknownFields(message);
  if (!unknown.empty()) {
    const UnknownField& f = unknown.field(0);
    return Refuse(absl::StatusCode::kInvalidArgument, "UNKNOWN_FIELD", path.empty() ? "request" : path,
                  absl::StrCat("holds field number ", f.number(), " (", WireTypeName(f.type()), ") at ",
                               path.empty() ? "the top level" : path,
                               ", which the contract does not define; nothing was stored or forwarded"));
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    const std::string field_path = Join(path, f->name());
    if (f->type() == FieldDescriptor::TYPE_ENUM) {
      if (f->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, f); ++i) {
          const int v = reflection->GetRepeatedEnumValue(message, f, i);
          if (f->enum_type()->FindValueByNumber(v) == nullptr) return UnknownEnum(absl::StrCat(field_path, "[", i, "]"), v);
        }
      } else {
        const int v = reflection->GetEnumValue(message, f);
        if (f->enum_type()->FindValueByNumber(v) == nullptr) return UnknownEnum(field_path, v);
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, f); ++i) {
          PORTCULLIS_RETURN_IF_ERROR(CheckContractFields(reflection->GetRepeatedMessage(message, f, i),
                                                         absl::StrCat(field_path, "[", i, "]")));
        }
      } else {
        PORTCULLIS_RETURN_IF_ERROR(CheckContractFields(reflection->GetMessage(message, f), field_path));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ParseWireRequest(absl::string_view bytes, Message* out) {
  out->Clear();
  google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  if (!out->MergePartialFromCodedStream(&input) || !input.ConsumedEntireMessage() ||
      input.CurrentPosition() != static_cast<int>(bytes.size())) {
    out->Clear();
    return Refuse(absl::StatusCode::kInvalidArgument, "MALFORMED_REQUEST", "",
                  absl::StrCat("the request is not a serialized ", out->GetDescriptor()->full_name(),
                               " (", bytes.size(), " bytes)"));
  }
  return CheckContractFields(*out);
}

}  // namespace portcullis
