// Submitting native records (design: docs/adapters.md): load each file,
// validate and convert it with the party's NativeFormat, and only then
// submit. Shared by `portcullis-adapter submit` and `liaison send`.
//
// The batch rule: without `partial`, one bad record means nothing is
// submitted; with it, the good records are submitted and the bad ones are
// named. Either way every problem of every bad file is reported, located.
#ifndef PORTCULLIS_ADAPTERS_COMMON_NATIVE_SUBMIT_H_
#define PORTCULLIS_ADAPTERS_COMMON_NATIVE_SUBMIT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "adapters/common/native_format.h"
#include "portcullis/v1/exchange.grpc.pb.h"

namespace portcullis::adapters {

// One file of a batch.
struct NativeRecord {
  std::string file;
  // Problems loading, parsing or converting it (located, one per line in the
  // message); OK when `envelope` is ready to submit.
  absl::Status problem;
  v1::Envelope envelope;
  // After SubmitBatch: whether it was sent, and the gateway's answer.
  bool submitted = false;
  grpc::Status status;
  v1::Receipt receipt;
};

// Loads and converts every file. A record without created_at gets `now`.
// A record that names a sender other than `party` is a problem (the gateway
// would refuse it anyway; better before anything is sent).
std::vector<NativeRecord> PrepareBatch(const NativeFormat& format, const std::vector<std::string>& files,
                                       const std::string& party, absl::Time now);

// How many records have problems.
size_t CountBad(const std::vector<NativeRecord>& records);

// Call credentials for a call acting for `officer` (the officer assertion,
// mtls::PerOfficerAssertions::CredentialsFor); nullptr: none.
using OfficerCredentials = std::function<std::shared_ptr<grpc::CallCredentials>(const std::string& officer)>;

// Submits the good records in order (each with a `timeout` deadline) unless
// there is a bad one and `partial` is false, in which case nothing is sent.
// With `credentials`, each Submit carries those of its envelope's
// originating_officer (an adapter submits for many officers). Returns the
// number of records the gateway accepted.
size_t SubmitBatch(v1::Exchange::StubInterface& stub, std::vector<NativeRecord>& records, bool partial,
                   absl::Duration timeout = absl::Seconds(30), const OfficerCredentials& credentials = nullptr);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_NATIVE_SUBMIT_H_
