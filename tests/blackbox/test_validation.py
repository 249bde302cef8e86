"""Input validation: nothing unvalidated crosses (issue 11, item 2; officer checks of item 7).

A careless or hostile client sends bytes the gateway did not expect: fields
the contract does not have (at the top and nested), bytes that are not a
request at all, text that is only whitespace, timestamps outside what
google.protobuf.Timestamp allows, empty entries in repeated fields, control
characters in officer ids. Each must be refused INVALID_ARGUMENT with a reason
and the field named, never stored, and the refusal must hold no internal text.
(An officer id holding control characters cannot be vouched for: with the shipped
config's required assertions it is refused OFFICER_MISMATCH or ASSERTION_SUBJECT.)
Calls carry the party's own officer assertion (probe_support.Party's default).
"""

import grpc

from probe_support import (ProbeCase, Party, assertion, bearer, envelope, ex, field_bytes, field_varint, idp_key,
                           mint, outcome, submit, unique)

CALLER, RECIPIENT = "uk/nca", "uk/bsc"
SUBMIT = "/portcullis.v1.Exchange/Submit"
TRACK = "/portcullis.v1.Exchange/Track"
MAX_SECONDS = 253402300799   # 9999-12-31T23:59:59Z, the largest valid Timestamp.
MIN_SECONDS = -62135596800   # 0001-01-01T00:00:00Z, the smallest.


