"""A broker for the demo, so a newcomer needs no MQTT server of their own.

Mosquitto when it is installed (the broker we test against); otherwise amqtt, a pure-Python
broker, in a background thread. Either listens on a free loopback port only.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

MOSQUITTO_PATHS = ("mosquitto", "/usr/sbin/mosquitto")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


@dataclass
class RunningBroker:
    host: str
    port: int
    kind: str
    _stop: Callable[[], None] = field(repr=False)

    def stop(self) -> None:
        self._stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_broker() -> RunningBroker:
    """Start Mosquitto if it is installed, else the embedded broker; wait until it listens."""
    port = free_port()
    mosquitto = next((p for p in map(shutil.which, MOSQUITTO_PATHS) if p), None)
    broker = _start_mosquitto(mosquitto, port) if mosquitto else _start_embedded(port)
    _wait_listening(port)
    log.info("%s broker listening on 127.0.0.1:%d", broker.kind, port)
    return broker


def _start_mosquitto(binary: str, port: int) -> RunningBroker:
    folder = Path(tempfile.mkdtemp(prefix="reid-demo-broker-"))
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def stop() -> None:
        process.terminate()
        process.wait(timeout=5)

    return RunningBroker("127.0.0.1", port, "mosquitto", stop)


def _start_embedded(port: int) -> RunningBroker:
    from amqtt.broker import Broker

    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    loop = asyncio.new_event_loop()
    broker = Broker(config, loop=loop)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(broker.start())
        loop.run_forever()

    threading.Thread(target=serve, name="amqtt", daemon=True).start()

    def stop() -> None:
        shutdown = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
        try:
            shutdown.result(timeout=STOP_TIMEOUT_S)
        except TimeoutError:  # amqtt may wait on a closed client; its thread dies with us
            log.warning("the embedded broker did not shut down within %g s", STOP_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)

    return RunningBroker("127.0.0.1", port, "amqtt (embedded)", stop)


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the demo broker did not start listening on port {port}")
