"""Nobody can act as another party's officer (issue 13).

A holder of uk/nca's certificate, with every public file of the PKI and the
stand-in identity provider (portcullis-devtoken, run as a program as an agency
would run its IdP client), tries to act as a Border Force officer. The gateway
is the shared one: the shipped config, which requires every party's officer
assertions (`officer_assertions: required`, keys in the fresh PKI's
`officer-keys/<party>`). NCA's channel here carries no assertion of its own
(Party(..., officer_assertions=False)): each call sends exactly the token the
probe chose. Tokens are minted by the devtoken, or by hand (base64url JSON,
HMAC from the standard library) for the forms an IdP never makes.

(a) an assertion from Border Force's IdP (iss uk/border-force, its key):
    UNAUTHENTICATED ASSERTION_SIGNATURE: the keys are looked up by the
    certificate's party, never by the token (NCA's dev-1 key does not verify
    Border Force's signature; a gateway that took the key from the token's
    iss would verify it and answer ASSERTION_ISSUER instead);
(b) iss uk/nca, but signed with Border Force's key under kid dev-1: refused;
(c) NCA's own valid assertion, an envelope / request officer naming a Border
    Force officer: PERMISSION_DENIED OFFICER_MISMATCH;
(d) no assertion: UNAUTHENTICATED ASSERTION_REQUIRED; Receive and Confirm
    (pull daemons) need none;
(e) alg none (with and without a signature part), HS256 keyed with NCA's own
    public key, RS256: UNAUTHENTICATED;
(f) every party of the shipped config, without an assertion, is refused
    ASSERTION_REQUIRED on a call its kind may make (ListCase, an Audit query,
    an Admin call) and recorded against its party; with its IdP's assertion it
    is served, and the record (an auditor's and an operator's too) names the
    verified officer;
and no refusal carries a path, key material or the token; nothing refused is
in the log as accepted, and each refused Submit is recorded once, against
uk/nca (its certificate), with no verified officer. Control: NCA's valid
assertion for its own officer is accepted and recorded as verified.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import time

import grpc
from portcullis.v1 import admin_pb2, audit_pb2

from probe_support import (AUDIENCE, CONFIG, PKI, Party, ProbeCase, bearer, default_officer, envelope, ex,
                           idp_key, log_records, mint, read_bytes, unique)

NCA, BF = "uk/nca", "uk/border-force"
NCA_OFFICER, BF_OFFICER = "NCA-OFF-1001", "BF-LO-4471"
UNAUTH, DENIED = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED


def stem(party):
    return party.replace("/", "-")


def public_key(party):
    return os.path.join(PKI, "officer-keys", stem(party), "dev-1.EdDSA.pem")


def devtoken(key, issuer, officer, kid="dev-1"):
    """A one-time token (with a jti) from the stand-in identity provider, as an agency's client gets one."""
    return mint(key, issuer, officer, kid=kid)


