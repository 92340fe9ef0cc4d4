"""Authentication and TLS against a real Mosquitto (allow_anonymous false, password file, test CA).

Every failure must be one clear log line without the secret, retried with back-off, never a
crash, and never a quiet fallback to plaintext.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import pytest
from broker import Collector, wait_until
from conftest import BROKER_PASSWORD, BROKER_USER

from edge.config import DeviceConfig, MqttConfig, TlsConfig
from edge.errors import ConfigError
from edge.mqtt.credentials import CREDENTIALS_DIRECTORY
from edge.mqtt.events import Event
from edge.mqtt.publish import Publisher
from edge.mqtt.spool import Spool

DEVICE = "pi-secure"
PASSWORD_ENV = "REID_TEST_MQTT_PASSWORD"


@pytest.fixture
def publisher_for(tmp_path: Path, monkeypatch):
    """Factory: a started Publisher with the given host/port/TLS/password; stopped afterwards."""
    made: list[Publisher] = []

    def make(port: int, password: str | None, ca: Path | None, host: str = "127.0.0.1",
             credential: bool = False, cert: tuple[Path, Path] | None = None):  # fmt: skip
        monkeypatch.delenv(CREDENTIALS_DIRECTORY, raising=False)
        monkeypatch.delenv(PASSWORD_ENV, raising=False)
        if password is not None and credential:  # systemd's LoadCredential= directory
            creds = tmp_path / "creds"
            creds.mkdir(exist_ok=True)
            (creds / MqttConfig.password_credential).write_text(password + "\n")
            monkeypatch.setenv(CREDENTIALS_DIRECTORY, str(creds))
        elif password is not None:
            monkeypatch.setenv(PASSWORD_ENV, password)
        tls = TlsConfig(enabled=True, ca_file=str(ca)) if ca else TlsConfig()
        if cert:
            tls = dataclasses.replace(tls, cert_file=str(cert[0]), key_file=str(cert[1]))
        fast = {"keepalive_s": 5, "reconnect_min_s": 0.2, "reconnect_max_s": 0.5}
        mqtt = MqttConfig(host=host, port=port, username=BROKER_USER, password_env=PASSWORD_ENV,
                          tls=tls, **fast)  # fmt: skip
        spool = Spool(tmp_path / f"spool{len(made)}.db")
        publisher = Publisher(mqtt, DeviceConfig(name=DEVICE), spool)
        made.append(publisher)
        publisher.start()
        return publisher

    yield make
    for publisher in made:
        publisher.stop(timeout_s=0.5)


def warnings_with(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def assert_retried_without_secret(caplog, publisher: Publisher, text: str) -> str:
    """At least two attempts failed with `text`, nothing crashed, no secret was logged."""
    assert wait_until(lambda: len(warnings_with(caplog, text)) >= 2), caplog.text
    assert not publisher.connected
    assert publisher.stats()["mqtt_state"] == "disconnected"
    assert text in publisher.stats()["mqtt_last_error"]
    assert BROKER_PASSWORD not in caplog.text and "wrong-password" not in caplog.text
    line = warnings_with(caplog, text)[0]
    assert "\n" not in line
    return line


def test_tls_with_the_right_secrets_delivers(secure_broker, pki, publisher_for) -> None:
    collector = Collector(secure_broker.port, "reid/+/events", username=BROKER_USER,
                          password=BROKER_PASSWORD)  # fmt: skip
    publisher = publisher_for(secure_broker.tls_port, BROKER_PASSWORD, pki.ca, credential=True)
    event = Event("new", 1.0, DEVICE, "cam0", 1, "2", 0.9, (1, 2, 3, 4), 7)
    publisher.publish_event(event)
    assert collector.wait_for(lambda m: len(m) >= 1)
    assert Event.from_json(collector.messages[0][1]) == event
    assert publisher.stats()["mqtt_connects"] == 1
    assert f"on port {secure_broker.tls_port}" in secure_broker.log()
    assert "New client connected" in secure_broker.log()
    collector.close()


def test_a_wrong_password_is_refused_logged_and_retried(secure_broker, pki, publisher_for, caplog):
    caplog.set_level(logging.WARNING)
    publisher = publisher_for(secure_broker.tls_port, "wrong-password", pki.ca)
    line = assert_retried_without_secret(caplog, publisher, "refused the connection")
    assert "not authori" in line.lower()


def test_no_password_is_refused_too(secure_broker, pki, publisher_for, caplog):
    caplog.set_level(logging.WARNING)
    publisher = publisher_for(secure_broker.tls_port, None, pki.ca)
    assert_retried_without_secret(caplog, publisher, "refused the connection")


def test_tls_never_falls_back_to_plaintext(secure_broker, pki, publisher_for, caplog):
    """TLS client, right password, plaintext port: it fails; a plaintext try would succeed."""
    caplog.set_level(logging.WARNING)
    publisher = publisher_for(secure_broker.port, BROKER_PASSWORD, pki.ca)
    assert_retried_without_secret(caplog, publisher, "TLS handshake")
    assert "New client connected" not in secure_broker.log()


def test_an_untrusted_certificate_fails_clearly(secure_broker, pki, publisher_for, caplog):
    caplog.set_level(logging.WARNING)
    publisher = publisher_for(secure_broker.tls_port, BROKER_PASSWORD, pki.other_ca)
    line = assert_retried_without_secret(caplog, publisher, "TLS handshake")
    assert "certificate verify failed" in line


@pytest.mark.parametrize(
    ("cert", "reason"),
    [
        ("expired_cert", "certificate has expired"),
        # Signed by the trusted CA, but for pool.example: the host name check refuses it.
        ("wrong_host_cert", "certificate verify failed: IP address mismatch"),
    ],
)
def test_a_server_certificate_the_ca_signed_can_still_fail_clearly(
    make_broker, pki, publisher_for, caplog, cert, reason
):
    caplog.set_level(logging.WARNING)
    broker = make_broker(users={BROKER_USER: BROKER_PASSWORD}, pki=pki,
                         server_cert=getattr(pki, cert))  # fmt: skip
    publisher = publisher_for(broker.tls_port, BROKER_PASSWORD, pki.ca)
    line = assert_retried_without_secret(caplog, publisher, "TLS handshake")
    assert reason in line
    assert "New client connected" not in broker.log()


def test_an_unresolvable_host_is_retried_and_reported(publisher_for, caplog):
    caplog.set_level(logging.WARNING)
    publisher = publisher_for(1883, BROKER_PASSWORD, None, host="no-such-host.invalid")
    line = assert_retried_without_secret(caplog, publisher, "cannot resolve broker host")
    assert "no-such-host.invalid" in line


def test_a_client_certificate_is_presented_when_required(make_broker, pki, publisher_for, caplog):
    caplog.set_level(logging.WARNING)
    broker = make_broker(users={BROKER_USER: BROKER_PASSWORD}, pki=pki, require_client_cert=True)
    with_cert = publisher_for(broker.tls_port, BROKER_PASSWORD, pki.ca,
                              cert=(pki.client_cert, pki.client_key))  # fmt: skip
    assert wait_until(lambda: with_cert.connected)
    without = publisher_for(broker.tls_port, BROKER_PASSWORD, pki.ca)
    assert_retried_without_secret(caplog, without, "TLS handshake")
    # With TLS 1.3 the client learns of the refusal either from the alert ("certificate
    # required") or from a reset, whichever its read meets first; the broker's reason is fixed.
    assert "peer did not return a certificate" in broker.log()


def test_a_missing_ca_file_is_a_config_error(tmp_path: Path):
    mqtt = MqttConfig(tls=TlsConfig(enabled=True, ca_file=str(tmp_path / "nope.crt")))
    with pytest.raises(ConfigError, match=r"mqtt\.tls\.ca_file: no such file"):
        Publisher(mqtt, DeviceConfig(), Spool(tmp_path / "s.db"))


def unloadable(pki, tmp_path: Path) -> dict[str, tuple[TlsConfig, str]]:
    """TLS settings the client cannot use, each with the one-line error it must give."""
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    ca, client_key, server_cert = str(pki.ca), str(pki.client_key), str(pki.server_cert)
    return {
        "key without cert": (
            TlsConfig(enabled=True, ca_file=ca, key_file=client_key),
            "mqtt.tls.key_file: set, but mqtt.tls.cert_file is empty",
        ),
        "cert that does not parse": (
            TlsConfig(enabled=True, ca_file=ca, cert_file=str(garbage), key_file=client_key),
            f"mqtt.tls.cert_file: cannot load {garbage} with {pki.client_key}: not a PEM",
        ),
        "key of another cert": (
            TlsConfig(enabled=True, ca_file=ca, cert_file=server_cert, key_file=client_key),
            "mqtt.tls.cert_file: cannot load",  # then OpenSSL's words: "key values mismatch"
        ),
        "CA file that does not parse": (
            TlsConfig(enabled=True, ca_file=str(garbage)),
            f"mqtt.tls.ca_file: cannot load {garbage}: not a PEM",
        ),
    }


@pytest.mark.parametrize(
    "case", ["key without cert", "cert that does not parse", "key of another cert",
             "CA file that does not parse"],
)  # fmt: skip
def test_tls_files_that_do_not_load_are_one_line_config_errors(pki, tmp_path, case) -> None:
    tls, message = unloadable(pki, tmp_path)[case]
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        Publisher(MqttConfig(tls=tls), DeviceConfig(), Spool(tmp_path / "s.db"))
    assert "\n" not in str(caught.value)
