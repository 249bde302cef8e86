#include "tests/support/random_envelope.h"

#include <random>
#include <vector>

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace portcullis::testing {
namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Coin() { return Int(0, 1) == 1; }
  double Real(double lo, double hi) {
    // Six decimals, as positions and lengths are written by people.
    const double v = std::uniform_real_distribution<double>(lo, hi)(rng_);
    return static_cast<double>(static_cast<int64_t>(v * 1e6)) / 1e6;
  }

  // Non-empty text with characters JSON must escape.
  std::string Text(int max_words = 8) {
    static const char* kWords[] = {"vessel",  "Gravelines", "Dunkerque", "quai",   "\"Zodiac\"", "back\\slash",
                                   "line\nbreak", "tab\there", "Loon-Plage", "r\xC3\xA9seau", "\xC3\x89quipe",
                                   "60hp",    "nm",         "A-1234",    "{brace}", "[bracket]", "50%"};
    std::string out;
    const int n = Int(1, max_words);
    for (int i = 0; i < n; ++i) {
      if (i > 0) out += ' ';
      out += kWords[Int(0, static_cast<int>(sizeof kWords / sizeof kWords[0]) - 1)];
    }
    return out;
  }
  std::string Id(const std::string& prefix) { return absl::StrCat(prefix, "-2026-", Int(100000, 999999)); }

  google::protobuf::Timestamp Time() {
    google::protobuf::Timestamp t;
    t.set_seconds(1767225600 + Int(0, 365 * 86400));  // During 2026.
    if (Coin()) t.set_nanos(Int(0, 999) * 1000000);
    return t;
  }

  std::string Date() {
    return absl::StrCat(Int(1950, 2008), "-", absl::Dec(Int(1, 12), absl::kZeroPad2), "-",
                        absl::Dec(Int(1, 28), absl::kZeroPad2));
  }

  v1::Person Person(v1::PersonRole role) {
    static const char* kNations[] = {"IRQ", "ERI", "AFG", "SYR", "VNM", "ALB", "FRA", "GBR", "XXX"};
    v1::Person p;
    p.set_given_names(Text(2));
    p.set_family_name(Text(1));
    if (Coin()) p.set_date_of_birth(Date());
    p.set_nationality(kNations[Int(0, 8)]);
    p.set_role(role);
    for (int i = Int(0, 2); i > 0; --i) p.add_documents(Text(5));
    for (int i = Int(0, 2); i > 0; --i) p.add_aliases(Text(2));
    return p;
  }
  v1::PersonRole Role() { return static_cast<v1::PersonRole>(Int(1, 6)); }

  v1::Vessel Vessel() {
    v1::Vessel v;
    v.set_type(Text(3));
    if (Coin()) v.set_name(Text(2));
    if (Coin()) v.set_registration(Text(1));
    v.set_length_metres(Real(3, 40));
    if (Coin()) v.set_engine(Text(3));
    v.set_persons_on_board(static_cast<uint32_t>(Int(0, 90)));
    return v;
  }

  v1::Position Place() {
    v1::Position p;
    p.set_latitude(Real(49, 52));
    p.set_longitude(Real(-2, 3));
    if (Coin()) p.set_description(Text(5));
    return p;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

const char* BodyKindName(BodyKind kind) {
  switch (kind) {
    case BodyKind::kCaseReferral: return "case_referral";
    case BodyKind::kIntelligenceReport: return "intelligence_report";
    case BodyKind::kRequestForInformation: return "request_for_information";
    case BodyKind::kResponse: return "response";
  }
  return "?";
}

v1::Envelope RandomEnvelope(BodyKind kind, uint64_t seed, const RandomEnvelopeOptions& options) {
  Gen g(seed * 7919 + static_cast<uint64_t>(kind));
  static const char* kParties[] = {"uk/nca", "uk/border-force", "uk/immigration-enforcement", "eu/europol",
                                   "eu/fr-dnpaf", "uk/bsc"};
  v1::Envelope e;
  e.set_message_id(g.Id("MSG"));
  if (kind == BodyKind::kResponse || g.Coin()) e.set_correlation_id(g.Id("REF"));
  e.set_case_reference(g.Id("CASE"));
  if (options.sender) e.set_sender(kParties[g.Int(0, 5)]);
  e.set_originating_officer(absl::StrCat("OFF-", g.Int(1000, 9999)));
  for (int i = g.Int(1, 3); i > 0; --i) e.add_recipients(kParties[g.Int(0, 5)]);
  // Recipients are distinct in a valid envelope.
  {
    std::vector<std::string> unique;
    for (const std::string& r : e.recipients()) {
      bool seen = false;
      for (const std::string& u : unique) seen = seen || u == r;
      if (!seen) unique.push_back(r);
    }
    e.clear_recipients();
    for (const std::string& r : unique) e.add_recipients(r);
  }
  *e.mutable_created_at() = g.Time();
  e.set_classification(static_cast<v1::Classification>(g.Int(1, 3)));
  if (options.uk_grading && (kind == BodyKind::kIntelligenceReport || g.Coin())) {
    v1::UkGrading* u = e.mutable_uk_grading();
    u->set_source(static_cast<v1::UkSourceEvaluation>(g.Int(1, 3)));
    u->set_intelligence(static_cast<v1::UkIntelligenceAssessment>(g.Int(1, 5)));
    u->set_handling(static_cast<v1::UkHandlingCode>(g.Int(1, 2)));
    if (u->handling() == v1::UK_HANDLING_C_CONDITIONS) u->set_handling_conditions(g.Text(6));
  }
  if (options.europol_evaluation && g.Coin()) {
    v1::EuropolEvaluation* x = e.mutable_europol_evaluation();
    x->set_source(static_cast<v1::EuropolSourceReliability>(g.Int(1, 4)));
    x->set_accuracy(static_cast<v1::EuropolInformationAccuracy>(g.Int(1, 4)));
    for (int h = 1; h <= 4; ++h) {
      if (g.Coin()) x->add_handling(static_cast<v1::EuropolHandlingCode>(h));
    }
    for (int h : x->handling()) {
      if (h == v1::EUROPOL_HANDLING_H3) x->set_restrictions(g.Text(6));
    }
  }
  e.set_priority(static_cast<v1::Priority>(g.Int(1, 3)));
  e.mutable_justification()->set_legal_basis(g.Text(4));
  if (g.Coin()) e.mutable_justification()->set_purpose(g.Text(8));

  switch (kind) {
    case BodyKind::kCaseReferral: {
      v1::CaseReferral* c = e.mutable_case_referral();
      c->set_summary(g.Text(12));
      if (g.Coin()) {
        v1::Crossing* x = c->mutable_crossing();
        google::protobuf::Timestamp departed = g.Time();
        if (g.Coin()) *x->mutable_departure_time() = departed;
        if (g.Coin()) *x->mutable_departure_place() = g.Place();
        if (g.Coin()) {
          google::protobuf::Timestamp intercepted = departed;
          intercepted.set_seconds(departed.seconds() + g.Int(600, 20000));
          *x->mutable_interception_time() = intercepted;
        }
        if (g.Coin()) *x->mutable_interception_place() = g.Place();
        if (g.Coin()) *x->mutable_vessel() = g.Vessel();
      }
      for (int i = g.Int(0, 3); i > 0; --i) *c->add_persons() = g.Person(g.Role());
      for (int i = g.Int(0, 2); i > 0; --i) *c->add_suspected_facilitators() = g.Person(v1::FACILITATOR);
      c->set_requested_action(g.Text(10));
      break;
    }
    case BodyKind::kIntelligenceReport: {
      v1::IntelligenceReport* r = e.mutable_intelligence_report();
      r->set_summary(g.Text(12));
      for (int i = g.Int(0, 3); i > 0; --i) *r->add_subjects() = g.Person(v1::SUBJECT);
      for (int i = g.Int(0, 2); i > 0; --i) *r->add_vessels() = g.Vessel();
      for (int i = g.Int(0, 2); i > 0; --i) r->add_routes(g.Text(3));
      if (g.Coin()) r->set_financial(g.Text(10));
      break;
    }
    case BodyKind::kRequestForInformation: {
      v1::RequestForInformation* q = e.mutable_request_for_information();
      q->set_question(g.Text(12));
      for (int i = g.Int(0, 3); i > 0; --i) *q->add_subjects() = g.Person(g.Role());
      q->set_directly_accessible(g.Coin());
      if (g.Coin()) *q->mutable_answer_by() = g.Time();
      break;
    }
    case BodyKind::kResponse: {
      v1::Response* r = e.mutable_response();
      r->set_answer(g.Text(12));
      for (int i = g.Int(0, 3); i > 0; --i) *r->add_subjects() = g.Person(g.Role());
      break;
    }
  }
  if (options.attachments && g.Int(0, 3) == 0) {
    v1::Attachment* a = e.add_attachments();
    a->set_file_name("statement.txt");
    a->set_media_type("text/plain");
    std::string content = g.Text(20);
    content.push_back('\0');  // Binary-safe.
    content += g.Text(3);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(content.data()), content.size(), digest);
    a->set_sha256(absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest)));
    a->set_content(std::move(content));
  }
  return e;
}

}  // namespace portcullis::testing
