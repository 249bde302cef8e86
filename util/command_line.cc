#include "util/command_line.h"

#include <iostream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "util/display_text.h"

namespace portcullis::cli {
namespace {

// CLI11's words for a parse error, in the project's.
std::string Problem(const CLI::ParseError& e) {
  const std::string what = e.what();
  if (e.get_name() == "ArgumentMismatch") {
    const std::string name = what.substr(0, what.find(':'));
    if (absl::StrContains(what, " missing")) return absl::StrCat(name, " needs a value");
    if (absl::StrContains(what, "At Most")) return absl::StrCat(name, " is given twice");
  }
  if (e.get_name() == "ValidationError" && absl::EndsWith(what, ": needs a value")) {
    return absl::StrCat(what.substr(0, what.size() - 15), " needs a value");
  }
  return what;
}

// A flag's value never starts with "--": `--log --json` is --log without a
// value (CLI11 would take "--json" as the file name). Added to every option
// that takes a value, in `app` and its commands.
void RefuseFlagsAsValues(CLI::App* app) {
  static const CLI::Validator kNotAFlag(
      [](std::string& value) { return value.rfind("--", 0) == 0 ? std::string("needs a value") : std::string(); },
      "", "not a flag");
  for (CLI::Option* o : app->get_options()) {
    if (!o->get_positional() && o->get_type_size_max() > 0) o->check(kNotAFlag);
  }
  for (CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) RefuseFlagsAsValues(sub);
}

// Whether a sibling command of `app` takes `flag`: then `app` "does not take" it.
bool SiblingTakes(const CLI::App& app, const std::string& flag) {
  const CLI::App* parent = app.get_parent();
  if (parent == nullptr) return false;
  for (const CLI::App* sibling : parent->get_subcommands([](const CLI::App*) { return true; })) {
    if (sibling == &app) continue;
    for (const CLI::Option* o : sibling->get_options()) {
      if (o->check_name(flag)) return true;
    }
  }
  return false;
}

// The first word nobody took, in words: nullopt if there is none.
std::optional<std::string> Stranger(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    if (auto p = Stranger(*sub)) return p;
  }
  std::vector<std::string> extra = app.remaining(false);
  if (extra.empty()) return std::nullopt;
  std::string word = extra.front();
  if (word.size() > 1 && word[0] == '-') {
    word = word.substr(0, word.find('='));
    if (SiblingTakes(app, word)) return absl::StrCat(app.get_name(), " does not take ", word);
    return absl::StrCat("unknown option '", word, "'");
  }
  if (app.get_subcommands().empty() && !app.get_subcommands([](const CLI::App*) { return true; }).empty()) {
    return absl::StrCat("unknown command '", word, "'");
  }
  return absl::StrCat("unexpected argument '", word, "'");
}

}  // namespace

std::optional<int> ParseCommandLine(CLI::App& app, int argc, const char* const* argv, int usage_code) {
  RefuseFlagsAsValues(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();  // The selected subcommand's help, if one was named.
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    return UsageError(app.get_name(), Problem(e), usage_code);
  }
  if (std::optional<std::string> problem = Stranger(app)) return UsageError(app.get_name(), *problem, usage_code);
  return std::nullopt;
}

std::optional<int> ParseCommand(CLI::App& app, int argc, const char* const* argv, int usage_code,
                                std::string* command) {
  if (argc > 1 && std::string(argv[1]) == "help") {
    std::cout << app.help();
    return 0;
  }
  if (std::optional<int> code = ParseCommandLine(app, argc, argv, usage_code)) return code;
  if (app.get_subcommands().empty()) return UsageError(app.get_name(), "no command given", usage_code);
  *command = app.get_subcommands().front()->get_name();
  return std::nullopt;
}

int UsageError(const std::string& tool, const std::string& problem, int code) {
  std::cerr << tool << ": " << DisplayText(problem) << "\n(run `" << tool << " --help` for usage)\n";
  return code;
}

std::unique_ptr<CLI::App> NewApp(const std::string& tool, const std::string& description) {
  auto app = std::make_unique<CLI::App>(description, tool);
  app->allow_extras();
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->get_formatter()->column_width(32);
  return app;
}

CLI::App* AddCommand(CLI::App* app, const std::string& name, const std::string& description) {
  CLI::App* sub = app->add_subcommand(name, description);
  sub->allow_extras();
  sub->footer("");  // The tool's footer (its commands, exit codes) is for the tool's own --help.
  return sub;
}

}  // namespace portcullis::cli
