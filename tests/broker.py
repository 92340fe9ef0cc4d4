"""A real Mosquitto for the tests: a generated config on a free loopback port, nothing mocked.

`Broker` runs /usr/sbin/mosquitto as a child process. It can require a password file
(allow_anonymous false) and add a TLS listener with certificates made here by the openssl CLI,
and it can be stopped and started again on the SAME ports, so a test can take the broker away
from a running client and give it back.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from demo.broker import free_port

MOSQUITTO = Path("/usr/sbin/mosquitto")
HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
SAVED = "Saving in-memory database"  # Mosquitto's log line at each autosave


def mosquitto_missing() -> str | None:
    """Why the broker tests cannot run here, or None when they can."""
    if not MOSQUITTO.exists():
        return f"mosquitto is not installed ({MOSQUITTO} missing)"
    if shutil.which("mosquitto_passwd") is None:
        return "mosquitto_passwd is not installed"
    if shutil.which("openssl") is None:
        return "the openssl CLI is not installed"
    return None


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class Pki:
    """Test certificates: a CA, a server cert it signed, an expired one, one for another host
    name, and a stranger CA."""

    ca: Path
    server_cert: Path
    server_key: Path
    expired_cert: Path
    wrong_host_cert: Path  # signed by the trusted CA for pool.example only, not 127.0.0.1
    other_ca: Path  # a CA that signed nothing the broker presents
    client_cert: Path  # for brokers that require a client certificate
    client_key: Path


def make_pki(folder: Path) -> Pki:
    """Generate the test CA and certificates with the openssl CLI (EC P-256: fast)."""
    folder.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE"]
    ca_ext += ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    for name in ("ca", "other-ca"):
        _openssl("req", "-x509", *ec, *ca_ext, "-keyout", f"{name}.key", "-out", f"{name}.crt",
                 "-days", "2", "-subj", f"/CN=reid test {name}", cwd=folder)  # fmt: skip
    for name in ("server", "client"):
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN=reid-test-{name}", cwd=folder)  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    (folder / "wrong-host.ext").write_text("subjectAltName=DNS:pool.example\n")
    signed = (
        ("server", "server", "server", "2"),
        ("expired", "server", "server", "-1"),
        ("wrong-host", "server", "wrong-host", "2"),
        ("client", "client", "client", "2"),
    )
    for name, csr, ext, days in signed:  # -1 day: notAfter before notBefore, an expired cert
        _openssl("x509", "-req", "-in", f"{csr}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", days,
                 "-extfile", f"{ext}.ext", cwd=folder)  # fmt: skip
    return Pki(
        ca=folder / "ca.crt",
        server_cert=folder / "server.crt",
        server_key=folder / "server.key",
        expired_cert=folder / "expired.crt",
        wrong_host_cert=folder / "wrong-host.crt",
        other_ca=folder / "other-ca.crt",
        client_cert=folder / "client.crt",
        client_key=folder / "client.key",
    )


class Broker:
    """One Mosquitto process; `port` is plain MQTT, `tls_port` (when TLS is on) is MQTT over TLS."""

    def __init__(
        self,
        workdir: Path,
        users: dict[str, str] | None = None,
        pki: Pki | None = None,
        server_cert: Path | None = None,
        persistent: bool = False,
        require_client_cert: bool = False,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = HOST
        self.port = free_port()
        self.tls_port = free_port() if pki else None
        self.log_path = workdir / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._config = workdir / "mosquitto.conf"
        text = self._config_text(users, pki, server_cert, persistent)
        if require_client_cert:  # applies to the TLS listener, the last one
            text += "require_certificate true\n"
        self._config.write_text(text)

    def _config_text(
        self, users: dict[str, str] | None, pki: Pki | None, server_cert: Path | None,
        persistent: bool,
    ) -> str:  # fmt: skip
        lines = ["per_listener_settings false"]
        if persistent:  # sessions and their queued messages survive a stop()/start(), and
            # (saved every second) a kill() too
            lines += ["persistence true", f"persistence_location {self.workdir}/"]
            lines += ["autosave_interval 1"]
        else:
            lines.append("persistence false")
        lines += [f"log_dest file {self.log_path}", "log_type all", "connection_messages true"]
        if os.geteuid() == 0:
            lines.append("user root")  # otherwise it drops to `mosquitto` and cannot read tmp
        if users:
            passwd = self.workdir / "passwd"
            passwd.touch()
            for user, password in users.items():
                cmd = ["mosquitto_passwd", "-b", str(passwd), user, password]
                subprocess.run(cmd, check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        lines.append(f"listener {self.port} {HOST}")
        if pki:
            lines.append(f"listener {self.tls_port} {HOST}")
            lines += [f"cafile {pki.ca}", f"certfile {server_cert or pki.server_cert}"]
            lines.append(f"keyfile {pki.server_key}")
        return "\n".join(lines) + "\n"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start (or start again) on the same ports; returns once every listener accepts."""
        if self.running:
            return
        cmd = [str(MOSQUITTO), "-c", str(self._config)]
        self._process = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        for port in (self.port, self.tls_port):
            while port is not None and not self._accepts(port):
                if self._process.poll() is not None:
                    err = self._process.stderr.read().decode() if self._process.stderr else ""
                    raise RuntimeError(f"mosquitto exited at start: {err.strip()}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"mosquitto did not listen on {port}")
                time.sleep(0.05)

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL); the ports stay ours to `start()` again."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None

    def wait_for_save(self, timeout: float = 10.0) -> bool:
        """Wait for the next autosave of a persistent broker: what was subscribed before this
        call is on disk, and survives a kill()."""
        saves = self.log().count(SAVED)
        return wait_until(lambda: self.log().count(SAVED) > saves, timeout=timeout)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and the kernel still takes what clients send, but
        nothing is read or acknowledged, as with a broker host that hangs."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL, frozen or not: whatever it had read and not yet handled is gone."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()
        self.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        """Mosquitto's own log: which clients connected, how, and why they were refused."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Collector:
    """A plain paho subscriber that records what arrives on a topic filter, for assertions.

    `persistent=True` (with a persistent Broker) keeps its QoS 1 session across a broker
    restart, so nothing published while it was reconnecting is missed.
    """

    def __init__(
        self, port: int, topic: str, host: str = HOST, persistent: bool = False, **auth: str
    ) -> None:
        import paho.mqtt.client as mqtt  # tests only: keeps this module importable without paho

        self.messages: list[tuple[str, bytes, bool]] = []
        self._cond = threading.Condition()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"collector-{port}-{id(self)}",
            clean_session=not persistent,  # persistent: the broker queues what we miss
        )
        if auth:
            self._client.username_pw_set(auth["username"], auth.get("password"))
        self._client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self._client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.reconnect_delay_set(0.2, 0.5)
        self._client.connect(host, port)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            self.close()
            raise RuntimeError(f"collector could not subscribe to {topic} on port {port}")

    def _on_message(self, _client: object, _userdata: object, message: object) -> None:
        with self._cond:
            self.messages.append((message.topic, message.payload, bool(message.retain)))
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list], bool], timeout: float = 10.0) -> bool:
        """Wait until `predicate(messages)` holds; False when it never did within `timeout`."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.messages), timeout=timeout)

    def payloads(self, topic_suffix: str = "") -> list[bytes]:
        with self._cond:
            return [p for t, p, _ in self.messages if t.endswith(topic_suffix)]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, every: float = 0.05) -> bool:
    """Poll `predicate` until it holds; False when it never did within `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True
