#include "gateway/audit/log_verifier.h"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gateway/audit/checkpoint.h"
#include "gateway/audit/log_format.h"
#include "gateway/audit/merkle.h"

namespace portcullis {
namespace {

// Merkle root of a growing prefix in O(log n) memory: the hashes of the
// perfect subtrees of the binary decomposition of the leaf count.
class CompactRange {
 public:
  void Append(const merkle::Hash& leaf) {
    merkle::Hash h = leaf;
    uint64_t size = 1;
    while (!stack_.empty() && stack_.back().second == size) {
      h = merkle::NodeHash(stack_.back().first, h);
      size *= 2;
      stack_.pop_back();
    }
    stack_.emplace_back(h, size);
  }
  merkle::Hash Root() const {
    if (stack_.empty()) return merkle::EmptyRoot();
    merkle::Hash h = stack_.back().first;
    for (size_t i = stack_.size() - 1; i-- > 0;) h = merkle::NodeHash(stack_[i].first, h);
    return h;
  }

 private:
  std::vector<std::pair<merkle::Hash, uint64_t>> stack_;
};

// One line of the log with what the chain needs.
struct Line {
  bool present = false;
  std::string text;
  absl::StatusOr<LineHeader> header = absl::UnknownError("unread");
};

class LineStream {
 public:
  explicit LineStream(std::ifstream* in) : in_(in) { Advance(); Advance(); }
  const Line& current() const { return cur_; }
  const Line& next() const { return next_; }
  uint64_t bytes() const { return bytes_; }
  void Advance() {
    cur_ = std::move(next_);
    next_ = Line();
    std::string text;
    if (std::getline(*in_, text)) {
      bytes_ += text.size() + 1;
      next_.present = true;
      next_.header = in_->eof() ? absl::DataLossError("incomplete last line (no newline)") : CheckLine(text);
      next_.text = std::move(text);
    }
  }

