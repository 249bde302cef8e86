#include "testkit/sample_envelopes.h"

#include <google/protobuf/util/time_util.h>

namespace portcullis::testing {

v1::Envelope SampleReferral(const std::string& message_id, const std::vector<std::string>& recipients) {
  v1::Envelope e;
  e.set_message_id(message_id);
  e.set_case_reference("BF-2026-004512");
  e.set_originating_officer("BF-LO-4471");
  for (const auto& r : recipients) e.add_recipients(r);
  *e.mutable_created_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
  e.set_classification(v1::OFFICIAL_SENSITIVE);
  e.set_priority(v1::URGENT);
  e.mutable_justification()->set_legal_basis("DPA 2018 s.35; TCA Art. LAW.EUROPOL.51");
  e.mutable_justification()->set_purpose("Identify the facilitation network behind the crossing");
  auto* uk = e.mutable_uk_grading();
  uk->set_source(v1::UK_SOURCE_2_UNTESTED);
  uk->set_intelligence(v1::UK_INTEL_B_INDIRECT_CORROBORATED);
  uk->set_handling(v1::UK_HANDLING_P_LAWFUL_SHARING);
  auto* b = e.mutable_case_referral();
  b->set_summary("RHIB with 41 persons intercepted 3 nm off Dungeness");
  b->set_requested_action("Identify the supplier of the boat and engine");
  auto* p = b->add_persons();
  p->set_given_names("Zoltan");
  p->set_family_name("Testperson");
  p->set_nationality("ALB");
  p->set_role(v1::PILOT);
  auto* f = b->add_suspected_facilitators();
  f->set_family_name("Examplename");
  f->set_role(v1::FACILITATOR);
  b->mutable_crossing()->mutable_vessel()->set_type("rigid inflatable boat");
  b->mutable_crossing()->mutable_vessel()->set_persons_on_board(41);
  return e;
}

v1::Delivery SampleDelivery(const std::string& delivery_id, const std::string& message_id) {
  v1::Delivery d;
  d.set_delivery_id(delivery_id);
  d.set_attempt(1);
  v1::Envelope* e = d.mutable_envelope();
  e->set_message_id(message_id);
  e->set_sender("uk/border-force");
  e->set_case_reference("BF-2026-004512");
  e->set_originating_officer("BF-LO-4471");
  e->add_recipients("eu/europol");
  e->set_classification(v1::OFFICIAL_SENSITIVE);
  e->mutable_case_referral()->set_summary("RHIB intercepted off Dungeness");
  e->mutable_case_referral()->set_requested_action("Identify the boat supplier");
  *d.mutable_accepted_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
  return d;
}

}  // namespace portcullis::testing