class Validation(ProbeCase):
    @classmethod
    def setUpClass(cls):
        cls.nca = Party(CALLER)
        cls.bsc = Party(RECIPIENT)

    @classmethod
    def tearDownClass(cls):
        cls.nca.close()
        cls.bsc.close()

    # -- helpers ------------------------------------------------------------

    def assertNotStored(self, env):
        """The sender's own view of the case holds no message with env's id, and Track finds nothing."""
        listed = self.assertSucceeds(lambda: self.nca.exchange.ListCase(ex.ListCaseRequest(
            case_reference=env.case_reference, officer="BB-OFFICER-1", justification="probe: was it stored?"),
            timeout=10), "ListCase of the refused message's case")
        self.assertEqual([m.message_id for m in listed.messages], [], "a refused envelope was stored")
        kind, got = outcome(lambda: self.nca.exchange.Track(
            ex.TrackRequest(message_id=env.message_id), timeout=10))
        self.assertEqual(kind, "ERR", "Track found a refused envelope")

    def assertInvalid(self, env, field, reason=None, what=""):
        """Submitting env is refused INVALID_ARGUMENT naming `field`; nothing is stored."""
        got = self.assertRefused(lambda: submit(self.nca, env), grpc.StatusCode.INVALID_ARGUMENT, reason, what)
        self.assertIsNotNone(got.error_info, f"{what}: {got.describe()}")
        self.assertIn(field, got.all_text(), f"{what}: the refusal does not name {field}: {got.describe()}")
        self.assertNotStored(env)
        return got

    def submit_raw(self, payload):
        return self.nca.raw_unary(SUBMIT, payload)

    # -- unknown fields -----------------------------------------------------

    def test_unknown_field_at_top_level_is_refused(self):
        env = envelope([RECIPIENT])
        payload = ex.SubmitRequest(envelope=env).SerializeToString() + field_varint(999, 1)
        got = self.assertRefused(lambda: self.submit_raw(payload), grpc.StatusCode.INVALID_ARGUMENT,
                                 "UNKNOWN_FIELD", "SubmitRequest with field 999")
        self.assertIn("999", got.all_text(), f"the refusal does not name field number 999: {got.describe()}")
        self.assertNotStored(env)

    def test_unknown_field_in_envelope_is_refused(self):
        env = envelope([RECIPIENT])
        env_bytes = env.SerializeToString() + field_bytes(77, b"smuggled")
        payload = field_bytes(1, env_bytes)  # SubmitRequest.envelope = 1
        got = self.assertRefused(lambda: self.submit_raw(payload), grpc.StatusCode.INVALID_ARGUMENT,
                                 "UNKNOWN_FIELD", "envelope with field 77")
        self.assertIn("77", got.all_text(), got.describe())
        self.assertIn("envelope", got.all_text(), got.describe())
        self.assertNotStored(env)

    def test_unknown_field_deep_in_crossing_is_refused(self):
        # envelope.case_referral.crossing gets a field 15 it does not have, by hand:
        # Crossing bytes + tag, inside CaseReferral.crossing (2), inside Envelope.case_referral (20).
        env = envelope([RECIPIENT])
        referral = env.case_referral
        referral.crossing.vessel.type = "rigid inflatable boat"
        referral.crossing.departure_place.description = "beach west of Gravelines"
        crossing_bytes = referral.crossing.SerializeToString() + field_bytes(15, b"hidden payload")
        referral_bytes = ex.CaseReferral(summary=referral.summary,
                                         requested_action=referral.requested_action).SerializeToString()
        referral_bytes += field_bytes(2, crossing_bytes)
        outer = ex.Envelope()
        outer.CopyFrom(env)
        outer.ClearField("case_referral")
        env_bytes = outer.SerializeToString() + field_bytes(20, referral_bytes)
        payload = field_bytes(1, env_bytes)
        # Sanity: the bytes are a valid SubmitRequest carrying our referral (plus the unknown field).
        parsed = ex.SubmitRequest.FromString(payload)
        self.assertEqual(parsed.envelope.case_referral.crossing.vessel.type, "rigid inflatable boat")
        got = self.assertRefused(lambda: self.submit_raw(payload), grpc.StatusCode.INVALID_ARGUMENT,
                                 "UNKNOWN_FIELD", "crossing with field 15")
        text = got.all_text()
        self.assertIn("15", text, f"the refusal does not name field number 15: {got.describe()}")
        self.assertIn("crossing", text, f"the refusal does not name the path to crossing: {got.describe()}")
        self.assertNotStored(env)

    def test_unknown_field_in_a_repeated_person_is_refused(self):
        env = envelope([RECIPIENT])
        env.case_referral.persons.add(family_name="DOE", role=ex.PASSENGER)
        person_bytes = ex.Person(family_name="ROE", role=ex.PILOT).SerializeToString() + field_varint(40, 7)
        env_bytes = env.SerializeToString()
        # A second person, appended as a raw CaseReferral.persons (3) inside Envelope.case_referral (20):
        # protobuf merges repeated sub-message fields by appending.
        env_bytes += field_bytes(20, field_bytes(3, person_bytes))
        payload = field_bytes(1, env_bytes)
        self.assertEqual(len(ex.SubmitRequest.FromString(payload).envelope.case_referral.persons), 2)
        got = self.assertRefused(lambda: self.submit_raw(payload), grpc.StatusCode.INVALID_ARGUMENT,
                                 "UNKNOWN_FIELD", "persons[1] with field 40")
        self.assertIn("40", got.all_text(), got.describe())
        self.assertIn("persons", got.all_text(), got.describe())
        self.assertNotStored(env)

    # -- bytes that are not a request ----------------------------------------

    def test_garbage_bytes_are_malformed_request(self):
        cases = {
            "0xff bytes": b"\xff" * 32,
            "truncated length": b"\x0a\x64" + b"short",           # envelope says 100 bytes, 5 follow
            "bad wire type": b"\x0f\x01\x02\x03",                 # field 1, wire type 7
            "endless varint": b"\x08" + b"\x80" * 11,
        }
        for name, payload in cases.items():
            with self.subTest(name):
                self.assertRefused(lambda: self.submit_raw(payload), grpc.StatusCode.INVALID_ARGUMENT,
                                   "MALFORMED_REQUEST", f"Submit with {name}")

    def test_garbage_bytes_on_track_are_malformed_request(self):
        self.assertRefused(lambda: self.nca.raw_unary(TRACK, b"\x12\xff\xff\xff\xff\x0f"),
                           grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST", "Track with garbage")

    # -- degenerate values ----------------------------------------------------

    def test_whitespace_only_required_text_is_refused(self):
        cases = [
            ("envelope.justification.legal_basis", lambda e: setattr(e.justification, "legal_basis", "   ")),
            ("envelope.case_referral.summary", lambda e: setattr(e.case_referral, "summary", " \t \n ")),
            ("envelope.case_referral.requested_action",
             lambda e: setattr(e.case_referral, "requested_action", "\n")),
        ]
        for field, spoil in cases:
            with self.subTest(field):
                env = envelope([RECIPIENT])
                spoil(env)
                self.assertInvalid(env, field, what=f"whitespace-only {field}")

    def test_whitespace_only_question_is_refused(self):
        env = envelope([RECIPIENT], body="request_for_information")
        env.request_for_information.question = "\t\t"
        self.assertInvalid(env, "envelope.request_for_information.question", what="whitespace-only question")

    def test_out_of_range_timestamps_are_refused(self):
        cases = [
            ("envelope.created_at", lambda e: setattr(e.created_at, "seconds", MIN_SECONDS - 1)),
            ("envelope.case_referral.crossing.departure_time",
             lambda e: setattr(e.case_referral.crossing.departure_time, "seconds", MAX_SECONDS + 1)),
            ("envelope.case_referral.crossing.interception_time",
             lambda e: setattr(e.case_referral.crossing.interception_time, "nanos", -1)),
        ]
        for field, spoil in cases:
            with self.subTest(field):
                env = envelope([RECIPIENT])
                spoil(env)
                self.assertInvalid(env, field, what=f"out-of-range {field}")

    def test_out_of_range_answer_by_is_refused(self):
        env = envelope([RECIPIENT], body="request_for_information")
        env.request_for_information.answer_by.seconds = MAX_SECONDS + 86400 * 400
        self.assertInvalid(env, "envelope.request_for_information.answer_by", what="answer_by beyond year 9999")

    def test_empty_repeated_entries_are_refused(self):
        cases = [
            ("envelope.recipients[0]", lambda e: e.recipients.insert(0, "")),
            ("envelope.recipients[1]", lambda e: e.recipients.append("   ")),
            ("envelope.case_referral.persons[0].documents[0]",
             lambda e: e.case_referral.persons.add(family_name="DOE", role=ex.PASSENGER, documents=[""])),
            ("envelope.case_referral.persons[0].aliases[1]",
             lambda e: e.case_referral.persons.add(family_name="DOE", role=ex.PASSENGER, aliases=["Kaka", " "])),
        ]
        for field, spoil in cases:
            with self.subTest(field):
                env = envelope([RECIPIENT])
                spoil(env)
                self.assertInvalid(env, field, what=f"empty entry {field}")

    def test_empty_route_entry_is_refused(self):
        env = envelope([RECIPIENT], body="intelligence_report")
        env.intelligence_report.routes.extend(["Gravelines - Dungeness", ""])
        self.assertInvalid(env, "envelope.intelligence_report.routes[1]", what="empty route entry")

    # -- officer ids on every RPC that takes one (item 7) ---------------------

    def test_officer_is_format_checked_on_every_rpc(self):
        """An officer id holding ESC/CR is refused on Track, ListCase and Acknowledge, whoever vouches.

        Every party's assertions are required (the shipped config), and no assertion can vouch for such an id: with
        the caller's valid assertion for one of its own officers, the request's officer is refused PERMISSION_DENIED
        OFFICER_MISMATCH naming `officer` (the gateway matches it against the verified officer before the format);
        with an assertion whose `sub` is the hostile id itself (the IdP signed it), UNAUTHENTICATED
        ASSERTION_SUBJECT. (INVALID_ARGUMENT FIELD_FORMAT is the answer to a party without assertions, an `optional`
        one; the shipped config has none.) The refused Acknowledges decide nothing."""
        env = envelope([RECIPIENT])
        self.assertSucceeds(lambda: submit(self.nca, env), "a plain submission")
        hostile = "\x1b[2J\x1b[31mSUPERINTENDENT\r"
        calls = {
            "Track": (CALLER, lambda md: self.nca.exchange.Track(ex.TrackRequest(
                message_id=env.message_id, officer=hostile, justification="probe"), timeout=10, metadata=md)),
            "ListCase": (CALLER, lambda md: self.nca.exchange.ListCase(ex.ListCaseRequest(
                case_reference=env.case_reference, officer=hostile, justification="probe"), timeout=10,
                metadata=md)),
            "Acknowledge": (RECIPIENT, lambda md: self.bsc.exchange.Acknowledge(ex.AcknowledgeRequest(
                sender=CALLER, message_id=env.message_id, decision=ex.ACCEPT, officer=hostile), timeout=10,
                metadata=md)),
        }
        for name, (party, call) in calls.items():
            with self.subTest(name, vouched="own officer"):
                got = self.assertRefused(lambda: call(bearer(assertion(party))), grpc.StatusCode.PERMISSION_DENIED,
                                         "OFFICER_MISMATCH", f"{name} with a hostile officer")
                self.assertEqual(got.metadata().get("field"), "officer", got.describe())
            with self.subTest(name, vouched="the hostile id"):
                token = mint(idp_key(party), party, hostile)
                got = self.assertRefused(lambda: call(bearer(token)), grpc.StatusCode.UNAUTHENTICATED,
                                         "ASSERTION_SUBJECT", f"{name} with an assertion for a hostile officer")
                self.assertNotIn("\x1b", got.all_text(), got.describe())
        # The refused Acknowledges decided nothing.
        track = self.assertSucceeds(lambda: self.nca.exchange.Track(ex.TrackRequest(message_id=env.message_id),
                                                                    timeout=10), "Track by the sender")
        self.assertEqual([r.state for r in track.recipients], [ex.ACCEPTED])

    def test_a_valid_envelope_is_accepted(self):
        """Control: the envelope every probe above spoils is itself accepted."""
        env = envelope([RECIPIENT], message_id=unique("OK"))
        receipt = self.assertSucceeds(lambda: submit(self.nca, env), "the unspoilt envelope")
        self.assertEqual(receipt.message_id, env.message_id)
        self.assertEqual(receipt.sender, CALLER)
