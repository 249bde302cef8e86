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

const std::vector<std::pair<const char*, BodyType>>& BodyTypeNames() {
  static const auto* const kNames = new std::vector<std::pair<const char*, BodyType>>{
      {"case_referral", BodyType::kCaseReferral},
      {"intelligence_report", BodyType::kIntelligenceReport},
      {"request_for_information", BodyType::kRequestForInformation},
      {"response", BodyType::kResponse},
  };
  return *kNames;
}

const std::vector<std::pair<const char*, PartyKind>>& PartyKindNames() {
  static const auto* const kNames = new std::vector<std::pair<const char*, PartyKind>>{
      {"uk_agency", PartyKind::kUkAgency},
      {"eu_partner", PartyKind::kEuPartner},
      {"auditor", PartyKind::kAuditor},
      {"operator", PartyKind::kOperator},
  };
  return *kNames;
}

const std::vector<std::pair<const char*, StoreBackend>>& StoreBackendNames() {
  static const auto* const kNames = new std::vector<std::pair<const char*, StoreBackend>>{
      {"sqlite", StoreBackend::kSqlite},
      {"postgres", StoreBackend::kPostgres},
  };
  return *kNames;
}

namespace {

template <typename T>
const char* NameIn(const std::vector<std::pair<const char*, T>>& names, T value) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return "unknown";
}

}  // namespace

const char* BodyTypeName(BodyType t) { return NameIn(BodyTypeNames(), t); }

const char* PartyKindName(PartyKind k) { return NameIn(PartyKindNames(), k); }

const char* StoreBackendName(StoreBackend b) { return NameIn(StoreBackendNames(), b); }

}  // namespace portcullis
