"""Swimmer-ID events: the MQTT contract's payload, and its JSON Schema (events.schema.json).

Version 2 adds `lane` (1 = leftmost, 0 = no lane). Readers take what they know and ignore the
rest, so this reader reads version 1 payloads (lane 0) and later versions' additions alike.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from typing import Any, Literal

EVENT_SCHEMA_VERSION = 2
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
    lane: int = 0  # the lane of the box's centre (edge/geometry.py); 0: in no lane, or no lanes
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    schema: int = EVENT_SCHEMA_VERSION

    def to_json(self) -> str:
        payload = asdict(self)
        payload["box"] = list(self.box)
        return json.dumps(payload, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Event:
        """An event from any schema version: fields this version does not know are ignored,
        fields a version 1 payload lacks take their defaults."""
        payload = json.loads(text)
        payload["box"] = tuple(payload["box"])
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in payload.items() if key in known})


def event_schema() -> dict[str, Any]:
    """The JSON Schema of an event payload, shipped as package data for consumers and tests.

    The edge code never validates against it at run time (no jsonschema on the Pi): `Event`
    builds payloads that match it, and the tests prove they do.
    """
    text = resources.files("edge.mqtt").joinpath(EVENT_SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)
