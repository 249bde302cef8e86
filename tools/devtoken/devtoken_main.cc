// portcullis-devtoken: a DEVELOPMENT stand-in for an agency's identity
// provider. Mints a short-lived officer assertion (compact JWS, EdDSA or
// ES256 by the key's type) for the demo and the tests. A real agency mints
// assertions in its own identity provider; the gateway only ever holds the
// public keys (docs/officer-identity.md).
//
// Exit codes: 0 the token is on stdout; 1 the key cannot be read or used;
// 2 usage.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gateway/identity/jws.h"
#include "nlohmann/json.hpp"
#include "util/command_line.h"

namespace {

using portcullis::identity::JwsAlgorithm;

struct Options {
  std::string key_file;
  std::string kid;
  std::string issuer;
  std::string audience;
  std::string officer;
  std::vector<std::string> roles;
  int64_t ttl_seconds = 300;
  bool jti = true;
  int64_t now = 0;  // 0 = the system clock.
};

int Mint(const Options& o) {
  FILE* f = std::fopen(o.key_file.c_str(), "r");
  if (f == nullptr) {
    std::cerr << "portcullis-devtoken: cannot open " << o.key_file << "\n";
    return 1;
  }
  EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (key == nullptr) {
    std::cerr << "portcullis-devtoken: " << o.key_file << " is not a PEM private key\n";
    return 1;
  }
  JwsAlgorithm alg = EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? JwsAlgorithm::kEdDSA : JwsAlgorithm::kES256;
  const int64_t now = o.now != 0 ? o.now : static_cast<int64_t>(std::time(nullptr));
  nlohmann::json header{{"alg", portcullis::identity::JwsAlgorithmName(alg)}, {"kid", o.kid}, {"typ", "JWT"}};
  nlohmann::json claims{{"iss", o.issuer}, {"aud", o.audience}, {"sub", o.officer},
                        {"iat", now},      {"exp", now + o.ttl_seconds}};
  if (!o.roles.empty()) claims["roles"] = o.roles;
  if (o.jti) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
      EVP_PKEY_free(key);
      std::cerr << "portcullis-devtoken: no randomness for jti\n";
      return 1;
    }
    claims["jti"] = absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
  }
  std::string input = absl::StrCat(portcullis::identity::Base64UrlEncode(header.dump()), ".",
                                   portcullis::identity::Base64UrlEncode(claims.dump()));
  absl::StatusOr<std::string> sig = portcullis::identity::SignJws(alg, key, input);
  EVP_PKEY_free(key);
  if (!sig.ok()) {
    std::cerr << "portcullis-devtoken: " << o.key_file << ": " << sig.status().message() << "\n";
    return 1;
  }
  std::cout << input << "." << portcullis::identity::Base64UrlEncode(*sig) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::unique_ptr<CLI::App> app = portcullis::cli::NewApp(
      "portcullis-devtoken",
      "Mints a DEVELOPMENT officer assertion (compact JWS) signed with a party's dev identity-provider key.\n"
      "Exit codes: 0 the token is on stdout; 1 the key cannot be read or used; 2 usage.");
  app->add_option("--key", o.key_file, "private key of the party's dev identity provider (PEM; Ed25519 or P-256)");
  // The environment a client gives its assertion command (docs/adapters.md)
  // supplies the rest, so that a config's command names only the key.
  app->add_option("--kid", o.kid, "key id the gateway knows the public half by (default: the key file's name "
                                  "without its extension, e.g. dev-1)");
  app->add_option("--issuer,--iss", o.issuer, "the party id (must be the party of the calling certificate)")
      ->envname("PORTCULLIS_PARTY");
  app->add_option("--audience,--aud", o.audience, "the gateway's identity (its URI SAN)")
      ->envname("PORTCULLIS_AUDIENCE");
  app->add_option("--officer,--sub", o.officer, "the officer id the assertion vouches for")
      ->envname("PORTCULLIS_OFFICER");
  app->add_option("--role", o.roles, "a role claim (repeatable)");
  app->add_option("--ttl", o.ttl_seconds, "lifetime in seconds (the gateway accepts at most 900)")
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
  app->add_flag("!--no-jti", o.jti, "leave out the one-time jti claim");
  app->add_option("--now", o.now, "issue as of this Unix time (tests)");
  if (std::optional<int> done = portcullis::cli::ParseCommandLine(*app, argc, argv, 2)) return *done;
  if (o.kid.empty() && !o.key_file.empty()) {
    std::string name = o.key_file.substr(o.key_file.find_last_of('/') + 1);
    o.kid = name.substr(0, name.find_last_of('.'));
  }
  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{"--key", &o.key_file},
                                    {"--kid", &o.kid}, {"--issuer", &o.issuer}, {"--audience", &o.audience},
                                    {"--officer", &o.officer}}) {
    if (value->empty()) return portcullis::cli::UsageError("portcullis-devtoken", std::string(flag) + " is required", 2);
  }
  return Mint(o);
}
