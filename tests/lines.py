"""A child process's stdout, read line by line in a thread, so a test can wait on what the
child has said instead of sleeping."""

from __future__ import annotations

import subprocess
import threading


class Lines:
    """`lines` grows as the child prints; `finish()` waits until it is complete (EOF)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        for line in process.stdout or ():
            self.lines.append(line.strip())

    def finish(self, timeout: float = 10.0) -> list[str]:
        """Every line the child printed, once its stdout is closed (it exited or was killed)."""
        self._thread.join(timeout)
        return self.lines
