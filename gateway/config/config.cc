#include "gateway/config/config.h"

namespace portcullis {

// Linear scans: a deployment has tens of parties, and Config is immutable,
// so callers that need a hot-path index build their own once.
const Party* Config::FindParty(const std::string& id) const {
  for (const Party& party : parties) {
    if (party.id == id) return &party;
  }
  return nullptr;
}

const Party* Config::FindPartyByIdentity(const std::string& uri) const {
  for (const Party& party : parties) {
    if (party.identity == uri) return &party;
  }
  return nullptr;
}

const char* BodyTypeName(BodyType t) {
  switch (t) {
    case BodyType::kCaseReferral:
      return "case_referral";
    case BodyType::kIntelligenceReport:
      return "intelligence_report";
    case BodyType::kRequestForInformation:
      return "request_for_information";
    case BodyType::kResponse:
      return "response";
  }
  return "unknown";
}

const char* PartyKindName(PartyKind k) {
  switch (k) {
    case PartyKind::kUkAgency:
      return "uk_agency";
    case PartyKind::kEuPartner:
      return "eu_partner";
    case PartyKind::kAuditor:
      return "auditor";
    case PartyKind::kOperator:
      return "operator";
  }
  return "unknown";
}

}  // namespace portcullis
