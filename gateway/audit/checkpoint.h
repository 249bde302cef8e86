// Signed checkpoints of the audit log (docs/audit-format.md): tree size,
// Merkle root and time, signed with the gateway's Ed25519 key (OpenSSL).
// Signer and Verifier are immutable after creation and thread-safe.
#ifndef PORTCULLIS_GATEWAY_AUDIT_CHECKPOINT_H_
#define PORTCULLIS_GATEWAY_AUDIT_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace portcullis {

struct Checkpoint {
  uint64_t size = 0;
  std::string root;       // Hex Merkle root of the first `size` records.
  int64_t time_micros = 0;
  std::string key_id;     // First 16 hex digits of SHA-256 of the raw public key.
  std::string signature;  // Hex Ed25519 signature of SignedText().
};

// The exact bytes a checkpoint's signature covers.
std::string CheckpointSignedText(const Checkpoint& checkpoint);

// One JSON line (no newline) and back; parse errors say which field.
std::string CheckpointToLine(const Checkpoint& checkpoint);
absl::StatusOr<Checkpoint> CheckpointFromLine(absl::string_view line);

// Every checkpoint in a checkpoints file, in order. A missing file is an
// empty list; a torn last line is ignored; any other bad line is an error
// naming its line number.
absl::StatusOr<std::vector<Checkpoint>> ReadCheckpointFile(const std::string& path);

class CheckpointSigner {
 public:
  // Loads an Ed25519 private key (PEM). Errors name the file and the problem.
  static absl::StatusOr<std::unique_ptr<CheckpointSigner>> Load(const std::string& private_key_pem_path);
  ~CheckpointSigner();
  // INTERNAL if OpenSSL fails: an unsigned checkpoint is never produced.
  absl::StatusOr<Checkpoint> Sign(uint64_t size, const std::string& root_hex, int64_t time_micros) const;
  // As CheckpointVerifier::Verify, with this key's public half.
  absl::Status Verify(const Checkpoint& checkpoint) const;
  const std::string& key_id() const { return key_id_; }
  // The public key as PEM (for `portcullis-audit verify --public-key`).
  std::string PublicKeyPem() const;

 private:
  CheckpointSigner() = default;
  EVP_PKEY* key_ = nullptr;
  std::string key_id_;
};

class CheckpointVerifier {
 public:
  // Loads an Ed25519 public key (PEM); a private key file is accepted too.
  static absl::StatusOr<std::unique_ptr<CheckpointVerifier>> Load(const std::string& key_pem_path);
  ~CheckpointVerifier();
  // OK, or PERMISSION_DENIED saying what does not match (key id, signature).
  absl::Status Verify(const Checkpoint& checkpoint) const;
  const std::string& key_id() const { return key_id_; }

 private:
  CheckpointVerifier() = default;
  EVP_PKEY* key_ = nullptr;
  std::string key_id_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_CHECKPOINT_H_
