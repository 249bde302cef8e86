// YAML -> Config: the top of the loader. The schema and every rule are
// documented in docs/config.md; keep the two in step.
//
// Structure: the document is read with util/located_yaml.h (one document,
// syntax errors located), then one Parse function per section fills the
// Config (sections.h: one file per section), each using the readers of
// config_reader.h, which add every problem with its position to one
// ProblemList instead of stopping at the first.
#include "gateway/config/config_loader.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gateway/config/config_reader.h"
#include "gateway/config/sections.h"
#include "util/located_yaml.h"

namespace portcullis {
namespace {

using config_internal::Context;
using config_internal::Field;
using config_internal::MapReader;
using config_internal::MarkOr;
using config_internal::ParseAudit;
using config_internal::ParseCluster;
using config_internal::ParseDeliveryTuning;
using config_internal::ParseLimits;
using config_internal::ParseListener;
using config_internal::ParseParties;
using config_internal::ParseRoutes;
using config_internal::ParseStore;
using config_internal::ParseTls;
using config_internal::PartyIndex;

namespace fs = std::filesystem;

constexpr size_t kMaxReportedProblems = 100;

// The host name (its first label, cut to the replica id's rule) and 8 random
// hex digits.
std::string GeneratedReplicaId() {
  char host[256] = {};
  std::string name;
  if (gethostname(host, sizeof(host) - 1) == 0) {
    for (const char* c = host; *c != '\0' && *c != '.' && name.size() < 40; ++c) {
      const bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
                      *c == '-';
      name.push_back(ok ? *c : '-');
    }
  }
  if (name.empty()) name = "replica";
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "-%08x", static_cast<unsigned>(random()));
  return name + suffix;
}
constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;

void ParseDocument(Context& ctx, const YAML::Node& root, Config* config) {
  MapReader map(ctx, Field{root, MarkOr(root, YAML::Mark()), ""},
                {"listener", "limits", "tls", "audit", "store", "cluster", "delivery", "parties", "routes"});
  if (!map.ok()) return;
  if (std::optional<Field> f = map.Require("listener")) ParseListener(ctx, *f, &config->listener);
  if (std::optional<Field> f = map.Get("limits")) ParseLimits(ctx, *f, &config->limits);
  if (std::optional<Field> f = map.Require("tls")) ParseTls(ctx, *f, &config->tls);
  // The store first: its backend decides whether audit.path is required.
  if (std::optional<Field> f = map.Get("store")) ParseStore(ctx, *f, &config->store);
  const bool sqlite = config->store.backend == StoreBackend::kSqlite;
  if (std::optional<Field> f = map.Require("audit")) ParseAudit(ctx, *f, sqlite, &config->audit);
  if (sqlite && config->store.path.empty() && !config->audit.path.empty()) {
    config->store.path = (fs::path(config->audit.path).parent_path() / "outbox.db").string();
  }
  if (std::optional<Field> f = map.Get("cluster")) ParseCluster(ctx, *f, config->audit, &config->cluster);
  if (config->cluster.replica_id.empty()) config->cluster.replica_id = config->audit.replica_id;
  if (config->cluster.replica_id.empty() && config->store.backend == StoreBackend::kPostgres) {
    // Replicas on one database need distinct ids (their leases); one made up
    // here is unique but changes at every start (docs/cluster.md).
    config->cluster.replica_id = GeneratedReplicaId();
    config->cluster.replica_id_generated = true;
  }
  if (std::optional<Field> f = map.Get("delivery")) ParseDeliveryTuning(ctx, *f, &config->delivery);
  PartyIndex parties;
  if (std::optional<Field> f = map.Require("parties")) {
    ParseParties(ctx, *f, config->MaxEnvelopeBytes(), &config->parties, &parties);
  }
  if (std::optional<Field> f = map.Get("routes")) ParseRoutes(ctx, *f, parties, &config->routes);
}

fs::path AbsoluteBaseDir(std::string_view base_dir) {
  std::error_code ec;
  fs::path base = base_dir.empty() ? fs::current_path(ec) : fs::absolute(fs::path(base_dir), ec);
  if (ec) base = fs::path(base_dir);  // Unreachable cwd: keep paths relative.
  return base.lexically_normal();
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Config>> LoadConfigString(std::string_view yaml,
                                                               std::string_view source_name,
                                                               std::string_view base_dir) {
  ProblemList problems(std::string(source_name),
                       ProblemListOptions{"(root)", /*sort_by_position=*/true, kMaxReportedProblems});
  Context ctx{std::move(problems), AbsoluteBaseDir(base_dir)};
  auto config = std::make_shared<Config>();
  config->source_file = std::string(source_name);
  const std::string text(yaml);
  if (text.size() > kMaxConfigBytes) {
    ctx.problems.Add(
        Location{}, "",
        absl::StrCat("the configuration is ", text.size(), " bytes; the limit is ", kMaxConfigBytes));
    return ctx.problems.ToStatus();
  }
  const std::optional<YAML::Node> root =
      ParseYaml(text, YamlParseOptions{/*single_document=*/true, "invalid YAML: "}, ctx.problems);
  if (root.has_value() && root->IsNull()) {
    ctx.problems.Add(Location{}, "", "the configuration is empty");
  } else if (root.has_value()) {
    try {  // The readers do not throw on a loaded document; this is a safety net.
      ParseDocument(ctx, *root, config.get());
    } catch (const YAML::Exception& e) {
      ctx.problems.Add(e.mark, "", absl::StrCat("invalid YAML: ", e.msg));
    } catch (const std::exception& e) {
      ctx.problems.Add(Location{}, "", absl::StrCat("cannot read the configuration: ", e.what()));
    }
  }
  if (!ctx.problems.empty()) return ctx.problems.ToStatus();
  return std::shared_ptr<const Config>(std::move(config));
}

absl::StatusOr<std::shared_ptr<const Config>> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read config file: is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string reason = std::error_code(errno, std::generic_category()).message();
    return absl::NotFoundError(absl::StrCat(path, ": cannot read config file: ", reason));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot read config file: read error"));
  }
  fs::path base = fs::path(path).parent_path();
  if (base.empty()) base = ".";
  return LoadConfigString(text.str(), path, base.string());
}

}  // namespace portcullis
