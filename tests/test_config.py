"""The daemon's config: strict, typed, and every mistake named by its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import Config, load_config, parse_config, render_toml
from edge.errors import ConfigError


def test_an_empty_file_gives_the_documented_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("")
    assert load_config(path) == Config()


def test_values_are_read_and_ints_widen_to_floats() -> None:
    config = parse_config({"mqtt": {"port": 8883, "tls": {"enabled": True}}, "source": {"fps": 25}})
    assert config.mqtt.port == 8883 and config.mqtt.tls.enabled
    assert config.source.fps == 25.0 and isinstance(config.source.fps, float)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"mqtt": {"prot": 1883}}, "mqtt.prot: unknown key (valid keys: client_id,"),
        ({"mqtt": {"tls": {"ca_fle": "x"}}}, "mqtt.tls.ca_fle: unknown key"),
        ({"camera": {}}, "camera: unknown key"),
        ({"mqtt": {"port": "1883"}}, "mqtt.port: expected int, got str '1883'"),
        ({"tracker": {"max_missed": True}}, "tracker.max_missed: expected int, got bool"),
        ({"source": {"loop": "yes"}}, "source.loop: expected bool, got str"),
        ({"source": {"kind": "webcam"}}, "source.kind: 'webcam' is not one of 'video', 'camera'"),
        ({"spool": {"max_events": -5}}, "spool.max_events: must not be negative"),
        ({"detector": {"swimmer_width": 1.5}}, "detector.swimmer_width: a fraction of a lane"),
        ({"detector": {"swimmer_width": 0}}, "detector.swimmer_width: a fraction of a lane"),
        ({"tracker": {"embed_interval": 0}}, "tracker.embed_interval: must be at least 1"),
        ({"tracker": {"rejoin_frames": -1}}, "tracker.rejoin_frames: must not be negative"),
        ({"unknown_crops": {"per_track": 0}}, "unknown_crops.per_track: must be at least 1"),
        ({"unknown_crops": {"max_tracks": 0}}, "unknown_crops.max_tracks: must be at least 1"),
        ({"unknown_crops": {"max_mb": 0.0}}, "unknown_crops.max_mb: must be > 0"),
        ({"device": "pi"}, "device: expected a table, got str"),
        ({"bundle": {"threads": "two"}}, "bundle.threads: expected int"),
        # The thresholds are the bundle's, calibrated far from its training frames: no override.
        ({"bundle": {"unknown_threshold": 0.5}}, "bundle.unknown_threshold: unknown key"),
        ({"bundle": {"track_threshold": 0.5}}, "bundle.track_threshold: unknown key"),
    ],
)
def test_each_mistake_is_named_by_its_key_path(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_unreadable_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[mqtt\nport = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_rendered_toml_reads_back_as_the_same_config(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"  # TLS files must exist when the config is read
    ca.write_text("a CA bundle")
    tables = {
        "device": {"name": 'pool "A"', "state_dir": "C:\\state\\dir"},
        "source": {"kind": "video", "uri": "pool.avi", "loop": True, "fps": 12.5},
        "mqtt": {"port": 1884, "tls": {"enabled": True, "ca_file": str(ca)}},
    }
    path = tmp_path / "c.toml"
    path.write_text(render_toml(tables))
    config = load_config(path)
    assert config == parse_config(tables)
    assert config.device.name == 'pool "A"' and config.device.state_dir == "C:\\state\\dir"
    assert config.mqtt.tls.enabled and config.source.loop and config.source.fps == 12.5


def test_rendering_refuses_a_key_the_daemon_would_refuse() -> None:
    with pytest.raises(ConfigError, match=r"mqtt\.prot: unknown key"):
        render_toml({"mqtt": {"prot": 1883}})


LANES_4 = [[[0.30 + 0.1 * k, 0.0], [0.10 + 0.2 * k, 1.0]] for k in range(5)]


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        ({"water": [[0, 0], [1, 0]]}, "pool.water: needs at least 3 points, got 2"),
        ({"water": [[0, 0], [1, 0], [1.2, 1]]}, "pool.water: [1.2, 1] is outside the frame"),
        ({"water": [[0, 0], [1, 0], [1]]}, "pool.water: expected a list of [x, y] points"),
        ({"water": "all"}, "pool.water: expected list, got str"),
        ({"masks": [[[0, 0], [0.1, 0]]]}, "pool.masks[0]: needs at least 3 points, got 2"),
        ({"masks": [[[0, 0], [0.1, 0], [0.1, -0.1]]]}, "pool.masks[0]: [0.1, -0.1] is outside"),
        ({"lane_lines": [LANES_4[0]]}, "pool.lane_lines: one line makes no lane"),
        ({"lane_lines": LANES_4}, "pool.lane_lines: 5 lines make 4 lanes, but detector.lanes is 8"),
        ({"lane_lines": [LANES_4[1], LANES_4[0], *LANES_4[2:]]}, "pool.lane_lines[1]: not right"),
        ({"lane_lines": [[[0, 0.5], [0.2, 0.5]], *LANES_4[1:]]}, "pool.lane_lines[0]: [[0, 0.5]"),
        ({"lane_lines": [[[0, 0], [0, 1], [0, 2]], *LANES_4[1:]]}, "needs 2 points, got 3"),
        ({"lane_lines": [[[0, 0], [0, 1.5]], *LANES_4[1:]]}, "[0, 1.5] is outside the frame"),
    ],
)
def test_pool_geometry_mistakes_are_one_line_naming_the_key(pool: dict, message: str) -> None:
    lanes = 8 if "5 lines make" in message else 4
    with pytest.raises(ConfigError) as caught:
        parse_config({"detector": {"lanes": lanes}, "pool": pool})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_pool_geometry_renders_and_reads_back(tmp_path: Path) -> None:
    raw = {
        "detector": {"lanes": 4},
        "pool": {"lane_lines": LANES_4, "water": [[0, 0], [1, 0], [1, 1]]},
    }
    path = tmp_path / "pool.toml"
    path.write_text(render_toml(raw))
    config = load_config(path)
    assert config.pool.lane_lines == LANES_4 and len(config.pool.water) == 3
