// Environment expansion for configuration values, shared by the gateway's
// config loader and the adapters' party config: ${VAR}, ${VAR:-default}
// (default when VAR is unset or empty; may itself contain ${...}) and $$ for
// a literal '$'. An unset variable without a default is an error that names
// it. Reads the process environment; thread-safe as long as nobody calls
// setenv concurrently.
#ifndef PORTCULLIS_UTIL_EXPAND_ENV_H_
#define PORTCULLIS_UTIL_EXPAND_ENV_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portcullis {

absl::StatusOr<std::string> ExpandEnv(absl::string_view in);

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_EXPAND_ENV_H_
