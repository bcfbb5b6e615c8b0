"""bench/rss.py: the packaging workers' peak RSS counts Python children that live, not the
parent's brief fork before it execs `go`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import rss  # noqa: E402

SPAWNS_ONLY = "import subprocess\nfor _ in range(300): subprocess.run(['true'])\n"
WORKER = ("import multiprocessing, time\n"
          "def work():\n    b = bytearray(60 << 20); time.sleep(0.5)\n"
          "if __name__ == '__main__':\n    p = multiprocessing.Process(target=work); p.start(); p.join()\n")


def _peak(script: str) -> int:
    proc = subprocess.Popen([sys.executable, "-c", script])
    watch = rss.WorkerRss(proc.pid, interval=0.02)
    proc.wait()
    watch.stop()
    return watch.peak


def test_a_fork_that_execs_is_not_a_worker():
    assert _peak(SPAWNS_ONLY) == 0


def test_a_python_worker_is_measured():
    assert _peak(WORKER) > 50 << 10  # KiB: it touched 60 MiB
