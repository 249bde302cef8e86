// portcullis-audit prove: an RFC 6962 inclusion proof for one record, checked
// against a signed checkpoint, from the files or through the Audit service.
#include <fstream>
#include <iostream>

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "adapters/common/describe.h"
#include "gateway/audit/checkpoint.h"
#include "gateway/audit/merkle.h"
#include "portcullis/v1/audit.grpc.pb.h"
#include "tools/audit/audit_tool.h"
#include "tools/common/json_out.h"
#include "util/display_text.h"

namespace portcullis::audit_tool {
namespace {

using google::protobuf::util::TimeUtil;

// An inclusion proof for record a.index, checked against a signed checkpoint.
struct Proof {
  std::string line;
  Checkpoint checkpoint;
  std::vector<merkle::Hash> path;
};

absl::StatusOr<Proof> ProofFromFiles(const Args& a) {
  auto checkpoints = ReadCheckpointFile(a.log + ".checkpoints");
  if (!checkpoints.ok()) return checkpoints.status();
  if (checkpoints->empty() || checkpoints->back().size <= a.index) {
    return absl::FailedPreconditionError(absl::StrCat("record ", a.index, " is not covered by a signed checkpoint in ",
                                                      a.log, ".checkpoints yet"));
  }
  Proof p;
  p.checkpoint = checkpoints->back();
  std::ifstream in(a.log, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", a.log));
  merkle::MemoryLeafSource leaves;
  merkle::MerkleTree tree(&leaves);
  std::string line;
  while (leaves.size() < p.checkpoint.size && std::getline(in, line) && !in.eof()) {
    if (leaves.size() == a.index) p.line = line;
    leaves.Add(merkle::LeafHash(line));
    tree.Append(merkle::LeafHash(line));
  }
  if (leaves.size() < p.checkpoint.size) {
    return absl::DataLossError(absl::StrCat(a.log, " holds fewer records than its checkpoint (",
                                            p.checkpoint.size, "): run `portcullis-audit verify`"));
  }
  auto path = tree.InclusionProof(a.index, p.checkpoint.size);
  if (!path.ok()) return path.status();
  p.path = *std::move(path);
  return p;
}

absl::StatusOr<Proof> ProofFromGateway(const Args& a) {
  auto channel = Dial(a);
  if (!channel.ok()) return channel.status();
  auto stub = v1::Audit::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::InclusionProofRequest req;
  req.set_index(a.index);
  v1::InclusionProof resp;
  grpc::Status s = stub->GetInclusionProof(&ctx, req, &resp);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("GetInclusionProof: ", adapters::DescribeStatus(s)));
  if (!resp.has_checkpoint()) return absl::DataLossError("the gateway sent a proof without its signed checkpoint");
  const v1::SignedCheckpoint& c = resp.checkpoint();
  Proof p;
  p.line = resp.leaf_line();
  p.checkpoint = Checkpoint{c.tree_size(), c.root_hash(), TimeUtil::TimestampToMicroseconds(c.time()), c.key_id(),
                            c.signature()};
  for (const auto& h : resp.path()) {
    p.path.emplace_back();
    if (!merkle::FromHex(h, &p.path.back())) return absl::DataLossError("the proof holds a malformed hash");
  }
  if (resp.tree_size() != c.tree_size() || resp.index() != a.index) {
    return absl::DataLossError("the proof does not match its checkpoint");
  }
  return p;
}

}  // namespace

int Prove(const Args& a) {
  auto verifier = CheckpointVerifier::Load(a.public_key);
  if (!verifier.ok()) return Fail(verifier.status());
  auto proof = a.log.empty() ? ProofFromGateway(a) : ProofFromFiles(a);
  if (!proof.ok()) return Fail(proof.status());
  const Checkpoint& c = proof->checkpoint;
  std::string problem;
  merkle::Hash root;
  auto record = ParseLine(proof->line);
  if (absl::Status v = (*verifier)->Verify(c); !v.ok()) {
    problem = absl::StrCat("the checkpoint's signature is not valid: ", v.message());
  } else if (!merkle::FromHex(c.root, &root) ||
             !merkle::VerifyInclusion(a.index, c.size, merkle::LeafHash(proof->line), proof->path, root)) {
    problem = absl::StrCat("the audit path does not lead from record ", a.index, " to the signed root");
  } else if (!record.ok() || record->index != a.index) {
    problem = absl::StrCat("the record is not a valid audit line for index ", a.index);
  }
  if (a.json) {
    tools::Json doc;
    doc["proved"] = problem.empty();
    doc["index"] = a.index;
    doc["tree_size"] = c.size;
    doc["root"] = c.root;
    doc["path_length"] = proof->path.size();
    tools::Json after = tools::Json::object();
    if (!problem.empty()) after["problem"] = problem;
    std::cout << tools::JsonWithLine(doc, "record", proof->line, after) << "\n";  // The line as stored.
  } else if (!problem.empty()) {
    std::cout << "NOT PROVED: " << DisplayText(problem) << "\n";
  } else {
    std::cout << "PROVED: record " << a.index << " (" << DisplayText(record->action) << " "
              << DisplayText(record->message_id) << ", " << DisplayText(record->outcome) << ", "
              << FormatRecordTime(record->time_micros) << ")\n"
              << "    is in the log signed at size " << c.size << ", root " << c.root << "\n"
              << "    (" << proof->path.size() << "-hash audit path; checkpoint signed by key " << c.key_id << " at "
              << FormatRecordTime(c.time_micros) << ")\n";
  }
  return problem.empty() ? kOk : kTampered;
}

}  // namespace portcullis::audit_tool