 private:
  std::ifstream* in_;
  Line cur_, next_;
  uint64_t bytes_ = 0;
};

VerifyProblem Problem(TamperKind kind, uint64_t index, std::string message) {
  return VerifyProblem{kind, index, std::move(message)};
}

// Checks a checkpoint list's signatures and order; adds its sizes to `sizes`.
std::optional<VerifyProblem> CheckCheckpoints(const std::vector<Checkpoint>& list, const std::string& source,
                                              const CheckpointVerifier* verifier) {
  uint64_t last = 0;
  for (const Checkpoint& c : list) {
    if (verifier != nullptr) {
      absl::Status s = verifier->Verify(c);
      if (!s.ok()) return Problem(TamperKind::kCheckpointInvalid, c.size, absl::StrCat(source, ": ", s.message()));
    }
    if (c.size < last) {
      return Problem(TamperKind::kCheckpointInvalid, c.size,
                     absl::StrCat(source, ": checkpoint sizes go backwards (", last, " then ", c.size, ")"));
    }
    last = c.size;
  }
  return std::nullopt;
}

}  // namespace

const char* TamperKindName(TamperKind kind) {
  switch (kind) {
    case TamperKind::kModified: return "modified";
    case TamperKind::kDeleted: return "deleted";
    case TamperKind::kInserted: return "inserted";
    case TamperKind::kReordered: return "reordered";
    case TamperKind::kTruncated: return "truncated";
    case TamperKind::kRewritten: return "rewritten";
    case TamperKind::kCheckpointInvalid: return "checkpoint_invalid";
    case TamperKind::kWitnessMismatch: return "witness_mismatch";
    case TamperKind::kUnsigned: return "unsigned";
    case TamperKind::kUnsignedTail: return "unsigned_tail";
  }
  return "unknown";
}

absl::StatusOr<VerifyReport> VerifyLog(const VerifyOptions& options) {
  VerifyReport report;
  std::unique_ptr<CheckpointVerifier> verifier;
  if (!options.public_key_path.empty()) {
    auto v = CheckpointVerifier::Load(options.public_key_path);
    if (!v.ok()) return v.status();
    verifier = *std::move(v);
    report.signatures_checked = true;
  } else {
    report.warnings.push_back("no public key given: checkpoint signatures were not checked");
  }

  // Checkpoints first: the sizes whose roots the stream must compute.
  const std::string cpath = options.checkpoints_path.empty() ? options.log_path + ".checkpoints" : options.checkpoints_path;
  auto local = ReadCheckpointFile(cpath);
  if (!local.ok()) return local.status();
  std::vector<std::pair<std::string, std::vector<Checkpoint>>> witnesses;
  for (const std::string& w : options.witness_paths) {
    struct stat st;
    if (stat(w.c_str(), &st) != 0) return absl::NotFoundError(absl::StrCat("witness file not found: ", w));
    auto list = ReadCheckpointFile(w);
    if (!list.ok()) return list.status();
    witnesses.emplace_back(w, *std::move(list));
  }
  if (auto p = CheckCheckpoints(*local, cpath, verifier.get())) {
    report.problem = p;
    return report;
  }
  report.checkpoints = local->size();
  std::map<uint64_t, const Checkpoint*> by_size;  // Every checkpoint the log must match.
  for (const Checkpoint& c : *local) by_size[c.size] = &c;
  for (const auto& [path, list] : witnesses) {
    if (auto p = CheckCheckpoints(list, path, verifier.get())) {
      report.problem = p;
      return report;
    }
    report.witness_checkpoints += list.size();
    for (const Checkpoint& c : list) {
      auto it = by_size.find(c.size);
      if (it != by_size.end() && it->second->root != c.root) {
        report.problem = Problem(TamperKind::kWitnessMismatch, c.size,
                                 absl::StrCat("witness ", path, " holds a checkpoint at size ", c.size, " with root ",
                                              c.root, ", the local one has ", it->second->root));
        return report;
      }
      by_size.emplace(c.size, &c);
    }
  }
  if (by_size.empty()) {
    report.warnings.push_back(
        "no signed checkpoint: a complete rewrite of the log by someone without the key cannot be detected");
  }

  std::ifstream in(options.log_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read audit log ", options.log_path));
  struct stat st;
  const uint64_t total = stat(options.log_path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;

  CompactRange range;
  std::map<uint64_t, merkle::Hash> roots;  // Computed roots at checkpoint sizes.
  auto note_root = [&] {
    if (by_size.count(report.records)) roots[report.records] = range.Root();
  };
  note_root();
  std::string prev_hash = kGenesisHash, prev_prev_hash = kGenesisHash;
  LineStream lines(&in);
  for (; lines.current().present; lines.Advance()) {
    const Line& line = lines.current();
    const Line& next = lines.next();
    const uint64_t e = report.records;
    if (!line.header.ok()) {
      report.problem = Problem(TamperKind::kModified, e, absl::StrCat("record ", e, ": ", line.header.status().message()));
      break;
    }
    const LineHeader& h = *line.header;
    const bool next_ok = next.present && next.header.ok();
    if (h.index == e && h.prev != prev_hash) {
      if (next_ok && next.header->index == e && next.header->prev == prev_hash) {
        report.problem = Problem(TamperKind::kInserted, e,
                                 absl::StrCat("a record claiming index ", e, " was inserted before the real one"));
      } else if (e > 0) {
        report.problem = Problem(TamperKind::kModified, e - 1,
                                 absl::StrCat("record ", e - 1, " was changed and its hash recomputed: record ", e,
                                              "'s prev no longer matches it"));
      } else {
        report.problem = Problem(TamperKind::kModified, 0, "record 0 does not start the chain");
      }
      break;
    }
    if (h.index > e) {
      if (next_ok && next.header->index == e) {
        report.problem = Problem(TamperKind::kReordered, e,
                                 absl::StrCat("record ", h.index, " appears before record ", e));
      } else {
        report.problem = Problem(TamperKind::kDeleted, e,
                                 absl::StrCat(h.index - e, " record(s) missing: ", e, h.index - e > 1
                                                  ? absl::StrCat(" to ", h.index - 1) : std::string(),
                                              " (the next record present is ", h.index, ")"));
      }
      break;
    }
    if (h.index < e) {
      if (h.index + 1 == e && h.prev == prev_prev_hash) {
        report.problem = Problem(TamperKind::kInserted, e - 1,
                                 absl::StrCat("the record read as ", e - 1, " does not belong: the real record ", e - 1,
                                              " follows it"));
      } else {
        report.problem = Problem(TamperKind::kReordered, h.index,
                                 absl::StrCat("record ", h.index, " appears after record ", e - 1));
      }
      break;
    }
    // Format versions, and the gateway's adoptions of unsigned records.
    const std::string v2_prefix = absl::StrCat("{\"index\":", e, ",\"v\":2,");
    if (line.text.compare(0, v2_prefix.size(), v2_prefix) == 0) {
      ++report.v2_records;
    } else {
      ++report.v1_records;
    }
    if (line.text.find("\"action\":\"adopt_unsigned\"") != std::string::npos) {
      if (auto r = ParseLine(line.text); r.ok() && r->action == "adopt_unsigned") {
        report.adopted.push_back(AdoptedRange{e, r->time_micros, r->range_first, r->range_last, r->detail});
      }
    }
    range.Append(merkle::LeafHash(line.text));
    prev_prev_hash = prev_hash;
    prev_hash = h.hash;
    ++report.records;
    note_root();
    if (options.progress && report.records % 65536 == 0) options.progress(report.records, lines.bytes(), total);
  }
  if (options.progress) options.progress(report.records, lines.bytes(), total);
  if (report.problem) return report;

  // The chain is whole. Does it hold what the checkpoints signed?
  uint64_t last_good = 0;
  for (const auto& [size, c] : by_size) {
    if (size > report.records) {
      report.problem = Problem(TamperKind::kTruncated, report.records,
                               absl::StrCat("the log holds ", report.records, " records but a checkpoint signed at ",
                                            FormatRecordTime(c->time_micros), " covers ", size));
      return report;
    }
    if (merkle::ToHex(roots[size]) != c->root) {
      report.problem = Problem(TamperKind::kRewritten, last_good,
                               absl::StrCat("records ", last_good, " to ", size - 1,
                                            " do not match the checkpoint signed at ", FormatRecordTime(c->time_micros),
                                            " (size ", size, "): the chain was recomputed without the signing key"));
      return report;
    }
    last_good = size;
    report.signed_size = size;
    report.signed_root = c->root;
  }
  if (verifier != nullptr && report.records > 0 && by_size.empty()) {
    // Without any checkpoint a log proves nothing: a missing .checkpoints
    // file is how a truncation or rewrite would try to hide.
    report.problem = VerifyProblem{TamperKind::kUnsigned, 0,
                                   absl::StrCat("no signed checkpoint covers any of the ", report.records,
                                                " records, so the log cannot be proven complete or unaltered (",
                                                cpath, " is missing or empty, and no witness copy was given)")};
    return report;
  }
  if (options.witness_paths.empty()) {
    report.warnings.push_back(
        "no witness copy was given: truncating the log and its checkpoints file together cannot be detected");
  }
  if (report.records > report.signed_size) {
    const std::string range = absl::StrCat("records ", report.signed_size, " to ", report.records - 1);
    if (options.allow_unsigned_tail) {
      report.warnings.push_back(absl::StrCat(range, " (", report.records - report.signed_size,
                                             ") are after the last checkpoint: not yet signed, not verified"));
    } else {
      report.problem = Problem(
          TamperKind::kUnsignedTail, report.signed_size,
          absl::StrCat(range, " (", report.records - report.signed_size, " record(s)) are not covered by any signed "
                       "checkpoint, so nothing proves them complete or unaltered; verify again after the next "
                       "checkpoint, or pass --allow-unsigned-tail to accept them as unverified"));
    }
  }
  return report;
}

}  // namespace portcullis
