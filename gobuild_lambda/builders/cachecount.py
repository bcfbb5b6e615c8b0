"""How many entries a build added to Go's build cache: the Docker runner's ``cache`` event.

Docker builds report it because their build cache is gbl's own (``[docker] cache_dir``): a warm
build that adds none recompiled nothing.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


class CacheCount:
    """How many entries a build added to Go's build cache (its 256 two-hex-digit subdirectories).

    The count before runs in a thread (join before anything builds); the count after rescans
    only the subdirectories whose mtime changed, so a warm build pays ~256 ``stat`` calls.
    """

    def __init__(self, gocache: Path):
        self.gocache = gocache
        self.before: dict[str, tuple[int, int]] = {}  # subdirectory -> (mtime_ns, entries)
        self._thread = threading.Thread(target=self._scan, name="gbl-cache-count", daemon=True)
        self._thread.start()

    def _subdirs(self) -> list:
        try:
            return [d for d in os.scandir(self.gocache) if d.is_dir() and len(d.name) == 2]
        except OSError:
            return []

    def _scan(self) -> None:
        for d in self._subdirs():
            try:
                self.before[d.name] = (d.stat().st_mtime_ns, sum(1 for _ in os.scandir(d.path)))
            except OSError:
                pass

    def join(self) -> None:
        self._thread.join()

    def new_entries(self) -> int:
        self.join()
        added = 0
        for d in self._subdirs():
            try:
                mtime = d.stat().st_mtime_ns
                old_mtime, old_count = self.before.get(d.name, (None, 0))
                if mtime != old_mtime:
                    added += sum(1 for _ in os.scandir(d.path)) - old_count
            except OSError:
                pass
        return max(0, added)
