"""Auditors' screens cannot be forged (issue 11, item 7).

Parties put hostile text wherever the contract takes free text or ids:
terminal escapes (CSI colour, screen clear, OSC 8 hyperlinks), carriage
returns that overwrite a line, C1 control characters, NUL, and spreadsheet
formulas (cells starting = + - @). Some are refused at the edge; whatever is
accepted (or recorded with a refusal) lands in the audit log. Then the
auditor's tool (portcullis-audit search / show / export csv / export jsonl on
the gateway's log) must print no raw control character and no live formula
cell. The formula texts are ordinary printable text and must be accepted, so
the probe cannot pass by the hostile text never reaching the tool. Calls carry
the party's assertion for the officer they name (probe_support.Party's default);
a hostile officer id, which no assertion vouches for, is refused OFFICER_MISMATCH
and recorded as claimed.
"""

import csv
import io
import json
import os

import grpc

from probe_support import (STATE, ProbeCase, Party, envelope, ex, log_records, outcome, run_audit_tool, submit,
                           unique)

SENDER, RECIPIENT = "uk/nca", "uk/bsc"
LOG = os.path.join(STATE, "audit.log")

ESC_COLOUR = "\x1b[31mforged: approved by the DPO\x1b[0m"
ESC_CLEAR = "\x1b[2J\x1b[HINDEX 0 OK"
OSC_LINK = "\x1b]8;;http://evil.example/\x1b\\click here\x1b]8;;\x1b\\"
CR_OVERWRITE = "insufficient grounds\rACCEPTED by SUPERINTENDENT"
C1_CSI = "\u009b31mC1-forged\u009b0m"
NUL = "before\x00after"
FORMULA_EQ = '=HYPERLINK("http://evil.example/x","click me")'
FORMULA_PLUS = "+cmd|' /C calc'!A0"
FORMULA_AT = "@SUM(1+9)*cmd|' /C calc'!A0"
FORMULA_MINUS_ID = "-2-3"          # A valid officer id (letters, digits, . _ : -) that a spreadsheet evaluates.

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def control_bytes(data, c1=True):
    """Raw control characters in tool output: C0 except newline, DEL, and (c1) UTF-8 encoded C1 (U+0080-U+009F)."""
    found = []
    for i, b in enumerate(data):
        if (b < 0x20 and b != 0x0A) or b == 0x7F:
            found.append((i, hex(b)))
        elif c1 and b == 0xC2 and i + 1 < len(data) and 0x80 <= data[i + 1] <= 0x9F:
            found.append((i, "C1 " + hex(data[i + 1])))
    return found


