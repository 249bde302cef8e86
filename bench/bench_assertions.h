// Officer assertions for the delivery benchmark's clients (--officer-assertions):
// minted as an agency's identity provider would, one per call with a fresh
// jti (the gateway's costlier path: verify, then remember the jti), with the
// dev PKI's identity-provider key of the sending party.
#ifndef PORTCULLIS_BENCH_BENCH_ASSERTIONS_H_
#define PORTCULLIS_BENCH_BENCH_ASSERTIONS_H_

#include <openssl/evp.h>

#include <atomic>
#include <memory>
#include <string>

namespace portcullis::bench {

class BenchAssertions {
 public:
  // nullptr (after printing why) if the PEM private key cannot be read.
  static std::unique_ptr<BenchAssertions> Load(const std::string& key_pem, std::string issuer, std::string audience);
  ~BenchAssertions();

  // A compact JWS vouching for `officer`, valid 5 minutes. Thread-safe.
  std::string Mint(const std::string& officer);

 private:
  BenchAssertions() = default;
  EVP_PKEY* key_ = nullptr;
  std::string issuer_;
  std::string audience_;
  std::atomic<uint64_t> next_jti_{0};
};

}  // namespace portcullis::bench

#endif  // PORTCULLIS_BENCH_BENCH_ASSERTIONS_H_
