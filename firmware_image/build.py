"""Build an installable, signed image of the charger firmware.

The payload is the ``charger`` package, whole: everything that runs on the charger
lives there and imports nothing from the bench (``tests/test_layout.py`` enforces
it), so the image is that folder and its data files. Third-party packages (ocpp,
websockets, pymodbus, ...) are not part of the image: they are the charger's
platform, installed with it.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import charger
from charger.agent.fwimage import (
    FORMAT,
    MANIFEST,
    PAYLOAD,
    SIGNATURE,
    SIGNER,
    VERSION_RE,
    canonical_manifest,
    sha256,
)
from firmware_image.keys import SigningKey, ensure_signing_key

FIRMWARE_PACKAGE = "charger"
ENTRY_PACKAGE = "charger"  # ``python -m charger SETTINGS``
#: What ``--broken`` puts in place of this file (the manifest keeps the real hash).
BROKEN_FILE = "charger/__main__.py"
BROKEN_CONTENT = b"raise SystemExit('this firmware image is deliberately broken')\n"


def default_source_root() -> Path:
    """The directory holding the ``charger`` package the bench itself runs."""
    return Path(charger.__file__).resolve().parent.parent


def agent_files(root: Path | None = None) -> list[str]:
    """Paths (relative to ``root``, POSIX) of the firmware package's files."""
    root = root or default_source_root()
    package = root / FIRMWARE_PACKAGE
    files = [
        p
        for p in package.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and p.suffix not in (".pyc", ".pyo")
        and not p.name.startswith(".")
    ]
    return sorted(p.relative_to(root).as_posix() for p in files)


@dataclass(frozen=True)
class BuiltImage:
    path: Path
    version: str
    files: int
    signer: str
    broken: bool


def build_image(
    version: str,
    out_dir: str | os.PathLike[str],
    key: SigningKey | str | os.PathLike[str],
    *,
    broken: bool = False,
    source_root: Path | None = None,
    created: datetime | None = None,
    name: str | None = None,
) -> BuiltImage:
    """Write ``bench-agent-VERSION.tar.gz`` (``-broken`` with ``broken``) into ``out_dir``.

    ``key`` is a :class:`SigningKey` or a key directory (the key and its certificate from
    the manufacturer CA in the directory's sibling ``manufacturer`` are made on first use).
    ``broken``: the manifest (correctly signed) lists the real SHA-256 of every file,
    but one file in the archive differs: the agent answers InstallationFailed.
    """
    if not VERSION_RE.match(version):
        raise ValueError(
            f"version {version!r}: 1-50 characters of letters, digits and ._+- "
            "(BootNotification.firmwareVersion)"
        )
    signing = key if isinstance(key, SigningKey) else ensure_signing_key(key)
    root = source_root or default_source_root()
    created = created or datetime.now(UTC)
    contents = {rel: (root / rel).read_bytes() for rel in agent_files(root)}
    manifest = canonical_manifest(
        {
            "format": FORMAT,
            "version": version,
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signer": signing.fingerprint,
            "entry": ENTRY_PACKAGE,
            "files": [
                {"path": rel, "sha256": sha256(data), "size": len(data)}
                for rel, data in sorted(contents.items())
            ],
        }
    )
    signature = signing.sign(manifest) + b"\n"
    if broken:
        contents[BROKEN_FILE] = BROKEN_CONTENT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / (name or f"bench-agent-{version}{'-broken' if broken else ''}.tar.gz")
    path.write_bytes(_archive(manifest, signature, signing.certificate_pem, contents, created))
    return BuiltImage(path, version, len(contents), signing.fingerprint, broken)


def _archive(
    manifest: bytes,
    signature: bytes,
    signer: bytes,
    contents: dict[str, bytes],
    created: datetime,
) -> bytes:
    """A reproducible tar.gz: fixed mtimes, owners and modes; the signed members first
    (the agent checks them before reading any payload), then the payload sorted."""
    mtime = int(created.timestamp())
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            entries = [(MANIFEST, manifest), (SIGNATURE, signature), (SIGNER, signer)]
            entries += [(PAYLOAD + rel, data) for rel, data in sorted(contents.items())]
            for member, data in entries:
                info = tarfile.TarInfo(member)
                info.size, info.mtime, info.mode = len(data), mtime, 0o644
                tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()
