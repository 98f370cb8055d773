import pytest

from bench.security.pki import ensure_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """One CA and server certificate for all CSMS tests (RSA key generation is slow)."""
    return ensure_pki(tmp_path_factory.mktemp("csms-pki"))
