"""Typed errors for the device side.

Every error a user can cause (a bad path, a bad bundle, a bad config, an unreachable broker)
is a subclass of `ReidError`; each command's `main()` prints it as one line and exits non-zero.
Anything else is a bug and keeps its traceback.
"""


class ReidError(Exception):
    """A problem the user can fix; its message is one line that says what and where."""


class BundleError(ReidError):
    """The bundle is missing, tampered, truncated or incompatible with this code."""


class ModelError(ReidError):
    """A .tflite model cannot be loaded or does not have the expected inputs/outputs."""


class ImageError(ReidError):
    """An image or frame cannot be decoded or has an unusable shape."""


class ConfigError(ReidError):
    """The daemon configuration is invalid; the message names the key path."""


class SourceError(ReidError):
    """A frame source cannot be opened or has gone away for good."""


class BrokerError(ReidError):
    """The MQTT broker cannot be reached, refused us, or failed the TLS handshake."""


class SpoolError(ReidError):
    """The on-disk event spool cannot be opened or written."""
