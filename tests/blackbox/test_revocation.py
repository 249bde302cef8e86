"""Revocation cuts a party off now (issue 11, item 9).

A gateway of our own runs on a copy of the PKI. uk/nca opens one channel,
calls successfully and holds a Receive stream open on it. Then Issuing CA 1
revokes uk/nca's certificate: a new CRL replaces crl/intermediate.crl.pem, as
an operator would publish it. Within the reload interval
(tls.reload_interval_seconds, 5 s in the shipped config, plus a little slack)
the next call on the SAME channel must fail UNAUTHENTICATED and the open stream
must end UNAUTHENTICATED. Controls: a new connection with the revoked
certificate is refused, and another party is still served (the new CRL is good).
"""

import os
import shutil
import threading
import time

import grpc

from probe_support import (PKI, RELOAD_INTERVAL_SECONDS, GatewayProcess, ProbeCase, Party, ex, outcome,
                           revoke_party, unique)

REVOKED, BYSTANDER = "uk/nca", "uk/bsc"
SLACK_SECONDS = 3


class Revocation(ProbeCase):
    revoked_at = None

    @classmethod
    def setUpClass(cls):
        name = unique("revocation").lower()
        cls.gateway = GatewayProcess(name)
        cls.pki = os.path.join(os.path.dirname(cls.gateway.state), "pki")
        shutil.copytree(PKI, cls.pki, symlinks=True)  # This probe changes crl/: its own copy.
        cls.gateway.pki = cls.pki
        cls.gateway.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.gateway.stop()
        assert rc == 0, f"gateway exited {rc}:\n{cls.gateway.output()}"

    def list_case(self, party):
        return lambda: party.exchange.ListCase(ex.ListCaseRequest(
            case_reference="BB-REVOCATION", officer="NCA-OFF-1", justification="revocation probe"), timeout=5)

    def test_revoked_party_is_cut_off_on_its_live_connection(self):
        party = Party(REVOKED, address=self.gateway.address, pki=self.pki)
        self.addCleanup(party.close)
        self.assertSucceeds(self.list_case(party), "a call before the revocation")

        # A Receive stream held open on the same channel.
        stream = party.exchange.Receive(ex.ReceiveRequest(), timeout=60)
        stream_end = {}

        def drain():
            try:
                for _ in stream:
                    pass
                stream_end["code"] = grpc.StatusCode.OK
            except grpc.RpcError as e:
                stream_end["code"] = e.code()
            stream_end["at"] = time.monotonic()
        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        self.addCleanup(stream.cancel)
        # The stream is open (not refused at once) before the revocation.
        time.sleep(0.5)
        self.assertNotIn("code", stream_end, f"the Receive stream ended before the revocation: {stream_end}")
        self.assertSucceeds(self.list_case(party), "a call with the stream open")

        revoke_party(self.pki, REVOKED)
        revoked_at = type(self).revoked_at = time.monotonic()
        deadline = revoked_at + RELOAD_INTERVAL_SECONDS + SLACK_SECONDS

        # Call on the SAME channel until it is refused or the reload interval (+ slack) is over.
        first_refusal = None
        answered_ok = 0
        while time.monotonic() < deadline:
            kind, got = outcome(self.list_case(party))
            if kind == "ERR":
                first_refusal = got
                break
            answered_ok += 1
            time.sleep(0.25)
        elapsed = time.monotonic() - revoked_at
        self.assertIsNotNone(first_refusal, f"the revoked party's live connection was still served {answered_ok} "
                                            f"time(s) over {elapsed:.1f} s after its certificate was revoked")
        self.assertNoLeak(first_refusal)
        self.assertEqual(first_refusal.code, grpc.StatusCode.UNAUTHENTICATED, first_refusal.describe())
        # And it stays cut off.
        self.assertRefused(self.list_case(party), grpc.StatusCode.UNAUTHENTICATED, what="a later call")

        reader.join(max(0.0, deadline - time.monotonic()) + 1)
        self.assertIn("code", stream_end, "the revoked party's Receive stream is still open")
        self.assertEqual(stream_end["code"], grpc.StatusCode.UNAUTHENTICATED)
        self.assertLessEqual(stream_end["at"] - revoked_at, RELOAD_INTERVAL_SECONDS + SLACK_SECONDS)

    def test_zz_controls_after_the_revocation(self):
        """Runs after the revocation (alphabetical order): the CRL took effect and is a good CRL."""
        if type(self).revoked_at is None:  # Run on its own (-k controls): revoke here.
            revoke_party(self.pki, REVOKED)
            type(self).revoked_at = time.monotonic()
        deadline = type(self).revoked_at + RELOAD_INTERVAL_SECONDS + SLACK_SECONDS
        while True:
            fresh = Party(REVOKED, address=self.gateway.address, pki=self.pki)  # A new connection each time.
            kind, got = outcome(self.list_case(fresh))
            fresh.close()
            if kind == "ERR" or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        self.assertEqual(kind, "ERR", "a new connection with the revoked certificate was served")
        self.assertIn(got.code, (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED), got.describe())
        bystander = Party(BYSTANDER, address=self.gateway.address, pki=self.pki)
        self.addCleanup(bystander.close)
        self.assertSucceeds(self.list_case(bystander), "another party after the new CRL")
