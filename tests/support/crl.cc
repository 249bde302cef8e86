#include "tests/support/crl.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/support/harness.h"

namespace portcullis::testing {
namespace fs = std::filesystem;
namespace {

X509* ReadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return x;
}

EVP_PKEY* ReadKey(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  EVP_PKEY* k = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return k;
}

}  // namespace

void WriteIssuingCaCrl(const std::string& path, const std::vector<std::string>& stems, long valid_seconds) {
  const std::string pki = PkiDir();
  std::unique_ptr<X509, decltype(&X509_free)> ca(ReadCert(pki + "/ca/intermediate.pem"), X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(ReadKey(pki + "/ca/intermediate.key"), EVP_PKEY_free);
  ASSERT_TRUE(ca && key) << "cannot read the PKI's issuing CA";
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(X509_CRL_new(), X509_CRL_free);
  ASSERT_EQ(X509_CRL_set_version(crl.get(), 1), 1);  // v2
  ASSERT_EQ(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())), 1);
  const time_t now = std::time(nullptr);
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> last(ASN1_TIME_set(nullptr, now - 60), ASN1_TIME_free);
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> next(ASN1_TIME_set(nullptr, now + valid_seconds), ASN1_TIME_free);
  ASSERT_EQ(X509_CRL_set1_lastUpdate(crl.get(), last.get()), 1);
  ASSERT_EQ(X509_CRL_set1_nextUpdate(crl.get(), next.get()), 1);
  std::vector<std::string> revoked = stems;
  revoked.push_back("fixtures/revoked");
  for (const std::string& stem : revoked) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(ReadCert(pki + "/" + stem + ".pem"), X509_free);
    ASSERT_TRUE(cert) << stem;
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(cert.get()));
    X509_REVOKED_set_revocationDate(r, last.get());
    ASN1_ENUMERATED* reason = ASN1_ENUMERATED_new();
    ASN1_ENUMERATED_set(reason, CRL_REASON_KEY_COMPROMISE);
    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, reason, 0, 0);
    ASN1_ENUMERATED_free(reason);
    X509_CRL_add0_revoked(crl.get(), r);
  }
  // CRL number above the PKI's (which start at 1000), and the issuer's key id.
  ASN1_INTEGER* number = ASN1_INTEGER_new();
  ASN1_INTEGER_set_int64(number, static_cast<int64_t>(now));
  X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number, 0, 0);
  ASN1_INTEGER_free(number);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, ca.get(), nullptr, nullptr, crl.get(), 0);
  X509_EXTENSION* aki = X509V3_EXT_conf_nid(nullptr, &v3, NID_authority_key_identifier, "keyid:always");
  ASSERT_NE(aki, nullptr);
  X509_CRL_add_ext(crl.get(), aki, -1);
  X509_EXTENSION_free(aki);
  X509_CRL_sort(crl.get());
  ASSERT_GT(X509_CRL_sign(crl.get(), key.get(), EVP_sha256()), 0);
  const std::string tmp = path + ".tmp";
  FILE* out = std::fopen(tmp.c_str(), "w");
  ASSERT_NE(out, nullptr) << tmp;
  ASSERT_EQ(PEM_write_X509_CRL(out, crl.get()), 1);
  std::fclose(out);
  fs::rename(tmp, path);
}

void CopyPkiCrls(const std::string& dir) {
  fs::create_directories(dir);
  for (const char* f : {"root.crl.pem", "intermediate.crl.pem", "intermediate-revoked.crl.pem"}) {
    fs::copy_file(PkiDir() + "/crl/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
  }
}

}  // namespace portcullis::testing
