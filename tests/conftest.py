"""Shared fixtures. Real crops come from ../shared/data/swimmers when it is there."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("install_support",)  # install.sh fixtures: python_env, bundles

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "swimmers"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real swimmer crops; tests that need them skip (saying why) where they are absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real swimmer crops not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic crop set (train/synth.py): 5 identities x 40 frames, seed 0."""
    from train.synth import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("synthetic"), identities=5, frames=40, seed=0)


@pytest.fixture(scope="session")
def pool(tmp_path_factory: pytest.TempPathFactory):
    """A bundle trained by the real commands and a simulated pool video of unseen frames."""
    from pipeline_support import build_pool

    return build_pool(tmp_path_factory.mktemp("pool"))


# --- MQTT: a real Mosquitto per test (tests/broker.py) ---------------------------------------

BROKER_USER = "edge"
BROKER_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory):
    """Test CA, server certificate (valid and expired) and a stranger CA, made by openssl."""
    from broker import make_pki, mosquitto_missing
    from system_parts import missing

    if (why := mosquitto_missing()) is not None:
        missing(why)
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def make_broker(tmp_path: Path):
    """Factory: `make_broker(users=..., pki=..., server_cert=...)` -> a started Broker.

    Every broker it made is stopped at the end of the test.
    """
    from broker import Broker, mosquitto_missing
    from system_parts import missing

    if (why := mosquitto_missing()) is not None:
        missing(why)
    made = []

    def make(**options):
        broker = Broker(tmp_path / f"broker{len(made)}", **options)
        made.append(broker)
        broker.start()
        return broker

    yield make
    for broker in made:
        broker.stop()


@pytest.fixture
def broker(make_broker):
    """A plain, anonymous Mosquitto on a free loopback port (`broker.port`)."""
    return make_broker()


@pytest.fixture
def secure_broker(make_broker, pki):
    """Mosquitto with allow_anonymous false, a password file (BROKER_USER/BROKER_PASSWORD), a
    plain listener on `port` and a TLS listener on `tls_port` with the test CA's certificate."""
    return make_broker(users={BROKER_USER: BROKER_PASSWORD}, pki=pki)
