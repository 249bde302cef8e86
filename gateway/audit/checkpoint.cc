#include "gateway/audit/checkpoint.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "gateway/audit/log_format.h"
#include "gateway/common/digest.h"
#include "util/hex.h"

namespace portcullis {
namespace {

// Value of "key": in one of our flat checkpoint lines (values never contain quotes).
bool FieldOf(absl::string_view line, absl::string_view key, bool quoted, std::string* out) {
  std::string needle = absl::StrCat("\"", key, "\":", quoted ? "\"" : "");
  size_t at = line.find(needle);
  if (at == absl::string_view::npos) return false;
  size_t start = at + needle.size();
  size_t end = quoted ? line.find('"', start) : line.find_first_of(",}", start);
  if (end == absl::string_view::npos) return false;
  *out = std::string(line.substr(start, end - start));
  return true;
}

std::string RawPublicKeyId(EVP_PKEY* key) {
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1) return "";
  return Sha256Hex(absl::string_view(reinterpret_cast<const char*>(raw), len)).substr(0, 16);
}

absl::StatusOr<EVP_PKEY*> ReadKey(const std::string& path, bool want_private) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat("cannot open key file ", path));
  EVP_PKEY* key = want_private ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr)
                               : PEM_read_PUBKEY(f, nullptr, nullptr, nullptr);
  if (key == nullptr && !want_private) {  // Accept a private key where a public one is wanted.
    std::rewind(f);
    key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  }
  std::fclose(f);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a PEM ", want_private ? "private" : "public", " key"));
  }
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    return absl::InvalidArgumentError(absl::StrCat(path, ": the key is not Ed25519"));
  }
  return key;
}

absl::Status VerifyWithKey(EVP_PKEY* key, const std::string& key_id, const Checkpoint& c) {
  if (c.key_id != key_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("checkpoint at size ", c.size, " is signed by key ", c.key_id, ", not by ", key_id));
  }
  const std::string sig = absl::HexStringToBytes(c.signature);
  const std::string text = CheckpointSignedText(c);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && sig.size() == 64 && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return absl::PermissionDeniedError(absl::StrCat("checkpoint at size ", c.size, ": signature does not verify"));
  return absl::OkStatus();
}

}  // namespace

std::string CheckpointSignedText(const Checkpoint& c) {
  return absl::StrCat("portcullis-audit-checkpoint v1\nsize ", c.size, "\nroot ", c.root, "\ntime ",
                      FormatRecordTime(c.time_micros), "\n");
}

std::string CheckpointToLine(const Checkpoint& c) {
  return absl::StrCat("{\"size\":", c.size, ",\"root\":\"", c.root, "\",\"time\":\"", FormatRecordTime(c.time_micros),
                      "\",\"key_id\":\"", c.key_id, "\",\"signature\":\"", c.signature, "\"}");
}

absl::StatusOr<Checkpoint> CheckpointFromLine(absl::string_view line) {
  Checkpoint c;
  std::string size, time;
  if (!FieldOf(line, "size", false, &size) || !absl::SimpleAtoi(size, &c.size)) {
    return absl::DataLossError("checkpoint: size is missing or not a number");
  }
  if (!FieldOf(line, "root", true, &c.root) || !IsLowerHexSha256(c.root)) {
    return absl::DataLossError("checkpoint: root is missing or not 64 hex digits");
  }
  if (!FieldOf(line, "time", true, &time)) return absl::DataLossError("checkpoint: time is missing");
  auto t = ParseRecordTime(time);
  if (!t.ok()) return absl::DataLossError(absl::StrCat("checkpoint: ", t.status().message()));
  c.time_micros = *t;
  if (!FieldOf(line, "key_id", true, &c.key_id)) return absl::DataLossError("checkpoint: key_id is missing");
  if (!FieldOf(line, "signature", true, &c.signature)) return absl::DataLossError("checkpoint: signature is missing");
  return c;
}

absl::StatusOr<std::vector<Checkpoint>> ReadCheckpointFile(const std::string& path) {
  std::vector<Checkpoint> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return out;  // No checkpoint written yet.
    return absl::UnavailableError(absl::StrCat("cannot read checkpoints file ", path, ": ", std::strerror(errno)));
  }
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = 0, line_no = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    ++line_no;
    if (nl == std::string::npos) break;  // Torn last line: never acknowledged, ignored.
    auto c = CheckpointFromLine(absl::string_view(content).substr(start, nl - start));
    if (!c.ok()) return absl::DataLossError(absl::StrCat(path, ":", line_no, ": ", c.status().message()));
    out.push_back(*std::move(c));
    start = nl + 1;
  }
  return out;
}

absl::StatusOr<std::unique_ptr<CheckpointSigner>> CheckpointSigner::Load(const std::string& path) {
  auto key = ReadKey(path, true);
  if (!key.ok()) return key.status();
  std::unique_ptr<CheckpointSigner> s(new CheckpointSigner());
  s->key_ = *key;
  s->key_id_ = RawPublicKeyId(s->key_);
  return s;
}

CheckpointSigner::~CheckpointSigner() { EVP_PKEY_free(key_); }

absl::StatusOr<Checkpoint> CheckpointSigner::Sign(uint64_t size, const std::string& root_hex,
                                                  int64_t time_micros) const {
  Checkpoint c;
  c.size = size;
  c.root = root_hex;
  c.time_micros = time_micros;
  c.key_id = key_id_;
  const std::string text = CheckpointSignedText(c);
  unsigned char sig[64];
  size_t sig_len = sizeof sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_) == 1 &&
      EVP_DigestSign(ctx, sig, &sig_len, reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return absl::InternalError(absl::StrCat("OpenSSL could not sign the checkpoint at size ", size));
  c.signature = HexEncode(sig, sig_len);
  return c;
}

absl::Status CheckpointSigner::Verify(const Checkpoint& c) const { return VerifyWithKey(key_, key_id_, c); }

std::string CheckpointSigner::PublicKeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string out;
  if (bio != nullptr && PEM_write_bio_PUBKEY(bio, key_) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

absl::StatusOr<std::unique_ptr<CheckpointVerifier>> CheckpointVerifier::Load(const std::string& path) {
  auto key = ReadKey(path, false);
  if (!key.ok()) return key.status();
  std::unique_ptr<CheckpointVerifier> v(new CheckpointVerifier());
  v->key_ = *key;
  v->key_id_ = RawPublicKeyId(v->key_);
  return v;
}

CheckpointVerifier::~CheckpointVerifier() { EVP_PKEY_free(key_); }

absl::Status CheckpointVerifier::Verify(const Checkpoint& c) const { return VerifyWithKey(key_, key_id_, c); }

}  // namespace portcullis
