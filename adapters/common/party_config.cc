#include "adapters/common/party_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/gateway_address.h"
#include "adapters/common/gateway_client.h"
#include "adapters/registry/native_formats.h"
#include "util/expand_env.h"
#include "util/located_yaml.h"

namespace portcullis::adapters {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxConfigBytes = 1024 * 1024;

// Reads the keys of the file, collecting `file:line:col: key: rule`
// problems (util/located_input.h, util/located_yaml.h).
class Reader {
 public:
  Reader(ProblemList& problems, fs::path base) : problems_(problems), base_(std::move(base)) {}

  void Add(const YAML::Mark& mark, const std::string& key, const std::string& rule) { problems_.Add(mark, key, rule); }

  // Unknown keys of `map` are problems. False if `map` is not a mapping.
  bool Mapping(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> allowed) {
    if (!map.IsMap()) {
      Add(map.Mark(), path, "must be a mapping of keys to values");
      return false;
    }
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      bool known = false;
      for (const char* a : allowed) known = known || key == a;
      if (!known) {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        Add(kv.first.Mark(), ChildPath(path, key),
            absl::StrCat("unknown key (allowed: ", absl::StrJoin(names, ", "), ")"));
      }
    }
    return true;
  }

  // The expanded string at map[key]; empty if absent (a problem if required).
  std::string String(const YAML::Node& map, const std::string& path, const char* key, bool required) {
    const YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) {
      if (required) Add(map.Mark(), ChildPath(path, key), "required");
      return "";
    }
    if (!node.IsScalar()) {
      Add(node.Mark(), ChildPath(path, key), "must be a single value");
      return "";
    }
    absl::StatusOr<std::string> value = ExpandEnv(node.Scalar());
    if (!value.ok()) {
      Add(node.Mark(), ChildPath(path, key), std::string(value.status().message()));
      return "";
    }
    if (value->empty() && required) Add(node.Mark(), ChildPath(path, key), "must not be empty");
    return *value;
  }

  std::string Path(const YAML::Node& map, const std::string& path, const char* key, bool required) {
    std::string value = String(map, path, key, required);
    if (value.empty()) return value;
    fs::path p(value);
    return (p.is_absolute() ? p : base_ / p).lexically_normal().string();
  }

  bool Bool(const YAML::Node& map, const std::string& path, const char* key, bool fallback) {
    const YAML::Node node = map[key];
    if (!node.IsDefined() || node.IsNull()) return fallback;
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) return node.Scalar() == "true";
    Add(node.Mark(), ChildPath(path, key), "must be true or false");
    return fallback;
  }

  absl::Status status() const { return problems_.ToStatus(); }

 private:
  ProblemList& problems_;
  fs::path base_;
};

