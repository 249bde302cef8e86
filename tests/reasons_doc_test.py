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
]
used = {}
for folder in ("gateway", "adapters", "mtls"):
    for path in sorted((root / folder).rglob("*")):
        if path.suffix not in (".cc", ".h"):
            continue
        text = path.read_text()
        for p in patterns:
            for m in p.finditer(text):
                used.setdefault(m.group(1), path.relative_to(root))
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
