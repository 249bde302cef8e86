"""What every black-box probe shares.

The probes are clients the project did not write: Python with Debian's grpcio,
stubs generated at test time from protos/ (run.sh puts them on PYTHONPATH),
and no project code. This module holds the pieces they share: where the
gateway and the PKI are (environment set by run.sh), mTLS channels as a party,
envelopes that pass validation, hand-made protobuf bytes, the one decoder of a
refusal (google.rpc.Status -> ErrorInfo / portcullis.v1.Refusal), checks that a
refusal carries no internal text, a gateway process of our own (for probes that
stop or crash it, or change its trust store), revocation with the PKI's own CA
key, and the auditor's tool. A party's channel carries, by default, valid officer
assertions of its own identity provider (probe_assertions.AssertionHook).
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import grpc  # Debian: python3-grpcio. Missing = ImportError = the suite fails.
from google.protobuf import text_format
from google.rpc import error_details_pb2, status_pb2
from portcullis.v1 import admin_pb2_grpc, audit_pb2_grpc, exchange_pb2, exchange_pb2_grpc

from probe_assertions import AUDIENCE, AssertionHook, assertion, bearer, default_officer, idp_key, mint  # noqa: F401

ex = exchange_pb2


def _env(name):
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: run the probes through tests/blackbox/run.sh (or ctest -R blackbox)")
    return value


SOURCE_DIR = _env("PROBE_SOURCE_DIR")
GATEWAY_BIN = _env("PROBE_GATEWAY_BIN")
AUDIT_BIN = _env("PROBE_AUDIT_BIN")
PKI = _env("PROBE_PKI")            # A fresh PKI made by certs/gen-dev-pki.sh for this run.
STATE = _env("PROBE_STATE")        # The shared gateway's state folder (audit.log, outbox.db).
GATEWAY = _env("PROBE_GATEWAY")    # host:port of the shared gateway run.sh started.
WORK = _env("PROBE_WORK")          # Scratch space of this run (removed by run.sh).
CONFIG = os.path.join(SOURCE_DIR, "config", "portcullis.yaml")  # The shipped config, as is.
DOMAIN = "portcullis.v1"


def _shipped_setting(key):
    """An integer setting of the shipped config (e.g. tls.reload_interval_seconds), read from the file."""
    with open(CONFIG) as f:
        m = re.search(rf"^\s*{key}:\s*(\d+)", f.read(), re.MULTILINE)
    if m is None:
        raise RuntimeError(f"{CONFIG} has no {key}")
    return int(m.group(1))


RELOAD_INTERVAL_SECONDS = _shipped_setting("reload_interval_seconds")

# A run-unique prefix: identifiers of one probe never collide with another's.
RUN = "BB" + secrets.token_hex(3).upper()
_counter = [0]


def unique(kind):
    """A fresh identifier from [A-Za-z0-9._:-], e.g. BB1A2B3C-MSG-0007."""
    _counter[0] += 1
    return f"{RUN}-{kind}-{_counter[0]:04d}"


def stem(party_id):
    """The PKI file stem of a party: uk/nca -> uk-nca."""
    return party_id.replace("/", "-")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# ---------------------------------------------------------------------------
# Channels.

class Party:
    """One party's mTLS channel to a gateway, with the Exchange, Audit and Admin stubs.

    officer_assertions=True (the default): every call that acts for an officer and carries no `authorization` of
    its own gets a valid assertion of this party's identity provider for the officer it names (the envelope's
    originating_officer, the request's officer, else the party's default officer): probe_assertions.AssertionHook.
    False: calls carry only what the probe passes (a probe of assertions themselves).
    """

    def __init__(self, party_id, address=None, pki=None, cert_path=None, officer_assertions=True):
        pki = pki or PKI
        self.id = party_id
        base = cert_path or os.path.join(pki, "parties", stem(party_id))
        creds = grpc.ssl_channel_credentials(
            root_certificates=read_bytes(os.path.join(pki, "ca", "bundle.pem")),
            private_key=read_bytes(base + ".key"),
            certificate_chain=read_bytes(base + ".pem"))
        self._raw_channel = grpc.secure_channel(address or GATEWAY, creds, options=[
            ("grpc.ssl_target_name_override", "localhost"),
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.use_local_subchannel_pool", 1),  # A channel's connections are its own, never shared.
        ])
        self.channel = self._raw_channel
        if officer_assertions:
            self.channel = grpc.intercept_channel(self._raw_channel, AssertionHook(party_id, pki))
        self.exchange = exchange_pb2_grpc.ExchangeStub(self.channel)
        self.audit = audit_pb2_grpc.AuditStub(self.channel)
        self.admin = admin_pb2_grpc.AdminStub(self.channel)

    def raw_unary(self, method, payload, timeout=10):
        """A unary call with bytes we chose (identity serializer), answer as bytes."""
        call = self.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        return call(payload, timeout=timeout)

    def close(self):
        self._raw_channel.close()


# ---------------------------------------------------------------------------
# Envelopes that pass today's validation; each probe breaks exactly one thing.

def envelope(recipients, message_id=None, case=None, officer="BB-OFFICER-1", body="case_referral", correlation_id=""):
    e = ex.Envelope(
        correlation_id=correlation_id,
        message_id=message_id or unique("MSG"),
        case_reference=case or unique("CASE"),
        originating_officer=officer,
        recipients=list(recipients),
        classification=ex.OFFICIAL,
        priority=ex.ROUTINE,
    )
    e.created_at.seconds = int(time.time())
    e.justification.legal_basis = "DPA 2018 s.35 (black-box probe)"
    e.justification.purpose = "Black-box probe of the gateway"
    if body == "case_referral":
        e.case_referral.summary = "Probe referral: a RIB intercepted off Gravelines"
        e.case_referral.requested_action = "Check the vessel's engine serial number"
    elif body == "intelligence_report":
        e.intelligence_report.summary = "Probe intelligence report"
        e.uk_grading.source = ex.UK_SOURCE_2_UNTESTED
        e.uk_grading.intelligence = ex.UK_INTEL_C_INDIRECT
        e.uk_grading.handling = ex.UK_HANDLING_P_LAWFUL_SHARING
    elif body == "request_for_information":
        e.request_for_information.question = "Probe question: is this vessel known to you?"
    elif body == "response":
        e.response.answer = "Probe answer: the vessel is known to us"
    else:
        raise ValueError(body)
    return e


def submit(party, env, timeout=10):
    return party.exchange.Submit(ex.SubmitRequest(envelope=env), timeout=timeout)


# ---------------------------------------------------------------------------
# Protobuf wire format by hand (unknown fields, malformed bytes).

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field_number, wire_type):
    return varint((field_number << 3) | wire_type)


def field_varint(field_number, value):
    return tag(field_number, 0) + varint(value)


def field_bytes(field_number, payload):
    return tag(field_number, 2) + varint(len(payload)) + payload


# ---------------------------------------------------------------------------
# Refusals: the one decoder of grpc-status-details-bin.

class Answer:
    """What a caller learns from a refused call: code, message, and the decoded details."""

    def __init__(self, code, message, details_bin):
        self.code = code
        self.message = message or ""
        self.details_bin = details_bin
        self.status = None          # google.rpc.Status
        self.error_info = None      # google.rpc.ErrorInfo of domain portcullis.v1
        self.refusal = None         # portcullis.v1.Refusal
        self.bad_request = None     # google.rpc.BadRequest
        self.other_details = []     # type URLs of any other detail
        self.legacy_refusal = None  # A bare portcullis.v1.Refusal (the form before google.rpc.Status)
        if details_bin is None:
            return
        status = status_pb2.Status()
        try:
            status.ParseFromString(details_bin)
        except Exception:  # noqa: BLE001 - not a google.rpc.Status at all
            status = None
        if status is not None and (status.code or status.message or status.details):
            self.status = status
            for any_detail in status.details:
                name = any_detail.type_url.rsplit("/", 1)[-1]
                if name == "google.rpc.ErrorInfo":
                    info = error_details_pb2.ErrorInfo()
                    any_detail.Unpack(info)
                    if info.domain == DOMAIN and self.error_info is None:
                        self.error_info = info
                elif name == "portcullis.v1.Refusal":
                    self.refusal = ex.Refusal()
                    any_detail.Unpack(self.refusal)
                elif name == "google.rpc.BadRequest":
                    self.bad_request = error_details_pb2.BadRequest()
                    any_detail.Unpack(self.bad_request)
                else:
                    self.other_details.append(any_detail.type_url)
        else:
            legacy = ex.Refusal()
            try:
                legacy.ParseFromString(details_bin)
                if legacy.reason:
                    self.legacy_refusal = legacy
            except Exception:  # noqa: BLE001
                pass

    @property
    def reason(self):
        """The reason code, read from google.rpc.ErrorInfo (domain portcullis.v1); None if absent."""
        return self.error_info.reason if self.error_info is not None else None

    def metadata(self):
        return dict(self.error_info.metadata) if self.error_info is not None else {}

    def all_text(self):
        """Everything a caller can read: message, ErrorInfo, Refusal, BadRequest (for 'names X' checks)."""
        parts = [self.message]
        if self.status is not None:
            parts.append(self.status.message)
        if self.error_info is not None:
            parts.append(self.error_info.reason)
            parts.extend(f"{k}={v}" for k, v in sorted(self.error_info.metadata.items()))
        if self.refusal is not None:
            parts += [self.refusal.reason, self.refusal.field, self.refusal.message]
        if self.bad_request is not None:
            for v in self.bad_request.field_violations:
                parts += [v.field, v.description]
        return "\n".join(parts)

    def describe(self):
        s = f"{self.code.name} {self.message!r}"
        if self.error_info is not None:
            s += f" ErrorInfo(reason={self.error_info.reason}, metadata={dict(self.error_info.metadata)})"
        if self.refusal is not None:
            s += f" Refusal(reason={self.refusal.reason}, field={self.refusal.field})"
        if self.error_info is None:
            s += " [no google.rpc.ErrorInfo of domain portcullis.v1 in grpc-status-details-bin"
            if self.legacy_refusal is not None:
                s += f"; only a bare legacy Refusal with reason {self.legacy_refusal.reason}"
            elif self.details_bin is None:
                s += "; no grpc-status-details-bin at all"
            s += "]"
        return s

    # Keys whose value is per call by design (an incident or request id); they
    # are left out when two answers are compared.
    PER_CALL_KEYS = ("incident_id", "request_id")

    def comparable(self, substitutions):
        """A normal form for 'are these two answers the same', with the probe's own identifiers replaced."""
        def sub(text):
            for old, new in substitutions:
                text = text.replace(old, new)
            return text
        info = None
        if self.error_info is not None:
            info = (self.error_info.reason, self.error_info.domain,
                    tuple(sorted((k, sub(v)) for k, v in self.error_info.metadata.items()
                                 if k not in self.PER_CALL_KEYS)))
        refusal = None
        if self.refusal is not None:
            refusal = (self.refusal.reason, sub(self.refusal.field), sub(self.refusal.message))
        bad = None
        if self.bad_request is not None:
            bad = tuple((sub(v.field), sub(v.description)) for v in self.bad_request.field_violations)
        status = None
        if self.status is not None:
            status = (self.status.code, sub(self.status.message))
        legacy = None
        if self.legacy_refusal is not None:
            legacy = (self.legacy_refusal.reason, sub(self.legacy_refusal.field), sub(self.legacy_refusal.message))
        return {"code": self.code.name, "message": sub(self.message), "status": status, "error_info": info,
                "refusal": refusal, "bad_request": bad, "other_details": tuple(self.other_details),
                "legacy_refusal": legacy}


