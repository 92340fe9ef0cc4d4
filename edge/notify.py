"""systemd's notify protocol (`Type=notify`, `WatchdogSec=`), without libsystemd.

The daemon says READY=1 once the model is loaded and the camera delivers, pings WATCHDOG=1 from
its main loop (so a hung loop gets restarted), STATUS=... for `systemctl status`, STOPPING=1 on
SIGTERM. Outside systemd ($NOTIFY_SOCKET unset) every call is a no-op, so the same code runs on
a laptop. A name starting with '@' is a Linux abstract socket.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"  # set by systemd when the unit has WatchdogSec=
WATCHDOG_PID = "WATCHDOG_PID"


class Notifier:
    """Sends datagrams to $NOTIFY_SOCKET; never raises (a lost ping is not worth a crash).

    `watchdog_interval_s` is how often the main loop should call `watchdog()` (None: never).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        name = environ.get(NOTIFY_SOCKET, "")
        self._address: str | bytes | None = None
        self.watchdog_interval_s = _watchdog_interval(environ)
        if name.startswith("@"):
            self._address = b"\0" + name[1:].encode()
        elif name.startswith("/"):
            self._address = name
        elif name:
            log.warning(
                "ignoring %s=%r: not a path or an abstract socket name", NOTIFY_SOCKET, name
            )

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send `KEY=value` lines, e.g. `notify(READY=1, STATUS="running")`; True when sent."""
        if self._address is None:
            return False
        lines = (f"{key}={str(value).replace(chr(10), ' ')}" for key, value in fields.items())
        message = "\n".join(lines).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self._address)
        except OSError as error:
            log.warning("cannot notify systemd via %s: %s", NOTIFY_SOCKET, error.strerror or error)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.notify(READY=1, **({"STATUS": status} if status else {}))

    def watchdog(self) -> bool:
        return self.notify(WATCHDOG=1)

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def stopping(self) -> bool:
        return self.notify(STOPPING=1)


def _watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """How often to send WATCHDOG=1 (half the unit's WatchdogSec=), or None without a watchdog."""
    pid = environ.get(WATCHDOG_PID)
    if pid and pid != str(os.getpid()):
        return None  # the watchdog is meant for another process
    try:
        usec = int(environ.get(WATCHDOG_USEC, "0"))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None
