#include "adapters/common/native_submit.h"

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "adapters/common/gateway_client.h"
#include "adapters/common/json_doc.h"
#include "adapters/common/native_util.h"

namespace portcullis::adapters {

std::vector<NativeRecord> PrepareBatch(const NativeFormat& format, const std::vector<std::string>& files,
                                       const std::string& party, absl::Time now) {
  std::vector<NativeRecord> records;
  records.reserve(files.size());
  for (const std::string& file : files) {
    NativeRecord& record = records.emplace_back();
    record.file = file;
    absl::StatusOr<JsonDoc> doc = JsonDoc::Load(file);
    if (!doc.ok()) {
      record.problem = doc.status();
      continue;
    }
    absl::StatusOr<v1::Envelope> envelope = format.ToEnvelope(*doc);
    if (!envelope.ok()) {
      record.problem = envelope.status();
      continue;
    }
    if (!envelope->sender().empty() && envelope->sender() != party) {
      record.problem = absl::InvalidArgumentError(
          absl::StrCat(file, ": sender: names \"", envelope->sender(), "\" but this adapter sends as \"", party,
                       "\" (leave it out: the gateway records the sender from the certificate)"));
      continue;
    }
    if (!envelope->has_created_at()) *envelope->mutable_created_at() = ToProtoTime(now);
    if (envelope->ByteSizeLong() > static_cast<size_t>(kMaxMessageBytes) - 1024) {
      record.problem = absl::InvalidArgumentError(
          absl::StrCat(file, ": (document): the message would be ", envelope->ByteSizeLong(),
                       " bytes; the exchange carries at most ", kMaxMessageBytes - 1024,
                       " (split the attachments over several messages)"));
      continue;
    }
    record.envelope = *std::move(envelope);
  }
  return records;
}

size_t CountBad(const std::vector<NativeRecord>& records) {
  size_t bad = 0;
  for (const NativeRecord& r : records) bad += r.problem.ok() ? 0 : 1;
  return bad;
}

size_t SubmitBatch(v1::Exchange::StubInterface& stub, std::vector<NativeRecord>& records, bool partial,
                   absl::Duration timeout, const OfficerCredentials& credentials) {
  if (!partial && CountBad(records) > 0) return 0;
  size_t accepted = 0;
  for (NativeRecord& record : records) {
    if (!record.problem.ok()) continue;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    if (credentials) {
      if (std::shared_ptr<grpc::CallCredentials> c = credentials(record.envelope.originating_officer())) {
        context.set_credentials(c);
      }
    }
    v1::SubmitRequest request;
    *request.mutable_envelope() = record.envelope;
    record.status = stub.Submit(&context, request, &record.receipt);
    record.submitted = true;
    if (record.status.ok()) ++accepted;
  }
  return accepted;
}

}  // namespace portcullis::adapters
