"""Refused handshakes cannot flood the log (issue 11, item 10).

A client with a revoked certificate (the dev PKI's fixtures/revoked: CN
fixture-revoked, URI spiffe://exchange.gov.uk/uk/nca) dials the gateway 20
times in a row, a new connection each time. Every handshake is refused, and the
log holds at most one record per (reason, subject) per interval with a count:
a burst of 20 within a second or two may leave a few records, never 20.
"""

import json
import os

import grpc

from probe_support import PKI, ProbeCase, Party, ex, log_records, outcome

ATTEMPTS = 20
SUBJECT = "fixture-revoked"


class HandshakeFlood(ProbeCase):
    def handshake_records(self):
        return [r for r in log_records() if r.get("action") == "handshake" and SUBJECT in json.dumps(r)]

    def test_a_burst_of_refused_handshakes_leaves_a_few_records(self):
        before = len(self.handshake_records())
        cert = os.path.join(PKI, "fixtures", "revoked")
        for i in range(ATTEMPTS):
            party = Party("uk/nca", cert_path=cert)
            kind, got = outcome(lambda: party.exchange.Track(ex.TrackRequest(message_id="BB-FLOOD"), timeout=5))
            party.close()
            self.assertEqual(kind, "ERR", f"attempt {i}: a revoked certificate was served")
            self.assertEqual(got.code, grpc.StatusCode.UNAVAILABLE, f"attempt {i}: {got.describe()}")
        added = len(self.handshake_records()) - before
        self.assertLessEqual(added, 3, f"{ATTEMPTS} refused handshakes of one subject wrote {added} audit records")