bool IsHostPort(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  for (size_t i = colon + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return s.size() - colon - 1 <= 5;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

}  // namespace

absl::StatusOr<PartyConfig> LoadPartyConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the adapter config"));
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxConfigBytes) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": larger than 1 MiB; not an adapter config"));
  }
  ProblemList problems(path);
  const std::optional<YAML::Node> parsed = ParseYaml(text.str(), YamlParseOptions{}, problems);
  if (!parsed.has_value()) return problems.ToStatus();
  const YAML::Node& root = *parsed;
  Reader r(problems, fs::absolute(fs::path(path)).parent_path());
  PartyConfig c;
  c.source = path;
  if (!r.Mapping(root, "", {"party", "format", "gateway", "gateway_identity", "tls", "inbox", "outbox", "receive", "officer",
                            "justification", "assertion_command", "assertion_file"})) {
    return r.status();
  }
  c.party = r.String(root, "", "party", true);
  const std::string format = r.String(root, "", "format", true);
  if (!format.empty()) {
    c.format = FindNativeFormat(format);
    if (c.format == nullptr) {
      r.Add(root["format"].Mark(), "format",
            absl::StrCat("unknown format \"", format, "\" (known: ", absl::StrJoin(NativeFormatNames(), ", "), ")"));
    }
  }
  c.gateway = r.String(root, "", "gateway", true);
  if (!c.gateway.empty()) {
    // Several replicas: "HOST:PORT,HOST:PORT" (one round-robin channel, docs/cluster.md).
    if (auto list = ParseGatewayList(c.gateway); !list.ok()) {
      r.Add(root["gateway"].Mark(), "gateway",
            absl::StrCat("must be HOST:PORT, e.g. 127.0.0.1:8443, or several: HOST:PORT,HOST:PORT (",
                         list.status().message(), ")"));
    }
  }
  c.gateway_identity = r.String(root, "", "gateway_identity", false);
  if (c.gateway_identity.empty()) c.gateway_identity = kGatewayIdentity;
  c.inbox = r.Path(root, "", "inbox", true);
  c.outbox = r.Path(root, "", "outbox", false);
  c.officer = r.String(root, "", "officer", false);
  c.justification = r.String(root, "", "justification", false);
  c.assertion_command = r.String(root, "", "assertion_command", false);
  c.assertion_file = r.Path(root, "", "assertion_file", false);
  for (const char* key : {"assertion_command", "assertion_file"}) {
    const YAML::Node node = root[key];
    if (node.IsDefined() && !node.IsNull() && node.IsScalar() && node.Scalar().empty()) {
      r.Add(node.Mark(), key, "must not be empty (leave the key out for no officer assertion)");
    }
  }
  if (!c.assertion_command.empty() && !c.assertion_file.empty()) {
    r.Add(root["assertion_file"].Mark(), "assertion_file",
          "give assertion_command or assertion_file, not both (the command is the identity provider's hook; the "
          "file, a token a refresher keeps current)");
  }
  if (c.assertion_command.find_first_of("\n\r") != std::string::npos) {
    r.Add(root["assertion_command"].Mark(), "assertion_command", "must be one line");
  }

  const YAML::Node tls = root["tls"];
  if (!tls.IsDefined() || tls.IsNull()) {
    r.Add(root.Mark(), "tls", "required (pki and stem, or cert, key, ca_bundle and crl_dir)");
  } else if (r.Mapping(tls, "tls", {"pki", "stem", "cert", "key", "ca_bundle", "crl_dir"})) {
    const std::string pki = r.Path(tls, "tls", "pki", false);
    const std::string stem = r.String(tls, "tls", "stem", false);
    if (!pki.empty() && !stem.empty()) c.tls = PartyTlsFromPki(pki, stem);
    const std::pair<const char*, std::string*> files[] = {
        {"cert", &c.tls.cert}, {"key", &c.tls.key}, {"ca_bundle", &c.tls.ca_bundle}, {"crl_dir", &c.tls.crl_dir}};
    for (const auto& [key, out] : files) {
      std::string v = r.Path(tls, "tls", key, false);
      if (!v.empty()) *out = v;
      if (out->empty()) r.Add(tls.Mark(), absl::StrCat("tls.", key), "required (or give pki and stem)");
    }
  }

  const YAML::Node receive = root["receive"];
  if (receive.IsDefined() && !receive.IsNull() &&
      r.Mapping(receive, "receive", {"mode", "listen", "auto_accept"})) {
    const std::string mode = r.String(receive, "receive", "mode", true);
    if (mode == "push") {
      c.receive_mode = ReceiveMode::kPush;
      c.listen = r.String(receive, "receive", "listen", true);
      if (!c.listen.empty() && !IsHostPort(c.listen)) {
        r.Add(receive["listen"].Mark(), "receive.listen", "must be HOST:PORT, e.g. 127.0.0.1:9443");
      }
    } else if (mode == "pull") {
      if (receive["listen"].IsDefined()) r.Add(receive["listen"].Mark(), "receive.listen", "only for mode push");
    } else if (!mode.empty()) {
      r.Add(receive["mode"].Mark(), "receive.mode", "must be pull or push");
    }
    c.auto_accept = r.Bool(receive, "receive", "auto_accept", false);
  }
  if (absl::Status s = r.status(); !s.ok()) return s;

  if (std::string v = Env("PORTCULLIS_GATEWAY"); !v.empty()) c.gateway = v;
  if (std::string v = Env("PORTCULLIS_OFFICER"); !v.empty()) c.officer = v;
  if (std::string v = Env("PORTCULLIS_JUSTIFICATION"); !v.empty()) c.justification = v;
  return c;
}

OfficerCredentials OfficerCredentialsOf(const PartyConfig& config) {
  std::shared_ptr<mtls::PerOfficerAssertions> assertions =
      mtls::PerOfficerAssertions::FromOptions(AssertionOptions(config));
  if (assertions == nullptr) return nullptr;
  return [assertions](const std::string& officer) { return assertions->CredentialsFor(officer); };
}

mtls::AssertionSourceOptions AssertionOptions(const PartyConfig& config) {
  mtls::AssertionSourceOptions o;
  o.file = config.assertion_file;
  o.command = config.assertion_command;
  o.command_env["PORTCULLIS_PARTY"] = config.party;
  o.command_env["PORTCULLIS_AUDIENCE"] = config.gateway_identity;
  return o;
}

std::string ResolvePartyConfigPath(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (std::string v = Env("PORTCULLIS_CONFIG"); !v.empty()) return v;
  return absl::StrCat(Env("HOME"), "/.config/portcullis/liaison.yaml");
}

}  // namespace portcullis::adapters
