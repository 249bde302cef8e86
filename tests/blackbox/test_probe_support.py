"""The probes' own tools, checked without a gateway: the refusal decoder and the leak detector.

A probe that reads refusals wrongly proves nothing; these cases pin the
decoder to the contract's form (google.rpc.Status carrying ErrorInfo,
BadRequest and portcullis.v1.Refusal) and to the form before it (a bare
Refusal, which must NOT count as a reason).
"""

import unittest

import grpc
from google.rpc import error_details_pb2, status_pb2

from probe_support import Answer, ex, leaks


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


if __name__ == "__main__":
    unittest.main()
