// The one early-return macro for absl::Status, shared by the gateway, the
// adapters and the tools.
#ifndef PORTCULLIS_UTIL_STATUS_MACROS_H_
#define PORTCULLIS_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"

// Returns the status of `expr` from the enclosing function when it is not OK.
#define PORTCULLIS_RETURN_IF_ERROR(expr)                                  \
  do {                                                                    \
    if (::absl::Status portcullis_status_ = (expr); !portcullis_status_.ok()) { \
      return portcullis_status_;                                          \
    }                                                                     \
  } while (false)

#endif  // PORTCULLIS_UTIL_STATUS_MACROS_H_
