"""The probes' own tools, checked without a gateway: the refusal decoder, the leak detector and the assertion hook.

A probe that reads refusals wrongly proves nothing; these cases pin the
decoder to the contract's form (google.rpc.Status carrying ErrorInfo,
BadRequest and portcullis.v1.Refusal) and to the form before it (a bare
Refusal, which must NOT count as a reason). The assertion hook must give each
officer-taking call its party's token for the officer the call names, and
leave other calls and a probe's own header alone.
"""

import base64
import json
import time
import unittest

import grpc
from google.rpc import error_details_pb2, status_pb2
from portcullis.v1 import admin_pb2, audit_pb2

from probe_assertions import AssertionHook, acting_officer, takes_officer
from probe_support import AUDIENCE, Answer, assertion, default_officer, ex, leaks


def new_form(reason, field, message, **metadata):
    status = status_pb2.Status(code=3, message=f"{reason}: {field}: {message}")
    info = error_details_pb2.ErrorInfo(reason=reason, domain="portcullis.v1", metadata=dict(metadata, field=field))
    status.details.add().Pack(info)
    bad = error_details_pb2.BadRequest()
    bad.field_violations.add(field=field, description=message)
    status.details.add().Pack(bad)
    status.details.add().Pack(ex.Refusal(reason=reason, field=field, message=message))
    return status.SerializeToString()


class RefusalDecoder(unittest.TestCase):
    def test_reads_the_reason_from_error_info(self):
        a = Answer(grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_FIELD: envelope: field 77",
                   new_form("UNKNOWN_FIELD", "envelope", "field 77 is not in the contract", number="77"))
        self.assertEqual(a.reason, "UNKNOWN_FIELD")
        self.assertEqual(a.metadata()["number"], "77")
        self.assertEqual(a.refusal.field, "envelope")
        self.assertEqual(a.bad_request.field_violations[0].field, "envelope")
        self.assertIn("number=77", a.all_text())

    def test_error_info_of_another_domain_is_not_a_reason(self):
        status = status_pb2.Status(code=3)
        status.details.add().Pack(error_details_pb2.ErrorInfo(reason="X", domain="googleapis.com"))
        self.assertIsNone(Answer(grpc.StatusCode.INVALID_ARGUMENT, "", status.SerializeToString()).reason)

    def test_a_bare_legacy_refusal_is_not_a_reason(self):
        legacy = ex.Refusal(reason="FIELD_REQUIRED", field="envelope", message="is required").SerializeToString()
        a = Answer(grpc.StatusCode.INVALID_ARGUMENT, "FIELD_REQUIRED: envelope: is required", legacy)
        self.assertIsNone(a.reason)
        self.assertEqual(a.legacy_refusal.reason, "FIELD_REQUIRED")
        self.assertIn("legacy", a.describe())

    def test_comparison_ignores_only_per_call_ids_and_the_probes_identifiers(self):
        one = Answer(grpc.StatusCode.NOT_FOUND, "MESSAGE_NOT_FOUND: message_id: no message 'M-1'",
                     new_form("MESSAGE_NOT_FOUND", "message_id", "no message 'M-1'", incident_id="aaaa"))
        two = Answer(grpc.StatusCode.NOT_FOUND, "MESSAGE_NOT_FOUND: message_id: no message 'M-2'",
                     new_form("MESSAGE_NOT_FOUND", "message_id", "no message 'M-2'", incident_id="bbbb"))
        subs = [("M-1", "<ID>"), ("M-2", "<ID>")]
        self.assertEqual(one.comparable(subs), two.comparable(subs))
        other = Answer(grpc.StatusCode.PERMISSION_DENIED, "NOT_A_PARTICIPANT: message_id: not yours",
                       new_form("NOT_A_PARTICIPANT", "message_id", "not yours"))
        self.assertNotEqual(one.comparable(subs), other.comparable(subs))


