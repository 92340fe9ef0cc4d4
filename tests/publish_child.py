"""A publisher in its own process, for tests that SIGKILL it: prints each event_id once spooled.

Usage: python tests/publish_child.py PORT SPOOL_PATH DEVICE INTERVAL_S
"""

from __future__ import annotations

import logging
import sys
import time

from edge.config import DeviceConfig, MqttConfig
from edge.mqtt.events import Event
from edge.mqtt.publish import Publisher
from edge.mqtt.spool import Spool


def main() -> None:
    port, spool_path, device_name, interval = sys.argv[1:5]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    mqtt = MqttConfig(host="127.0.0.1", port=int(port), keepalive_s=5,
                      reconnect_min_s=0.2, reconnect_max_s=1.0)  # fmt: skip
    device = DeviceConfig(name=device_name)
    publisher = Publisher(mqtt, device, Spool(spool_path))
    publisher.start()
    frame = 0
    while True:
        event = Event("update", time.time(), device.name, "cam0", frame, "1", 0.8,
                      (10, 20, 30, 40), frame)  # fmt: skip
        publisher.publish_event(event)
        print(event.event_id, flush=True)  # only after it is durably spooled
        frame += 1
        time.sleep(float(interval))


if __name__ == "__main__":
    main()
