"""The daemon's one configuration schema: a TOML file read into frozen dataclasses.

Validated once, at start: an unknown key, a wrong type, a bad value or a broken rule between
keys (`check_section`: settle_crops <= identity_frames, a TLS file that is not there, ...) is a
`ConfigError` naming the key path (`mqtt.tls.ca_file: ...`), so a typo never silently falls
back to a default and `--check-config` refuses exactly what the daemon would refuse.
`examples/reid-edge.toml` documents every key.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from edge.errors import ConfigError
from edge.types import line_x


@dataclass(frozen=True)
class DeviceConfig:
    name: str = "poolside-pi"  # MQTT topic level: PREFIX/NAME/...
    camera: str = "cam0"  # carried in every event
    state_dir: str = "/var/lib/reid-edge"  # the event spool lives here


@dataclass(frozen=True)
class SourceConfig:
    kind: Literal["video", "camera", "images", "picamera2"] = "video"
    uri: str = ""  # file path, camera index ("0"), rtsp:// or http:// URL, or image folder
    loop: bool = False  # restart a video file at its end (soak tests, demos)
    fps: float = 0.0  # throttle to this rate; 0 = as fast as frames come
    width: int = 1280  # requested capture size for cameras
    height: int = 720
    retry_initial_s: float = 1.0  # back-off after a camera drops, doubling...
    retry_max_s: float = 30.0  # ...up to this
    # Added by the vision engineer: failed (re)opens in a row before SourceError; 0 = forever.
    max_retries: int = 10


@dataclass(frozen=True)
class DetectorConfig:
    kind: Literal["water", "tflite"] = "water"
    lanes: int = 8  # lanes as vertical columns across the frame width; 0 = no lane splitting
    # A swimmer's width from above as a fraction of a lane's: sizes the "solid core" a blob needs
    # to count as a swimmer. 0.5 fits one swimmer per lane; three to a lane need about 0.2.
    swimmer_width: float = 0.5
    min_area_frac: float = 0.002  # blobs smaller than this fraction of the frame are splashes
    max_area_frac: float = 0.08  # blobs larger than this are reflections or the deck
    model: str = ""  # kind = "tflite": an SSD-style detector (boxes, classes, scores, count)
    min_score: float = 0.5  # kind = "tflite": detections below this are ignored
    # Added by the vision engineer. kind = "water", in OpenCV HSV units (hue 0-179). The water
    # colour is measured on every frame (its median); a frame whose median is not blue/cyan
    # enough (hue outside min..max or less saturated) is not a pool view: no detections.
    water_hue_min: int = 85
    water_hue_max: int = 135
    water_min_saturation: int = 40
    # A pixel this close to the measured water colour is water; anything else may be a swimmer.
    water_hue_tol: int = 10
    water_sat_tol: int = 40
    water_val_tol: int = 40
    # kind = "tflite": the class id kept (0 = "person" in COCO SSD models and a one-class
    # swimmer model) and how pixels map to a float input: (pixel - mean) / std.
    model_class: int = 0
    input_mean: float = 127.5
    input_std: float = 127.5


@dataclass(frozen=True)
class PoolConfig:
    # Where the water and lanes are, in normalised image coordinates (x 0..1 left to right,
    # y 0..1 top to bottom: the config survives a change of capture size). edge/geometry.py.
    water: list = field(default_factory=list)  # polygon [[x, y], ...]; [] = the whole frame
    # Every lane boundary left to right, the outer two included: [[x, y], [x, y]] each, two
    # points on the line (perspective: lanes may converge). N + 1 lines make N lanes and
    # detector.lanes must be N. [] = detector.lanes equal columns.
    lane_lines: list = field(default_factory=list)
    masks: list = field(default_factory=list)  # polygons never searched: deck, flags, a clock


@dataclass(frozen=True)
class BundleConfig:
    path: str = "/etc/reid-edge/bundle"  # a bundle directory or .tar.gz
    # Once this Ed25519 public key is there (install.sh --trust), only bundles signed with its
    # private key load; while it is absent, bundles are checked against their manifest alone.
    trusted_key: str = "/etc/reid-edge/bundle-key.pub"
    threads: int = 1  # interpreter threads
    # No threshold here: the bundle's were calibrated on frames far from its training frames,
    # and reid-enroll recalibrates them (DESIGN.md: nothing overrides a calibrated value).


@dataclass(frozen=True)
class TrackerConfig:
    max_missed: int = 10  # frames a track may go unseen before it ends
    min_iou: float = 0.1  # below this a box does not continue a track
    # A track is named by the mean descriptor of the crops described in its last N frames (3 s
    # at 25 fps): frames, not crops, so the embedding budget changes how many crops the mean
    # holds but not how far back it remembers.
    identity_frames: int = 75
    # Crops a track needs before it is announced: the evidence the bundle's track threshold was
    # calibrated on (runs of 15 crops, train.openset). A track is described on every frame
    # until then, and for as many frames after its answer changes.
    settle_crops: int = 15
    # The embedding budget: a settled track whose answer holds is described on every
    # embed_interval-th frame only; one that is new, changed its answer within settle_crops
    # frames or is back from a gap, on every frame. 1 = every crop, every frame.
    embed_interval: int = 5
    # An announced track unseen for more than max_missed frames waits this many more for its
    # swimmer (a turn's glide under water): a box its swimmer can have swum to, or else a new
    # track in its lane named the same swimmer, continues it under its id. 0 = a lost track
    # ends at max_missed. reid-collect never rejoins (edge/enrolment/collect.py).
    rejoin_frames: int = 0

    @property
    def patience(self) -> int:
        """Frames a track may go unseen and still be continued: lost, then waiting."""
        return self.max_missed + self.rejoin_frames


@dataclass(frozen=True)
class TlsConfig:
    enabled: bool = False
    ca_file: str = ""  # CA bundle that signed the broker's certificate
    cert_file: str = ""  # optional client certificate...
    key_file: str = ""  # ...and its key


@dataclass(frozen=True)
class MqttConfig:
    host: str = "localhost"
    port: int = 1883
    prefix: str = "reid"  # topics: PREFIX/DEVICE/{status,events,stats}
    client_id: str = ""  # empty: derived from the device name
    keepalive_s: int = 30
    username: str = ""
    # The password never sits in this file: it is read from $CREDENTIALS_DIRECTORY/<credential>
    # (systemd LoadCredential) or else from the environment variable named here.
    password_credential: str = "mqtt-password"
    password_env: str = "REID_MQTT_PASSWORD"
    stats_interval_s: float = 10.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    tls: TlsConfig = field(default_factory=TlsConfig)


@dataclass(frozen=True)
class SpoolConfig:
    max_events: int = 100_000  # bound on events waiting for the broker
    on_full: Literal["drop_oldest", "drop_newest"] = "drop_oldest"


@dataclass(frozen=True)
class UnknownCropsConfig:
    # Off by default: keeping pictures of people the Pi does not know is the pool's decision.
    enabled: bool = False  # keep crops of tracks that end unknown, in STATE_DIR/unknown
    per_track: int = 10  # chosen as reid-collect chooses (sharp, whole, unlike each other)
    max_tracks: int = 200  # past either bound the oldest tracks are deleted
    max_mb: float = 50.0


@dataclass(frozen=True)
class Config:
    device: DeviceConfig = field(default_factory=DeviceConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    bundle: BundleConfig = field(default_factory=BundleConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    unknown_crops: UnknownCropsConfig = field(default_factory=UnknownCropsConfig)


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return parse_config(raw)


def parse_config(raw: dict[str, Any]) -> Config:
    """Build a `Config` from already-parsed TOML, checking every key and value, and every rule
    between keys that a stage would otherwise hit only when the daemon runs."""
    config = _build(Config, raw, "")
    sections = (config.tracker, config.detector, config.pool, config.spool, config.mqtt,
                config.mqtt.tls, config.unknown_crops)  # fmt: skip
    for section in sections:
        check_section(section)
    lines, lanes = len(config.pool.lane_lines), config.detector.lanes
    if lines and lines != lanes + 1:
        raise ConfigError(f"pool.lane_lines: {lines} lines make {lines - 1} lanes, but "
                          f"detector.lanes is {lanes}: set it to {lines - 1}")  # fmt: skip
    return config


def check_section(section: object) -> None:
    """ConfigError for the first rule a config section breaks. The stages call it too, so the
    daemon and `--check-config` refuse the same configs with the same one-line message."""
    check = _RULES.get(type(section))
    problem = check(section) if check else None
    if problem is not None:
        raise ConfigError(problem)


def _tracker_problem(cfg: TrackerConfig) -> str | None:
    if cfg.embed_interval < 1:
        return f"tracker.embed_interval: must be at least 1 (every frame), got {cfg.embed_interval}"
    if not 1 <= cfg.settle_crops <= cfg.identity_frames:
        return (
            "tracker.settle_crops: need 1 <= settle_crops <= identity_frames, "
            f"got {cfg.settle_crops} and {cfg.identity_frames}"
        )
    return None


def _detector_problem(cfg: DetectorConfig) -> str | None:
    if cfg.kind == "water" and not cfg.water_hue_min <= cfg.water_hue_max <= 179:
        return (
            "detector.water_hue_min/max: need 0 <= min <= max <= 179, "
            f"got {cfg.water_hue_min}..{cfg.water_hue_max}"
        )
    if not 0.0 < cfg.swimmer_width <= 1.0:
        width = cfg.swimmer_width
        return f"detector.swimmer_width: a fraction of a lane's width, 0 < w <= 1, got {width}"
    if cfg.kind == "water" and cfg.min_area_frac >= cfg.max_area_frac:
        return "detector.min_area_frac: must be smaller than max_area_frac"
    if cfg.kind == "tflite" and not cfg.model:
        return 'detector.model: a "tflite" detector needs a model file'
    if cfg.kind == "tflite" and not Path(cfg.model).is_file():
        return f"detector.model: no such file: {cfg.model}"
    if cfg.kind == "tflite" and cfg.input_std <= 0:
        return f"detector.input_std: must be > 0, got {cfg.input_std}"
    return None


def _pool_problem(cfg: PoolConfig) -> str | None:
    polygons = [("pool.water", cfg.water)] if cfg.water else []
    polygons += [(f"pool.masks[{i}]", m) for i, m in enumerate(cfg.masks)]
    for where, polygon in polygons:
        problem = _points_problem(where, polygon, at_least=3)
        if problem:
            return problem
    for i, line in enumerate(cfg.lane_lines):
        problem = _points_problem(f"pool.lane_lines[{i}]", line, at_least=2, at_most=2)
        if problem:
            return problem
        if line[0][1] == line[1][1]:
            return f"pool.lane_lines[{i}]: {line} is level; a lane boundary runs up the frame"
    if len(cfg.lane_lines) == 1:
        return "pool.lane_lines: one line makes no lane; give every boundary, the outer two too"
    for i, (left, right) in enumerate(pairwise(cfg.lane_lines)):
        if any(line_x(left, y) >= line_x(right, y) for y in (0.0, 1.0)):
            return (
                f"pool.lane_lines[{i + 1}]: not right of line {i} across the frame (left to right)"
            )
    return None


def _points_problem(where: str, points: Any, at_least: int, at_most: int = 0) -> str | None:
    """Normalised [x, y] points: a list of pairs of numbers in 0..1, as many as the shape needs."""
    if not isinstance(points, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(_is_number(v) for v in p) for p in points
    ):
        return f"{where}: expected a list of [x, y] points, got {points!r}"
    if len(points) < at_least or (at_most and len(points) > at_most):
        count = f"{at_least}" if at_most == at_least else f"at least {at_least}"
        return f"{where}: needs {count} points, got {len(points)}"
    for point in points:
        if not all(0.0 <= v <= 1.0 for v in point):
            return (
                f"{where}: {point} is outside the frame (x and y are 0..1 of its width and height)"
            )
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _spool_problem(cfg: SpoolConfig) -> str | None:
    if cfg.max_events < 1:
        return f"spool.max_events: must be at least 1, got {cfg.max_events}"
    return None


def _unknown_crops_problem(cfg: UnknownCropsConfig) -> str | None:
    for key in ("per_track", "max_tracks"):
        if getattr(cfg, key) < 1:
            return f"unknown_crops.{key}: must be at least 1, got {getattr(cfg, key)}"
    if cfg.max_mb <= 0:
        return f"unknown_crops.max_mb: must be > 0, got {cfg.max_mb}"
    return None


def _mqtt_problem(cfg: MqttConfig) -> str | None:
    if not 1 <= cfg.port <= 65535:
        return f"mqtt.port: must be 1..65535, got {cfg.port}"
    return None


def _tls_problem(tls: TlsConfig) -> str | None:
    if not tls.enabled:
        return None
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(tls, key)
        if value and not Path(value).is_file():
            return f"mqtt.tls.{key}: no such file: {value}"
    if tls.key_file and not tls.cert_file:
        return "mqtt.tls.key_file: set, but mqtt.tls.cert_file is empty"
    return None


# Each section's rules between keys (a section without rules has no entry).
_RULES = {
    TrackerConfig: _tracker_problem,
    DetectorConfig: _detector_problem,
    PoolConfig: _pool_problem,
    SpoolConfig: _spool_problem,
    MqttConfig: _mqtt_problem,
    TlsConfig: _tls_problem,
    UnknownCropsConfig: _unknown_crops_problem,
}


def render_toml(raw: dict[str, Any]) -> str:
    """Config tables (dicts of scalars and nested tables) as TOML text: for the programs that
    write a config for the daemon (the demo, the benchmarks, the tests), so that none of them
    hand-formats TOML. Checked against `parse_config`, so a key that does not exist is caught
    before the daemon starts."""
    parse_config(raw)
    lines: list[str] = []
    for name, table in raw.items():
        _render_table(name, table, lines)
    return "\n".join(lines) + "\n"


def _render_table(name: str, table: dict[str, Any], lines: list[str]) -> None:
    lines.append(f"[{name}]")
    nested = {key: value for key, value in table.items() if isinstance(value, dict)}
    for key, value in table.items():
        if key not in nested:
            lines.append(f"{key} = {_toml_scalar(value)}")
    for key, value in nested.items():
        _render_table(f"{name}.{key}", value, lines)


def _toml_scalar(value: Any) -> str:
    if isinstance(value, list):  # the pool's points: numbers and lists of them
        return "[" + ", ".join(_toml_scalar(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string is a valid TOML basic string (same quotes and escapes).
    return json.dumps(str(value))


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'}: expected a table, got {_kind(raw)}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        path = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ConfigError(f"{path}: unknown key (valid keys: {', '.join(sorted(names))})")
    values = {
        name: _value(hints[name], value, f"{where}.{name}" if where else name)
        for name, value in raw.items()
    }
    return cls(**values)


def _value(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            valid = ", ".join(repr(c) for c in choices)
            raise ConfigError(f"{where}: {value!r} is not one of {valid}")
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (hint in (int, float) and isinstance(value, bool)) or not isinstance(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {_kind(value)} {value!r}")
    if hint is float and not math.isfinite(value):
        raise ConfigError(f"{where}: must be a finite number, got {value!r}")
    if hint in (int, float) and value < 0:
        raise ConfigError(f"{where}: must not be negative, got {value!r}")
    return value


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array"}.get(type(value), type(value).__name__)
