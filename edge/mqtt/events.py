"""Swimmer-ID events: the MQTT contract's payload, and its JSON Schema (events.schema.json)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, Literal

EVENT_SCHEMA_VERSION = 1
EVENT_SCHEMA_FILE = "events.schema.json"  # package data beside this module

EventType = Literal["new", "update", "end"]


@dataclass(frozen=True)
class Event:
    """A change in a track's identity: `new` once settled, `update` on change, `end` when gone."""

    type: EventType
    ts: float  # unix seconds of the frame that caused it
    device: str
    camera: str
    track_id: int
    swimmer_id: str | None  # None: an unknown swimmer
    score: float
    box: tuple[int, int, int, int]  # x, y, w, h in frame pixels
    frame: int
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    schema: int = EVENT_SCHEMA_VERSION

    def to_json(self) -> str:
        payload = asdict(self)
        payload["box"] = list(self.box)
        return json.dumps(payload, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        payload = json.loads(text)
        payload["box"] = tuple(payload["box"])
        return cls(**payload)


def event_schema() -> dict[str, Any]:
    """The JSON Schema of an event payload, shipped as package data for consumers and tests.

    The edge code never validates against it at run time (no jsonschema on the Pi): `Event`
    builds payloads that match it, and the tests prove they do.
    """
    text = resources.files("edge.mqtt").joinpath(EVENT_SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)
