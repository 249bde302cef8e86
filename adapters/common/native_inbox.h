// A party's inbox as its people and case system see it (docs/adapters.md):
//
//   <inbox>/deliveries/<delivery_id>.json  the Delivery as received (Inbox: durable,
//                                          deduplicated by delivery id, locked by one writer)
//   <inbox>/native/<delivery_id>.json      the envelope in the party's native format
//   <inbox>/native/<delivery_id>.error.txt why it could not be rendered natively
//                                          (the delivery itself is kept all the same,
//                                          and refused to the gateway as UNRENDERABLE)
//   <inbox>/decisions/<delivery_id>.json   the officer's acknowledgement or rejection
//                                          (written by `liaison ack` / `reject`)
//   <inbox>/consultations.log              one JSON line per officer's reading of the inbox
//                                          (who, why, when, which message ids; never contents):
//                                          the consultation log DPA 2018 s.62 asks for, on
//                                          the party's side of the exchange
//
// The adapter daemon is the only writer of deliveries/ and native/ (it holds
// the Inbox lock). Readers (liaison) read the files without the lock: every
// file appears by an atomic rename, complete.
#ifndef PORTCULLIS_ADAPTERS_COMMON_NATIVE_INBOX_H_
#define PORTCULLIS_ADAPTERS_COMMON_NATIVE_INBOX_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapters/common/inbox.h"
#include "adapters/common/native_format.h"
#include "portcullis/v1/exchange.pb.h"

namespace portcullis::adapters {

std::string DeliveriesDir(const std::string& inbox);
std::string NativeDir(const std::string& inbox);
std::string DecisionsDir(const std::string& inbox);

// Writes `content` to dir/name durably: a temporary file in `dir`, fsync,
// rename over dir/name, fsync of the directory. Creates `dir` (0700) if needed.
absl::Status WriteFileDurably(const std::string& dir, const std::string& name, const std::string& content);

// A delivery the party's format can never express (Render): the error the
// inbox returns for it, and the test for it. Kept in deliveries/ with its
// .error.txt all the same; the push endpoint refuses it UNRENDERABLE, the
// pull receiver rejects it with that reason, so the gateway records it as a
// dead letter instead of retrying it (docs/delivery.md).
absl::Status UnrenderableError(const std::string& message);
bool IsUnrenderable(const absl::Status& status);

class NativeInbox {
 public:
  // Opens (creating) the inbox and takes the lock of deliveries/.
  static absl::StatusOr<std::unique_ptr<NativeInbox>> Open(const std::string& inbox, const NativeFormat& format);

  // Stores the delivery (durable, dedup) and renders it natively. true: new.
  // A duplicate is rendered if it has no native file yet, so OK always means
  // both files are durable. UnrenderableError if the format cannot express it
  // (stored, with its reason in native/); any other error is transient.
  absl::StatusOr<bool> Store(const v1::Delivery& delivery);
  // For a push endpoint that stored `delivery` in deliveries() itself
  // (PartnerEndpointOptions::complete): renders it if it is new or has no
  // native file yet. OK means both are durable; errors as for Store.
  absl::Status Complete(const v1::Delivery& delivery, bool is_new);
  // Whether native/ holds the delivery's file or its reason.
  bool Rendered(const std::string& delivery_id) const;
  // Renders one stored delivery into native/ (or its .error.txt). Durable.
  // UnrenderableError once the .error.txt is written.
  absl::Status Render(const v1::Delivery& delivery);
  // Renders every stored delivery that has neither a native file nor an
  // error file (after a crash between storing and rendering). Returns how
  // many; a delivery that cannot be read or rendered is named in `problems`
  // and skipped (it must not stop the party from receiving).
  absl::StatusOr<int> Repair(std::vector<std::string>* problems = nullptr);

  // The Inbox of deliveries/ (e.g. for a PartnerEndpoint's hook).
  std::shared_ptr<Inbox> deliveries() const { return deliveries_; }
  const std::string& dir() const { return dir_; }

 private:
  NativeInbox(std::string dir, const NativeFormat& format, std::shared_ptr<Inbox> deliveries)
      : dir_(std::move(dir)), format_(format), deliveries_(std::move(deliveries)) {}
  const std::string dir_;
  const NativeFormat& format_;
  const std::shared_ptr<Inbox> deliveries_;
};

// One reading of the inbox by an officer.
struct Consultation {
  std::string party;
  std::string officer;
  std::string justification;
  std::string action;  // "inbox_list", "inbox_show", "inbox_follow".
  std::vector<std::string> message_ids;  // What was shown ("sender/message_id").
};

// Appends `c` with the current time to <inbox>/consultations.log and syncs
// it, before anything is shown. An error means nothing may be shown.
absl::Status RecordConsultation(const std::string& inbox, const Consultation& c);

// Read side (no lock): every delivery in the inbox, oldest acceptance first.
// Unreadable files are skipped and named in `*problems` (if given).
std::vector<v1::Delivery> ListInbox(const std::string& inbox, std::vector<std::string>* problems = nullptr);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_NATIVE_INBOX_H_
