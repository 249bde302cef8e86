#include "gateway/identity/jws.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>

#include <memory>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace portcullis::identity {
namespace {

bool IsBase64UrlText(absl::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;  // Padding '=' and standard '+', '/' are not base64url.
  }
  return true;
}

absl::StatusOr<std::string> DecodePart(absl::string_view part, const char* what) {
  std::string out;
  if (part.empty() || !IsBase64UrlText(part) || !absl::WebSafeBase64Unescape(part, &out)) {
    return absl::InvalidArgumentError(absl::StrCat("JWS ", what, " is not unpadded base64url"));
  }
  return out;
}

// A strict JSON object: RFC 8259 only (no comments), no duplicate keys at any depth.
absl::StatusOr<nlohmann::json> ParseObject(const std::string& text, const char* what) {
  bool duplicate = false;
  std::vector<std::vector<std::string>> keys;  // Keys seen per open object.
  nlohmann::json::parser_callback_t cb = [&](int /*depth*/, nlohmann::json::parse_event_t event,
                                             nlohmann::json& parsed) {
    switch (event) {
      case nlohmann::json::parse_event_t::object_start: keys.emplace_back(); break;
      case nlohmann::json::parse_event_t::object_end: if (!keys.empty()) keys.pop_back(); break;
      case nlohmann::json::parse_event_t::key: {
        const std::string k = parsed.get<std::string>();
        for (const std::string& seen : keys.back()) {
          if (seen == k) duplicate = true;
        }
        keys.back().push_back(k);
        break;
      }
      default: break;
    }
    return true;
  };
  nlohmann::json j = nlohmann::json::parse(text, cb, /*allow_exceptions=*/false, /*ignore_comments=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat("JWS ", what, " is not JSON"));
  if (duplicate) return absl::InvalidArgumentError(absl::StrCat("JWS ", what, " repeats a key"));
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat("JWS ", what, " is not a JSON object"));
  return j;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

constexpr size_t kEs256Half = 32;

// JWS r||s -> DER ECDSA-Sig-Value, which OpenSSL verifies.
bool RawToDer(absl::string_view raw, std::string* der) {
  if (raw.size() != 2 * kEs256Half) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (sig == nullptr) return false;
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), kEs256Half, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + kEs256Half, kEs256Half, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* out = nullptr;
  int len = i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  if (len <= 0) return false;
  der->assign(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return true;
}

// DER ECDSA-Sig-Value -> r||s, each left-padded to 32 bytes.
bool DerToRaw(absl::string_view der, std::string* raw) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return false;
  unsigned char buf[2 * kEs256Half];
  bool ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), buf, kEs256Half) == kEs256Half &&
            BN_bn2binpad(ECDSA_SIG_get0_s(sig), buf + kEs256Half, kEs256Half) == kEs256Half;
  ECDSA_SIG_free(sig);
  if (ok) raw->assign(reinterpret_cast<const char*>(buf), sizeof buf);
  return ok;
}

const EVP_MD* DigestFor(JwsAlgorithm alg) { return alg == JwsAlgorithm::kES256 ? EVP_sha256() : nullptr; }

}  // namespace

bool KeyFitsAlgorithm(JwsAlgorithm alg, EVP_PKEY* key) {
  switch (alg) {
    case JwsAlgorithm::kEdDSA: return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
    case JwsAlgorithm::kES256: {
      // The named curve P-256 only: another 256-bit curve (secp256k1,
      // brainpoolP256r1) or explicit parameters are not ES256 (RFC 7518 3.4).
      if (!EVP_PKEY_is_a(key, "EC")) return false;
      char group[80] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1 || len == 0) return false;
      return OBJ_txt2nid(group) == NID_X9_62_prime256v1;
    }
  }
  return false;
}

const char* JwsAlgorithmName(JwsAlgorithm alg) { return alg == JwsAlgorithm::kEdDSA ? "EdDSA" : "ES256"; }

absl::StatusOr<JwsAlgorithm> ParseJwsAlgorithm(absl::string_view name) {
  if (name == "EdDSA") return JwsAlgorithm::kEdDSA;
  if (name == "ES256") return JwsAlgorithm::kES256;
  return absl::InvalidArgumentError(absl::StrCat("algorithm '", name, "' is not one of EdDSA, ES256"));
}

absl::StatusOr<CompactJws> ParseCompactJws(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return absl::InvalidArgumentError("a compact JWS has three parts");
  absl::StatusOr<std::string> header = DecodePart(parts[0], "header");
  if (!header.ok()) return header.status();
  absl::StatusOr<std::string> payload = DecodePart(parts[1], "payload");
  if (!payload.ok()) return payload.status();
  absl::StatusOr<std::string> signature = DecodePart(parts[2], "signature");
  if (!signature.ok()) return signature.status();
  CompactJws jws;
  absl::StatusOr<nlohmann::json> h = ParseObject(*header, "header");
  if (!h.ok()) return h.status();
  absl::StatusOr<nlohmann::json> p = ParseObject(*payload, "payload");
  if (!p.ok()) return p.status();
  jws.header = std::move(*h);
  jws.payload = std::move(*p);
  jws.signing_input = absl::StrCat(parts[0], ".", parts[1]);
  jws.signature = std::move(*signature);
  return jws;
}

bool VerifyJwsSignature(JwsAlgorithm alg, EVP_PKEY* key, absl::string_view signing_input,
                        absl::string_view signature) {
  if (key == nullptr || !KeyFitsAlgorithm(alg, key)) return false;
  std::string sig(signature);
  if (alg == JwsAlgorithm::kES256 && !RawToDer(signature, &sig)) return false;
  if (alg == JwsAlgorithm::kEdDSA && sig.size() != 64) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  return ctx != nullptr && EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(alg), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
}

absl::StatusOr<std::string> SignJws(JwsAlgorithm alg, EVP_PKEY* key, absl::string_view signing_input) {
  if (key == nullptr || !KeyFitsAlgorithm(alg, key)) {
    return absl::InvalidArgumentError(absl::StrCat("the key does not fit ", JwsAlgorithmName(alg)));
  }
  MdCtx ctx(EVP_MD_CTX_new());
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(alg), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, signing_input.size()) != 1) {
    return absl::InternalError("cannot start signing");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, signing_input.size()) != 1) {
    return absl::InternalError("signing failed");
  }
  sig.resize(len);
  if (alg == JwsAlgorithm::kEdDSA) return sig;
  std::string raw;
  if (!DerToRaw(sig, &raw)) return absl::InternalError("cannot convert the ECDSA signature");
  return raw;
}

std::string Base64UrlEncode(absl::string_view bytes) {
  std::string out;
  absl::WebSafeBase64Escape(bytes, &out);  // Abseil's web-safe form has no padding.
  return out;
}

}  // namespace portcullis::identity
