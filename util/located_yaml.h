// Located input over yaml-cpp (see util/located_input.h): positions from
// yaml-cpp's Marks, a YAML document read without letting yaml-cpp's
// exceptions out, and the repeated keys yaml-cpp keeps without a word.
// Users link yaml-cpp themselves. Thread-safe.
#ifndef PORTCULLIS_UTIL_LOCATED_YAML_H_
#define PORTCULLIS_UTIL_LOCATED_YAML_H_

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "util/located_input.h"

namespace portcullis {

// yaml-cpp's 0-based mark as a Location; a null (or negative) mark is 1:1.
Location LocationOf(const YAML::Mark& mark);

// The words a reader uses for each kind of node in "expected X, got Y".
struct NodeWords {
  const char* null;
  const char* scalar;
  const char* sequence;
  const char* map;
  const char* undefined;
};
// YAML's own words ("a scalar", "a list", "a mapping").
inline constexpr NodeWords kYamlWords = {"null", "a scalar", "a list", "a mapping", "nothing"};

// What `node` is, in `words`.
const char* DescribeNode(const YAML::Node& node, const NodeWords& words = kYamlWords);

struct YamlParseOptions {
  // Refuse a second document ("---"). Checked with a bounded pass over the
  // parser's events first: yaml-cpp 0.7 can yield the same empty document
  // forever on malformed input (a stray ',' at the top level,
  // jbeder/yaml-cpp#1040), which that pass reports as a syntax error.
  bool single_document = false;
  // Put before yaml-cpp's message on a syntax error, e.g. "invalid YAML: ".
  std::string syntax_prefix;
};

// Parses `text` (the first document of it). On a syntax error (or a second
// document, with single_document) adds the problem at its place with an
// empty path and returns nullopt. Never throws.
std::optional<YAML::Node> ParseYaml(const std::string& text, const YamlParseOptions& options, ProblemList& problems);

// Adds a problem at every key that repeats an earlier key of the same mapping,
// anywhere under `root` ("<path>: duplicate key; first at line N"); yaml-cpp
// keeps both, and a lookup would silently read the first. `root_path` is the
// path of `root` itself ("" for the document).
void AddDuplicateKeys(const YAML::Node& root, absl::string_view root_path, ProblemList& problems);

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_LOCATED_YAML_H_
