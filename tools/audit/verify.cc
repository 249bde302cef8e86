// portcullis-audit verify: recompute the hash chain and Merkle roots, check
// every checkpoint signature and witness copy, from the files or through the
// Audit service (docs/audit-format.md).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "adapters/common/describe.h"
#include "gateway/audit/checkpoint.h"
#include "gateway/audit/log_verifier.h"
#include "portcullis/v1/audit.grpc.pb.h"
#include "tools/audit/audit_tool.h"
#include "tools/common/json_out.h"
#include "util/display_text.h"

namespace portcullis::audit_tool {
namespace {

using google::protobuf::util::TimeUtil;

tools::Json ReportJson(const VerifyReport& r, const std::string& source) {
  tools::Json doc;
  doc["ok"] = !r.problem.has_value();
  doc["source"] = source;
  doc["records"] = r.records;
  doc["checkpoints"] = r.checkpoints;
  doc["witness_checkpoints"] = r.witness_checkpoints;
  doc["signed_size"] = r.signed_size;
  doc["signed_root"] = r.signed_root;
  doc["signatures_checked"] = r.signatures_checked;
  doc["format_versions"] = {{"v1", r.v1_records}, {"v2", r.v2_records}};
  doc["adopted"] = tools::Json::array();
  for (const AdoptedRange& ad : r.adopted) {
    doc["adopted"].push_back({{"record", ad.record_index},
                              {"first", ad.first},
                              {"last", ad.last},
                              {"time", FormatRecordTime(ad.time_micros)},
                              {"detail", ad.detail}});
  }
  if (r.problem) {
    doc["problem"] = {{"kind", TamperKindName(r.problem->kind)},
                      {"index", r.problem->index},
                      {"message", r.problem->message}};
  }
  doc["warnings"] = r.warnings;
  return doc;
}

int PrintReport(const Args& a, const VerifyReport& r, const std::string& source) {
  if (a.json) {
    std::cout << tools::JsonText(ReportJson(r, source)) << "\n";
  } else if (r.problem) {
    std::cout << "FAILED: " << TamperKindName(r.problem->kind) << " at record " << r.problem->index << "\n  "
              << DisplayText(r.problem->message) << "\n";
    const TamperKind k = r.problem->kind;
    if (k == TamperKind::kModified || k == TamperKind::kDeleted || k == TamperKind::kInserted ||
        k == TamperKind::kReordered) {
      std::cout << "  (the " << r.records << " records before it verified)\n";
    }
  } else {
    std::cout << "OK: " << r.records << " records from " << DisplayText(source) << ", hash chain intact\n"
              << "    " << r.checkpoints << " checkpoint(s)"
              << (r.signatures_checked ? " with valid signatures" : " (signatures NOT checked)") << ", "
              << r.witness_checkpoints << " witness checkpoint(s) agree\n"
              << "    signed through record " << (r.signed_size ? r.signed_size - 1 : 0) << ": root " << r.signed_root
              << "\n";
  }
  if (!a.json) {
    for (const AdoptedRange& ad : r.adopted) {
      std::cout << "adopted unsigned: records " << ad.first << " to " << ad.last << " (record " << ad.record_index
                << ", " << FormatRecordTime(ad.time_micros) << "): " << DisplayText(ad.detail) << "\n";
    }
    if (r.v1_records > 0 && r.v2_records > 0) {
      std::cout << "note: " << r.v1_records << " record(s) in format v1, then " << r.v2_records
                << " in format v2 (the gateway was upgraded)\n";
    }
    for (const auto& w : r.warnings) std::cout << "note: " << DisplayText(w) << "\n";
  }
  return r.problem ? kTampered : kOk;
}

int RunVerify(const Args& a, VerifyOptions o, const std::string& source) {
  o.public_key_path = a.public_key;
  o.witness_paths = a.witnesses;
  o.allow_unsigned_tail = a.allow_unsigned_tail;
  const bool tty = ::isatty(STDERR_FILENO) && !a.json;
  if (tty) {
    o.progress = [](uint64_t records, uint64_t bytes, uint64_t total) {
      std::fprintf(stderr, "\rverifying: %llu records, %3.0f%%", static_cast<unsigned long long>(records),
                   total ? 100.0 * static_cast<double>(bytes) / static_cast<double>(total) : 100.0);
    };
  }
  auto report = VerifyLog(o);
  if (tty) std::fprintf(stderr, "\n");
  if (!report.ok()) return Fail(report.status());
  return PrintReport(a, *report, source);
}

}  // namespace

int VerifyFiles(const Args& a) {
  VerifyOptions o;
  o.log_path = a.log;
  return RunVerify(a, std::move(o), a.log);
}

// Through the service: download every record, wait (up to --wait) for a
// signed checkpoint covering all of them, download what the log grew to by
// then, and write the records to `log_path` and that checkpoint to
// `checkpoints_path`: a copy of the log that the offline verifier checks
// exactly as the gateway's own files. Records still not covered when the
// wait ends are an unsigned tail.
absl::Status DownloadSignedLog(const Args& a, const std::string& log_path, const std::string& checkpoints_path) {
  auto channel = Dial(a);
  if (!channel.ok()) return channel.status();
  auto stub = v1::Audit::NewStub(*channel);
  auto get_checkpoint = [&](v1::SignedCheckpoint* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub->GetCheckpoint(&ctx, v1::GetCheckpointRequest(), out);
  };
  auto checkpoint_error = [](const grpc::Status& s) {
    return absl::UnavailableError(absl::StrCat("GetCheckpoint: ", adapters::DescribeStatus(s)));
  };
  // First the latest checkpoint: a caller who is not an auditor is refused
  // here, before anything is downloaded.
  v1::SignedCheckpoint latest;
  grpc::Status s = get_checkpoint(&latest);
  if (!s.ok() && s.error_code() != grpc::StatusCode::UNAVAILABLE) return checkpoint_error(s);
  std::ofstream log(log_path, std::ios::binary | std::ios::trunc);
  if (!log) return absl::UnavailableError(absl::StrCat("cannot write ", log_path));
  Args all = a;
  all.filter = RecordFilter();
  if (all.reason.empty()) all.reason = "portcullis-audit verify: integrity check of the whole log";
  uint64_t n = 0;
  absl::Status downloaded = Records(all, [&](const Entry& e) {
    log << e.line << "\n";
    ++n;
    return true;
  });
  if (!downloaded.ok()) return downloaded;
  // A checkpoint covering the n records read: signed on demand by the
  // gateway (at most once a second), or periodically.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.wait_seconds);
  while (!s.ok() || latest.tree_size() < n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    s = get_checkpoint(&latest);
    if (!s.ok() && s.error_code() != grpc::StatusCode::UNAVAILABLE) return checkpoint_error(s);
    if (s.ok() && latest.tree_size() >= n) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      if (!s.ok()) return checkpoint_error(s);
      break;  // Not covered in time: the verifier names the unsigned tail.
    }
  }
  const uint64_t m = latest.tree_size();
  if (m > n) {  // The log grew meanwhile (not least by this download's own records): read up to m.
    downloaded = FromGateway(all, [&](const Entry& e) {
      if (e.record.index >= m) return false;
      log << e.line << "\n";
      return e.record.index + 1 < m;
    }, n);
    if (!downloaded.ok()) return downloaded;
  }
  log.flush();
  if (!log) return absl::UnavailableError(absl::StrCat("cannot write ", log_path));
  const Checkpoint c{latest.tree_size(), latest.root_hash(), TimeUtil::TimestampToMicroseconds(latest.time()),
                     latest.key_id(), latest.signature()};
  std::ofstream cp(checkpoints_path, std::ios::trunc);
  cp << CheckpointToLine(c) << "\n";
  cp.flush();
  if (!cp) return absl::UnavailableError(absl::StrCat("cannot write ", checkpoints_path));
  return absl::OkStatus();
}

// Through the service: DownloadSignedLog into a temporary folder, then
// recompute everything (chain, Merkle roots, signature, witness copies)
// exactly as from files.
int VerifyGateway(const Args& a) {
  char dir_template[] = "/tmp/portcullis-audit-verify.XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) return Fail(absl::UnavailableError("cannot create a temporary folder"));
  const std::string dir = dir_template;
  VerifyOptions o;
  o.log_path = dir + "/audit.log";
  o.checkpoints_path = dir + "/audit.log.checkpoints";
  absl::Status downloaded = DownloadSignedLog(a, o.log_path, o.checkpoints_path);
  const int code = downloaded.ok() ? RunVerify(a, o, "gateway " + a.gw.gateway) : Fail(downloaded);
  std::filesystem::remove_all(dir);
  return code;
}

}  // namespace portcullis::audit_tool
