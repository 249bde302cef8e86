// Loading and validating the gateway configuration from YAML.
//
// The loader turns a YAML document (schema: docs/config.md) into an immutable
// Config, or explains every problem it found. It never throws: yaml-cpp's
// exceptions are caught inside and become errors with a location.
//
// Failure behaviour:
//   * Invalid configuration -> absl::InvalidArgumentError whose message holds
//     one line per problem, sorted by position, all problems at once:
//       "<source>:<line>:<column>: <field.path>: <what is wrong>"
//     line and column are 1-based; the path looks like
//     "parties[2].delivery.address" ("(root)" for the document itself, which
//     is also where YAML syntax errors are reported).
//     Only one YAML document is accepted, of at most 4 MiB.
//   * LoadConfigFile only: the file cannot be opened or read ->
//     absl::NotFoundError("<path>: cannot read config file: <reason>").
//
// Side effects and environment: scalar values are expanded with ${VAR} and
// ${VAR:-default} from the process environment (read with getenv, so do not
// call setenv concurrently); the TLS files, CRL directory and audit log's
// parent directory are checked on the filesystem. Relative paths are resolved
// against base_dir and stored in the Config as absolute, normalised paths.
//
// Ownership: the returned Config is immutable and shared; hold the
// shared_ptr for as long as the config (or pointers into it) are used.
// Thread-safety: both functions may be called from any thread (subject to
// the getenv caveat above); they share no state.
#ifndef PORTCULLIS_GATEWAY_CONFIG_CONFIG_LOADER_H_
#define PORTCULLIS_GATEWAY_CONFIG_CONFIG_LOADER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gateway/config/config.h"

namespace portcullis {

// Reads and validates the YAML file at `path`. Relative paths inside it are
// resolved against the file's own directory; Config::source_file = path.
absl::StatusOr<std::shared_ptr<const Config>> LoadConfigFile(const std::string& path);

// Same, from text. `source_name` is used in error messages and stored as
// Config::source_file; `base_dir` resolves relative paths (empty = the
// current working directory).
absl::StatusOr<std::shared_ptr<const Config>> LoadConfigString(std::string_view yaml,
                                                               std::string_view source_name,
                                                               std::string_view base_dir);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_CONFIG_CONFIG_LOADER_H_
