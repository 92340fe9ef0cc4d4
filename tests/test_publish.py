"""The publisher against a real Mosquitto: delivery, status, Last Will, outages, restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from broker import Collector, free_port, wait_until
from lines import Lines

from edge.config import DeviceConfig, MqttConfig
from edge.mqtt.events import Event, event_schema
from edge.mqtt.inflight import MAX_INFLIGHT
from edge.mqtt.publish import Publisher
from edge.mqtt.spool import Spool

REPO = Path(__file__).resolve().parents[1]
DEVICE = "pi-test"
OUTAGE_S = 10.0


def mqtt_config(port: int, **overrides) -> MqttConfig:
    fast = {"host": "127.0.0.1", "port": port, "keepalive_s": 5}
    fast |= {"reconnect_min_s": 0.2, "reconnect_max_s": 1.0}
    return MqttConfig(**(fast | overrides))


def event(i: int, swimmer: str | None = "3") -> Event:
    return Event("new", 1_700_000_000.0 + i, DEVICE, "cam0", i, swimmer, 0.75, (5, 6, 70, 80), i)


@pytest.fixture
def publisher_factory(tmp_path: Path):
    made: list[Publisher] = []

    def make(port: int, spool_name: str = "spool.db", **overrides) -> Publisher:
        spool = Spool(tmp_path / spool_name)
        publisher = Publisher(mqtt_config(port, **overrides), DeviceConfig(name=DEVICE), spool)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.stop(timeout_s=0.5)


def ids(collector: Collector) -> list[str]:
    return [Event.from_json(p).event_id for p in collector.payloads("/events")]


def test_events_arrive_in_order_validate_and_leave_the_spool(broker, publisher_factory) -> None:
    collector = Collector(broker.port, "reid/+/events")
    publisher = publisher_factory(broker.port)
    publisher.start()
    sent = [event(i, swimmer=None if i == 2 else str(i)) for i in range(6)]
    for e in sent:
        publisher.publish_event(e)
    assert collector.wait_for(lambda m: len(m) >= len(sent))
    assert ids(collector) == [e.event_id for e in sent]
    for (topic, payload, _), e in zip(collector.messages, sent, strict=True):
        assert topic == f"reid/{DEVICE}/events"
        jsonschema.validate(json.loads(payload), event_schema())
        assert Event.from_json(payload) == e
    assert wait_until(lambda: publisher.stats()["events_spooled"] == 0)
    assert publisher.stats()["events_acked"] == len(sent)
    collector.close()


def test_status_is_retained_online_then_offline_on_clean_stop(broker, publisher_factory) -> None:
    publisher = publisher_factory(broker.port)
    publisher.start()
    assert wait_until(lambda: publisher.connected)
    late = Collector(broker.port, f"reid/{DEVICE}/status")  # subscribes after it was published
    assert late.wait_for(lambda m: len(m) >= 1)
    assert late.messages[0][1:] == (b"online", True)
    publisher.publish_stats({"fps": 4.5})
    publisher.stop()
    assert late.wait_for(lambda m: m[-1][1] == b"offline")
    assert publisher.stats()["mqtt_state"] == "stopped"
    late.close()


def test_stats_are_published_as_json(broker, publisher_factory) -> None:
    collector = Collector(broker.port, f"reid/{DEVICE}/stats")
    publisher = publisher_factory(broker.port)
    publisher.start()
    assert wait_until(lambda: publisher.connected)
    publisher.publish_stats({"fps": np.float32(4.5), "where": Path("/x"), **publisher.stats()})
    assert collector.wait_for(lambda m: len(m) >= 1)
    stats = json.loads(collector.messages[0][1])
    assert stats["fps"] == 4.5
    assert stats["where"] == "/x"
    assert stats["mqtt_state"] == "connected"
    collector.close()


def start_child(port: int, spool: Path, interval_s: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, str(REPO / "tests" / "publish_child.py"), str(port), str(spool)]
    return subprocess.Popen(
        [*cmd, DEVICE, str(interval_s)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, env=env,
    )  # fmt: skip


def test_last_will_says_offline_when_the_publisher_dies(broker, tmp_path: Path) -> None:
    collector = Collector(broker.port, f"reid/{DEVICE}/status")
    child = start_child(broker.port, tmp_path / "spool.db", 0.2)
    try:
        assert collector.wait_for(lambda m: any(p == b"online" for _, p, _ in m), 20)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert collector.wait_for(lambda m: m[-1][1] == b"offline", 20)
    finally:
        child.kill()
        collector.close()


def test_sigkilled_publisher_restarted_on_its_spool_loses_nothing(make_broker, tmp_path) -> None:
    broker = make_broker(persistent=True)
    collector = Collector(broker.port, "reid/+/events", persistent=True)
    spool = tmp_path / "spool.db"
    child = start_child(broker.port, spool, 0.02)
    produced = Lines(child)
    try:
        assert wait_until(lambda: len(produced.lines) >= 10, 20)
        broker.stop()  # what follows can only be in the spool
        count = len(produced.lines)
        assert wait_until(lambda: len(produced.lines) >= count + 10, 20)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        child.kill()
    broker.start()
    publisher = Publisher(mqtt_config(broker.port), DeviceConfig(name=DEVICE), Spool(spool))
    publisher.start()
    expected = set(produced.lines)
    assert collector.wait_for(lambda m: expected <= set(ids(collector)), 20), (
        f"lost {len(expected - set(ids(collector)))} of {len(expected)} events"
    )
    publisher.stop()
    collector.close()


@pytest.mark.slow
def test_a_ten_second_broker_outage_loses_nothing(make_broker, publisher_factory) -> None:
    broker = make_broker(persistent=True)
    collector = Collector(broker.port, "reid/+/events", persistent=True)
    publisher = publisher_factory(broker.port)
    publisher.start()
    produced: list[str] = []

    def produce(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            e = event(len(produced))
            publisher.publish_event(e)
            produced.append(e.event_id)
            time.sleep(0.05)

    produce(1.0)
    broker.stop()
    produce(OUTAGE_S)
    assert publisher.stats()["mqtt_state"] == "disconnected"
    assert publisher.stats()["events_spooled"] > 0
    broker.start()
    produce(1.0)
    expected = set(produced)
    assert collector.wait_for(lambda m: expected <= set(ids(collector)), 30), (
        f"lost {len(expected - set(ids(collector)))} of {len(expected)} events"
    )
    assert wait_until(lambda: publisher.stats()["events_spooled"] == 0)
    first_seen = list(dict.fromkeys(ids(collector)))
    assert first_seen == produced  # drained in order
    collector.close()


def test_events_in_flight_when_the_broker_hangs_are_sent_again(make_broker, publisher_factory):
    """The broker freezes with a full window sent and unacknowledged, then dies: after it
    restarts the window is re-sent, drains, and the spool follows in order."""
    broker = make_broker(persistent=True)
    collector = Collector(broker.port, "reid/+/events", persistent=True)
    publisher = publisher_factory(broker.port)
    publisher.start()
    produced = [event(i) for i in range(3 * MAX_INFLIGHT)]
    for e in produced[:5]:
        publisher.publish_event(e)
    assert collector.wait_for(lambda m: len(m) >= 5)
    assert broker.wait_for_save()  # the collector's session is on disk: it survives the kill
    broker.freeze()
    for e in produced[5:]:
        publisher.publish_event(e)
    stats = publisher.stats()
    assert (stats["events_in_flight"], stats["events_spooled"]) == (MAX_INFLIGHT, len(produced) - 5)
    assert stats["mqtt_state"] == "connected"  # the socket is still up: nothing noticed yet
    broker.kill()
    broker.start()
    expected = [e.event_id for e in produced]
    assert collector.wait_for(lambda m: set(expected) <= set(ids(collector)), 30), (
        f"lost {len(set(expected) - set(ids(collector)))} of {len(expected)} events"
    )
    assert wait_until(lambda: publisher.stats()["events_spooled"] == 0)
    assert publisher.stats()["events_in_flight"] == 0
    assert list(dict.fromkeys(ids(collector))) == expected  # in order, duplicates aside
    collector.close()


def test_a_full_spool_while_the_broker_is_away_is_counted(tmp_path: Path, caplog) -> None:

    spool = Spool(tmp_path / "spool.db", max_events=3, on_full="drop_oldest")
    publisher = Publisher(mqtt_config(free_port()), DeviceConfig(name=DEVICE), spool)
    publisher.start()
    try:
        for i in range(5):
            publisher.publish_event(event(i))
        stats = publisher.stats()
        assert (stats["events_spooled"], stats["events_dropped"]) == (3, 2)
        assert stats["mqtt_state"] in ("connecting", "disconnected")
        assert "event spool full" in caplog.text
        assert wait_until(lambda: "refused the TCP connection" in caplog.text)
    finally:
        publisher.stop(timeout_s=0.2)
