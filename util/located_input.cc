#include "util/located_input.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace portcullis {

Location LocationAtOffset(absl::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  Location at;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++at.line;
      at.column = 1;
    } else {
      ++at.column;
    }
  }
  return at;
}

std::string ChildPath(absl::string_view parent, absl::string_view key) {
  return parent.empty() ? std::string(key) : absl::StrCat(parent, ".", key);
}

std::string ItemPath(absl::string_view parent, size_t index) { return absl::StrCat(parent, "[", index, "]"); }

std::string FormatProblem(absl::string_view source, Location at, absl::string_view path, absl::string_view rule) {
  return absl::StrCat(source, ":", at.line, ":", at.column, ": ", path, ": ", rule);
}

ProblemList::ProblemList(std::string source, ProblemListOptions options)
    : source_(std::move(source)), options_(std::move(options)) {}

void ProblemList::Add(Location at, absl::string_view path, std::string rule) {
  problems_.push_back(Problem{at, path.empty() ? options_.document_path : std::string(path), std::move(rule)});
}

std::vector<std::string> ProblemList::Formatted() const {
  std::vector<Problem> ordered = problems_;
  if (options_.sort_by_position) {
    std::stable_sort(ordered.begin(), ordered.end(), [](const Problem& a, const Problem& b) {
      return std::make_pair(a.at.line, a.at.column) < std::make_pair(b.at.line, b.at.column);
    });
  }
  const size_t shown = options_.max_reported == 0 ? ordered.size() : std::min(ordered.size(), options_.max_reported);
  std::vector<std::string> lines;
  for (size_t i = 0; i < shown; ++i) {
    lines.push_back(FormatProblem(source_, ordered[i].at, ordered[i].path, ordered[i].rule));
  }
  if (shown < ordered.size()) {
    lines.push_back(absl::StrCat(source_, ": ... and ", ordered.size() - shown, " more errors"));
  }
  return lines;
}

absl::Status ProblemList::ToStatus() const {
  if (problems_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(Formatted(), "\n"));
}

}  // namespace portcullis
