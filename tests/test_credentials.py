"""The MQTT password: systemd credential first, then the environment; unreadable is an error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.config import MqttConfig
from edge.errors import ConfigError
from edge.mqtt.credentials import CREDENTIALS_DIRECTORY, read_password

SECRET = "s3cret-Pa55"


def test_the_credential_directory_wins_and_its_newline_is_stripped(tmp_path: Path) -> None:
    (tmp_path / "mqtt-password").write_text(SECRET + "\n")
    env = {CREDENTIALS_DIRECTORY: str(tmp_path), "REID_MQTT_PASSWORD": "from-env"}
    assert read_password(MqttConfig(), env) == SECRET


def test_the_environment_is_the_fallback(tmp_path: Path) -> None:
    mqtt = MqttConfig(password_env="MY_PW")
    assert read_password(mqtt, {"MY_PW": SECRET}) == SECRET
    no_file = {CREDENTIALS_DIRECTORY: str(tmp_path), "MY_PW": SECRET}
    assert read_password(mqtt, no_file) == SECRET
    assert read_password(mqtt, {}) is None
    assert read_password(mqtt, {"MY_PW": ""}) is None


def test_a_named_credential_is_read(tmp_path: Path) -> None:
    (tmp_path / "broker-pw").write_text(SECRET)
    mqtt = MqttConfig(password_credential="broker-pw")
    assert read_password(mqtt, {CREDENTIALS_DIRECTORY: str(tmp_path)}) == SECRET


def test_an_unreadable_credential_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "mqtt-password").mkdir()  # exists, cannot be read as a file (even as root)
    with pytest.raises(ConfigError, match="mqtt password credential"):
        read_password(MqttConfig(), {CREDENTIALS_DIRECTORY: str(tmp_path)})


def test_the_secret_is_never_logged(tmp_path: Path, caplog) -> None:
    (tmp_path / "mqtt-password").write_text(SECRET)
    with caplog.at_level(logging.DEBUG):
        read_password(MqttConfig(), {CREDENTIALS_DIRECTORY: str(tmp_path)})
        read_password(MqttConfig(), {"REID_MQTT_PASSWORD": SECRET})
    assert SECRET not in caplog.text
