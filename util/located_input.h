// Located input: the one way every file a person writes is read and its
// problems reported — the gateway's config (gateway/config), a party's adapter
// config (adapters/common/party_config) and the native JSON records
// (adapters/common/json_doc). Each problem is one line
//
//   <source>:<line>:<column>: <field.path>: <rule>
//
// with 1-based lines and columns, and a field path like "parties[2].id"
// (ChildPath, ItemPath); an empty path stands for the whole document and is
// written as ProblemListOptions::document_path. Readers collect every problem
// in a ProblemList instead of stopping at the first, then turn it into one
// INVALID_ARGUMENT status.
//
// Positions come from yaml-cpp's Marks (util/located_yaml.h, which also
// reads a YAML document without letting yaml-cpp's exceptions out) or, for
// the strict JSON check (util/strict_json.h), from a byte offset.
//
// Thread-safety: free functions are thread-safe; a ProblemList is not.
#ifndef PORTCULLIS_UTIL_LOCATED_INPUT_H_
#define PORTCULLIS_UTIL_LOCATED_INPUT_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace YAML {
struct Mark;
}

namespace portcullis {

// A 1-based place in a text.
struct Location {
  int line = 1;
  int column = 1;
};

// The Location of byte `offset` (0-based) in `text`: lines end at '\n',
// columns count bytes. An offset past the end is the end.
Location LocationAtOffset(absl::string_view text, size_t offset);

// Field paths: ChildPath("tls", "ca_bundle") == "tls.ca_bundle" (just the key
// at the top, where `parent` is empty); ItemPath("parties", 2) == "parties[2]".
std::string ChildPath(absl::string_view parent, absl::string_view key);
std::string ItemPath(absl::string_view parent, size_t index);

// One problem line: "<source>:<line>:<column>: <path>: <rule>".
std::string FormatProblem(absl::string_view source, Location at, absl::string_view path, absl::string_view rule);

struct ProblemListOptions {
  std::string document_path = "(document)";  // Written for an empty path.
  bool sort_by_position = false;             // Else in the order found.
  size_t max_reported = 0;                   // 0 = all; else the rest is counted in one last line.
};

// Every problem found in one source.
class ProblemList {
 public:
  explicit ProblemList(std::string source, ProblemListOptions options = {});

  void Add(Location at, absl::string_view path, std::string rule);
  // At yaml-cpp's mark (LocationOf in util/located_yaml.h).
  void Add(const YAML::Mark& mark, absl::string_view path, std::string rule);

  bool empty() const { return problems_.empty(); }
  size_t size() const { return problems_.size(); }
  const std::string& source() const { return source_; }

  // One line per problem (ordered and cut as the options say).
  std::vector<std::string> Formatted() const;
  // OK when empty; otherwise INVALID_ARGUMENT whose message is Formatted()
  // joined with '\n'.
  absl::Status ToStatus() const;

 private:
  struct Problem {
    Location at;
    std::string path;
    std::string rule;
  };
  std::string source_;
  ProblemListOptions options_;
  std::vector<Problem> problems_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_LOCATED_INPUT_H_
