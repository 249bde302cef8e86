"""Decisions are final, and the log says so (issue 11, item 4).

uk/bsc sends referrals to eu/de-bpol, whose officers decide on them with
Acknowledge. The same decision by the same officer again is OK and audited as
`duplicate`; any other second decision (another officer, the opposite decision,
another reason) is FAILED_PRECONDITION ALREADY_DECIDED, audited as refused, and
the log never names an officer as deciding something that did not take effect.
Each decision carries eu/de-bpol's assertion for the officer it names
(probe_support.Party's default): the log and Track show that officer verified.
"""

import grpc

from probe_support import ProbeCase, Party, envelope, ex, log_records, submit

SENDER, RECIPIENT = "uk/bsc", "eu/de-bpol"


class Decisions(ProbeCase):
    @classmethod
    def setUpClass(cls):
        cls.sender = Party(SENDER)
        cls.recipient = Party(RECIPIENT)

    @classmethod
    def tearDownClass(cls):
        cls.sender.close()
        cls.recipient.close()

    def new_message(self):
        env = envelope([RECIPIENT])
        self.assertSucceeds(lambda: submit(self.sender, env), "submission")
        return env.message_id

    def decide(self, message_id, decision, officer, reason=""):
        return lambda: self.recipient.exchange.Acknowledge(ex.AcknowledgeRequest(
            sender=SENDER, message_id=message_id, decision=decision, officer=officer, reason=reason), timeout=10)

    def ack_records(self, message_id):
        return [r for r in log_records() if r.get("action") == "acknowledge" and r.get("message_id") == message_id]

    def state(self, message_id):
        track = self.assertSucceeds(lambda: self.sender.exchange.Track(
            ex.TrackRequest(message_id=message_id), timeout=10), "Track by the sender")
        (entry,) = track.recipients
        return entry

    def assertOneDecisionInLog(self, message_id, officer, outcome):
        """Exactly one record says a decision took effect, by `officer`; every other is duplicate or refused."""
        records = self.ack_records(message_id)
        effective = [r for r in records if r.get("outcome") in ("acknowledged", "rejected")]
        self.assertEqual([(r.get("actor_officer"), r.get("outcome")) for r in effective], [(officer, outcome)],
                         f"the log names who decided wrongly: {records}")
        # Every decision here comes with the recipient's assertion for the officer it names: verified, all of them.
        self.assertEqual({r.get("officer_verified") for r in records}, {True}, f"unverified officers: {records}")
        for r in records:
            if r not in effective:
                self.assertIn(r.get("outcome"), ("duplicate", "refused"), f"unexpected record {r}")
        return records

    def test_same_decision_twice_is_ok_and_audited_as_duplicate(self):
        mid = self.new_message()
        first = self.assertSucceeds(self.decide(mid, ex.ACCEPT, "DE-OFF-1"), "first ACCEPT")
        again = self.assertSucceeds(self.decide(mid, ex.ACCEPT, "DE-OFF-1"), "the same ACCEPT again")
        self.assertEqual(first.status.state, ex.ACKNOWLEDGED)
        self.assertEqual(again.status.state, ex.ACKNOWLEDGED)
        self.assertEqual((again.status.officer, again.status.officer_verified), ("DE-OFF-1", True))
        records = self.assertOneDecisionInLog(mid, "DE-OFF-1", "acknowledged")
        self.assertEqual([r.get("outcome") for r in records], ["acknowledged", "duplicate"],
                         "the repeated decision is not audited as duplicate")

    def test_same_rejection_twice_is_ok(self):
        mid = self.new_message()
        self.assertSucceeds(self.decide(mid, ex.REJECT, "DE-OFF-1", "not our jurisdiction"), "first REJECT")
        self.assertSucceeds(self.decide(mid, ex.REJECT, "DE-OFF-1", "not our jurisdiction"), "the same REJECT again")
        records = self.assertOneDecisionInLog(mid, "DE-OFF-1", "rejected")
        self.assertEqual([r.get("outcome") for r in records], ["rejected", "duplicate"])

    def test_another_officer_cannot_decide_again(self):
        mid = self.new_message()
        self.assertSucceeds(self.decide(mid, ex.ACCEPT, "DE-OFF-1"), "first ACCEPT")
        self.assertRefused(self.decide(mid, ex.ACCEPT, "DE-OFF-2"), grpc.StatusCode.FAILED_PRECONDITION,
                           "ALREADY_DECIDED", "the same decision by another officer")
        entry = self.state(mid)
        self.assertEqual((entry.state, entry.officer, entry.officer_verified), (ex.ACKNOWLEDGED, "DE-OFF-1", True))
        records = self.assertOneDecisionInLog(mid, "DE-OFF-1", "acknowledged")
        self.assertEqual(records[-1].get("outcome"), "refused")
        self.assertEqual(records[-1].get("reason"), "ALREADY_DECIDED")

    def test_opposite_decision_is_refused(self):
        mid = self.new_message()
        self.assertSucceeds(self.decide(mid, ex.ACCEPT, "DE-OFF-1"), "ACCEPT")
        self.assertRefused(self.decide(mid, ex.REJECT, "DE-OFF-1", "changed my mind"),
                           grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_DECIDED", "REJECT after ACCEPT")
        self.assertRefused(self.decide(mid, ex.REJECT, "DE-OFF-3", "overruled"),
                           grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_DECIDED", "REJECT by another officer")
        self.assertEqual(self.state(mid).state, ex.ACKNOWLEDGED)
        records = self.assertOneDecisionInLog(mid, "DE-OFF-1", "acknowledged")
        self.assertEqual([r.get("outcome") for r in records], ["acknowledged", "refused", "refused"])

    def test_rejection_with_another_reason_is_refused(self):
        mid = self.new_message()
        self.assertSucceeds(self.decide(mid, ex.REJECT, "DE-OFF-1", "insufficient grounds"), "REJECT")
        self.assertRefused(self.decide(mid, ex.REJECT, "DE-OFF-1", "a different reason"),
                           grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_DECIDED", "REJECT with another reason")
        self.assertRefused(self.decide(mid, ex.ACCEPT, "DE-OFF-1"), grpc.StatusCode.FAILED_PRECONDITION,
                           "ALREADY_DECIDED", "ACCEPT after REJECT")
        entry = self.state(mid)
        self.assertEqual((entry.state, entry.reason, entry.officer, entry.officer_verified),
                         (ex.REJECTED, "insufficient grounds", "DE-OFF-1", True))
        self.assertOneDecisionInLog(mid, "DE-OFF-1", "rejected")
