"""The image files INPUT... name, for commands that read images and write none (extract, check).

    files, unreadable = image_files(["photos/", "extra.png"])
    files        # ["photos/a.jpg", "photos/sub/b.png", "extra.png"]
    unreadable   # [(directory, reason)] for directories the walk could not enter

Found exactly as convert finds them: palcli.plan plans a conversion of the inputs into a directory
that does not exist (nothing is touched) and its tasks' inputs are the files, walk and all.
"""

from __future__ import annotations

import os
import tempfile

from .errors import UsageError
from .plan import STDIO, make_plan


def image_files(inputs, *, stdin: bool = False) -> tuple[list[str], list[tuple[str, str]]]:
    """Files as given and those found in directories by palcli.plan's walk, each once (['-']
    for standard input when stdin is allowed), and the directories it could not read.
    UsageError for a missing input or when there is no image at all."""
    inputs = [str(i) for i in inputs]
    if STDIO in inputs:
        if not stdin:
            raise UsageError("this command reads image files and directories, not standard input")
        if len(inputs) > 1:
            raise UsageError("'-' (standard input) must be the only INPUT")
        return [STDIO], []
    nowhere = os.path.join(tempfile.gettempdir(), f"palcli-inputs-{os.getpid()}", "")
    plan = make_plan(inputs, nowhere)
    # Two inputs whose outputs would collide (a.jpg, a.png) are a conflict for convert; here
    # both are files to read.
    found = [t.input for t in plan.tasks] + [t.input for t, _ in plan.conflicts]
    return list(dict.fromkeys(found)), list(plan.unreadable)
