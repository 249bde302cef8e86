#include "util/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "util/hex.h"

namespace portcullis {

namespace {

const EVP_MD* FetchedSha256() {
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

// One reusable digest context per thread, freed when the thread ends.
struct ThreadContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadContext() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

void Sha256Into(absl::string_view a, absl::string_view b, unsigned char out[32]) {
  thread_local ThreadContext t;
  if (t.ctx == nullptr || EVP_DigestInit_ex(t.ctx, FetchedSha256(), nullptr) != 1 ||
      EVP_DigestUpdate(t.ctx, a.data(), a.size()) != 1 || EVP_DigestUpdate(t.ctx, b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(t.ctx, out, nullptr) != 1) {
    std::abort();  // Out of memory or a broken OpenSSL: no hash can be trusted.
  }
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  Sha256Into(data, absl::string_view(), md);
  return HexEncode(md, sizeof md);
}

}  // namespace portcullis
