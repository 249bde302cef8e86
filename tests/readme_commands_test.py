#!/usr/bin/env python3
"""Runs the commands README.md shows, as a new user would after scripts/setup.sh (issue 12 item 5).

    readme_commands_test.py SOURCE_DIR BUILD_DIR

Which blocks run (the rule): a code block (fenced, or indented by four spaces) right after the line
`<!-- readme-check ... -->` is run, top to bottom, in one bash session, so a block's variables and
background processes are there for the next. Blocks without the marker are not run: the set-up block
(`bash scripts/setup.sh` installs apt packages and builds; `bash scripts/test.sh` runs this very suite)
is shown, not run. Within a marked block, a command holding `...` (an elided id, e.g. `3f6c...e1`) is
shown, not run; each skipped block and command is listed.

Where: a temporary copy of the source tree (README.md, config/, adapters/, scripts/, certs/, ...) whose
build/ links to BUILD_DIR's binaries; what scripts/setup.sh leaves besides the build is made first, as it
makes it: `bash scripts/demo.sh` (the dev PKI in build/pki, the demo's files in demo-run/).

How: each command runs as written (`eval` in the session). The exchange is asynchronous (a delivery
arrives, a checkpoint is signed, a daemon started with `&` begins listening a moment later), so a command
that fails is run again, once a second, for up to RETRY_SECONDS; if it still fails, the check fails and
names README.md's line, the command and its exit code. What the README says a command shows is checked
too (EXPECTED below: the README's claim, e.g. "ACKNOWLEDGED by EUROPOL-UKLB-07", must be in the output).
Background processes are stopped at the end.
The commands use the README's ports (8443, 9443): ctest runs this test alone on them (RESOURCE_LOCK).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

RETRY_SECONDS = 20
# What README.md claims a command shows: (pattern on the command, [text its output must hold]).
EXPECTED = [
    (r"\bsend adapters/border_force/examples/gravelines-rib", ["BF-REF-2026-004512-01"]),
    (r"inbox show BF-REF-2026-004512-01", ["BF-REF-2026-004512-01"]),
    (r"inbox show EUR-UKLB-2026-001311", ["Europol holds three related reports."]),
    (r"\btrack BF-REF-2026-004512-01", ["ACKNOWLEDGED", "EUROPOL-UKLB-07 (verified)"]),
    (r"--message-id BF-REF-README-02", ["ASSERTION_REPLAYED"]),
    (r"--message-id BF-REF-README-03", ["ASSERTION_REQUIRED"]),
    (r"\bsearch .*--case BF-2026-004512", ["BF-REF-2026-004512-01"]),
    (r"\bstats\b", ["eu/europol"]),
]
MARKER = re.compile(r"^\s*<!--\s*readme-check\b")


def blocks(lines):
    """Yields (marked, [(line_number, text), ...]) for every code block of the README."""
    i = 0
    marked = False
    while i < len(lines):
        line = lines[i]
        if MARKER.match(line):
            marked = True
            i += 1
            continue
        if line.startswith("```"):
            body = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append((i + 1, lines[i]))
                i += 1
            yield marked, body
            marked = False
            i += 1
            continue
        if line.startswith("    ") and line.strip() and (i == 0 or not lines[i - 1].strip()):
            body = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if lines[i].strip():
                    body.append((i + 1, lines[i][4:]))
                i += 1
            yield marked, body
            marked = False
            continue
        if line.strip():
            marked = False  # The marker belongs to the very next block only.
        i += 1


def commands(body):
    """Joins continuation lines; yields (line_number, command)."""
    pending, start = "", 0
    for number, text in body:
        if not pending:
            start = number
        if text.rstrip().endswith("\\"):
            pending += text.rstrip()[:-1] + " "
            continue
        yield start, pending + text
        pending = ""
    if pending:
        yield start, pending


def quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def session_script(readme_lines):
    out = [
        "set -u",
        "check() {  # LINE COMMAND [TEXT...]: run COMMAND in this shell; retry while it fails or lacks a TEXT",
        "  local line=$1 cmd=$2 rc=0 end=$((SECONDS + %d)) want" % RETRY_SECONDS,
        "  shift 2",
        "  echo \"+ README.md:$line: $cmd\"",
        "  while :; do",
        "    rc=0",
        "    if [ $# = 0 ]; then eval \"$cmd\" || rc=$?",
        "    else",
        "      eval \"$cmd\" > \"$OUTPUT\" 2>&1 || rc=$?; cat \"$OUTPUT\"",
        "      for want in \"$@\"; do",
        "        [ $rc = 0 ] && ! grep -qF -- \"$want\" \"$OUTPUT\" && { echo \"(output lacks: $want)\"; rc=99; }",
        "      done",
        "    fi",
        "    [ $rc = 0 ] && return 0",
        "    if [ $SECONDS -ge $end ]; then",
        "      echo \"README.md:$line: exit $rc after ${RETRY_SECONDS}s of retries: $cmd\" >&2",
        "      echo \"README.md:$line\" > \"$FAILED_AT\"",
        "      return 1",
        "    fi",
        "    sleep 1",
        "  done",
        "}",
        "RETRY_SECONDS=%d" % RETRY_SECONDS,
    ]
    ran = 0
    run_commands = []
    for marked, body in blocks(readme_lines):
        if not body:
            continue
        if not marked:
            print("skipped (no readme-check marker): README.md:%d-%d" % (body[0][0], body[-1][0]))
            continue
        for number, command in commands(body):
            if "..." in re.sub(r"\s+#.*$", "", command):
                print("skipped (elided id): README.md:%d: %s" % (number, command.strip()))
                continue
            if re.sub(r"\s+#.*$", "", command).rstrip().endswith("&"):
                out.append("check %d %s || exit 1; sleep 1" % (number, quote(command)))
            else:
                wants = [w for pattern, texts in EXPECTED if re.search(pattern, command) for w in texts]
                out.append("check %d %s %s|| exit 1" % (number, quote(command),
                                                       "".join(quote(w) + " " for w in wants)))
            ran += 1
            run_commands.append(command)
    missing = [p for p, _ in EXPECTED if not any(re.search(p, c) for c in run_commands)]
    if missing:
        print("FAIL: README.md's checked blocks no longer show the commands these claims are about: %s" % missing)
        return None, 0
    return "\n".join(out) + "\n", ran


def stop_group(pgid):
    """Stops the session's background processes (gateway, adapters): they are in its process group."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def main():
    source, build = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with open(os.path.join(source, "README.md"), encoding="utf-8") as f:
        readme = f.read().split("\n")
    script, ran = session_script(readme)
    if script is None:
        return 1
    if ran == 0:
        print("FAIL: no command of README.md is marked <!-- readme-check -->")
        return 1
    work = tempfile.mkdtemp(prefix="readme-check-")
    tree = os.path.join(work, "tree")
    ignore = shutil.ignore_patterns("build", "build-*", ".git", "demo-run", "__pycache__")
    shutil.copytree(source, tree, ignore=ignore, symlinks=True)
    os.makedirs(os.path.join(tree, "build"))
    for sub in ("gateway", "adapters", "tools"):
        os.symlink(os.path.join(build, sub), os.path.join(tree, "build", sub))
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("PORTCULLIS_"):
            del env[name]  # The README's commands set what they need.
    env["FAILED_AT"] = os.path.join(work, "failed_at")
    env["OUTPUT"] = os.path.join(work, "output")
    print("== scripts/demo.sh (what scripts/setup.sh runs after the build)")
    demo = subprocess.run(["bash", "scripts/demo.sh"], cwd=tree, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    if demo.returncode != 0:
        print(demo.stdout[-4000:])
        print("FAIL: scripts/demo.sh exited %d (README.md: 'bash scripts/setup.sh ... runs the demo')"
              % demo.returncode)
        return 1
    with open(os.path.join(work, "session.sh"), "w", encoding="utf-8") as f:
        f.write(script)
    print("== %d commands of README.md, in %s" % (ran, tree))
    session = subprocess.Popen(["bash", os.path.join(work, "session.sh")], cwd=tree, env=env,
                               start_new_session=True)
    try:
        rc = session.wait(timeout=600)
    except subprocess.TimeoutExpired:
        rc = "timeout"
    finally:
        stop_group(session.pid)
    if rc != 0:
        where = ""
        if os.path.exists(env["FAILED_AT"]):
            with open(env["FAILED_AT"], encoding="utf-8") as f:
                where = f.read().strip() + ": "
        print("FAIL: %sa command of README.md failed (exit %s); the tree is kept in %s" % (where, rc, tree))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("PASS: %d commands of README.md ran" % ran)
    return 0


if __name__ == "__main__":
    sys.exit(main())
