"""Cross-party authorisation: no party learns about another's exchanges (issue 11, item 3).

uk/nca sends one referral to uk/border-force and uk/bsc. uk/immigration-enforcement,
neither sender nor recipient, then names that message (and its delivery, case
and audit index) on every RPC that takes one, and names something that does
not exist in the same way. The two answers must be the same answer: code,
message and every detail, once the identifiers the probe itself chose are set
aside (the probe uses same-length identifiers so even the byte lengths agree).
A recipient tracking the message sees its own entry only. A reply belongs to a
thread of the replier's own (item 5): an ambiguous one is refused. Calls carry
the caller's own officer assertion (probe_support.Party's default); uk/nca's
valid assertion presented on another party's certificate is refused (issue 13).
"""

import grpc
from google.protobuf import text_format
from portcullis.v1 import audit_pb2

from probe_support import ProbeCase, Party, assertion, bearer, envelope, ex, log_records, outcome, submit, unique

SENDER, RECIPIENT, OTHER_RECIPIENT, OUTSIDER = "uk/nca", "uk/border-force", "uk/bsc", "uk/immigration-enforcement"


def same_length_stranger(identifier):
    """An identifier of the same length and alphabet as `identifier` that names nothing."""
    out = []
    for c in identifier:
        if c.isdigit():
            out.append(str((int(c) + 1) % 10))
        elif "a" <= c <= "f":
            out.append("abcdef"[("abcdef".index(c) + 1) % 6])
        elif "A" <= c <= "F":
            out.append("ABCDEF"[("ABCDEF".index(c) + 1) % 6])
        elif c.isalpha():
            out.append(chr((ord(c.lower()) - ord("a") + 1) % 26 + ord("a")) if c.islower()
                       else chr((ord(c) - ord("A") + 1) % 26 + ord("A")))
        else:
            out.append(c)
    stranger = "".join(out)
    assert stranger != identifier and len(stranger) == len(identifier)
    return stranger