class LeakDetector(unittest.TestCase):
    def test_internal_text_is_found(self):
        for text in ("cannot open /var/lib/portcullis/outbox.db", "sqlite3_step: database is locked",
                     "error:0A000086:SSL routines::certificate verify failed", "at exchange_service.cc:212",
                     "state '/tmp/x/audit.log' unreadable"):
            with self.subTest(text):
                self.assertNotEqual(leaks(text), [])

    def test_contract_words_are_not_leaks(self):
        for text in ("ROUTE_NOT_PERMITTED: envelope.recipients[0]: 'uk/nca' may not send to 'eu/europol'",
                     "certificate spiffe://exchange.gov.uk/uk/nca is revoked", "INTERNAL_ERROR: incident 1a2b3c"):
            with self.subTest(text):
                self.assertEqual(leaks(text), [])


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class _Details:
    def __init__(self, method, metadata=None):
        self.method, self.metadata = method, metadata
        self.timeout = self.credentials = self.wait_for_ready = self.compression = None


class AssertionHookTest(unittest.TestCase):
    EX = "/portcullis.v1.Exchange/"

    def test_the_officer_a_call_names(self):
        env = ex.Envelope(originating_officer="NCA-OFF-1")
        self.assertEqual(acting_officer(self.EX + "Submit", ex.SubmitRequest(envelope=env)), "NCA-OFF-1")
        self.assertEqual(acting_officer(self.EX + "Submit", ex.SubmitRequest(envelope=env).SerializeToString()),
                         "NCA-OFF-1")  # Raw bytes (raw_unary) are read as the call's request.
        self.assertEqual(acting_officer(self.EX + "Track", ex.TrackRequest(officer="-2-3")), "-2-3")
        self.assertEqual(acting_officer(self.EX + "Acknowledge", ex.AcknowledgeRequest(officer="BF-1")), "BF-1")
        self.assertEqual(acting_officer("/portcullis.v1.Admin/CancelDeadLetter",
                                        admin_pb2.CancelDeadLetterRequest(officer="OPS-1")), "OPS-1")
        # None: the party's default officer.
        self.assertIsNone(acting_officer(self.EX + "ListCase", ex.ListCaseRequest()))
        self.assertIsNone(acting_officer(self.EX + "Track", ex.TrackRequest(officer="\x1b[31mX\r")))
        self.assertIsNone(acting_officer(self.EX + "Submit", b"\xff" * 8))
        self.assertIsNone(acting_officer("/portcullis.v1.Audit/Query", audit_pb2.AuditQueryRequest(
            filter=audit_pb2.AuditFilter(officer="NCA-OFF-1"))))  # A filter, not who acts.

    def test_which_calls_take_an_officer(self):
        for name in ("Submit", "Track", "Acknowledge", "ListCase"):
            self.assertTrue(takes_officer(self.EX + name), name)
        for method in ("/portcullis.v1.Audit/GetCheckpoint", "/portcullis.v1.Admin/GetDeliveryStats"):
            self.assertTrue(takes_officer(method), method)
        for name in ("Receive", "Confirm"):
            self.assertFalse(takes_officer(self.EX + name), name)

    def test_the_hook_adds_the_partys_token_and_leaves_the_rest(self):
        hook = AssertionHook("uk/bsc")
        got = dict(hook._details(_Details(self.EX + "Track"), ex.TrackRequest(officer="BSC-OFF-9")).metadata)
        claims = claims_of(got["authorization"].removeprefix("Bearer "))
        self.assertEqual((claims["iss"], claims["aud"], claims["sub"]), ("uk/bsc", AUDIENCE, "BSC-OFF-9"))
        self.assertNotIn("jti", claims)  # Reusable: no one-time id.
        self.assertLessEqual(claims["exp"] - claims["iat"], 900)
        self.assertGreater(claims["exp"], time.time() + 600)
        # Cached: the same token again for the same party and officer.
        self.assertEqual(assertion("uk/bsc", "BSC-OFF-9"), got["authorization"].removeprefix("Bearer "))
        got = dict(hook._details(_Details(self.EX + "ListCase"), ex.ListCaseRequest()).metadata)
        self.assertEqual(claims_of(got["authorization"].split(" ", 1)[1])["sub"], default_officer("uk/bsc"))
        # A probe's own header stays as it is; Receive and Confirm get none.
        own = (("authorization", "Bearer mine"),)
        self.assertEqual(list(hook._details(_Details(self.EX + "Track", own), ex.TrackRequest()).metadata), list(own))
        self.assertEqual(list(hook._details(_Details(self.EX + "Confirm"), ex.ConfirmRequest()).metadata), [])


if __name__ == "__main__":
    unittest.main()
