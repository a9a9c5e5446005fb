"""Running the palcli command in tests: a real subprocess, as a user runs it.

The one-time notes a run prints when it must build a cube or compile kernels depend on what the
caches hold when a test runs, not on what the test is about: without_notes drops them, so that
a test can pin the rest of stderr exactly. The notes themselves are tested where they are the
subject (tests/test_batch.py, tests/test_cold.py).
"""

import re

NOTE = re.compile(rb"^palcli: (building the .* cube \(.*\)\.\.\.|compiling kernels \(first "
                  rb"run on this machine\)\.\.\.)\r?\n", re.M)


def without_notes(stderr: bytes) -> bytes:
    return NOTE.sub(b"", stderr)


ENTRY = "import sys; from palcli.cli import main; sys.argv[0] = 'palcli'; main()"


def palcli(*args, stdin=None, cwd=None, env=None, **kw):
    """palcli ARGS... in a subprocess of this Python; env adds to the environment. stderr comes
    back without the one-time notes (see without_notes)."""
    import os
    import subprocess
    import sys

    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 300)
    r = subprocess.run([sys.executable, "-c", ENTRY, *map(str, args)], input=stdin, cwd=cwd,
                       env=None if env is None else {**os.environ, **env}, **kw)
    if isinstance(r.stderr, bytes):
        r.stderr = without_notes(r.stderr)
    return r