def answer_of(error):
    """The Answer of a grpc.RpcError (unary or stream)."""
    details_bin = None
    for key, value in (error.trailing_metadata() or ()):
        if key == "grpc-status-details-bin":
            details_bin = value
    return Answer(error.code(), error.details(), details_bin)


def outcome(fn):
    """('OK', response) or ('ERR', Answer) of one call."""
    try:
        return "OK", fn()
    except grpc.RpcError as e:
        return "ERR", answer_of(e)


# Internal text that must never reach a party: file paths, storage and TLS
# library words, source locations, OpenSSL error codes.
_PATH = re.compile(r"(?<![\w.:/-])/(?:[\w.-]+/)+[\w.-]*")
_INTERNAL = re.compile(r"sqlite|\bSSL\b|openssl|ssl_|BoringSSL|error:[0-9A-Fa-f]{8}|\.(?:cc|h|cpp):\d+|errno"
                       r"|no such file|database is (?:locked|malformed)|disk I/O", re.IGNORECASE)


def leaks(text):
    """Internal text found in `text` (empty list: none)."""
    found = [m.group(0) for m in _PATH.finditer(text)]
    found += [m.group(0) for m in _INTERNAL.finditer(text)]
    return found


class ProbeCase(unittest.TestCase):
    """unittest.TestCase with the probes' assertions."""

    maxDiff = None

    def assertNoLeak(self, answer):
        found = leaks(answer.all_text())
        self.assertEqual(found, [], f"internal text reached the caller: {answer.describe()}")

    def assertRefused(self, fn, code, reason=None, what=""):
        """Calls fn, expects a refusal with `code` (and `reason` in ErrorInfo); returns the Answer."""
        kind, got = outcome(fn)
        label = f"{what}: " if what else ""
        if kind == "OK":
            shown = got[:200] if isinstance(got, bytes) else text_format.MessageToString(got, as_one_line=True)[:400]
            self.fail(f"{label}expected {code.name}{' ' + reason if reason else ''}, but the call succeeded: {shown}")
        self.assertNoLeak(got)
        self.assertEqual(got.code, code, f"{label}wrong code: {got.describe()}")
        if reason is not None:
            self.assertEqual(got.reason, reason, f"{label}wrong or missing reason: {got.describe()}")
            self.assertEqual(got.error_info.domain, DOMAIN)
        return got

    def assertSucceeds(self, fn, what=""):
        kind, got = outcome(fn)
        if kind != "OK":
            self.fail(f"{what}: expected success, got {got.describe()}")
        return got


