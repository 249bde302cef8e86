// The routes section: which senders may send which body types to whom, up to which classification (docs/config.md).
#include "gateway/config/sections.h"

#include <set>

namespace portcullis::config_internal {

namespace {

// A route's from/to: party ids, or a lone "*".
void ParsePartyRefs(Context& ctx, const Field& f, const PartyIndex& parties, std::set<std::string>* out) {
  std::optional<std::vector<Field>> items = ReadList(ctx, f);
  if (!items.has_value()) return;
  if (items->empty()) ctx.problems.Add(f.mark, f.path, "must list at least one party id, or '*'");
  for (const Field& item : *items) {
    std::optional<std::string> id = ReadString(ctx, item);
    if (!id.has_value()) continue;
    if (*id == "*") {
      if (items->size() > 1) ctx.problems.Add(item.mark, item.path, "'*' (any party) must be the only entry");
    } else if (auto it = parties.find(*id); it == parties.end()) {
      ctx.problems.Add(item.mark, item.path,
                       absl::StrCat("unknown party '", *id, "': no party with this id is configured"));
      continue;
    } else if (it->second.auditor) {
      ctx.problems.Add(
          item.mark, item.path,
          absl::StrCat("party '", *id, "' is an auditor: auditors neither send nor receive messages"));
      continue;
    } else if (it->second.operator_) {
      ctx.problems.Add(
          item.mark, item.path,
          absl::StrCat("party '", *id, "' is an operator: operators neither send nor receive messages"));
      continue;
    }
    if (!out->insert(*id).second) {
      ctx.problems.Add(item.mark, item.path, absl::StrCat("'", *id, "' is listed twice"));
    }
  }
}

void ParseBodyTypes(Context& ctx, const Field& f, std::set<BodyType>* out) {
  std::optional<std::vector<Field>> items = ReadList(ctx, f);
  if (!items.has_value()) return;
  if (items->empty()) ctx.problems.Add(f.mark, f.path, "must list at least one body type");
  for (const Field& item : *items) {
    std::optional<BodyType> type = ReadEnum(ctx, item, BodyTypeNames(), "body type");
    if (type.has_value() && !out->insert(*type).second) {
      ctx.problems.Add(item.mark, item.path, absl::StrCat("'", BodyTypeName(*type), "' is listed twice"));
    }
  }
}

void ParseRoute(Context& ctx, const Field& f, const PartyIndex& parties,
                std::map<std::string, YAML::Mark>* names, Route* route) {
  MapReader map(ctx, f, {"name", "from", "to", "body_types", "max_classification"});
  if (!map.ok()) return;
  if (std::optional<Field> field = map.Require("name")) {
    if (std::optional<std::string> name = ReadString(ctx, *field)) {
      route->name = *name;
      auto [it, inserted] = names->emplace(*name, field->mark);
      if (!inserted) {
        ctx.problems.Add(field->mark, field->path,
                         absl::StrCat("duplicate route name '", *name, "' (first defined at line ",
                                      it->second.line + 1, ")"));
      }
    }
  }
  if (std::optional<Field> field = map.Require("from")) ParsePartyRefs(ctx, *field, parties, &route->from);
  if (std::optional<Field> field = map.Require("to")) ParsePartyRefs(ctx, *field, parties, &route->to);
  if (std::optional<Field> field = map.Require("body_types")) ParseBodyTypes(ctx, *field, &route->body_types);
  if (std::optional<Field> field = map.Require("max_classification")) {
    if (std::optional<v1::Classification> max = ReadClassification(ctx, *field)) {
      route->max_classification = *max;
    }
  }
}

}  // namespace

void ParseRoutes(Context& ctx, const Field& f, const PartyIndex& parties, std::vector<Route>* out) {
  std::optional<std::vector<Field>> items = ReadList(ctx, f);
  if (!items.has_value()) return;
  std::map<std::string, YAML::Mark> names;
  for (const Field& item : *items) {
    Route route;
    ParseRoute(ctx, item, parties, &names, &route);
    out->push_back(std::move(route));
  }
}

}  // namespace portcullis::config_internal
