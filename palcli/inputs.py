"""The image files INPUT... name, for commands that read images and write none (extract, check).

    files, unreadable = image_files(["photos/", "extra.png"])
    files        # ["photos/a.jpg", "photos/sub/b.png", "extra.png"]
    unreadable   # [(directory, reason)] for directories the walk could not enter

Found exactly as convert finds them, by palcli.plan's walk.
"""

from __future__ import annotations

from .errors import UsageError
from .plan import STDIO, find_images


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
    return find_images(inputs)
