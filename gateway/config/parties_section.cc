// The parties section: who may connect, with which identity, and how each is reached (docs/config.md).
#include "gateway/config/sections.h"

#include <algorithm>

namespace portcullis::config_internal {

namespace {

// `max_envelope`: the largest envelope the gateway accepts (Config::MaxEnvelopeBytes()).
void ParsePartyDelivery(Context& ctx, const Field& f, size_t max_envelope, DeliveryConfig* out) {
  static const NameTable<DeliveryMode> kModes = {{"push", DeliveryMode::kPush},
                                                 {"pull", DeliveryMode::kPull}};
  MapReader map(ctx, f, {"mode", "address", "server_identity", "max_message_bytes"});
  if (!map.ok()) return;
  std::optional<DeliveryMode> mode;
  if (std::optional<Field> field = map.Require("mode")) mode = ReadEnum(ctx, *field, kModes, "delivery mode");
  if (mode.has_value()) out->mode = *mode;
  if (std::optional<Field> field = map.Get("max_message_bytes")) {
    // At most what a Submit within limits.max_receive_message_bytes carries:
    // a larger value would promise what the gateway never accepts.
    if (std::optional<int64_t> v = ReadInt(ctx, *field, 1, static_cast<int64_t>(max_envelope))) {
      out->max_message_bytes = *v;
    }
  }
  std::optional<Field> address = mode == DeliveryMode::kPush ? map.Require("address") : map.Get("address");
  std::optional<Field> server_identity =
      mode == DeliveryMode::kPush ? map.Require("server_identity") : map.Get("server_identity");
  if (mode == DeliveryMode::kPull) {
    for (const std::optional<Field>& field : {address, server_identity}) {
      if (field.has_value()) {
        ctx.problems.Add(field->mark, field->path, "not allowed when mode is pull (push only)");
      }
    }
    return;
  }
  if (address.has_value()) {
    if (std::optional<std::string> text = ReadAddress(ctx, *address, 1)) out->address = *text;
  }
  if (server_identity.has_value()) {
    if (std::optional<std::string> text = ReadSpiffeId(ctx, *server_identity)) out->server_identity = *text;
  }
}

bool IsValidPartyId(absl::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '_' || c == '-';
  });
}

// officer_assertions: required | optional, with the key directory they are
// verified against; neither: officers are claimed only.
void ParseOfficerAssertions(Context& ctx, const MapReader& map, const Field& f, Party* party) {
  static const NameTable<OfficerAssertions> kModes = {{"required", OfficerAssertions::kRequired},
                                                      {"optional", OfficerAssertions::kOptional}};
  std::optional<Field> mode = map.Get("officer_assertions");
  std::optional<Field> dir = map.Get("officer_keys_dir");
  if (mode.has_value()) {
    if (std::optional<OfficerAssertions> m = ReadEnum(ctx, *mode, kModes, "officer_assertions")) {
      party->officer_assertions = *m;
    }
    if (!dir.has_value()) {
      ctx.problems.Add(f.mark, ChildPath(f.path, "officer_keys_dir"),
                       "is required with officer_assertions (the directory of the party's identity-provider keys)");
    }
  } else if (dir.has_value()) {
    ctx.problems.Add(dir->mark, dir->path, "needs officer_assertions: required or optional");
  }
  if (dir.has_value()) {
    if (std::optional<std::string> path = ReadPath(ctx, *dir)) {
      CheckReadable(ctx, *dir, *path, PathKind::kDirectory);
      party->officer_keys_dir = *path;
    }
  }
}

void ParseParty(Context& ctx, const Field& f, size_t max_envelope, Party* party, PartyIndex* index,
                std::map<std::string, YAML::Mark>* identities) {
  MapReader map(ctx, f, {"id", "name", "kind", "identity", "clearance", "delivery", "officer_assertions",
                         "officer_keys_dir"});
  if (!map.ok()) return;
  std::optional<PartyKind> kind;
  if (std::optional<Field> field = map.Require("kind")) kind = ReadEnum(ctx, *field, PartyKindNames(), "party kind");
  if (kind.has_value()) party->kind = *kind;

  if (std::optional<Field> field = map.Require("id")) {
    if (std::optional<std::string> id = ReadString(ctx, *field)) {
      if (!IsValidPartyId(*id)) {
        ctx.problems.Add(field->mark, field->path,
                         absl::StrCat("invalid party id '", *id, "': use only a-z, 0-9, '/', '_' and '-'"));
      } else {
        party->id = *id;
        auto [it, inserted] = index->emplace(*id, PartyRef{field->mark, kind == PartyKind::kAuditor,
                                                                    kind == PartyKind::kOperator});
        if (!inserted) {
          ctx.problems.Add(field->mark, field->path,
                           absl::StrCat("duplicate party id '", *id, "' (first defined at line ",
                                        it->second.mark.line + 1, ")"));
        }
      }
    }
  }
  if (std::optional<Field> field = map.Require("name")) {
    if (std::optional<std::string> name = ReadString(ctx, *field)) party->name = *name;
  }
  if (std::optional<Field> field = map.Require("identity")) {
    if (std::optional<std::string> identity = ReadSpiffeId(ctx, *field)) {
      party->identity = *identity;
      auto [it, inserted] = identities->emplace(*identity, field->mark);
      if (!inserted) {
        ctx.problems.Add(
            field->mark, field->path,
            absl::StrCat("duplicate identity '", *identity, "' (already used by the party at line ",
                         it->second.line + 1, "); each party needs its own certificate identity"));
      }
    }
  }
  if (std::optional<Field> field = map.Get("clearance")) {
    if (std::optional<v1::Classification> clearance = ReadClassification(ctx, *field)) {
      party->clearance = *clearance;
    }
  }
  ParseOfficerAssertions(ctx, map, f, party);
  std::optional<Field> delivery = map.Get("delivery");
  const bool delivers = kind != PartyKind::kAuditor && kind != PartyKind::kOperator;
  if (kind == PartyKind::kAuditor && delivery.has_value()) {
    ctx.problems.Add(delivery->mark, delivery->path,
                     "not allowed for an auditor: auditors read the audit log and receive no deliveries");
  } else if (kind == PartyKind::kOperator && delivery.has_value()) {
    ctx.problems.Add(delivery->mark, delivery->path,
                     "not allowed for an operator: operators manage dead letters and receive no deliveries");
  } else if (kind.has_value() && delivers && !delivery.has_value()) {
    ctx.problems.Add(f.mark, ChildPath(f.path, "delivery"),
                     absl::StrCat("is required for kind ", PartyKindName(*kind), " (mode: push or pull)"));
  } else if (delivery.has_value()) {
    ParsePartyDelivery(ctx, *delivery, max_envelope, &party->delivery);
  }
}

}  // namespace

void ParseParties(Context& ctx, const Field& f, size_t max_envelope, std::vector<Party>* out, PartyIndex* index) {
  std::optional<std::vector<Field>> items = ReadList(ctx, f);
  if (!items.has_value()) return;
  if (items->empty()) ctx.problems.Add(f.mark, f.path, "must list at least one party");
  std::map<std::string, YAML::Mark> identities;
  for (const Field& item : *items) {
    Party party;
    ParseParty(ctx, item, max_envelope, &party, index, &identities);
    out->push_back(std::move(party));
  }
}

}  // namespace portcullis::config_internal
