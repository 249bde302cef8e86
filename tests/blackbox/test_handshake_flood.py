"""Refused handshakes cannot flood the log (issue 11, item 10).

A client with a revoked certificate (the dev PKI's fixtures/revoked: CN
fixture-revoked, URI spiffe://exchange.gov.uk/uk/nca) dials the gateway 20
times in a row, a new connection each time. Every handshake is refused, and the
log holds at most one record per (reason, subject) per interval with a count:
the first refusal at once (count 1, with the subject, the URI SANs the
certificate claims and the reason), the rest of the burst as one later record
whose count says how many.

Against the shared gateway (shipped config, 60 s interval) the burst leaves the
first record only, the rest still being counted. Against a gateway of our own,
the shipped config with tls.handshake_audit_interval_seconds: 1, the later
record carrying the count appears within seconds, and once it is stopped (the
counts are flushed at shutdown) the counts add up to the whole burst.
"""

import json
import os
import re
import time

import grpc

from probe_support import (CONFIG, PKI, WORK, GatewayProcess, Party, ProbeCase, ex, log_records, outcome,
                           unique)

ATTEMPTS = 20
SUBJECT = "fixture-revoked"
SUBJECT_IN_DETAIL = r"subject=[^;]*\bCN=fixture-revoked\b"  # The certificate's subject DN.
CLAIMED_URI = "spiffe://exchange.gov.uk/uk/nca"
REASON = "CERT_REVOKED"
REVOKED_CERT = os.path.join(PKI, "fixtures", "revoked")


def handshake_records(state=None):
    return [r for r in log_records(state) if r.get("action") == "handshake" and SUBJECT in json.dumps(r)]


def config_with_interval(seconds):
    """The shipped config, as is but for tls.handshake_audit_interval_seconds."""
    with open(CONFIG) as f:
        text = f.read()
    text, n = re.subn(r"^(\s*)(reload_interval_seconds:.*)$",
                      rf"\1\2\n\1handshake_audit_interval_seconds: {seconds}", text, count=1, flags=re.MULTILINE)
    if n != 1:
        raise AssertionError(f"{CONFIG} has no tls.reload_interval_seconds to add the setting after")
    path = os.path.join(WORK, unique("handshake-config").lower() + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


class HandshakeFlood(ProbeCase):
    def burst(self, address=None):
        for i in range(ATTEMPTS):
            party = Party("uk/nca", address=address, cert_path=REVOKED_CERT)
            kind, got = outcome(lambda: party.exchange.Track(ex.TrackRequest(message_id="BB-FLOOD"), timeout=5))
            party.close()
            self.assertEqual(kind, "ERR", f"attempt {i}: a revoked certificate was served")
            self.assertEqual(got.code, grpc.StatusCode.UNAVAILABLE, f"attempt {i}: {got.describe()}")

    def assertFirstRecord(self, record):
        """The first refusal of a subject: recorded at once, with subject, URI SANs and reason."""
        what = json.dumps(record)
        self.assertEqual(record.get("outcome"), "refused", what)
        self.assertEqual(record.get("reason"), REASON, what)
        self.assertEqual(record.get("count"), 1, what)
        detail = record.get("detail", "")
        self.assertRegex(detail, SUBJECT_IN_DETAIL, what)
        self.assertIn(CLAIMED_URI, detail, what)  # uri_sans= (claimed_uri_sans= once not taken as an identity)
        self.assertIn("inbound", detail, what)

    def test_a_burst_of_refused_handshakes_leaves_a_few_records(self):
        before = len(handshake_records())
        self.burst()
        added = handshake_records()[before:]
        self.assertLessEqual(len(added), 3, f"{ATTEMPTS} refused handshakes of one subject wrote {len(added)} records")
        # Not silence either: the refusal is recorded (the first of a subject at once, or a count of them).
        self.assertTrue(added or before, "no handshake record at all for the refused certificate")
        for r in handshake_records():
            self.assertEqual(r.get("reason"), REASON, json.dumps(r))
            self.assertRegex(r.get("detail", ""), SUBJECT_IN_DETAIL, json.dumps(r))
            self.assertIn(CLAIMED_URI, r.get("detail", ""), json.dumps(r))
            self.assertGreaterEqual(r.get("count", 0), 1, json.dumps(r))
        firsts = [r for r in handshake_records() if r.get("count") == 1]
        self.assertTrue(firsts, "no first (count 1) record of the refused subject")
        self.assertFirstRecord(firsts[0])

    def test_the_rest_of_a_burst_is_one_later_record_with_its_count(self):
        gateway = GatewayProcess(unique("flood").lower(), config=config_with_interval(1)).start()
        try:
            self.burst(gateway.address)
            records = handshake_records(gateway.state)
            self.assertGreaterEqual(len(records), 1, "the first refused handshake was not recorded at once")
            self.assertFirstRecord(records[0])
            # The rest, counted, within a few intervals (1 s each), while the gateway runs.
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and sum(r.get("count", 0) for r in records) < ATTEMPTS:
                time.sleep(0.25)
                records = handshake_records(gateway.state)
            counts = [r.get("count") for r in records]
            self.assertGreaterEqual(len(records), 2, f"no later record with a count: {counts}")
            self.assertEqual(sum(counts), ATTEMPTS, f"the counts do not add up to the burst: {counts}")
            # One record per interval: a 20-handshake burst fits in a few seconds, so a few records.
            self.assertLessEqual(len(records), 6, f"one record per refusal or nearly: {counts}")
            later = records[1:]
            self.assertTrue(any(r["count"] > 1 for r in later), f"no later record counts several refusals: {counts}")
            for r in later:
                what = json.dumps(r)
                self.assertEqual(r.get("reason"), REASON, what)
                self.assertRegex(r.get("detail", ""), SUBJECT_IN_DETAIL, what)
                self.assertIn(CLAIMED_URI, r.get("detail", ""), what)
                self.assertIn("more refused handshake(s) within 1 s", r.get("detail", ""), what)
        finally:
            self.assertEqual(gateway.stop(), 0, gateway.output()[-2000:])
        # Nothing was left uncounted at shutdown either.
        self.assertEqual(sum(r.get("count", 0) for r in handshake_records(gateway.state)), ATTEMPTS)
