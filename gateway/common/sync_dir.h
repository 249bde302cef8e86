// Making a new file's directory entry durable: fsync of the folder that holds
// `path`, so that a crash cannot lose a file whose contents were fsynced.
#ifndef PORTCULLIS_GATEWAY_COMMON_SYNC_DIR_H_
#define PORTCULLIS_GATEWAY_COMMON_SYNC_DIR_H_

#include <string>

#include "absl/status/status.h"

namespace portcullis {

// UNAVAILABLE naming the folder and the system error on failure.
absl::Status SyncParentDir(const std::string& path);

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_COMMON_SYNC_DIR_H_
