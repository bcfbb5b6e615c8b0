"""Peak RSS of a process's Python children, polled from /proc (Linux) while it runs."""

from __future__ import annotations

import os
import threading


class WorkerRss:
    """Polls the peak RSS (VmHWM) of a process's children while it runs."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        # A child counts once it was still Python at the previous poll: the parent's fork that is
        # about to exec `go` is briefly a "python" child too, with the parent's VmHWM.
        before: set[int] = set()
        while not self._stop.is_set():
            now = {child for child in _children(self.pid) if _is_python(child)}
            for child in now & before:
                self.peak = max(self.peak, _hwm_kib(child))
            before = now
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


def _is_python(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/comm") as fh:
            return fh.read().strip().startswith("python")
    except OSError:
        return False


def _hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
