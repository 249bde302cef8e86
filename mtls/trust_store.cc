#include "mtls/trust_store.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <set>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace portcullis::mtls {
namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct StackFree { void operator()(STACK_OF(X509)* s) const { sk_X509_pop_free(s, X509_free); } };
struct CtxFree { void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  *ok = f != nullptr;
  if (!f) return out;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

// Appends every PEM certificate in `pem` to `out`; returns how many.
int ParseCerts(absl::string_view pem, STACK_OF(X509)* out) {
  if (pem.empty()) return 0;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  int n = 0;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(out, x);
    ++n;
  }
  ERR_clear_error();  // End of input leaves a "no start line" error.
  return n;
}

std::string SubjectOf(X509* x) {
  if (x == nullptr) return "(unknown)";
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::vector<std::string> UriSans(X509* x) {
  std::vector<std::string> uris;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                      static_cast<size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  return uris;
}

const char* CodeFor(int err) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "CERT_EXPIRED";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "CERT_NOT_YET_VALID";
    case X509_V_ERR_CERT_REVOKED: return "CERT_REVOKED";
    case X509_V_ERR_UNABLE_TO_GET_CRL: return "CRL_MISSING";
    case X509_V_ERR_CRL_HAS_EXPIRED: return "CRL_EXPIRED";
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER: return "CRL_INVALID";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE: return "CERT_UNTRUSTED";
    case X509_V_ERR_INVALID_PURPOSE: return "CERT_PURPOSE";
    default: return "CERT_INVALID";
  }
}

}  // namespace

TrustStore::~TrustStore() { X509_STORE_free(store_); }

absl::StatusOr<std::shared_ptr<const TrustStore>> TrustStore::Load(const std::string& ca_bundle_path,
                                                                   const std::string& crl_dir) {
  std::shared_ptr<TrustStore> ts(new TrustStore());
  ts->store_ = X509_STORE_new();
  bool ok = false;
  std::string bundle = ReadFile(ca_bundle_path, &ok);
  if (!ok) return absl::NotFoundError(absl::StrCat("cannot read CA bundle ", ca_bundle_path));
  std::unique_ptr<STACK_OF(X509), StackFree> anchors(sk_X509_new_null());
  if (ParseCerts(bundle, anchors.get()) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("CA bundle ", ca_bundle_path, " holds no PEM certificate"));
  }
  for (int i = 0; i < sk_X509_num(anchors.get()); ++i) {
    if (X509_STORE_add_cert(ts->store_, sk_X509_value(anchors.get(), i)) != 1) ERR_clear_error();  // Duplicates are harmless.
  }
  DIR* dir = opendir(crl_dir.c_str());
  if (dir == nullptr) return absl::NotFoundError(absl::StrCat("cannot open CRL directory ", crl_dir));
  std::set<std::string> seen;
  while (dirent* ent = readdir(dir)) {
    std::string name = ent->d_name;
    if (name == "." || name == "..") continue;
    std::string path = crl_dir + "/" + name;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::string data = ReadFile(path, &ok);
    if (!ok) { closedir(dir); return absl::PermissionDeniedError(absl::StrCat("cannot read CRL file ", path)); }
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    int in_file = 0;
    // Hash symlinks (openssl rehash) name the same CRL twice: add each once.
    auto add = [&](X509_CRL* crl) {
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      X509_CRL_digest(crl, EVP_sha256(), md, &len);
      if (seen.insert(std::string(reinterpret_cast<char*>(md), len)).second) {
        X509_STORE_add_crl(ts->store_, crl);
        ++ts->crl_count_;
      }
      X509_CRL_free(crl);
      ++in_file;
    };
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) add(crl);
    ERR_clear_error();
    if (in_file == 0) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
      if (X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size()))) add(crl);
      ERR_clear_error();
    }
    if (in_file == 0) {
      closedir(dir);
      return absl::InvalidArgumentError(absl::StrCat("CRL directory file ", path, " is not a CRL (PEM or DER): ", OpenSslError()));
    }
  }
  closedir(dir);
  X509_STORE_set_flags(ts->store_, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_X509_STRICT);
  return std::shared_ptr<const TrustStore>(std::move(ts));
}

bool TrustStore::Verify(absl::string_view leaf_pem, absl::string_view chain_pem, PeerRole role,
                        VerifiedPeer* peer, VerifyFailure* failure) const {
  std::unique_ptr<STACK_OF(X509), StackFree> certs(sk_X509_new_null());
  if (ParseCerts(leaf_pem, certs.get()) == 0) {
    *failure = {leaf_pem.empty() ? "CERT_MISSING" : "CERT_UNPARSABLE",
                leaf_pem.empty() ? "peer presented no certificate" : "peer certificate is not valid PEM"};
    return false;
  }
  ParseCerts(chain_pem, certs.get());
  X509* leaf = sk_X509_value(certs.get(), 0);
  // Named also when refused, so that refusals can be audited by subject.
  peer->subject = SubjectOf(leaf);
  peer->uri_sans = UriSans(leaf);
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  for (int i = 1; i < sk_X509_num(certs.get()); ++i) {
    X509* c = sk_X509_value(certs.get(), i);
    if (X509_cmp(c, leaf) == 0) continue;
    X509_up_ref(c);
    sk_X509_push(untrusted.get(), c);
  }
  std::unique_ptr<X509_STORE_CTX, CtxFree> ctx(X509_STORE_CTX_new());
  if (X509_STORE_CTX_init(ctx.get(), store_, leaf, untrusted.get()) != 1) {
    *failure = {"CERT_INVALID", "cannot initialise verification: " + OpenSslError()};
    return false;
  }
  X509_STORE_CTX_set_purpose(ctx.get(), role == PeerRole::kClient ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
    *failure = {CodeFor(err), absl::StrCat(X509_verify_cert_error_string(err), " (depth ", depth, ": ",
                                           SubjectOf(bad ? bad : leaf), ")")};
    ERR_clear_error();
    return false;
  }
  return true;
}

}  // namespace portcullis::mtls
