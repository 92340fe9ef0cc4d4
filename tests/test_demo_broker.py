"""The demo's fallback broker (amqtt) really brokers: a subscriber gets a QoS 1 message."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import pytest

from demo.broker import _start_embedded, _wait_listening, free_port


def test_the_embedded_broker_delivers_a_qos1_message() -> None:
    pytest.importorskip("amqtt", reason="the demo extra (amqtt) is not installed")
    port = free_port()
    broker = _start_embedded(port)
    try:
        _wait_listening(port)
        got = threading.Event()
        received: list[bytes] = []
        subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        subscriber.on_message = lambda _c, _u, m: (received.append(m.payload), got.set())
        subscriber.connect("127.0.0.1", port)
        subscriber.subscribe("reid/demo/events", qos=1)
        subscriber.loop_start()
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        publisher.connect("127.0.0.1", port)
        publisher.loop_start()
        subscriber_ready = threading.Event()
        subscriber.on_subscribe = lambda *_: subscriber_ready.set()
        subscriber_ready.wait(2)
        publisher.publish("reid/demo/events", b'{"swimmer_id":"3"}', qos=1).wait_for_publish(5)
        assert got.wait(5), "no message through the embedded broker"
        assert received == [b'{"swimmer_id":"3"}']
        for client in (publisher, subscriber):
            client.loop_stop()
            client.disconnect()
    finally:
        broker.stop()
