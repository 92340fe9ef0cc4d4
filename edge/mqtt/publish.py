"""Publishing swimmer-ID events over MQTT without losing any.

Every event goes to the `Spool` first and is handed to paho from there, in order, at most
`MAX_INFLIGHT` at a time; it leaves the spool only when the broker's PUBACK arrives (QoS 1).
While the broker is away nothing is handed over; on reconnect paho re-sends what was in flight
and the rest of the spool follows, so delivery is at-least-once and in order.

paho's own network thread (`loop_start`) connects (`connect_async`: `start()` never blocks),
reconnects with back-off between `reconnect_min_s` and `reconnect_max_s`, and runs the callbacks.
Every failure (DNS, refused TCP, TLS handshake, CONNACK "not authorised") is one log line and
another try later, never a crash and never a busy loop; the state is exposed by `stats()`.

Threads: the daemon's thread calls `publish_event`; paho's thread acknowledges. No lock of ours
is held while calling into paho (paho calls `on_publish` holding its own lock), and one pump at
a time hands rows over (`InflightWindow`), so the order on the wire is the order in the spool.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags
from paho.mqtt.enums import LogLevel
from paho.mqtt.reasoncodes import ReasonCode

from edge.config import DeviceConfig, MqttConfig
from edge.errors import SpoolError
from edge.mqtt.connection import (
    EVENTS,
    STATS,
    STATUS,
    describe_connect_error,
    describe_early_close,
    describe_refusal,
    make_client,
    topic,
)
from edge.mqtt.credentials import read_password
from edge.mqtt.events import Event
from edge.mqtt.inflight import InflightWindow
from edge.mqtt.spool import Spool

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0  # how long stop() waits for the spool to drain
ONLINE, OFFLINE = "online", "offline"  # retained payloads of PREFIX/DEVICE/status


class Publisher:
    """Spool-backed QoS 1 publisher of events, plus retained status and periodic stats."""

    def __init__(self, mqtt: MqttConfig, device: DeviceConfig, spool: Spool) -> None:
        self._cfg = mqtt
        self._spool = spool
        self._topics = {leaf: topic(mqtt, device, leaf) for leaf in (STATUS, EVENTS, STATS)}
        client_id = mqtt.client_id or f"reid-edge-{device.name}"
        self._client: Client = make_client(client_id, mqtt.username, read_password(mqtt), mqtt.tls)
        self._client.will_set(self._topics[STATUS], OFFLINE, qos=1, retain=True)
        self._client.reconnect_delay_set(mqtt.reconnect_min_s, mqtt.reconnect_max_s)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_pre_connect = self._on_pre_connect
        self._client.on_log = self._on_log
        self._window = InflightWindow(spool)
        self._acked_cond = threading.Condition()
        self._pump_wanted = False
        self._pump_lock = threading.Lock()
        self._state = "stopped"
        self._last_error: str | None = None
        self._paho_error: str | None = None  # paho's last error log line in this attempt
        self._reported = False  # this attempt's failure is already logged
        self._connects = 0
        self._acked = 0

    # --- the daemon's side -------------------------------------------------------------------

    def start(self) -> None:
        """Begin connecting in paho's thread; returns at once, the broker may still be away."""
        self._state = "connecting"
        where = "TLS " if self._cfg.tls.enabled else ""
        log.info("connecting to MQTT broker %s%s:%d", where, self._cfg.host, self._cfg.port)
        self._client.connect_async(self._cfg.host, self._cfg.port, self._cfg.keepalive_s)
        self._client.loop_start()

    def publish_event(self, event: Event) -> None:
        """Spool the event (durably; `SpoolError` if that fails), then send what the window
        allows."""
        self._spool.put(event)
        self._pump()

    def publish_stats(self, stats: dict[str, Any]) -> None:
        """Health numbers, QoS 0, not retained: skipped while disconnected (they go stale)."""
        if self._state == "connected":
            payload = json.dumps(stats, sort_keys=True, separators=(",", ":"), default=_plain)
            self._client.publish(self._topics[STATS], payload, qos=0)

    def stats(self) -> dict[str, Any]:
        """Connection state and spool figures, for the daemon's stats message."""
        return {
            "mqtt_state": self._state,
            "mqtt_last_error": self._last_error,
            "mqtt_connects": self._connects,
            "events_spooled": len(self._spool),
            "events_in_flight": len(self._window),
            "events_acked": self._acked,
            "events_dropped": self._spool.dropped,
        }

    @property
    def connected(self) -> bool:
        return self._state == "connected"

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Wait up to `timeout_s` for the spool to drain, publish `offline`, disconnect.

        Whatever is still spooled stays on disk for the next start.
        """
        deadline = time.monotonic() + timeout_s
        with self._acked_cond:
            self._acked_cond.wait_for(
                lambda: self._state != "connected" or len(self._spool) == 0, timeout=timeout_s
            )
        if self._state == "connected":
            info = self._client.publish(self._topics[STATUS], OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                log.warning("could not publish the offline status before disconnecting")
        self._state = "stopped"
        self._client.disconnect()
        self._client.loop_stop()
        log.info("MQTT publisher stopped; %d event(s) left in the spool", len(self._spool))

    # --- handing spooled rows to paho, in order ------------------------------------------------

    def _pump(self) -> None:
        """Hand waiting rows to paho; if another thread is pumping, it goes round once more."""
        while True:
            self._pump_wanted = True
            if not self._pump_lock.acquire(blocking=False):
                return  # the holder sees _pump_wanted and sends our rows too
            try:
                while self._pump_wanted:
                    self._pump_wanted = False
                    self._send_window()
            finally:
                self._pump_lock.release()
            if not self._pump_wanted:
                return

    def _send_window(self) -> None:
        if self._state != "connected":
            return
        rows = self._window.take()
        try:
            for row in rows:
                info = self._client.publish(self._topics[EVENTS], row.payload, qos=1)
                if self._window.sent(info.mid, row.row_id):
                    self._acknowledged(row.row_id)
        finally:
            self._window.close_batch()

    def _acknowledged(self, row_id: int) -> None:
        try:
            self._spool.remove(row_id)
        except SpoolError as error:  # it will be sent again after a restart: a duplicate
            log.error("%s", error)
        with self._acked_cond:
            self._acked += 1
            self._acked_cond.notify_all()

    # --- paho's callbacks (its network thread) -------------------------------------------------

    def _on_connect(
        self, client: Client, _u: Any, _f: ConnectFlags, reason: ReasonCode, _p: Any
    ) -> None:
        if reason.is_failure:
            self._failed(describe_refusal(reason, self._cfg.host, self._cfg.port))
            return
        self._connects += 1
        self._last_error = None
        log.info("connected to MQTT broker %s:%d", self._cfg.host, self._cfg.port)
        client.publish(self._topics[STATUS], ONLINE, qos=1, retain=True)
        self._state = "connected"
        if not self._window:  # else paho re-sends those first, and their PUBACKs pump
            self._pump()

    def _on_connect_fail(self, _client: Client, _userdata: Any) -> None:
        # paho calls this inside its `except OSError:` block, so the cause is the active one.
        cause = sys.exception()
        self._failed(
            describe_connect_error(cause, self._cfg.host, self._cfg.port, self._cfg.tls.enabled)
        )

    def _on_pre_connect(self, _client: Client, _userdata: Any) -> None:
        self._paho_error, self._reported = None, False

    def _on_log(self, _client: Client, _userdata: Any, level: int, message: str) -> None:
        if level == LogLevel.MQTT_LOG_ERR:
            self._paho_error = message

    def _failed(self, message: str) -> None:
        self._reported = True
        self._last_error = message
        if self._state != "stopped":
            self._state = "disconnected"
        log.warning("%s; retrying with back-off (at most every %gs)", message,
                    self._cfg.reconnect_max_s)  # fmt: skip

    def _on_disconnect(
        self, _c: Client, _u: Any, _f: DisconnectFlags, reason: ReasonCode, _p: Any
    ) -> None:
        with self._acked_cond:
            was_connected = self._state == "connected"
            if self._state != "stopped":
                self._state = "disconnected"
            self._acked_cond.notify_all()
        if not was_connected and not self._reported and self._state != "stopped":
            cfg = self._cfg
            detail = self._paho_error
            self._failed(describe_early_close(detail, cfg.host, cfg.port, cfg.tls.enabled))
        if was_connected:
            self._last_error = f"connection lost: {reason.getName()}"
            log.warning("lost the MQTT broker (%s); %d event(s) spooled, reconnecting",
                        reason.getName(), len(self._spool))  # fmt: skip

    def _on_publish(self, _c: Client, _u: Any, mid: int, _r: ReasonCode, _p: Any) -> None:
        row_id = self._window.acked(mid)
        if row_id is not None:
            self._acknowledged(row_id)
            self._pump()


def _plain(value: Any) -> Any:
    """JSON for what `json` does not know: numpy scalars become numbers, the rest strings."""
    return value.item() if hasattr(value, "item") else str(value)
