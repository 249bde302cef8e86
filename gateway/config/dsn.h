// PostgreSQL connection strings (store.dsn, docs/config.md): the form any
// message or log line may show, and the config loader's check.
#ifndef PORTCULLIS_GATEWAY_CONFIG_DSN_H_
#define PORTCULLIS_GATEWAY_CONFIG_DSN_H_

#include <string>

#include "absl/strings/string_view.h"

namespace portcullis {

// `dsn` with every secret replaced by "***": the values of `password` and
// `sslpassword` in keyword=value form (quoted or not), and in a
// postgresql:// URI the password of its user part and those query
// parameters. Text after a point where the string stops parsing is replaced
// by "..." (it could be part of a secret). Use it for every DSN written to a
// log or an error.
std::string RedactDsn(absl::string_view dsn);

// "" if libpq accepts `dsn` as a connection string, else what is wrong, with
// nothing of the DSN's secrets in it (quoted fragments of libpq's message are
// replaced by "..." when the DSN holds a password).
std::string CheckDsn(const std::string& dsn);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_CONFIG_DSN_H_
