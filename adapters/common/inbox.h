// The partner's inbox: one file per delivery, <dir>/<delivery_id>.json, the
// portcullis.v1.Delivery in JSON (proto field names), mode 0600. A delivery is stored
// durably before Store returns: it is written to a temporary file, fsynced,
// renamed into place, and the directory is fsynced. Returning OK from
// PartnerEndpoint.Deliver relies on this.
//
// Deduplication: the gateway pushes at least once, so the same delivery id may
// arrive again; Store then returns false and leaves the stored file as it was.
//
// Ownership: one Inbox per directory. Open takes an exclusive lock on
// <dir>/.lock (flock) held until the Inbox is destroyed, so a second Inbox on
// the same directory, in this or another process, fails to open.
//
// Thread-safe: Store, Contains and Load may be called concurrently.
#ifndef PORTCULLIS_ADAPTERS_COMMON_INBOX_H_
#define PORTCULLIS_ADAPTERS_COMMON_INBOX_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::adapters {

class Inbox {
 public:
  // Creates `dir` (and parents) if needed, mode 0700, takes the lock and removes
  // temporary files an interrupted Store left behind. Fails with the path and
  // the system error (FAILED_PRECONDITION if another Inbox holds the lock).
  static absl::StatusOr<std::unique_ptr<Inbox>> Open(const std::string& dir);
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Stores `delivery` under its id. true: newly stored and durable. false:
  // that id was already stored (nothing is written). INVALID_ARGUMENT if the
  // id is not acceptable (CheckDeliveryId); otherwise an error from the
  // filesystem (e.g. RESOURCE_EXHAUSTED for ENOSPC), after which nothing of
  // this delivery is left in the inbox.
  absl::StatusOr<bool> Store(const v1::Delivery& delivery);

  // Whether `delivery_id` is stored (false for unacceptable ids).
  bool Contains(const std::string& delivery_id) const;

  // The stored delivery; NOT_FOUND if absent.
  absl::StatusOr<v1::Delivery> Load(const std::string& delivery_id) const;

  // <dir>/<delivery_id>.json (the id is not checked).
  std::string PathFor(const std::string& delivery_id) const;
  const std::string& dir() const { return dir_; }

  // Delivery ids are 1 to 128 characters from [A-Za-z0-9_-]; anything else
  // (".", "/", "..", NUL, ...) could name a path outside the inbox and is
  // refused with INVALID_ARGUMENT.
  static absl::Status CheckDeliveryId(const std::string& delivery_id);

 private:
  Inbox(std::string dir, int dir_fd, int lock_fd) : dir_(std::move(dir)), dir_fd_(dir_fd), lock_fd_(lock_fd) {}

  const std::string dir_;
  const int dir_fd_;   // For fsync of the directory.
  const int lock_fd_;  // Holds the flock.
  std::mutex mu_;      // Serializes the exists-check and rename of Store.
};

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_INBOX_H_
