"""MQTT plumbing the publisher and the subscriber share: topics, the paho client, TLS, and a
one-line explanation of every way a connection can fail.

TLS is all or nothing: when it is configured the client gets a verifying `SSLContext` (the
configured CA, or the system CAs when none is named; hostname checked) and there is no code path
that connects without it, so a broken handshake is retried, never "fixed" by going plaintext.
"""

from __future__ import annotations

import socket
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from edge.config import DeviceConfig, MqttConfig, TlsConfig, check_section
from edge.errors import ConfigError

STATUS, EVENTS, STATS = "status", "events", "stats"  # topic leaves: PREFIX/DEVICE/LEAF


def topic(mqtt_cfg: MqttConfig, device: DeviceConfig, leaf: str) -> str:
    """`PREFIX/DEVICE/LEAF`, the one place topic names are built."""
    return f"{mqtt_cfg.prefix}/{device.name}/{leaf}"


def tls_context(tls: TlsConfig) -> ssl.SSLContext:
    """A verifying client context; a file that is missing or does not load is a `ConfigError`
    naming its key."""
    check_section(tls)
    try:
        context = ssl.create_default_context(cafile=tls.ca_file or None)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"mqtt.tls.ca_file: cannot load {tls.ca_file}: {_why(error)}") from None
    if tls.cert_file:
        try:
            context.load_cert_chain(tls.cert_file, tls.key_file or None)
        except (OSError, ssl.SSLError) as error:
            files = f"{tls.cert_file} with {tls.key_file or 'the key inside it'}"
            raise ConfigError(f"mqtt.tls.cert_file: cannot load {files}: {_why(error)}") from None
    return context


def _why(error: OSError | ssl.SSLError) -> str:
    """OpenSSL's reason without its source location; "PEM lib" said in words."""
    if isinstance(error, ssl.SSLError):
        reason = error.reason or error.strerror or str(error)
        if reason == "PEM lib" or "PEM lib" in str(error):
            return "not a PEM certificate or key OpenSSL can read"
        return reason.replace("_", " ").lower()
    return error.strerror or str(error)


def make_client(
    client_id: str,
    username: str = "",
    password: str | None = None,
    tls: TlsConfig | None = None,
) -> mqtt.Client:
    """A paho 2.x client (callback API v2, MQTT 3.1.1) with credentials and TLS applied."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    if username:
        client.username_pw_set(username, password)
    if tls is not None and tls.enabled:
        client.tls_set_context(tls_context(tls))
    return client


def describe_connect_error(
    error: BaseException | None, host: str, port: int, tls: bool = False
) -> str:
    """Why a connection attempt failed, in one line a person can act on (never a secret)."""
    where = f"{host}:{port}"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve broker host {host!r}: {error.strerror}"
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = error.verify_message or error.reason
        return f"TLS handshake with {where} failed: certificate verify failed: {reason}"
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake with {where} failed: {error.reason or error}"
    if isinstance(error, ConnectionRefusedError):
        return f"broker {where} refused the TCP connection (is it running?)"
    if isinstance(error, TimeoutError):
        return f"connecting to broker {where} timed out"
    if tls and isinstance(error, ConnectionResetError | BrokenPipeError):
        # TCP was up, so the handshake is what broke: typically a plaintext MQTT port.
        closed = f"the broker closed the connection ({error.strerror}; is it a TLS port?)"
        return f"TLS handshake with {where} failed: {closed}"
    if isinstance(error, OSError):
        return f"cannot connect to broker {where}: {error.strerror or error}"
    return f"cannot connect to broker {where}: {error or 'unknown error'}"


def describe_early_close(detail: str | None, host: str, port: int, tls: bool = False) -> str:
    """The broker hung up before its CONNACK: with TLS 1.3 that is how a rejected client
    certificate shows; `detail` is paho's last error log line, which names the alert."""
    detail = " ".join((detail or "no reason given").split())  # paho's line may hold newlines
    if tls:
        return f"TLS handshake with {host}:{port} failed: the broker closed the session ({detail})"
    return f"broker {host}:{port} closed the connection before accepting it ({detail})"


def describe_refusal(reason: ReasonCode, host: str, port: int) -> str:
    """The broker's CONNACK refusal (bad password, not authorised...) as one line."""
    return f"broker {host}:{port} refused the connection: {reason.getName()}"
