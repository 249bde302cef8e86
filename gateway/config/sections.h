// Internal to the config loader: one Parse function per section of the YAML
// document (docs/config.md), each in its own file, each filling its part of
// the Config and adding every problem it finds to ctx.problems.
//
//   listener, tls        listener_tls_section.cc
//   limits               limits_section.cc
//   audit                audit_section.cc
//   store                store_section.cc
//   cluster              cluster_section.cc
//   delivery (tuning)    delivery_section.cc
//   parties              parties_section.cc
//   routes               routes_section.cc
//
// config_loader.cc reads the document and calls them in order; routes come
// after parties because they name them (PartyIndex).
#ifndef PORTCULLIS_GATEWAY_CONFIG_SECTIONS_H_
#define PORTCULLIS_GATEWAY_CONFIG_SECTIONS_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/config/config_reader.h"

namespace portcullis::config_internal {

void ParseListener(Context& ctx, const Field& f, ListenerConfig* out);
void ParseTls(Context& ctx, const Field& f, TlsConfig* out);
void ParseLimits(Context& ctx, const Field& f, LimitsConfig* out);
// `path_required`: false with the PostgreSQL store (the trail is in the database).
void ParseAudit(Context& ctx, const Field& f, bool path_required, AuditConfig* out);
// Parsed before audit (whose path is required with SQLite only); store.path's
// default (next to audit.path) is filled in by the caller.
void ParseStore(Context& ctx, const Field& f, StoreConfig* out);
void ParseDeliveryTuning(Context& ctx, const Field& f, DeliveryTuning* out);
// After audit: cluster.replica_id and audit.replica_id must agree when both are given.
void ParseCluster(Context& ctx, const Field& f, const AuditConfig& audit, ClusterConfig* out);
// A replica id's rule: 1 to 64 letters, digits, '.', '_' or '-'. Reports a problem at `f` otherwise.
std::optional<std::string> ReadReplicaId(Context& ctx, const Field& f);
bool CheckReplicaId(Context& ctx, const Field& f, const std::string& id);

// What routes need to know about the parties: where each id was defined and
// whether it is an auditor or operator (neither sends nor receives). Invalid
// parties with a valid id are included, so one mistake is not reported again
// by every route that names the party.
struct PartyRef {
  YAML::Mark mark;
  bool auditor = false;
  bool operator_ = false;
};
using PartyIndex = std::map<std::string, PartyRef>;

// `max_envelope`: the largest envelope the gateway accepts (Config::MaxEnvelopeBytes()).
void ParseParties(Context& ctx, const Field& f, size_t max_envelope, std::vector<Party>* out, PartyIndex* index);
void ParseRoutes(Context& ctx, const Field& f, const PartyIndex& parties, std::vector<Route>* out);

}  // namespace portcullis::config_internal

#endif  // PORTCULLIS_GATEWAY_CONFIG_SECTIONS_H_
