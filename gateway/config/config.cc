#include "gateway/config/config.h"

#include <algorithm>

#include "portcullis/v1/message_limits.h"

namespace portcullis {

size_t Config::MaxEnvelopeBytes() const {
  return v1::MaxEnvelopeBytes(static_cast<size_t>(std::max(limits.max_receive_message_bytes, 0)));
}

size_t Config::MaxEnvelopeBytesFor(const Party& party) const {
  const size_t all = MaxEnvelopeBytes();
  if (party.delivery.max_message_bytes <= 0) return all;
  return std::min(all, static_cast<size_t>(party.delivery.max_message_bytes));
}

size_t Config::MaxSendMessageBytes() const { return v1::DeliveryBytes(MaxEnvelopeBytes()); }

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