class Authorisation(ProbeCase):
    @classmethod
    def setUpClass(cls):
        cls.sender = Party(SENDER)
        cls.recipient = Party(RECIPIENT)
        cls.other_recipient = Party(OTHER_RECIPIENT)
        cls.outsider = Party(OUTSIDER)
        cls.env = envelope([RECIPIENT, OTHER_RECIPIENT])
        cls.receipt = submit(cls.sender, cls.env)
        # The same message id from another sender, to the same recipient: a reply naming it is ambiguous.
        cls.twin = envelope([RECIPIENT], message_id=cls.env.message_id, case=cls.env.case_reference)
        submit(cls.other_recipient, cls.twin)
        # The stranger ids differ from the real ones in characters only, not in length.
        cls.missing_id = same_length_stranger(cls.env.message_id)
        cls.missing_case = same_length_stranger(cls.env.case_reference)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.sender, cls.recipient, cls.other_recipient, cls.outsider):
            p.close()

    def assertSameAnswer(self, real_call, missing_call, substitutions, what):
        """Both calls give one answer, identifiers aside; refusals carry no internal text."""
        real, missing = outcome(real_call), outcome(missing_call)
        forms = []
        for kind, got in (real, missing):
            if kind == "ERR":
                self.assertNoLeak(got)
                forms.append(("ERR", got.comparable(substitutions)))
            else:
                text = text_format.MessageToString(got, as_one_line=True)
                for old, new in substitutions:
                    text = text.replace(old, new)
                forms.append(("OK", text))
        self.assertEqual(forms[0], forms[1],
                         f"{what}: 'exists but not yours' (first) and 'does not exist' (second) answer differently")
        return real

    def test_recipient_track_shows_only_its_own_entry(self):
        mine = self.assertSucceeds(lambda: self.recipient.exchange.Track(
            ex.TrackRequest(sender=SENDER, message_id=self.env.message_id), timeout=10), "Track by a recipient")
        self.assertEqual([r.party for r in mine.recipients], [RECIPIENT],
                         "a recipient's Track shows other recipients' delivery entries")
        # Control: the sender sees every recipient.
        theirs = self.assertSucceeds(lambda: self.sender.exchange.Track(
            ex.TrackRequest(message_id=self.env.message_id), timeout=10), "Track by the sender")
        self.assertEqual(sorted(r.party for r in theirs.recipients), sorted([RECIPIENT, OTHER_RECIPIENT]))

    def test_outsider_track(self):
        subs = [(self.env.message_id, "<ID>"), (self.missing_id, "<ID>")]
        kind, _ = self.assertSameAnswer(
            lambda: self.outsider.exchange.Track(ex.TrackRequest(sender=SENDER, message_id=self.env.message_id),
                                                 timeout=10),
            lambda: self.outsider.exchange.Track(ex.TrackRequest(sender=SENDER, message_id=self.missing_id),
                                                 timeout=10),
            subs, "Track")
        self.assertEqual(kind, "ERR", "an outsider tracked another pair's message")

    def test_outsider_acknowledge(self):
        subs = [(self.env.message_id, "<ID>"), (self.missing_id, "<ID>")]
        for decision in (ex.ACCEPT, ex.REJECT):
            with self.subTest(ex.AckDecision.Name(decision)):
                def ack(message_id):
                    return lambda: self.outsider.exchange.Acknowledge(ex.AcknowledgeRequest(
                        sender=SENDER, message_id=message_id, decision=decision, officer="IE-OFFICER-9",
                        reason="probe" if decision == ex.REJECT else ""), timeout=10)
                kind, _ = self.assertSameAnswer(ack(self.env.message_id), ack(self.missing_id), subs, "Acknowledge")
                self.assertEqual(kind, "ERR", "an outsider decided on another pair's message")
        # And nothing changed for the real recipients.
        track = self.assertSucceeds(lambda: self.sender.exchange.Track(
            ex.TrackRequest(message_id=self.env.message_id), timeout=10), "Track by the sender")
        self.assertEqual({r.party: r.state for r in track.recipients},
                         {RECIPIENT: ex.ACCEPTED, OTHER_RECIPIENT: ex.ACCEPTED})

    def test_outsider_list_case(self):
        subs = [(self.env.case_reference, "<CASE>"), (self.missing_case, "<CASE>")]

        def list_case(case):
            return lambda: self.outsider.exchange.ListCase(ex.ListCaseRequest(
                case_reference=case, officer="IE-OFFICER-9", justification="probe"), timeout=10)
        kind, got = self.assertSameAnswer(list_case(self.env.case_reference), list_case(self.missing_case), subs,
                                          "ListCase")
        if kind == "OK":
            self.assertEqual(list(got.messages), [], "an outsider listed another pair's case")

    def test_outsider_inclusion_proof(self):
        index = self.receipt.audit_index
        stranger = 10 ** (len(str(index)) + 6) + index  # Far beyond the log, whatever the other probes wrote.
        subs = [(str(stranger), "<N>"), (str(index), "<N>")]
        kind, _ = self.assertSameAnswer(
            lambda: self.outsider.audit.GetInclusionProof(audit_pb2.InclusionProofRequest(index=index), timeout=20),
            lambda: self.outsider.audit.GetInclusionProof(audit_pb2.InclusionProofRequest(index=stranger),
                                                          timeout=20),
            subs, "GetInclusionProof")
        self.assertEqual(kind, "ERR", "an outsider proved another pair's record")
        # Control: the sender may prove its own record.
        proof = self.assertSucceeds(lambda: self.sender.audit.GetInclusionProof(
            audit_pb2.InclusionProofRequest(index=index), timeout=20), "the sender's own inclusion proof")
        self.assertEqual(proof.index, index)

    def recipient_delivery_id(self):
        """The delivery id uk/border-force's Receive stream hands out for the probe's message."""
        call = self.recipient.exchange.Receive(ex.ReceiveRequest(), timeout=15)
        try:
            for delivery in call:
                if delivery.envelope.message_id == self.env.message_id and delivery.envelope.sender == SENDER:
                    return delivery.delivery_id
        finally:
            call.cancel()
        self.fail("the recipient's Receive stream never delivered the probe's message")

    def test_outsider_confirm_and_resume(self):
        delivery_id = self.recipient_delivery_id()
        missing = same_length_stranger(delivery_id)
        subs = [(delivery_id, "<D>"), (missing, "<D>")]
        kind, _ = self.assertSameAnswer(
            lambda: self.outsider.exchange.Confirm(ex.ConfirmRequest(through_delivery_id=delivery_id), timeout=10),
            lambda: self.outsider.exchange.Confirm(ex.ConfirmRequest(through_delivery_id=missing), timeout=10),
            subs, "Confirm")
        self.assertEqual(kind, "ERR", "an outsider confirmed another party's delivery")

        def resume(did):
            def first():
                call = self.outsider.exchange.Receive(ex.ReceiveRequest(resume_after_delivery_id=did), timeout=5)
                try:
                    return next(iter(call))
                finally:
                    call.cancel()
            return first
        kind, _ = self.assertSameAnswer(resume(delivery_id), resume(missing), subs, "Receive resume_after_delivery_id")
        self.assertEqual(kind, "ERR")
        # The real recipient's delivery is untouched: it is handed out again.
        self.assertEqual(self.recipient_delivery_id(), delivery_id)

    def test_outsider_reply_correlation(self):
        """A reply names the message it answers: one answer for another pair's message and a missing one."""
        reply_id = unique("REPLY")  # Refused both times, so the same id can be used twice.

        def reply(correlation_id):
            env = envelope([SENDER], message_id=reply_id, case=self.env.case_reference, body="response",
                           correlation_id=correlation_id)
            return lambda: submit(self.outsider, env)
        subs = [(self.env.message_id, "<ID>"), (self.missing_id, "<ID>")]
        kind, _ = self.assertSameAnswer(reply(self.env.message_id), reply(self.missing_id), subs,
                                        "Submit with correlation_id")
        self.assertEqual(kind, "ERR", "an outsider replied into another pair's thread")

    def test_reply_correlating_to_two_messages_is_ambiguous(self):
        """uk/border-force received the same message id from uk/nca and from uk/bsc: a reply naming it is refused."""
        env = envelope([SENDER], case=self.env.case_reference, body="response", correlation_id=self.env.message_id)
        kind, got = outcome(lambda: submit(self.recipient, env))
        self.assertEqual(kind, "ERR", "a reply naming two messages was accepted")
        self.assertNoLeak(got)
        self.assertEqual(got.reason, "CORRELATION_AMBIGUOUS", got.describe())

    def test_reply_correlating_to_a_received_message_is_accepted(self):
        """Control: uk/border-force answers a message it received from uk/nca alone: accepted."""
        own = envelope([RECIPIENT])
        self.assertSucceeds(lambda: submit(self.sender, own), "a message to uk/border-force")
        env = envelope([SENDER], case=own.case_reference, body="response", correlation_id=own.message_id)
        receipt = self.assertSucceeds(lambda: submit(self.recipient, env), "a reply to a received message")
        self.assertEqual(receipt.message_id, env.message_id)

    def test_control_a_participant_is_answered(self):
        """Control for the comparisons: a real participant gets an answer, a stranger id a refusal."""
        got = self.assertSucceeds(lambda: self.other_recipient.exchange.Track(
            ex.TrackRequest(sender=SENDER, message_id=self.env.message_id), timeout=10), "Track by a recipient")
        self.assertEqual(got.message_id, self.env.message_id)
        kind, _ = outcome(lambda: self.other_recipient.exchange.Track(
            ex.TrackRequest(sender=SENDER, message_id=unique("NONE")), timeout=10))
        self.assertEqual(kind, "ERR")

    def test_another_partys_assertion_on_ones_own_certificate(self):
        """uk/nca's valid assertion for its officer, presented on another party's certificate: UNAUTHENTICATED.

        The outsider tracks and submits with it, a real recipient decides with it: each is refused for the assertion
        (its keys are the certificate's party's, its issuer is not), the outsider's Track the same for the real
        message as for a missing one, and nothing is decided or accepted."""
        officer = "NCA-OFF-7"
        borrowed = bearer(assertion(SENDER, officer))
        reasons = {"ASSERTION_SIGNATURE"}  # The caller's own party's keys: uk/nca's dev-1 does not verify it.
        unauth = grpc.StatusCode.UNAUTHENTICATED

        def track(message_id):
            return lambda: self.outsider.exchange.Track(ex.TrackRequest(
                sender=SENDER, message_id=message_id, officer=officer, justification="probe"), timeout=10,
                metadata=borrowed)
        subs = [(self.env.message_id, "<ID>"), (self.missing_id, "<ID>")]
        kind, got = self.assertSameAnswer(track(self.env.message_id), track(self.missing_id), subs,
                                          "Track with another party's assertion")
        self.assertEqual(kind, "ERR", "an outsider tracked with uk/nca's assertion")
        self.assertEqual(got.code, unauth, got.describe())
        self.assertIn(got.reason, reasons, got.describe())

        env = envelope([OTHER_RECIPIENT], officer=officer)
        got = self.assertRefused(lambda: self.outsider.exchange.Submit(ex.SubmitRequest(envelope=env), timeout=10,
                                                                       metadata=borrowed),
                                 unauth, what="Submit with another party's assertion")
        self.assertIn(got.reason, reasons, got.describe())

        mid = self.env.message_id
        got = self.assertRefused(lambda: self.recipient.exchange.Acknowledge(ex.AcknowledgeRequest(
            sender=SENDER, message_id=mid, decision=ex.REJECT, officer=officer, reason="probe"), timeout=10,
            metadata=borrowed), unauth, what="a recipient deciding with the sender's assertion")
        self.assertIn(got.reason, reasons, got.describe())
        records = log_records()
        accepted = [r for r in records if r.get("message_id") == env.message_id and r.get("outcome") == "accepted"]
        self.assertEqual(accepted, [], "the outsider's submission with uk/nca's assertion was accepted")
        decided = [r for r in records if r.get("action") == "acknowledge" and r.get("message_id") == mid
                   and r.get("actor_party") == RECIPIENT]
        self.assertTrue(decided, "the refused decision is not in the log")
        for r in decided:  # Refused, against the recipient's own party; nobody recorded as a verified officer.
            self.assertEqual((r.get("outcome"), r.get("officer_verified")), ("refused", False), r)
        track = self.assertSucceeds(lambda: self.sender.exchange.Track(
            ex.TrackRequest(message_id=mid), timeout=10), "Track by the sender")
        self.assertEqual({r.party: r.state for r in track.recipients}[RECIPIENT], ex.ACCEPTED)