# ---------------------------------------------------------------------------
# The audit log (read as an auditor reads it: the files the gateway keeps).

def log_records(state=None):
    path = os.path.join(state or STATE, "audit.log")
    out = []
    with open(path, "rb") as f:
        for line in f:
            if line.endswith(b"\n"):
                out.append(json.loads(line))
    return out


def last_checkpoint_size(state):
    path = os.path.join(state, "audit.log.checkpoints")
    size = 0
    if os.path.exists(path):
        with open(path, "rb") as f:
            for line in f:
                if line.endswith(b"\n"):
                    size = max(size, json.loads(line)["size"])
    return size


def run_audit_tool(*args, timeout=60):
    """portcullis-audit ARGS: (exit code, stdout bytes, stderr bytes)."""
    p = subprocess.run([AUDIT_BIN, *args], capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


# ---------------------------------------------------------------------------
# A gateway of our own: the shipped config, its own PKI and state folders.

class GatewayProcess:
    """build/gateway/service/portcullis-gateway --config config/portcullis.yaml, on a free port.

    `config`: another config file (e.g. the shipped one with a setting changed, written by the probe).
    """

    def __init__(self, name, pki=None, state=None, config=None):
        self.name = name
        self.config = config or CONFIG
        self.pki = pki or PKI
        self.state = state or os.path.join(WORK, name, "state")
        os.makedirs(self.state, exist_ok=True)
        self.log_path = None
        self.proc = None
        self.address = None

    def start(self, timeout=20):
        witness = os.path.join(os.path.dirname(self.state), "witness")  # Checkpoint copies (audit.witness_dir).
        os.makedirs(witness, exist_ok=True)
        env = dict(os.environ, PORTCULLIS_PKI=self.pki, PORTCULLIS_STATE=self.state, PORTCULLIS_WITNESS=witness,
                   PORTCULLIS_LISTEN="127.0.0.1:0")
        self.log_path = os.path.join(os.path.dirname(self.state), f"gateway-{int(time.time() * 1000)}.log")
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([GATEWAY_BIN, "--config", self.config], stdout=log, stderr=subprocess.STDOUT,
                                     env=env, cwd=WORK)
        log.close()
        with open(self.pid_file(), "w") as f:
            f.write(f"{self.proc.pid}\n")  # run.sh kills it if a probe dies before stopping it.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(rb"listening on port (\d+)", read_bytes(self.log_path))
            if m:
                self.address = f"127.0.0.1:{int(m.group(1))}"
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        output = read_bytes(self.log_path).decode(errors="replace")
        self.kill()
        raise AssertionError(f"gateway {self.name} did not start:\n{output}")

    def pid_file(self):
        return os.path.join(os.path.dirname(self.state), "gateway.pid")

    def _reaped(self):
        if os.path.exists(self.pid_file()):
            os.remove(self.pid_file())  # The pid may be reused once the process is gone.
        return self.proc.returncode

    def stop(self, timeout=20):
        """SIGTERM (drain, final checkpoint); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self._reaped()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"gateway {self.name} did not stop within {timeout} s")
        return self._reaped()

    def kill(self):
        """SIGKILL: a crash, nothing flushed or signed on the way out."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None:
            self._reaped()

    def output(self):
        return read_bytes(self.log_path).decode(errors="replace")


# ---------------------------------------------------------------------------
# Revocation with the PKI's own issuing CA (as certs/gen-dev-pki.sh does it).

_CA_CONFIG = """[ ca ]
default_ca = CA_default
[ CA_default ]
dir              = {db}
database         = {db}/index.txt
new_certs_dir    = {db}
serial           = {db}/serial
crlnumber        = {db}/crlnumber
certificate      = {pki}/ca/intermediate.pem
private_key      = {pki}/ca/intermediate.key
default_md       = sha256
default_crl_days = 30
crl_extensions   = crl_ext
policy           = policy_any
unique_subject   = no
[ policy_any ]
commonName       = supplied
[ crl_ext ]
authorityKeyIdentifier = keyid:always
"""


def revoke_party(pki, party_id):
    """Issuing CA 1 revokes party_id's certificate: a new crl/intermediate.crl.pem, swapped in atomically.

    The CRL keeps the dev PKI's own revocation (fixtures/revoked.pem) and adds the party's.
    """
    db = tempfile.mkdtemp(prefix="ca-db-", dir=WORK)
    open(os.path.join(db, "index.txt"), "w").close()
    with open(os.path.join(db, "index.txt.attr"), "w") as f:
        f.write("unique_subject = no\n")
    with open(os.path.join(db, "crlnumber"), "w") as f:
        f.write("2000\n")  # Above the dev PKI's first CRL number.
    cnf = os.path.join(db, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(_CA_CONFIG.format(db=db, pki=pki))

    def openssl(*args):
        p = subprocess.run(["openssl", *args], capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"openssl {' '.join(args)} failed:\n{p.stdout}{p.stderr}")

    openssl("ca", "-config", cnf, "-batch", "-revoke", os.path.join(pki, "fixtures", "revoked.pem"),
            "-crl_reason", "keyCompromise")
    openssl("ca", "-config", cnf, "-batch", "-revoke", os.path.join(pki, "parties", stem(party_id) + ".pem"),
            "-crl_reason", "keyCompromise")
    fresh = os.path.join(db, "intermediate.crl.pem")
    openssl("ca", "-config", cnf, "-batch", "-gencrl", "-crldays", "30", "-out", fresh)
    staged = os.path.join(pki, ".intermediate.crl.pem.new")  # Same file system, outside crl/.
    shutil.copyfile(fresh, staged)
    os.replace(staged, os.path.join(pki, "crl", "intermediate.crl.pem"))
    shutil.rmtree(db, ignore_errors=True)
