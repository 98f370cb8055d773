"""The charger's certificate store: roots, hash data, the CSR flow's checks, key modes."""

import sqlite3
import stat

import pytest
from cryptography import x509

from bench.security.ca import certificate_hash_data, cpo_ca, manufacturer_ca
from charger.agent.features.security.certificates import (
    CP_CERT,
    CS_ROOT,
    MF_ROOT,
    CertificateError,
    CertificateStore,
    hash_data,
    load_pems,
)
from charger.agent.features.security.csr import make_csr
from charger.agent.features.security.tables import create_tables

NOW = "2026-12-01T17:00:00Z"


@pytest.fixture(scope="module")
def cas(tmp_path_factory):
    root = tmp_path_factory.mktemp("pki")
    return cpo_ca(root), manufacturer_ca(root / "manufacturer")


@pytest.fixture
def store(tmp_path):
    db = sqlite3.connect(tmp_path / "agent.sqlite", isolation_level=None)
    create_tables(db)
    yield CertificateStore(db, tmp_path / "keys")
    db.close()


def test_hash_data_is_the_one_the_central_system_computes(cas):
    cpo, _ = cas
    assert hash_data(load_pems(cpo.pem)[0]) == certificate_hash_data(cpo.pem)
    for algorithm in ("SHA384", "SHA512"):
        ours = hash_data(load_pems(cpo.pem)[0], algorithm=algorithm)
        assert ours == certificate_hash_data(cpo.pem, algorithm)


def test_install_list_and_delete_roots(store, cas):
    cpo, maker = cas
    assert store.install_root(CS_ROOT, cpo.pem, 2, NOW) == "Accepted"
    assert store.install_root(CS_ROOT, cpo.pem, 2, NOW) == "Accepted"  # once only
    assert store.install_root(MF_ROOT, maker.pem, 2, NOW) == "Accepted"
    assert store.hash_data_of(CS_ROOT) == [certificate_hash_data(cpo.pem)]
    assert store.hash_data_of(MF_ROOT) == [certificate_hash_data(maker.pem)]
    # the last CentralSystemRootCertificate stays (seed AQ-1 "No")
    assert store.delete(certificate_hash_data(cpo.pem)) == "Failed"
    assert store.delete(certificate_hash_data(maker.pem)) == "Accepted"
    assert store.hash_data_of(MF_ROOT) == []
    assert store.delete(certificate_hash_data(maker.pem)) == "NotFound"


def test_a_leaf_or_garbage_is_no_root_and_the_store_is_bounded(store, cas, tmp_path):
    cpo, maker = cas
    _, leaf = maker.issue_signing_certificate()
    assert store.install_root(MF_ROOT, leaf, 5, NOW) == "Rejected"
    assert store.install_root(MF_ROOT, "not a certificate", 5, NOW) == "Rejected"
    other = cpo_ca(tmp_path / "other")
    assert store.install_root(CS_ROOT, cpo.pem, 1, NOW) == "Accepted"
    assert store.install_root(CS_ROOT, other.pem, 1, NOW) == "Rejected"  # CertificateStoreMaxLength


def test_csr_flow_accepts_our_key_signed_by_the_cpo_root(store, cas, tmp_path):
    cpo, _ = cas
    store.install_root(CS_ROOT, cpo.pem, 5, NOW)
    request = make_csr("CP-7", "Bench CPO")
    csr = x509.load_pem_x509_csr(request.csr_pem.encode())
    assert csr.is_signature_valid
    assert "O=Bench CPO" in csr.subject.rfc4514_string()
    store.save_pending_key(request.key_pem)
    chain_pem = cpo.sign_csr(request.csr_pem, "CP-7")
    chain = store.check_signed_chain(chain_pem, 10_000)
    store.install_charge_point_certificate(chain, NOW)
    assert store.has_valid_charge_point_certificate()
    cert_file, key_file = store.client_cert_files()
    for path in (key_file, cert_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    # the last ChargePointCertificate cannot be deleted (seed AQ-3 "No")
    leaf_hash = hash_data(chain[0], load_pems(cpo.pem)[0])
    assert store.delete(leaf_hash) == "Failed"
    assert store.installed(CP_CERT)


def test_csr_flow_refuses_foreign_chains_other_keys_and_big_chains(store, cas, tmp_path):
    cpo, _ = cas
    store.install_root(CS_ROOT, cpo.pem, 5, NOW)
    request = make_csr("CP-7", None)
    store.save_pending_key(request.key_pem)
    other = cpo_ca(tmp_path / "other")
    with pytest.raises(CertificateError, match="does not chain"):
        store.check_signed_chain(other.sign_csr(request.csr_pem, "CP-7"), 10_000)
    with pytest.raises(CertificateError, match="not for the key"):
        store.check_signed_chain(cpo.sign_csr(make_csr("CP-7", None).csr_pem, "CP-7"), 10_000)
    with pytest.raises(CertificateError, match="more than 100"):
        store.check_signed_chain(cpo.sign_csr(request.csr_pem, "CP-7"), 100)
    assert not store.has_valid_charge_point_certificate()
