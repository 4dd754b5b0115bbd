"""A liveness file for a long-running loop that has no remote-control channel of its own.

The loop calls ``beat()`` whenever it makes progress (between rounds, in its waits, after each
batch); ``bin/probe heartbeat`` fails once the file is older than its ``--max-age``. The touch
happens in the loop's own thread on purpose: a thread that touched the file on a timer would
keep vouching for a loop stuck on a socket, which is exactly what the probe must catch.
"""

import logging
import time
from pathlib import Path

logger = logging.getLogger(__name__)

# At most one touch a second: under load the dispatcher runs a round per commit.
DEFAULT_EVERY_SECONDS = 1.0


class Heartbeat:
    def __init__(self, path: str | Path | None, *, every: float = DEFAULT_EVERY_SECONDS):
        self.path = Path(path) if path else None
        self.every = every
        self._last = float("-inf")
        if self.path is not None:
            # A file left by the previous process in the same pod (an emptyDir outlives a
            # container restart) must not vouch for this one before its first beat.
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                logger.warning("heartbeat: cannot remove the stale %s", self.path, exc_info=True)

    def beat(self) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        try:
            self.path.touch()
        except OSError:
            # Not fatal here: the probe fails on the missing or stale file and says so.
            logger.warning("heartbeat: cannot touch %s", self.path, exc_info=True)
