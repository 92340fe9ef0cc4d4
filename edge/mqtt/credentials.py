"""The MQTT password: from systemd's credential directory, else from the environment.

systemd's `LoadCredential=mqtt-password:/etc/reid-edge/mqtt-password` puts the secret in a
private, root-only directory named by $CREDENTIALS_DIRECTORY, so it is never in the config file,
the unit file or the process environment. Without systemd (a laptop, a test) the environment
variable named in the config is the fallback. The value is never logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from edge.config import MqttConfig
from edge.errors import ConfigError

log = logging.getLogger(__name__)

CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"  # set by systemd for LoadCredential=


def read_password(mqtt: MqttConfig, environ: Mapping[str, str] | None = None) -> str | None:
    """The broker password, or None when neither source has one (anonymous or username only).

    A credential file that exists but cannot be read is a `ConfigError`: silently connecting
    without the password would only turn into a confusing "not authorised" later.
    """
    environ = os.environ if environ is None else environ
    directory = environ.get(CREDENTIALS_DIRECTORY)
    if directory and mqtt.password_credential:
        path = Path(directory) / mqtt.password_credential
        if path.exists():
            try:
                secret = path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as error:
                raise ConfigError(f"mqtt password credential {path}: {error.strerror}") from None
            log.debug("MQTT password from credential %s", path)
            return secret or None
    secret = environ.get(mqtt.password_env) if mqtt.password_env else None
    if secret:
        log.debug("MQTT password from environment variable %s", mqtt.password_env)
    return secret or None
