// The one wall clock of the gateway: microseconds since the Unix epoch (UTC).
#ifndef PORTCULLIS_UTIL_CLOCK_H_
#define PORTCULLIS_UTIL_CLOCK_H_

#include <cstdint>

namespace portcullis {

int64_t NowMicros();

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_CLOCK_H_
