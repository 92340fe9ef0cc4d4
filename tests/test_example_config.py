"""examples/reid-edge.toml is the config's documentation: it must list every key, with its default.

The file is walked against the dataclasses in edge/config.py, so a key added there without being
documented here fails this test, and so does a default changed on one side only.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

from edge.config import Config, load_config

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "reid-edge.toml"

# Deliberate differences from the built-in defaults, each explained in the example's comments:
# the installed file is meant to run a Pi camera out of the box.
PI_SETTINGS = {"source.kind": "picamera2"}


def _defaults(cls: type, prefix: str = "") -> dict[str, Any]:
    """Every leaf key path of a config dataclass with its default value."""
    leaves: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        path = f"{prefix}{spec.name}"
        made = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(made):
            leaves.update(_defaults(type(made), f"{path}."))
        elif made is not None:
            leaves[path] = made  # a list: the pool's points
        else:
            leaves[path] = spec.default
    return leaves


def _leaves(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            leaves.update(_leaves(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def _raw() -> dict[str, Any]:
    with EXAMPLE.open("rb") as handle:
        return tomllib.load(handle)


def test_example_loads_with_the_strict_loader():
    config = load_config(EXAMPLE)
    assert isinstance(config, Config)
    assert config.source.kind == "picamera2"


def test_example_lists_every_key_the_schema_has():
    defaults = _defaults(Config)
    written = _leaves(_raw())
    text = EXAMPLE.read_text(encoding="utf-8")
    # A key whose default is None cannot be written in TOML: it must appear commented out.
    missing = [
        key
        for key, default in defaults.items()
        if key not in written
        and not (default is None and re.search(rf"^# {key.rsplit('.', 1)[1]} = ", text, re.M))
    ]
    assert missing == []
    assert sorted(set(written) - set(defaults)) == []


def test_example_values_are_the_defaults_except_the_pi_settings():
    defaults = _defaults(Config)
    written = _leaves(_raw())
    differ = {
        k: v for k, v in written.items() if v != defaults[k] or type(v) is not type(defaults[k])
    }
    assert differ == PI_SETTINGS


def test_every_section_and_key_is_commented():
    """Each key line follows a comment line or another key of the same commented group."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    bare = []
    for number, line in enumerate(lines):
        if re.match(r"^[a-z_]+ = ", line):
            above = lines[number - 1]
            if not (above.startswith("#") or re.match(r"^[a-z_]+ = ", above)):
                bare.append(line)
    assert bare == []
    sections = [line for line in lines if line.startswith("[")]
    assert sections == [
        "[device]",
        "[source]",
        "[detector]",
        "[pool]",
        "[bundle]",
        "[tracker]",
        "[mqtt]",
        "[mqtt.tls]",
        "[spool]",
        "[unknown_crops]",
    ]
