"""Unsigned is not verified (issue 11, item 8).

A gateway of our own (shipped config, fresh state) signs what it wrote and
stops cleanly; it is started again, accepts three more messages and is killed
(SIGKILL, as a crash or a pulled plug would) before its next checkpoint: the
log now ends in records no checkpoint covers. Offline `portcullis-audit verify
--log` must fail with kind `unsigned_tail` naming the range, and pass with
`--allow-unsigned-tail`. Started once more, the gateway records that it adopted
the unsigned range before signing further, and verify then passes and lists
the adopted range.
"""

import json
import os
import re

from probe_support import (PKI, GatewayProcess, ProbeCase, Party, envelope, last_checkpoint_size, log_records,
                           run_audit_tool, submit, unique)

SENDER, RECIPIENT = "uk/nca", "uk/bsc"
PUBLIC_KEY = os.path.join(PKI, "audit", "signing.pub")


def names_number(text, n):
    """`text` holds n as a number of its own (not inside a hex digest or a longer number)."""
    return re.search(rf"(?<![0-9A-Za-z]){n}(?![0-9A-Za-z])", text) is not None


def names_range(text, first, last):
    """`text` names the range first..last (its end inclusive, or exclusive as last + 1)."""
    return names_number(text, first) and (names_number(text, last) or names_number(text, last + 1))


class UnsignedTail(ProbeCase):
    @classmethod
    def setUpClass(cls):
        cls.gateway = GatewayProcess(unique("tail").lower())
        cls.log = os.path.join(cls.gateway.state, "audit.log")
        try:
            cls.make_unsigned_tail()
        except BaseException:
            cls.gateway.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.gateway.kill()

    @classmethod
    def send(cls, count):
        party = Party(SENDER, address=cls.gateway.address)
        try:
            for _ in range(count):
                submit(party, envelope([RECIPIENT]))
        finally:
            party.close()

    @classmethod
    def make_unsigned_tail(cls):
        cls.gateway.start()
        cls.send(4)
        rc = cls.gateway.stop()
        assert rc == 0, f"gateway exited {rc} on SIGTERM:\n{cls.gateway.output()}"
        cls.signed = last_checkpoint_size(cls.gateway.state)
        cls.signed_records = len(log_records(cls.gateway.state))
        assert cls.signed == cls.signed_records > 0, (
            f"a clean stop left {cls.signed_records} records but a checkpoint of {cls.signed}")
        # Again, and this time a crash right after the acceptance (checkpoints come every 10 s).
        cls.gateway.start()
        cls.send(3)
        cls.gateway.kill()
        cls.total = len(log_records(cls.gateway.state))
        cls.first_unsigned = last_checkpoint_size(cls.gateway.state)
        assert cls.first_unsigned < cls.total, (
            "no unsigned tail: a checkpoint covered the crashed run's records (timer fired within a second)")

    def verify(self, *extra):
        return run_audit_tool("verify", "--log", self.log, "--public-key", PUBLIC_KEY, *extra)

    def test_1_offline_verify_fails_on_unsigned_tail(self):
        last = self.total - 1
        rc, out, err = self.verify("--json")
        text = out.decode(errors="replace")
        self.assertNotEqual(rc, 0, f"verify passed a log whose records {self.first_unsigned}..{last} "
                                   f"no checkpoint signs:\n{text}{err.decode(errors='replace')}")
        self.assertEqual(rc, 1, f"verify exit code (1 = verification found a problem): {text}")
        report = json.loads(out)
        self.assertFalse(report["ok"])
        self.assertEqual(report["problem"]["kind"], "unsigned_tail", text)
        message = report["problem"]["message"]
        self.assertTrue(names_range(message, self.first_unsigned, last),
                        f"the problem does not name the unsigned range {self.first_unsigned}..{last}: {message!r}")
        # The table form says the same.
        rc, out, _ = self.verify()
        self.assertEqual(rc, 1)
        self.assertIn(b"unsigned_tail", out)

    def test_2_allow_unsigned_tail_passes(self):
        rc, out, err = self.verify("--allow-unsigned-tail")
        self.assertEqual(rc, 0, f"{out.decode(errors='replace')}{err.decode(errors='replace')}")
        rc, out, err = self.verify("--allow-unsigned-tail", "--json")
        self.assertEqual(rc, 0, out.decode(errors="replace"))
        self.assertTrue(json.loads(out)["ok"])

    def test_3_restart_adopts_the_tail_and_says_so(self):
        last = self.total - 1
        self.gateway.start()
        rc = self.gateway.stop()
        self.assertEqual(rc, 0, self.gateway.output())
        records = log_records(self.gateway.state)
        self.assertEqual([r["index"] for r in records[:self.total]], list(range(self.total)),
                         "the crashed run's records were not kept as they were")
        hidden = ("index", "time", "prev", "hash", "payload_sha256")
        adoption = [r for r in records[self.total:]
                    if names_range(json.dumps({k: v for k, v in r.items() if k not in hidden}),
                                   self.first_unsigned, last)]
        self.assertTrue(adoption, f"no record after the restart names the adopted range {self.first_unsigned}..{last}:"
                                  f" {records[self.total:]}")
        # Signed now, the log verifies, and verify lists the adopted range.
        rc, out, err = self.verify("--json")
        text = out.decode(errors="replace")
        self.assertEqual(rc, 0, text + err.decode(errors="replace"))
        report = json.loads(out)
        strings = json.dumps({k: v for k, v in report.items()
                              if k not in ("records", "checkpoints", "witness_checkpoints", "signed_size",
                                           "signed_root")})
        self.assertTrue(names_range(strings, self.first_unsigned, last),
                        f"verify does not list the adopted range {self.first_unsigned}..{last}: {text}")