class AuditorOutput(ProbeCase):
    @classmethod
    def setUpClass(cls):
        cls.sender = Party(SENDER)
        cls.recipient = Party(RECIPIENT)
        cls.case = unique("CASE")
        cls.messages = []
        cls.outcomes = {}  # vector name -> ("OK", response) | ("ERR", Answer)

        def send(name, spoil):
            env = envelope([RECIPIENT], case=cls.case)
            spoil(env)
            cls.messages.append(env.message_id)
            cls.outcomes[name] = outcome(lambda: submit(cls.sender, env))
            return env

        # Submissions: formulas in the legal basis and as an officer id; controls in the purpose.
        base = send("submit legal_basis formula", lambda e: setattr(e.justification, "legal_basis", FORMULA_EQ))
        send("submit officer -2-3", lambda e: setattr(e, "originating_officer", FORMULA_MINUS_ID))
        send("submit purpose CR", lambda e: setattr(e.justification, "purpose", CR_OVERWRITE))
        send("submit purpose ESC", lambda e: setattr(e.justification, "purpose", ESC_COLOUR))
        send("submit purpose C1", lambda e: setattr(e.justification, "purpose", C1_CSI))
        send("submit purpose NUL", lambda e: setattr(e.justification, "purpose", NUL))

        def track(name, officer, justification):
            cls.outcomes[name] = outcome(lambda: cls.sender.exchange.Track(ex.TrackRequest(
                message_id=base.message_id, officer=officer, justification=justification), timeout=10))

        track("track justification formula", "NCA-OFF-7", FORMULA_PLUS)
        track("track justification ESC", "NCA-OFF-7", ESC_CLEAR)
        track("track justification C1", "NCA-OFF-7", C1_CSI)
        track("track officer ESC", ESC_COLOUR, "probe")
        track("track officer CR", "NCA-OFF-7\rDPO", "probe")

        def list_case(name, officer, justification):
            cls.outcomes[name] = outcome(lambda: cls.sender.exchange.ListCase(ex.ListCaseRequest(
                case_reference=cls.case, officer=officer, justification=justification), timeout=10))

        list_case("list_case justification formula", "NCA-OFF-7", FORMULA_AT)
        list_case("list_case justification OSC", "NCA-OFF-7", OSC_LINK)
        list_case("list_case officer ESC", ESC_CLEAR, "probe")

        def reject(name, officer, reason):
            cls.outcomes[name] = outcome(lambda: cls.recipient.exchange.Acknowledge(ex.AcknowledgeRequest(
                sender=SENDER, message_id=base.message_id, decision=ex.REJECT, officer=officer, reason=reason),
                timeout=10))

        reject("acknowledge officer ESC", ESC_COLOUR, "probe")
        reject("acknowledge reason CR+ESC", "BSC-OFF-1", CR_OVERWRITE + ESC_COLOUR)
        reject("acknowledge reason formula", "BSC-OFF-1", FORMULA_EQ)

    @classmethod
    def tearDownClass(cls):
        cls.sender.close()
        cls.recipient.close()

    def test_hostile_text_is_refused_or_recorded_never_anything_else(self):
        for name, (kind, got) in self.outcomes.items():
            with self.subTest(name):
                if kind == "ERR":
                    self.assertNoLeak(got)
                    # Refused for its text (INVALID_ARGUMENT), or the decision was already taken.
                    allowed = [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION]
                    if " officer " in name:
                        # A hostile officer beside the caller's assertion for its own officer (assertions are
                        # required): not the officer vouched for. The log records the claimed text with it.
                        allowed.append(grpc.StatusCode.PERMISSION_DENIED)
                        if got.code == grpc.StatusCode.PERMISSION_DENIED:
                            self.assertEqual(got.reason, "OFFICER_MISMATCH", f"{name}: {got.describe()}")
                    self.assertIn(got.code, allowed, f"{name}: {got.describe()}")
        # A hostile officer id refused OFFICER_MISMATCH is recorded as claimed (unverified): the tool checks below
        # see it in the log.
        for name in ("track officer ESC", "acknowledge officer ESC"):
            kind, got = self.outcomes[name]
            if kind == "ERR" and got.reason == "OFFICER_MISMATCH":
                claimed = [r for r in log_records() if r.get("actor_officer") == ESC_COLOUR
                           and r.get("reason") == "OFFICER_MISMATCH"]
                self.assertTrue(claimed, f"{name}: the claimed officer is not in the log")
                self.assertEqual({r.get("officer_verified") for r in claimed}, {False}, claimed)
        # Printable formulas are legitimate free text: they must reach the log, or this probe proves nothing.
        # (An officer id like -2-3 may be refused by a stricter id format; if accepted it is checked below.)
        for name in ("submit legal_basis formula", "track justification formula", "list_case justification formula"):
            kind, got = self.outcomes[name]
            self.assertEqual(kind, "OK", f"{name} was refused: {got.describe() if kind == 'ERR' else ''}")

    def tool(self, *args):
        rc, out, err = run_audit_tool(*args)
        self.assertEqual(rc, 0, f"portcullis-audit {' '.join(args)} exited {rc}: {err.decode(errors='replace')}")
        return out

    def assertNoRawControls(self, data, what, c1=True):
        found = control_bytes(data, c1)
        if found:
            i = found[0][0]
            self.fail(f"{what}: {len(found)} raw control character(s), first {found[0]} in "
                      f"{data[max(0, i - 60):i + 60]!r}")

    def test_search_table_shows_controls_escaped(self):
        out = self.tool("search", "--log", LOG, "--case", self.case, "--limit", "1000")
        self.assertIn(self.case.encode(), out)
        self.assertIn(b"NCA-OFF-7", out)  # The consultation records are in the table.
        self.assertNoRawControls(out, "search table")

    def test_show_timeline_shows_controls_escaped(self):
        for message_id in self.messages:
            with self.subTest(message_id):
                out = self.tool("show", message_id, "--log", LOG)
                self.assertIn(message_id.encode(), out)
                self.assertNoRawControls(out, f"show {message_id}")

    def test_json_outputs_hold_no_raw_controls(self):
        # JSON output is the records' exact lines (their hashes cover those bytes): C0 controls and DEL are
        # escaped there (\u00XX); C1 characters are legal JSON text, so only C0/DEL are checked.
        out = self.tool("search", "--log", LOG, "--case", self.case, "--json", "--limit", "1000")
        self.assertNoRawControls(out, "search --json", c1=False)
        self.assertGreater(json.loads(out)["count"], 0)
        out = self.tool("export", "--log", LOG, "--case", self.case, "--format", "jsonl")
        self.assertNoRawControls(out, "export jsonl", c1=False)
        for line in out.splitlines():
            json.loads(line)

    def test_csv_export_neutralises_formulas_and_controls(self):
        out = self.tool("export", "--log", LOG, "--case", self.case, "--format", "csv")
        # Newlines only as row ends (a CR inside a cell would be a raw control too). C1 characters are text
        # to a spreadsheet; the issue asks CSV for no raw NUL/ESC/CR (all C0 and DEL are checked).
        self.assertNoRawControls(out, "export csv", c1=False)
        rows = list(csv.reader(io.StringIO(out.decode("utf-8"), newline="")))
        header, body = rows[0], rows[1:]
        self.assertIn("justification", header)
        self.assertGreater(len(body), 0)
        cells = [cell for row in body for cell in row]
        live = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
        self.assertEqual(live, [], "CSV cells a spreadsheet would evaluate")
        # The hostile formulas are there, neutralised: the probe saw them.
        for needle in ('HYPERLINK("http://evil.example/x"', "cmd|' /C calc'!A0", "@SUM(1+9)"):
            self.assertTrue(any(needle in c for c in cells), f"{needle!r} is not in the export at all")
        if self.outcomes["submit officer -2-3"][0] == "OK":
            self.assertTrue(any(c.endswith(FORMULA_MINUS_ID) and c != FORMULA_MINUS_ID for c in cells),
                            "the accepted officer id -2-3 is not in the export, neutralised")

    def test_csv_export_to_file_is_the_same(self):
        path = os.path.join(os.path.dirname(STATE), f"export-{unique('CSV')}.csv")
        self.tool("export", "--log", LOG, "--case", self.case, "--format", "csv", "--out", path)
        with open(path, "rb") as f:
            data = f.read()
        self.assertNoRawControls(data, "export csv --out", c1=False)
        self.assertNotIn(b'"=HYPERLINK', data)