def shipped_parties():
    """(id, kind) of every party in the shipped config, in order."""
    with open(CONFIG) as f:
        lines = f.read().split("\n")
    parties, current = [], None
    for line in lines:
        m = re.match(r"^\s*- id:\s*(\S+)", line)
        if m:
            current = m.group(1)
            continue
        m = re.match(r"^\s+kind:\s*(\S+)", line)
        if m and current:
            parties.append((current, m.group(1)))
            current = None
    ids = [line for line in lines if re.match(r"^\s*- id:", line)]
    if len(parties) < 2 or len(parties) != len(ids):
        raise AssertionError(f"{CONFIG}: {len(ids)} parties, {len(parties)} with a kind")
    return parties


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header, issuer=NCA, officer=NCA_OFFICER):
    """header.payload of a token made without any IdP (valid claims)."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": officer, "iat": now, "exp": now + 300,
              "jti": unique("JTI")}
    return b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())


class OfficerIdentity(ProbeCase):
    @classmethod
    def setUpClass(cls):
        cls.nca = Party(NCA, officer_assertions=False)  # Sends only the token each probe chooses.
        cls.secrets = [read_bytes(p).decode() for p in (idp_key(NCA), idp_key(BF), public_key(NCA), public_key(BF))]
        # Real messages for the request probes: one NCA sent (Track, ListCase), one NCA received (Acknowledge).
        cls.sent = envelope(["uk/bsc"], officer=NCA_OFFICER)
        cls.nca.exchange.Submit(ex.SubmitRequest(envelope=cls.sent), timeout=10,
                                metadata=bearer(devtoken(idp_key(NCA), NCA, NCA_OFFICER)))
        cls.received = envelope([NCA], officer=BF_OFFICER)
        bf = Party(BF, officer_assertions=False)
        try:
            bf.exchange.Submit(ex.SubmitRequest(envelope=cls.received), timeout=10,
                               metadata=bearer(devtoken(idp_key(BF), BF, BF_OFFICER)))
        finally:
            bf.close()

    @classmethod
    def tearDownClass(cls):
        cls.nca.close()

    # --- helpers

    def submit_as_nca(self, token, officer=BF_OFFICER, message_id=None):
        env = envelope(["uk/bsc"], message_id=message_id, officer=officer)
        metadata = bearer(token) if token is not None else None
        return lambda: self.nca.exchange.Submit(ex.SubmitRequest(envelope=env), timeout=10, metadata=metadata)

    def assertRefusedClean(self, fn, code, reasons, token, what):
        """Refused with `code` and one of `reasons`; no path (checked by assertRefused), key or token in the words."""
        got = self.assertRefused(fn, code, None, what)
        self.assertIn(got.reason, reasons, f"{what}: {got.describe()}")
        text = got.all_text()
        for secret in self.secrets:
            for chunk in re.findall(r"[A-Za-z0-9+/=]{16,}", secret):
                self.assertNotIn(chunk, text, f"{what}: key material in the refusal: {got.describe()}")
        self.assertNotIn("BEGIN", text, f"{what}: {got.describe()}")
        for part in (token or "").split("."):
            if len(part) >= 16:
                self.assertNotIn(part, text, f"{what}: the token is echoed: {got.describe()}")
        return got

    def assertNotAccepted(self, message_id, answer=None):
        """Nothing of `message_id` accepted; the refusal (`answer`) recorded against NCA, its officer unverified."""
        records = [r for r in log_records() if r.get("message_id") == message_id]
        self.assertEqual([r for r in records if r.get("outcome") == "accepted"], [], f"{message_id} was accepted")
        if answer is not None:
            refused = [r for r in records if r.get("outcome") == "refused" and r.get("reason") == answer.reason]
            self.assertEqual(len(refused), 1, f"{message_id}: the refusal is not in the log once: {records}")
            self.assertEqual(refused[0].get("actor_party"), NCA, refused[0])
            if answer.code == UNAUTH:  # No assertion verified: nobody is recorded as a verified officer.
                self.assertIs(refused[0].get("officer_verified"), False, refused[0])

    # --- the probes

    def test_0_control_own_officer_with_own_assertion_is_accepted_as_verified(self):
        msg = unique("MSG")
        receipt = self.assertSucceeds(self.submit_as_nca(devtoken(idp_key(NCA), NCA, NCA_OFFICER), NCA_OFFICER, msg),
                                      "NCA's own officer")
        self.assertEqual(receipt.sender, NCA)
        records = [r for r in log_records()
                   if r.get("message_id") == msg and r.get("outcome") == "accepted"]
        self.assertEqual(len(records), 1, records)
        self.assertEqual(records[0].get("actor_officer"), NCA_OFFICER)
        self.assertIs(records[0].get("officer_verified"), True, records[0])

    def test_a_another_partys_idp_assertion(self):
        token = devtoken(idp_key(BF), BF, BF_OFFICER)
        msg = unique("MSG")
        got = self.assertRefusedClean(self.submit_as_nca(token, BF_OFFICER, msg), UNAUTH,
                                      {"ASSERTION_SIGNATURE"}, token,
                                      "Border Force's IdP token on NCA's certificate")
        self.assertNotAccepted(msg, got)

    def test_b_own_issuer_signed_with_another_partys_key(self):
        token = devtoken(idp_key(BF), NCA, BF_OFFICER)
        msg = unique("MSG")
        got = self.assertRefusedClean(self.submit_as_nca(token, BF_OFFICER, msg), UNAUTH, {"ASSERTION_SIGNATURE"},
                                      token, "iss uk/nca signed with Border Force's key")
        self.assertNotAccepted(msg, got)

    def test_c_own_assertion_naming_another_officer_in_the_envelope(self):
        token = devtoken(idp_key(NCA), NCA, NCA_OFFICER)
        msg = unique("MSG")
        got = self.assertRefusedClean(self.submit_as_nca(token, BF_OFFICER, msg), DENIED, {"OFFICER_MISMATCH"},
                                      token, "envelope officer of another agency")
        self.assertNotAccepted(msg, got)

    def test_c_own_assertion_naming_another_officer_in_a_request(self):
        calls = {
            "Track": lambda md: self.nca.exchange.Track(
                ex.TrackRequest(message_id=self.sent.message_id, officer=BF_OFFICER, justification="probe"),
                timeout=10, metadata=md),
            "ListCase": lambda md: self.nca.exchange.ListCase(
                ex.ListCaseRequest(case_reference=self.sent.case_reference, officer=BF_OFFICER,
                                   justification="probe"),
                timeout=10, metadata=md),
            "Acknowledge": lambda md: self.nca.exchange.Acknowledge(
                ex.AcknowledgeRequest(sender=BF, message_id=self.received.message_id, decision=ex.ACCEPT,
                                      officer=BF_OFFICER),
                timeout=10, metadata=md),
        }
        for name, call in calls.items():
            token = devtoken(idp_key(NCA), NCA, NCA_OFFICER)
            self.assertRefusedClean(lambda: call(bearer(token)), DENIED, {"OFFICER_MISMATCH"}, token,
                                    f"{name} naming another agency's officer")

    def test_d_no_assertion_where_required(self):
        msg = unique("MSG")
        got = self.assertRefusedClean(self.submit_as_nca(None, NCA_OFFICER, msg), UNAUTH, {"ASSERTION_REQUIRED"},
                                      None, "Submit without an assertion")
        self.assertNotAccepted(msg, got)
        self.assertRefusedClean(
            lambda: self.nca.exchange.Track(ex.TrackRequest(message_id=self.sent.message_id, officer=NCA_OFFICER,
                                                            justification="probe"), timeout=10),
            UNAUTH, {"ASSERTION_REQUIRED"}, None, "Track without an assertion")
        # The message NCA received is still undecided: no decision was taken by anyone above.
        self.assertNotIn(self.received.message_id,
                         [r.get("message_id") for r in log_records()
                          if r.get("action") == "acknowledge" and r.get("outcome") == "acknowledged"])
        # Receive and Confirm (pull daemons) act for no officer: served without an assertion.
        call = self.nca.exchange.Receive(ex.ReceiveRequest(), timeout=15)
        delivery_id = None
        try:
            for delivery in call:
                if delivery.envelope.message_id == self.received.message_id:
                    delivery_id = delivery.delivery_id
                    break
        except grpc.RpcError as e:
            self.fail(f"Receive without an assertion: {e.code().name} {e.details()}")
        finally:
            call.cancel()
        self.assertTrue(delivery_id, "Receive without an assertion never delivered Border Force's message")
        self.assertSucceeds(lambda: self.nca.exchange.Confirm(ex.ConfirmRequest(through_delivery_id=delivery_id),
                                                              timeout=10), "Confirm without an assertion")

    def test_e_alg_none_and_hmac_with_the_public_key(self):
        pem = read_bytes(public_key(NCA))
        forged = {
            "alg none, no signature": (hand_made({"alg": "none", "typ": "JWT"}) + ".",
                                       {"ASSERTION_MALFORMED", "ASSERTION_ALGORITHM"}),
            "alg none, a signature part": (hand_made({"alg": "none", "kid": "dev-1"}) + "." + b64url(b"x" * 64),
                                           {"ASSERTION_ALGORITHM"}),
            "RS256": (hand_made({"alg": "RS256", "kid": "dev-1"}) + "." + b64url(b"x" * 256),
                      {"ASSERTION_ALGORITHM"}),
        }
        for header in ({"alg": "HS256", "kid": "dev-1"}, {"alg": "HS256"}):
            signing_input = hand_made(header)
            mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
            forged[f"HS256 keyed with the public key ({sorted(header)})"] = (signing_input + "." + b64url(mac),
                                                                            {"ASSERTION_ALGORITHM"})
        for what, (token, reasons) in forged.items():
            msg = unique("MSG")
            got = self.assertRefusedClean(self.submit_as_nca(token, NCA_OFFICER, msg), UNAUTH, reasons, token, what)
            self.assertNotAccepted(msg, got)

    def test_f_every_shipped_party_needs_its_idps_assertion(self):
        """Each party of the shipped config: refused without an assertion, served and recorded verified with one."""
        for party_id, kind in shipped_parties():
            if kind == "auditor":
                def call(p):
                    return p.audit.Query(audit_pb2.AuditQueryRequest(
                        filter=audit_pb2.AuditFilter(message_id=unique("NONE")), reason="probe: officer assertions",
                        page_size=1), timeout=10)
            elif kind == "operator":
                def call(p):
                    return p.admin.GetDeliveryStats(admin_pb2.GetDeliveryStatsRequest(), timeout=10)
            else:  # An agency or partner consults a case (no officer named: the verified one acts).
                def call(p):
                    return p.exchange.ListCase(ex.ListCaseRequest(case_reference=unique("CASE"),
                                                                  justification="probe: officer assertions"),
                                               timeout=10)
            with self.subTest(party_id):
                bare, vouched = Party(party_id, officer_assertions=False), Party(party_id)
                try:
                    seen = len(log_records())
                    self.assertRefusedClean(lambda: call(bare), UNAUTH, {"ASSERTION_REQUIRED"}, None,
                                            f"{party_id} ({kind}) without an assertion")
                    refused = [r for r in log_records()[seen:] if r.get("actor_party") == party_id]
                    self.assertTrue(refused, f"{party_id}: the refusal is not in the log")
                    for r in refused:
                        self.assertEqual((r.get("outcome"), r.get("reason"), r.get("officer_verified")),
                                         ("refused", "ASSERTION_REQUIRED", False), r)
                    seen = len(log_records())
                    self.assertSucceeds(lambda: call(vouched), f"{party_id} ({kind}) with its IdP's assertion")
                    served = [r for r in log_records()[seen:] if r.get("actor_party") == party_id]
                    self.assertTrue(served, f"{party_id}: the call is not in the log")
                    for r in served:  # An auditor's and an operator's own calls name the verified person too.
                        self.assertEqual((r.get("actor_officer"), r.get("officer_verified")),
                                         (default_officer(party_id), True), r)
                finally:
                    bare.close()
                    vouched.close()
