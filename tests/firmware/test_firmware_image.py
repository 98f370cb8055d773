"""Firmware images: build, sign, check; what the agent refuses; the CLI; a slot that runs."""

from __future__ import annotations

import argparse
import io
import json
import os
import stat
import subprocess
import sys
import tarfile

import pytest

from charger.agent.fwimage import (
    MANIFEST,
    PAYLOAD,
    SIGNATURE,
    SIGNER,
    ImageError,
    check_image,
    load_trust,
    read_image,
)
from charger.agent.slots import SlotStore, agent_command
from firmware_image import agent_files, build_image, ensure_signing_key
from firmware_image.build import BROKEN_FILE
from firmware_image.cli import add_subcommands


def public(keys):
    return load_trust(keys.root_path.read_bytes())


def repack(data: bytes, change) -> bytes:
    """Rewrite an image's members: ``change(name, content)`` -> content, or None to drop."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as src:
        with tarfile.open(fileobj=out, mode="w:gz") as dst:
            for member in src:
                content = src.extractfile(member).read()
                content = change(member.name, content)
                if content is None:
                    continue
                info = tarfile.TarInfo(member.name)
                info.size = len(content)
                dst.addfile(info, io.BytesIO(content))
    return out.getvalue()


def test_the_image_holds_the_agent_a_signed_manifest_and_hashes(images, keys):
    data = images.good.path.read_bytes()
    checked = check_image(data, public(keys))
    manifest = json.loads(checked.manifest.raw)
    assert manifest["version"] == "2.0.0" and manifest["format"] == 2
    assert manifest["created"].endswith("Z")
    assert manifest["signer"] == keys.fingerprint
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(paths) == agent_files()
    for needed in (
        "charger/__init__.py",
        "charger/__main__.py",
        "charger/agent/runtime.py",
        "charger/agent/features/firmware.py",
        "charger/agent/fwimage.py",
        "charger/clock.py",
        "charger/hw/factory.py",
        "charger/hw/rfid/driver.py",
        "charger/protocol/link.py",
    ):
        assert needed in paths
    assert all(p.startswith("charger/") for p in paths)  # the firmware package, only
    assert all(len(f["sha256"]) == 64 and f["size"] >= 0 for f in manifest["files"])
    assert images.good.path.name == "bench-agent-2.0.0.tar.gz"


def test_the_key_is_made_once_and_kept_private(tmp_path):
    first = ensure_signing_key(tmp_path / "k")
    again = ensure_signing_key(tmp_path / "k")
    assert first.fingerprint == again.fingerprint
    assert stat.S_IMODE(os.stat(first.private_path).st_mode) == 0o600
    assert b"PRIVATE" not in first.certificate_pem


def test_builds_are_reproducible(tmp_path, keys, images):
    from datetime import UTC, datetime

    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    a = build_image("2.0.0", tmp_path / "a", keys, created=when)
    b = build_image("2.0.0", tmp_path / "b", keys, created=when)
    assert a.path.read_bytes() == b.path.read_bytes()


def test_a_tampered_file_is_refused(images, keys):
    data = repack(
        images.good.path.read_bytes(),
        lambda name, c: c + b"\n# evil\n" if name == PAYLOAD + "charger/agent/runtime.py" else c,
    )
    with pytest.raises(ImageError, match="charger/agent/runtime.py.*SHA-256"):
        check_image(data, public(keys))


def test_an_extra_or_missing_file_is_refused(images, keys):
    data = images.good.path.read_bytes()
    dropped = repack(data, lambda n, c: None if n == PAYLOAD + "charger/clock.py" else c)
    with pytest.raises(ImageError, match="missing \\['charger/clock.py'\\]"):
        check_image(dropped, public(keys))

    payload, manifest, signature = read_image(data)
    extra = io.BytesIO()
    with tarfile.open(fileobj=extra, mode="w:gz") as tar:
        for name, content in (
            [(MANIFEST, manifest), (SIGNATURE, signature), (SIGNER, keys.certificate_pem)]
            + [(PAYLOAD + p, c) for p, c in payload.items()]
            + [(PAYLOAD + "charger/backdoor.py", b"print('hi')\n")]
        ):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    with pytest.raises(ImageError, match="extra \\['charger/backdoor.py'\\]"):
        check_image(extra.getvalue(), public(keys))


def test_a_bad_signature_is_refused(images, keys):
    # signed under another manufacturer CA
    with pytest.raises(ImageError, match="signing certificate is not trusted"):
        check_image(images.foreign.path.read_bytes(), public(keys))
    # the manifest edited after signing (a hash changed to fit a tampered file)
    data = repack(
        images.good.path.read_bytes(),
        lambda name, c: (
            c.replace(b'"version":"2.0.0"', b'"version":"9.9.9"') if name == MANIFEST else c
        ),
    )
    with pytest.raises(ImageError, match="signature does not verify"):
        check_image(data, public(keys))
    # a signature that is not even base64
    garbage = repack(images.good.path.read_bytes(), lambda n, c: b"%%%" if n == SIGNATURE else c)
    with pytest.raises(ImageError, match="signature does not verify"):
        check_image(garbage, public(keys))


def test_an_unsigned_image_or_one_without_manifest_is_refused(images, keys):
    data = images.good.path.read_bytes()
    unsigned = repack(data, lambda n, c: None if n == SIGNATURE else c)
    with pytest.raises(ImageError, match="unsigned"):
        check_image(unsigned, public(keys))
    no_manifest = repack(data, lambda n, c: None if n == MANIFEST else c)
    with pytest.raises(ImageError, match="no manifest"):
        check_image(no_manifest, public(keys))
    with pytest.raises(ImageError, match="no trusted manufacturer root"):
        check_image(data, None)


def test_a_corrupt_archive_is_refused(images, keys):
    data = images.good.path.read_bytes()
    with pytest.raises(ImageError, match="corrupt"):
        check_image(data[: len(data) // 2], public(keys))
    with pytest.raises(ImageError, match="corrupt"):
        check_image(b"BENCH-FW\x00not an archive", public(keys))
    traversal = io.BytesIO()
    with tarfile.open(fileobj=traversal, mode="w:gz") as tar:
        info = tarfile.TarInfo(PAYLOAD + "../../etc/evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ImageError, match="unsafe path"):
        check_image(traversal.getvalue(), public(keys))


def test_a_broken_image_is_signed_but_its_content_does_not_match(images, keys):
    data = images.broken.path.read_bytes()
    payload, manifest, _ = read_image(data)
    assert payload[BROKEN_FILE].startswith(b"raise SystemExit")
    assert json.loads(manifest)["version"] == "2.0.1"
    with pytest.raises(ImageError, match=f"{BROKEN_FILE}: content does not match"):
        check_image(data, public(keys))
    assert images.broken.path.name == "bench-agent-2.0.1-broken.tar.gz"


def test_a_version_must_fit_boot_notification():
    with pytest.raises(ValueError):
        build_image("x" * 51, "/nonexistent", "/nonexistent")
    with pytest.raises(ValueError):
        build_image("1.0 beta", "/nonexistent", "/nonexistent")


def cli(argv):
    parser = argparse.ArgumentParser(prog="bench")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_bench_firmware_build_and_verify(tmp_path, capsys):
    keys = tmp_path / "keys"
    out = tmp_path / "out"
    assert (
        cli(["firmware", "build", "--version", "4.1.0", "--out", str(out), "--key-dir", str(keys)])
        == 0
    )
    assert (keys / "firmware-signing.key").exists() and (keys / "firmware-signing.pem").exists()
    image = out / "bench-agent-4.1.0.tar.gz"
    assert image.exists()
    assert cli(["firmware", "verify", str(image), "--key-dir", str(keys)]) == 0
    assert "OK 4.1.0" in capsys.readouterr().out
    assert (
        cli(
            [
                "firmware",
                "build",
                "--version",
                "4.1.1",
                "--out",
                str(out),
                "--key-dir",
                str(keys),
                "--broken",
            ]
        )
        == 0
    )
    assert (
        cli(
            [
                "firmware",
                "verify",
                str(out / "bench-agent-4.1.1-broken.tar.gz"),
                "--key-dir",
                str(keys),
            ]
        )
        == 1
    )
    assert "REFUSED" in capsys.readouterr().err
    assert (
        cli(
            [
                "firmware",
                "build",
                "--version",
                "no spaces",
                "--out",
                str(out),
                "--key-dir",
                str(keys),
            ]
        )
        == 2
    )


def test_an_installed_slot_runs_the_agent_from_its_own_files(tmp_path, images, keys):
    """The supervisor's command imports ``bench`` from the slot, not from the source tree."""
    state = tmp_path / "agent"
    slots = SlotStore(state)
    slots.install("A", check_image(images.good.path.read_bytes(), public(keys)))
    slots.activate("A")
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"state_dir": str(state)}))
    argv, env = agent_command(settings)
    assert argv[1:3] == ["-P", "-m"] and argv[-2:] == ["charger", str(settings)]
    probe = (
        "import charger, charger.agent.runtime, charger.agent.features.firmware;"
        "import charger.hw.factory;"
        "import charger.__main__ as m; print(charger.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-P", "-c", probe],
        env={**os.environ, **env},
        cwd=os.getcwd(),  # the source tree: -P keeps it off sys.path
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(
        (state / "slots" / "A" / "charger" / "__init__.py").resolve()
    )
    help_run = subprocess.run(
        argv[:-1] + ["--help"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert help_run.returncode == 0 and "settings" in help_run.stdout


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, read in chunks: the bomb is made without holding it."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


BOMB = 100 * 1024 * 1024


def _bomb(members) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if content is None:
                info.size = BOMB
                tar.addfile(info, io.BufferedReader(_Zeros(BOMB)))
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def test_the_signature_is_checked_before_any_payload_is_read(images, keys, tmp_path):
    """Issue 11: a 199 kB image made the verifier allocate 214 MB before checking it."""
    import resource

    payload, manifest, signature = read_image(images.good.path.read_bytes())
    zeros = None  # 100 MB of zeros, a few hundred kB compressed
    foreign = ensure_signing_key(tmp_path / "f", tmp_path / "fm")
    unsigned_first = _bomb([(PAYLOAD + "charger/clock.py", zeros)])
    assert len(unsigned_first) < 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImageError, match="no manifest"):
        check_image(unsigned_first, public(keys))
    foreign_signed = _bomb(
        [
            (MANIFEST, manifest),
            (SIGNATURE, foreign.sign(manifest)),
            (SIGNER, foreign.certificate_pem),
            (PAYLOAD + "charger/clock.py", zeros),
        ]
    )
    with pytest.raises(ImageError, match="not trusted"):
        check_image(foreign_signed, public(keys))
    # correctly signed, but a member bigger than the manifest says: refused unread
    oversized = _bomb(
        [(MANIFEST, manifest), (SIGNATURE, signature), (SIGNER, keys.certificate_pem)]
        + [(PAYLOAD + "charger/clock.py", zeros)]
    )
    with pytest.raises(ImageError, match="charger/clock.py: content does not match"):
        check_image(oversized, public(keys))
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 30 * 1024  # never near the 100 MB the archive unpacks to
