"""The embedded FTP server: credentials, firmware download, diagnostics upload, the jail."""

import ftplib
import io
import json
import os
import stat
from urllib.parse import unquote, urlsplit

import pytest

from bench.ftp import FtpServer


@pytest.fixture
def ftp(tmp_path):
    server = FtpServer(tmp_path / "ftp", tmp_path / "ftp.json")
    server.start()
    yield server
    server.stop()


def login(server: FtpServer) -> ftplib.FTP:
    client = ftplib.FTP()
    client.connect("127.0.0.1", server.port, timeout=5)
    client.login(server.user, server.password)
    return client


def test_credentials_are_generated_once_outside_the_root(tmp_path, ftp):
    data = json.loads((tmp_path / "ftp.json").read_text())
    assert (data["user"], data["password"]) == (ftp.user, ftp.password)
    assert len(ftp.password) >= 20
    assert stat.S_IMODE(os.stat(tmp_path / "ftp.json").st_mode) == 0o600
    again = FtpServer(tmp_path / "ftp", tmp_path / "ftp.json")
    again.start()
    try:
        assert (again.user, again.password) == (ftp.user, ftp.password)
    finally:
        again.stop()
    with pytest.raises(ValueError):
        FtpServer(tmp_path / "ftp", tmp_path / "ftp" / "creds.json")


def test_wrong_password_is_refused(ftp):
    client = ftplib.FTP()
    client.connect("127.0.0.1", ftp.port, timeout=5)
    with pytest.raises(ftplib.error_perm):
        client.login(ftp.user, "wrong")
    client.close()


def test_firmware_location_downloads_the_image(ftp):
    ftp.add_firmware("fw-1.2.bin", b"\x7fELF firmware")
    location = ftp.firmware_location("fw-1.2.bin")
    parts = urlsplit(location)
    assert parts.scheme == "ftp" and parts.hostname == "127.0.0.1" and parts.port == ftp.port
    assert unquote(parts.username) == ftp.user and unquote(parts.password) == ftp.password
    client = ftplib.FTP()
    client.connect(parts.hostname, parts.port, timeout=5)
    client.login(unquote(parts.username), unquote(parts.password))
    data = io.BytesIO()
    client.retrbinary(f"RETR {parts.path}", data.write)
    client.quit()
    assert data.getvalue() == b"\x7fELF firmware"
    assert [f["name"] for f in ftp.firmware_files()] == ["fw-1.2.bin"]
    with pytest.raises(ValueError):
        ftp.firmware_location("missing.bin")
    with pytest.raises(ValueError):
        ftp.add_firmware("../escape.bin", b"x")


def test_firmware_area_is_read_only(ftp):
    ftp.add_firmware("fw.bin", b"1")
    client = login(ftp)
    with pytest.raises(ftplib.error_perm):
        client.storbinary("STOR /firmware/evil.bin", io.BytesIO(b"x"))
    with pytest.raises(ftplib.error_perm):
        client.delete("/firmware/fw.bin")
    client.quit()


def test_diagnostics_upload_lands_in_the_upload_area(ftp):
    parts = urlsplit(ftp.diagnostics_location())
    client = login(ftp)
    client.cwd(parts.path)
    client.storbinary("STOR cp-diag.log", io.BytesIO(b"log line\n"))
    with pytest.raises(ftplib.error_perm):
        client.delete("cp-diag.log")  # uploads stay
    client.quit()
    assert (ftp.diagnostics_dir / "cp-diag.log").read_bytes() == b"log line\n"
    assert [f["name"] for f in ftp.diagnostics_files()] == ["cp-diag.log"]


def test_no_path_outside_the_root(tmp_path, ftp):
    (tmp_path / "secret.txt").write_text("outside")
    client = login(ftp)
    # ".." stops at the root.
    client.cwd("/../../..")
    assert client.pwd() == "/"
    for path in ("../secret.txt", "/../secret.txt", "diagnostics/../../secret.txt", "../ftp.json"):
        with pytest.raises(ftplib.error_perm):
            client.retrbinary(f"RETR {path}", lambda _: None)
    with pytest.raises(ftplib.error_perm):
        client.storbinary("STOR diagnostics/../../planted.txt", io.BytesIO(b"x"))
    assert not (tmp_path / "planted.txt").exists()
    # A symlink inside the root leading out of it is refused, too.
    os.symlink(tmp_path / "secret.txt", ftp.diagnostics_dir / "link.txt")
    with pytest.raises(ftplib.error_perm):
        client.retrbinary("RETR /diagnostics/link.txt", lambda _: None)
    names = client.nlst("/")
    assert sorted(n.strip("/") for n in names) == ["diagnostics", "firmware"]
    client.quit()


def test_uploads_are_bounded_per_file_and_in_total(tmp_path):
    """A diagnostics upload larger than the limit is cut with 552 and leaves no file; a
    full upload area refuses the next STOR (100 MB were once accepted in 0.4 s)."""
    server = FtpServer(
        tmp_path / "ftp", tmp_path / "ftp.json", max_upload_bytes=256 * 1024, quota_bytes=400_000
    )
    server.start()
    try:
        client = login(server)
        client.cwd("/diagnostics")
        try:
            client.storbinary("STOR huge.log", io.BytesIO(b"x" * (2 * 1024 * 1024)))
            raise AssertionError("a 2 MiB upload was accepted")
        except ftplib.error_perm as exc:  # the 552 came while the client still sent
            assert str(exc).startswith("552")
        except OSError:  # the data connection was cut first: the 552 follows
            with pytest.raises(ftplib.error_perm, match="552"):
                client.getresp()
        client.close()
        assert not (server.diagnostics_dir / "huge.log").exists()
        client = login(server)
        client.cwd("/diagnostics")
        client.storbinary("STOR first.log", io.BytesIO(b"y" * 200_000))  # within limits
        client.storbinary("STOR second.log", io.BytesIO(b"z" * 200_000))  # fills the area
        with pytest.raises(ftplib.error_perm, match="552"):
            client.storbinary("STOR third.log", io.BytesIO(b"w" * 10))
        client.close()
        assert sorted(f["name"] for f in server.diagnostics_files()) == ["first.log", "second.log"]
    finally:
        server.stop()
