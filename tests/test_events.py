"""The event payload against its shipped JSON Schema (the MQTT contract's consumer view)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from edge.mqtt.events import EVENT_SCHEMA_VERSION, Event, event_schema

REPO = Path(__file__).resolve().parents[1]


def sample(**changes) -> Event:
    base = Event("update", 1_700_000_000.5, "pi", "cam0", 3, "12", 0.87, (4, 5, 60, 120), 42, 3)
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize(
    "event",
    [
        sample(),
        sample(type="new", swimmer_id=None, score=0.0),
        sample(type="end", box=(0, 0, 0, 0), frame=0, track_id=0),
        sample(score=-1.25, box=(-3, -1, 10, 10)),  # a margin score; a box grown past the edge
    ],
)
def test_events_validate_and_round_trip(event: Event) -> None:
    payload = json.loads(event.to_json())
    jsonschema.validate(payload, event_schema())
    assert Event.from_json(event.to_json()) == event


def test_event_ids_are_unique_and_the_version_is_carried() -> None:
    events = [sample() for _ in range(100)]
    assert len({e.event_id for e in events}) == 100
    assert json.loads(events[0].to_json())["schema"] == EVENT_SCHEMA_VERSION


def test_the_schema_describes_exactly_the_event_fields() -> None:
    schema = event_schema()
    fields = {f.name for f in dataclasses.fields(Event)}
    assert set(schema["properties"]) == fields
    assert set(schema["required"]) == fields
    assert schema["properties"]["schema"]["const"] == EVENT_SCHEMA_VERSION
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize(
    "change",
    [
        {"type": "moved"},
        {"swimmer_id": 3},
        {"swimmer_id": ""},
        {"box": [1, 2, 3]},
        {"box": [1, 2, 3, 4, 5]},
        {"box": [1, 2, -3, 4]},
        {"track_id": "7"},
        {"schema": 1},
        {"lane": -1},
        {"extra": True},
    ],
)
def test_the_schema_rejects_broken_payloads(change: dict) -> None:
    payload = json.loads(sample().to_json()) | change
    with pytest.raises(jsonschema.ValidationError) as caught:
        jsonschema.validate(payload, event_schema())
    (key,) = change
    assert list(caught.value.absolute_path)[:1] == [key] or repr(key) in caught.value.message


def test_a_missing_field_is_rejected() -> None:
    payload = json.loads(sample().to_json())
    del payload["event_id"]
    with pytest.raises(jsonschema.ValidationError, match="event_id"):
        jsonschema.validate(payload, event_schema())


def test_the_mqtt_side_runs_without_jsonschema() -> None:
    """jsonschema is a dev dependency: nothing on the device may import it."""
    code = (
        "import sys; sys.modules['jsonschema'] = None\n"
        "import edge.mqtt.events, edge.mqtt.spool, edge.mqtt.publish, edge.mqtt.subscribe\n"
        "import edge.notify\n"
        "assert edge.mqtt.events.event_schema()['title']\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_a_version_1_payload_still_reads_as_lane_0() -> None:
    """A Pi not yet updated publishes version 1: subscribers read it on."""
    payload = json.loads(sample().to_json())
    del payload["lane"]
    payload["schema"] = 1
    event = Event.from_json(json.dumps(payload))
    assert event.lane == 0 and event.swimmer_id == "12" and event.schema == 1


def test_fields_from_a_later_version_are_ignored() -> None:
    payload = json.loads(sample().to_json()) | {"schema": 3, "heading": "up"}
    assert Event.from_json(json.dumps(payload)).lane == 3
