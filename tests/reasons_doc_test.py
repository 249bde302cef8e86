#!/usr/bin/env python3
"""Every refusal reason the code uses is listed in docs/reasons.md (and every listed one is used)."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
# Refuse(code, "REASON", ...), RefusalStatus(code, "REASON", ...), Invalid("REASON", ...), and the generic
# reasons of PublicRefusal (set_reason("REASON")) and audit-only reasons (reason = "REASON").
patterns = [
    re.compile(r'(?:Refuse|RefusalStatus|Invalid)\(\s*(?:[\w:]+\s*,\s*)?"([A-Z][A-Z0-9_]{2,})"', re.S),
    re.compile(r'\breason = "([A-Z][A-Z0-9_]{2,})"'),
    re.compile(r'set_reason\("([A-Z][A-Z0-9_]{2,})"\)'),
    # The officer-assertion refusals' helpers (gateway/identity, gateway/service/officer_identity).
    re.compile(r'(?:Unauthenticated|AssertionRefusal)\(\s*"([A-Z][A-Z0-9_]{2,})"', re.S),
]
# Reasons chosen by a condition or a default (gateway and mtls only: elsewhere such
# strings are other words, e.g. signal names).
gateway_patterns = [
    re.compile(r'value_or\("([A-Z][A-Z0-9_]{2,})"\)'),
    re.compile(r'\? "([A-Z][A-Z0-9_]{2,})" :'),
]
# Certificate verification refusals (mtls/, the handshake and per-call peer checks).
peer_pattern = re.compile(r'"((?:CERT|CRL|IDENTITY|PEER)_[A-Z0-9_]+)"')
# Lists of reason codes, e.g. kPermanentRefusalReasons[] = {"UNRENDERABLE", ...}.
list_pattern = re.compile(r'Reasons\[\]\s*=\s*\{([^}]*)\}')
used = {}
for folder in ("gateway", "adapters", "mtls"):
    for path in sorted((root / folder).rglob("*")):
        if path.suffix not in (".cc", ".h"):
            continue
        text = path.read_text()
        for p in patterns + (gateway_patterns if folder != "adapters" else []):
            for m in p.finditer(text):
                used.setdefault(m.group(1), path.relative_to(root))
        if folder == "mtls" or path.name == "authenticate.cc":
            for m in peer_pattern.finditer(text):
                used.setdefault(m.group(1), path.relative_to(root))
        for m in list_pattern.finditer(text):
            for code in re.findall(r'"([A-Z][A-Z0-9_]{2,})"', m.group(1)):
                used.setdefault(code, path.relative_to(root))
doc = (root / "docs" / "reasons.md").read_text()
listed = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", doc, re.M))
missing = sorted(set(used) - listed)
unused = sorted(listed - set(used))
for code in missing:
    print(f"docs/reasons.md does not list {code} (used in {used[code]})")
for code in unused:
    print(f"docs/reasons.md lists {code}, which no code uses")
if not used:
    print("found no reason codes at all: the patterns are broken")
    sys.exit(1)
sys.exit(1 if missing or unused else 0)
