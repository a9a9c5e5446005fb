"""The signals palcli has received while it runs, remembered as well as raised."""

import signal

# The signals received so far. Each raises KeyboardInterrupt (SIGINT) or Terminated (SIGTERM) in
# the main thread; one raised inside a finaliser (a __del__ of Dask's or asyncio's) is only
# printed there and lost, so the commands call raise_if_signalled() at every result, and the
# boundary at the end, to raise it again.
SIGNALLED: list[int] = []


def on_signal(signum, frame):
    """The handler of SIGINT and SIGTERM while palcli runs."""
    SIGNALLED.append(signum)
    raise_if_signalled()


def raise_if_signalled() -> None:
    """Raise what the last signal received stands for, if any came."""
    if SIGNALLED:
        from ..errors import Terminated

        raise KeyboardInterrupt if SIGNALLED[-1] == signal.SIGINT else Terminated()
