"""Officer assertions for the probes (issue 13), obtained as an agency's client obtains them.

The shipped config requires, for every party, that a call acting for an officer (Submit, Track, Acknowledge,
ListCase, every Audit and Admin call) carries `authorization: Bearer <JWS>`, signed by the party's identity
provider. The probes get theirs from the stand-in identity provider, `portcullis-devtoken` (PROBE_DEVTOKEN_BIN), run
as a program with the party's dev IdP key ($PKI/idp/<stem>/dev-1.key): issuer the party, audience the gateway's
identity, no jti (so one token serves many calls), 15 minutes at most, cached per (key, party, officer) until a
couple of minutes before it expires.

`AssertionHook` is the probes' default: a channel interceptor that gives every officer-taking call without an
`authorization` header of its own a valid assertion of the channel's party for the officer the call names (see
`acting_officer`). A probe that tests assertions itself opens its channel without the hook
(`Party(..., officer_assertions=False)`) or passes its own header (`metadata=bearer(token)`), which the hook leaves
as it is.
"""

import collections
import os
import re
import subprocess
import time

import grpc
from portcullis.v1 import exchange_pb2

AUDIENCE = "spiffe://exchange.gov.uk/gateway"  # The gateway certificate's URI SAN (certs/gen-dev-pki.sh).
TTL_SECONDS = 900                              # The longest lifetime the gateway accepts (15 min).
REFRESH_SECONDS = 120                          # A cached token is minted again this long before its exp.
OFFICER_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # gateway/policy/envelope_validator.cc CheckOfficerId.

# The calls that act for an officer; Receive and Confirm (pull daemons) take none.
_EXCHANGE_OFFICER_CALLS = {
    "/portcullis.v1.Exchange/Submit": exchange_pb2.SubmitRequest,
    "/portcullis.v1.Exchange/Track": exchange_pb2.TrackRequest,
    "/portcullis.v1.Exchange/Acknowledge": exchange_pb2.AcknowledgeRequest,
    "/portcullis.v1.Exchange/ListCase": exchange_pb2.ListCaseRequest,
}
_OFFICER_SERVICES = ("/portcullis.v1.Audit/", "/portcullis.v1.Admin/")


def devtoken_bin():
    path = os.environ.get("PROBE_DEVTOKEN_BIN", "")
    if not path or not os.access(path, os.X_OK):
        raise AssertionError(f"PROBE_DEVTOKEN_BIN is not an executable ({path!r}): run through run.sh")
    return path


def idp_key(party_id, pki=None):
    """The party's dev identity-provider key (certs/gen-dev-pki.sh): $PKI/idp/<stem>/dev-1.key."""
    return os.path.join(pki or os.environ["PROBE_PKI"], "idp", party_id.replace("/", "-"), "dev-1.key")


def default_officer(party_id):
    """The officer a call acts for when it names none: BB-OFFICER-UK-NCA for uk/nca."""
    return "BB-OFFICER-" + re.sub(r"[^A-Za-z0-9]", "-", party_id).upper()


def mint(key, issuer, officer, kid="dev-1", jti=True, ttl=None):
    """A token from the stand-in identity provider (portcullis-devtoken), as an agency's client gets one."""
    args = [devtoken_bin(), "--key", key, "--kid", kid, "--issuer", issuer, "--audience", AUDIENCE,
            f"--officer={officer}"]  # `=`: an id may start with '-' (e.g. -2-3).
    if not jti:
        args.append("--no-jti")
    if ttl is not None:
        args += ["--ttl", str(ttl)]
    p = subprocess.run(args, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError(f"portcullis-devtoken exited {p.returncode}: {p.stderr.decode(errors='replace')}")
    return p.stdout.decode().strip()


_cache = {}  # (key path, party, officer) -> (token, unix time after which it is minted again)


def assertion(party_id, officer=None, pki=None):
    """A valid assertion of party_id's identity provider for `officer` (default: the party's default officer)."""
    officer = officer or default_officer(party_id)
    key = idp_key(party_id, pki)
    cached = _cache.get((key, party_id, officer))
    if cached is not None and time.time() < cached[1]:
        return cached[0]
    issued = time.time()
    token = mint(key, party_id, officer, jti=False, ttl=TTL_SECONDS)
    _cache[(key, party_id, officer)] = (token, issued + TTL_SECONDS - REFRESH_SECONDS)
    return token


def bearer(token):
    """Call metadata carrying `token` as the officer assertion."""
    return (("authorization", "Bearer " + token),)


def takes_officer(method):
    return method in _EXCHANGE_OFFICER_CALLS or method.startswith(_OFFICER_SERVICES)


def acting_officer(method, request):
    """The officer a call acts for: Submit's envelope.originating_officer, else the request's `officer` (an Audit
    call's filter.officer is a filter, not who acts). None (the party's default officer) when the call names none,
    or names one outside the officer-id format, which no identity provider vouches for: the gateway then answers
    for the field, as it answers any caller whose assertion names another officer."""
    if isinstance(request, (bytes, bytearray)):  # Raw bytes (raw_unary): read them as the call's request if they are.
        kind = _EXCHANGE_OFFICER_CALLS.get(method)
        try:
            request = kind.FromString(bytes(request)) if kind is not None else None
        except Exception:  # noqa: BLE001 - garbage on purpose: the default officer
            request = None
    if request is None or method.startswith("/portcullis.v1.Audit/"):
        return None
    if isinstance(request, exchange_pb2.SubmitRequest):
        officer = request.envelope.originating_officer
    else:
        officer = getattr(request, "officer", "")
    return officer if isinstance(officer, str) and OFFICER_ID.fullmatch(officer) else None


class _CallDetails(collections.namedtuple("_CallDetails", ("method", "timeout", "metadata", "credentials",
                                                           "wait_for_ready", "compression")),
                   grpc.ClientCallDetails):
    pass


class AssertionHook(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the party's assertion to each officer-taking call that carries no `authorization` of its own."""

    def __init__(self, party_id, pki=None):
        self.party_id = party_id
        self.pki = pki

    def _details(self, details, request):
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        metadata = list(details.metadata or ())
        if takes_officer(method) and not any(k.lower() == "authorization" for k, _ in metadata):
            metadata += bearer(assertion(self.party_id, acting_officer(method, request), self.pki))
        return _CallDetails(details.method, details.timeout, metadata, details.credentials,
                            details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details, request), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(self._details(client_call_details, request), request)
