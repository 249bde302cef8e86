// The command line every Portcullis binary shares (CLI11, Debian libcli11-dev):
// parsing with the project's usage conventions (docs/tools.md, "Command
// lines"). `--help` on the binary and on each command prints that command's
// help and exits 0; a usage error prints "TOOL: PROBLEM" and
// "(run `TOOL --help` for usage)" on stderr and exits with the tool's usage
// code (2 for every tool today). An unknown flag is named ("unknown option
// '--bogus'"), as is an unknown command; a flag's value never starts with
// "--". The gateway/TLS flags the clients share are in
// tools/common/cli_common.h. Not thread-safe (used from main).
#ifndef PORTCULLIS_UTIL_COMMAND_LINE_H_
#define PORTCULLIS_UTIL_COMMAND_LINE_H_

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace portcullis::cli {

// An app named `tool` with the project's settings (extras allowed and
// reported by ParseCommandLine; a repeated single-value flag keeps the last).
std::unique_ptr<CLI::App> NewApp(const std::string& tool, const std::string& description);

// A command (subcommand) of `app` with the same settings and its own --help.
CLI::App* AddCommand(CLI::App* app, const std::string& name, const std::string& description);

// Parses argv into `app` (made by NewApp/AddCommand). Returns nullopt to go
// on; otherwise the exit code, after printing the help (0) or the usage
// error (`usage_code`).
std::optional<int> ParseCommandLine(CLI::App& app, int argc, const char* const* argv, int usage_code);

// ParseCommandLine for a tool of commands: `TOOL help` prints the help (0),
// and no command is a usage error ("no command given"). Otherwise sets
// *command to the command given.
std::optional<int> ParseCommand(CLI::App& app, int argc, const char* const* argv, int usage_code,
                                std::string* command);

// Prints "TOOL: PROBLEM\n(run `TOOL --help` for usage)" (PROBLEM shown
// escaped, util/display_text.h) on stderr; returns `code`.
int UsageError(const std::string& tool, const std::string& problem, int code);

}  // namespace portcullis::cli

#endif  // PORTCULLIS_UTIL_COMMAND_LINE_H_
