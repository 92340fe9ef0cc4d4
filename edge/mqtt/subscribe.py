"""`reid-subscribe`: watch swimmer-ID events as they arrive, for a person or for jq.

    reid-subscribe [--host H] [--port P] [--topic T] [--username U] [--tls-ca FILE]
                   [--count N] [--json]

One line per event: readable text by default, the raw event JSON with --json. Delivery is
at-least-once, so an event_id seen again is skipped. The password, when --username is given,
comes from $CREDENTIALS_DIRECTORY/mqtt-password or $REID_MQTT_PASSWORD, never from the command
line (it would show in `ps`).

If the broker cannot be reached or refuses us at start, that is one line on stderr and exit 2:
a typo in --host should not look like a quiet pool. Once connected, a lost broker is reported on
stderr and reconnected with back-off (a broker restart should not end a long watch).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import deque
from typing import Any

from paho.mqtt.enums import LogLevel, MQTTErrorCode

from edge.cli import run_main, setup_logging
from edge.config import MqttConfig, TlsConfig
from edge.errors import BrokerError
from edge.mqtt.connection import (
    describe_connect_error,
    describe_early_close,
    describe_refusal,
    make_client,
)
from edge.mqtt.credentials import read_password
from edge.mqtt.events import Event

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "reid/+/events"
PLAIN_PORT, TLS_PORT = 1883, 8883
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30
CONNACK_TIMEOUT_S = 30.0
SEEN_IDS = 10_000  # event_ids remembered for de-duplication


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="reid-subscribe", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=MqttConfig.host, help="broker (default %(default)s)")
    parser.add_argument("--port", type=int, help=f"default {PLAIN_PORT}, {TLS_PORT} with TLS")
    parser.add_argument("--topic", default=DEFAULT_TOPIC, help="filter (default %(default)s)")
    parser.add_argument("--username", default="", help="password from $REID_MQTT_PASSWORD")
    parser.add_argument("--tls-ca", default="", metavar="FILE", help="use TLS, trusting FILE")
    parser.add_argument("--count", type=int, default=0, help="exit after N events (0: never)")
    parser.add_argument("--json", action="store_true", help="print each event's raw JSON")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def format_event(event: Event) -> str:
    """One human line: time, device/camera, track, what happened, who, how sure, where."""
    clock = time.strftime("%H:%M:%S", time.localtime(event.ts)) + f".{int(event.ts % 1 * 1000):03d}"
    who = f"swimmer {event.swimmer_id}" if event.swimmer_id is not None else "unknown swimmer"
    box = ",".join(str(v) for v in event.box)
    lane = f"lane {event.lane} " if event.lane else ""
    return (
        f"{clock} {event.device}/{event.camera} track {event.track_id:<4} {event.type:<6} "
        f"{who} (score {event.score:.2f}) {lane}box {box} frame {event.frame}"
    )


class _Session:
    """Callback state: de-duplication, the count, and why a first connection was refused."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.printed = 0
        self.refused: str | None = None
        self.connected_once = False
        self.paho_error: str | None = None  # paho's last error log line
        self._seen: deque[str] = deque(maxlen=SEEN_IDS)

    def on_connect(self, client: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.refused = describe_refusal(reason, self.args.host, self.args.port)
            if self.connected_once:
                log.warning("%s; retrying", self.refused)
            return
        if self.connected_once:
            log.warning("reconnected to %s:%d", self.args.host, self.args.port)
        self.connected_once = True
        client.subscribe(self.args.topic, qos=1)

    def on_log(self, _client: Any, _userdata: Any, level: int, message: str) -> None:
        if level == LogLevel.MQTT_LOG_ERR:
            self.paho_error = message

    def on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if self.connected_once and not self._done:
            log.warning("lost the broker (%s); reconnecting", reason.getName())

    @property
    def _done(self) -> bool:
        return bool(self.args.count) and self.printed >= self.args.count

    def on_message(self, client: Any, _u: Any, message: Any) -> None:
        try:
            event = Event.from_json(message.payload)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("skipping a message on %s that is not an event: %s", message.topic, error)
            return
        if event.event_id in self._seen:
            return
        self._seen.append(event.event_id)
        line = message.payload.decode() if self.args.json else format_event(event)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        self.printed += 1
        if self._done:
            client.disconnect()


def subscribe(args: argparse.Namespace) -> int:
    """Connect (failing fast), then print events until --count or Ctrl-C."""
    tls = TlsConfig(enabled=bool(args.tls_ca), ca_file=args.tls_ca)
    args.port = args.port or (TLS_PORT if tls.enabled else PLAIN_PORT)
    password = read_password(MqttConfig()) if args.username else None
    client = make_client(f"reid-subscribe-{os.getpid()}", args.username, password, tls)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    session = _Session(args)
    client.on_connect = session.on_connect
    client.on_disconnect = session.on_disconnect
    client.on_message = session.on_message
    client.on_log = session.on_log
    try:
        client.connect(args.host, args.port, keepalive=MqttConfig.keepalive_s)
    except OSError as error:
        reason = describe_connect_error(error, args.host, args.port, tls.enabled)
        raise BrokerError(reason) from None
    _await_connack(client, session)
    try:
        client.loop_forever()
    except BrokenPipeError:  # `reid-subscribe | head`: the reader left
        return 0
    return 0


def _await_connack(client: Any, session: _Session) -> None:
    """Run the network loop until the broker accepts us; anything else is a `BrokerError`."""
    args = session.args
    deadline = time.monotonic() + CONNACK_TIMEOUT_S
    while not session.connected_once:
        rc = client.loop(timeout=1.0)
        if session.refused is not None:
            raise BrokerError(session.refused)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:  # hung up before its CONNACK
            tls = bool(args.tls_ca)
            raise BrokerError(describe_early_close(session.paho_error, args.host, args.port, tls))
        if time.monotonic() > deadline:
            raise BrokerError(f"broker {args.host}:{args.port} did not answer our CONNECT")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging(args.verbose)
    return run_main(lambda: subscribe(args))


if __name__ == "__main__":
    sys.exit(main())
