// What the officer-identity end-to-end tests share (officer_*_e2e_test.cc,
// officer_rotation_test.cc): calls with or without an assertion, the audit
// record a call left, and the issue-13 fields of answers read by name (so
// that these tests build before and after the contract gains them).
#ifndef PORTCULLIS_TESTS_OFFICER_E2E_SUPPORT_H_
#define PORTCULLIS_TESTS_OFFICER_E2E_SUPPORT_H_

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "gateway/audit/audit_record.h"
#include "tests/support/harness.h"
#include "tests/support/officer_tokens.h"

namespace portcullis::testing {

// A call context with a 10 s deadline and, unless `token` is empty, the
// assertion as `authorization: Bearer <token>`.
inline std::unique_ptr<grpc::ClientContext> ContextWith(const std::string& token) {
  auto ctx = CallContext();
  if (!token.empty()) AddAssertion(ctx.get(), token);
  return ctx;
}

// The records of `action` refused with `reason` whose actor is `party`.
inline int RefusedRecords(const GatewayHarness& h, const std::string& action, const std::string& reason,
                          const std::string& party) {
  int n = 0;
  for (const AuditRecord& r : h.AuditRecords(action)) {
    n += r.outcome == "refused" && r.reason == reason && r.actor_party == party;
  }
  return n;
}

// The last record of `action` (an empty one, and a test failure, if none).
inline AuditRecord LastRecord(const GatewayHarness& h, const std::string& action) {
  std::vector<AuditRecord> records = h.AuditRecords(action);
  if (records.empty()) {
    ADD_FAILURE() << "no '" << action << "' record";
    return AuditRecord();
  }
  return records.back();
}

// `status` is the refusal `code` with `reason`.
inline ::testing::AssertionResult IsRefusal(const grpc::Status& status, grpc::StatusCode code,
                                            const std::string& reason) {
  if (status.error_code() == code && ReasonOf(status) == reason) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "want code " << code << " " << reason << ", got code "
                                       << status.error_code() << " " << ReasonOf(status) << " ("
                                       << status.error_message() << ")";
}

// The call (made by `call`) is refused `code`/`reason`, and the log gains a
// refused `action` record with that reason and the caller's party.
template <typename Call>
::testing::AssertionResult RefusedAndAudited(const GatewayHarness& h, const std::string& action,
                                             const std::string& party, grpc::StatusCode code,
                                             const std::string& reason, Call call) {
  const int before = RefusedRecords(h, action, reason, party);
  grpc::Status s = call();
  ::testing::AssertionResult refused = IsRefusal(s, code, reason);
  if (!refused) return refused;
  const int after = RefusedRecords(h, action, reason, party);
  if (after != before + 1) {
    return ::testing::AssertionFailure() << "refused " << reason << " as expected, but the log has " << after - before
                                         << " new refused '" << action << "' record(s) of " << party
                                         << " with that reason (want 1)";
  }
  return ::testing::AssertionSuccess();
}

// The record names `officer` as verified (or as claimed, `verified` false).
inline ::testing::AssertionResult RecordsOfficer(const AuditRecord& r, const std::string& officer, bool verified) {
  if (r.actor_officer == officer && r.officer_verified == verified) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << r.action << "' record (" << r.outcome << " " << r.reason
                                       << ") names officer '" << r.actor_officer << "' verified="
                                       << r.officer_verified << "; want '" << officer << "' verified=" << verified;
}

// The bool field `name` of `m` is `want`. Read by name: a field the contract
// does not have yet is a failure that says so.
inline ::testing::AssertionResult BoolFieldIs(const google::protobuf::Message& m, const std::string& name,
                                              bool want) {
  const google::protobuf::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_BOOL || f->is_repeated()) {
    return ::testing::AssertionFailure() << m.GetDescriptor()->full_name() << " has no bool field '" << name
                                         << "' (issue 13's contract change not merged?)";
  }
  const bool got = m.GetReflection()->GetBool(m, f);
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << m.GetDescriptor()->full_name() << "." << name << " is " << got;
}

// The string field `name` of `m` is `want` (read by name, as above).
inline ::testing::AssertionResult StringFieldIs(const google::protobuf::Message& m, const std::string& name,
                                                const std::string& want) {
  const google::protobuf::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName(name);
  if (f == nullptr || f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING || f->is_repeated()) {
    return ::testing::AssertionFailure() << m.GetDescriptor()->full_name() << " has no string field '" << name
                                         << "' (issue 13's contract change not merged?)";
  }
  const std::string got = m.GetReflection()->GetString(m, f);
  if (got == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << m.GetDescriptor()->full_name() << "." << name << " is '" << got << "'";
}

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_OFFICER_E2E_SUPPORT_H_
