#include "adapters/cli_flags.h"

#include "absl/strings/str_cat.h"

namespace portcullis::adapters {

const char kTlsFlagsUsage[] =
    "  --pki DIR --party STEM       TLS files from a dev PKI (DIR/parties/STEM.pem|key, DIR/ca/bundle.pem, DIR/crl)\n"
    "  --cert FILE --key FILE --ca FILE --crl-dir DIR\n"
    "                               or explicit TLS files (override --pki/--party)\n";

absl::StatusOr<Flags> Flags::Parse(int argc, char** argv, const std::set<std::string>& value_flags,
                                   const std::set<std::string>& bool_flags) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::string value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (bool_flags.count(name) > 0) {
      if (has_value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      flags.values_[name] = "true";
    } else if (value_flags.count(name) > 0) {
      if (!has_value) {
        if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        value = argv[++i];
      }
      if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a non-empty value"));
      flags.values_[name] = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
  }
  return flags;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

const std::set<std::string>& TlsFlagNames() {
  static const std::set<std::string>* names = new std::set<std::string>{"pki", "party", "cert", "key", "ca", "crl-dir"};
  return *names;
}

absl::StatusOr<PartyTls> TlsFromFlags(const Flags& flags) {
  PartyTls tls;
  if (flags.Has("pki") != flags.Has("party")) {
    return absl::InvalidArgumentError("--pki and --party go together");
  }
  if (flags.Has("pki")) tls = PartyTlsFromPki(flags.Get("pki"), flags.Get("party"));
  tls.cert = flags.Get("cert", tls.cert);
  tls.key = flags.Get("key", tls.key);
  tls.ca_bundle = flags.Get("ca", tls.ca_bundle);
  tls.crl_dir = flags.Get("crl-dir", tls.crl_dir);
  for (const auto& [value, flag] : {std::pair{&tls.cert, "--cert"}, std::pair{&tls.key, "--key"},
                                    std::pair{&tls.ca_bundle, "--ca"}, std::pair{&tls.crl_dir, "--crl-dir"}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("TLS files incomplete: give --pki and --party, or ", flag));
    }
  }
  return tls;
}

}  // namespace portcullis::adapters
