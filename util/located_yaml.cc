#include "util/located_yaml.h"

#include <yaml-cpp/eventhandler.h>

#include <exception>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace portcullis {

Location LocationOf(const YAML::Mark& mark) {
  return Location{mark.line >= 0 ? mark.line + 1 : 1, mark.column >= 0 ? mark.column + 1 : 1};
}

const char* DescribeNode(const YAML::Node& node, const NodeWords& words) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return words.null;
    case YAML::NodeType::Scalar:
      return words.scalar;
    case YAML::NodeType::Sequence:
      return words.sequence;
    case YAML::NodeType::Map:
      return words.map;
    case YAML::NodeType::Undefined:
      break;
  }
  return words.undefined;
}

void ProblemList::Add(const YAML::Mark& mark, absl::string_view path, std::string rule) {
  Add(LocationOf(mark), path, std::move(rule));
}

namespace {

// Records where each document starts; ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  YAML::Mark start;
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
  }
  void OnMapEnd() override {}
};

// Reports and returns false unless `text` holds at most one YAML document.
// Throws YAML::Exception on a syntax error (the caller reports it).
bool CheckSingleDocument(const std::string& text, absl::string_view syntax_prefix, ProblemList& problems) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  std::vector<YAML::Mark> starts;
  for (int i = 0; i < 3; ++i) {
    DocumentStarts document;
    if (!parser.HandleNextDocument(document)) break;
    if (!starts.empty() && document.start.pos == starts.back().pos) {  // Stuck: no progress.
      const size_t pos = static_cast<size_t>(document.start.pos);
      const std::string what = pos < text.size() && absl::ascii_isgraph(static_cast<unsigned char>(text[pos]))
                                   ? absl::StrCat("'", text.substr(pos, 1), "'")
                                   : std::string("text");
      problems.Add(document.start, "", absl::StrCat(syntax_prefix, "unexpected ", what));
      return false;
    }
    starts.push_back(document.start);
  }
  if (starts.size() > 1) {
    problems.Add(starts[1], "", "expected one YAML document, but another one starts here (remove the '---')");
    return false;
  }
  return true;
}

}  // namespace

std::optional<YAML::Node> ParseYaml(const std::string& text, const YamlParseOptions& options, ProblemList& problems) {
  try {
    if (options.single_document && !CheckSingleDocument(text, options.syntax_prefix, problems)) return std::nullopt;
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    problems.Add(e.mark, "", absl::StrCat(options.syntax_prefix, e.msg));
  } catch (const std::exception& e) {
    problems.Add(Location{}, "", absl::StrCat("cannot read: ", e.what()));
  }
  return std::nullopt;
}

void AddDuplicateKeys(const YAML::Node& root, absl::string_view root_path, ProblemList& problems) {
  // Iterative, so that deep nesting cannot exhaust the stack.
  std::vector<std::pair<YAML::Node, std::string>> pending = {{root, std::string(root_path)}};
  while (!pending.empty()) {
    auto [node, path] = std::move(pending.back());
    pending.pop_back();
    if (node.IsSequence()) {
      size_t index = 0;
      for (auto it = node.begin(); it != node.end(); ++it, ++index) pending.emplace_back(*it, ItemPath(path, index));
    } else if (node.IsMap()) {
      std::map<std::string, int> first_line;  // Key -> line of its first occurrence.
      for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
        const std::string key_path = ChildPath(path, key);
        const Location at = LocationOf(it->first.Mark());
        if (auto [first, inserted] = first_line.emplace(key, at.line); !inserted) {
          problems.Add(at, key_path, absl::StrCat("duplicate key; first at line ", first->second));
          continue;
        }
        pending.emplace_back(it->second, key_path);
      }
    }
  }
}

}  // namespace portcullis
