"""The firmware image format, and how the agent checks an image before installing it.

An image is a gzip'd tar holding::

    manifest.json   {"format": 1, "version", "created", "signer", "files": [{path, sha256, size}]}
    manifest.sig    base64 of the Ed25519 signature over manifest.json's exact bytes
    payload/...     the files the manifest lists (``charger/agent/__main__.py``, ...)

The agent trusts one public key, the one it was provisioned with. An image is
installable only if its manifest is signed by that key and the payload is exactly the
listed files with the listed SHA-256 and sizes: a corrupt archive, an unsigned or
foreign-signed manifest, a missing, extra or altered file are all refused with an
:class:`ImageError` (the agent reports InstallationFailed). Building and signing live
in ``firmware_image/`` (``bench firmware build``); only checking lives here, in the
agent, because every firmware must be able to check its successor.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PAYLOAD = "payload/"
#: BootNotification.firmwareVersion is a CiString50.
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$")
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # an agent image is a few hundred kB


class ImageError(Exception):
    """The image must not be installed (corrupt, unsigned, tampered, malformed)."""


@dataclass(frozen=True)
class Manifest:
    version: str
    created: str
    signer: str
    files: dict[str, tuple[str, int]]  # path -> (sha256 hex, size)
    raw: bytes  # the signed bytes, exactly as in the image

    @classmethod
    def parse(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImageError(f"manifest is not JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ImageError(f"manifest format {data.get('format')!r} is not {FORMAT}")
        version = data.get("version")
        if not isinstance(version, str) or not VERSION_RE.match(version):
            raise ImageError(f"manifest version {version!r} is not a firmware version")
        files: dict[str, tuple[str, int]] = {}
        for entry in data.get("files") or []:
            try:
                path, digest, size = entry["path"], entry["sha256"], int(entry["size"])
            except (KeyError, TypeError, ValueError):
                raise ImageError(f"manifest entry {entry!r} is malformed") from None
            check_member_path(path)
            if not re.fullmatch(r"[0-9a-f]{64}", str(digest)) or path in files:
                raise ImageError(f"manifest entry {path!r} is malformed or repeated")
            files[path] = (digest, size)
        if not files:
            raise ImageError("manifest lists no files")
        return cls(version, str(data.get("created", "")), str(data.get("signer", "")), files, raw)


def canonical_manifest(data: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no extra whitespace, one trailing newline."""
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_fingerprint(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + sha256(raw)[:16]


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise ImageError(f"the trusted firmware key is unreadable: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ImageError("the trusted firmware key is not an Ed25519 key")
    return key


def check_member_path(path: str) -> PurePosixPath:
    """A relative path that stays inside its directory (no ``..``, no absolute path)."""
    p = PurePosixPath(path)
    if not path or p.is_absolute() or ".." in p.parts or "\\" in path or str(p) != path:
        raise ImageError(f"unsafe path {path!r} in the image")
    return p


@dataclass(frozen=True)
class CheckedImage:
    manifest: Manifest
    signature: bytes  # manifest.sig as stored
    payload: dict[str, bytes]  # path -> content, every one matching the manifest


def read_image(data: bytes) -> tuple[dict[str, bytes], bytes | None, bytes | None]:
    """(payload files, manifest bytes, signature bytes) of an image; ImageError if unreadable."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"image is {len(data)} bytes, more than {MAX_IMAGE_BYTES}")
    payload: dict[str, bytes] = {}
    manifest = signature = None
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ImageError(f"{member.name!r} in the image is not a regular file")
                content = tar.extractfile(member).read()  # type: ignore[union-attr]
                if member.name == MANIFEST:
                    manifest = content
                elif member.name == SIGNATURE:
                    signature = content
                elif member.name.startswith(PAYLOAD):
                    path = member.name[len(PAYLOAD) :]
                    check_member_path(path)
                    if path in payload:
                        raise ImageError(f"{path!r} appears twice in the image")
                    payload[path] = content
                else:
                    raise ImageError(f"unexpected {member.name!r} in the image")
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise ImageError(f"not a firmware image (corrupt archive): {exc}") from None
    return payload, manifest, signature


def check_image(data: bytes, public_key: Ed25519PublicKey | None) -> CheckedImage:
    """The image's manifest is signed by ``public_key`` and its payload matches it."""
    payload, manifest_raw, signature = read_image(data)
    if manifest_raw is None:
        raise ImageError("the image has no manifest")
    if signature is None:
        raise ImageError("the image is unsigned (no manifest.sig)")
    if public_key is None:
        raise ImageError("no trusted firmware key is provisioned: every image is refused")
    try:
        public_key.verify(base64.b64decode(signature.strip(), validate=True), manifest_raw)
    except (InvalidSignature, ValueError):
        raise ImageError(
            f"the manifest's signature does not verify with the trusted key "
            f"{key_fingerprint(public_key)}"
        ) from None
    manifest = Manifest.parse(manifest_raw)
    missing = sorted(set(manifest.files) - set(payload))
    extra = sorted(set(payload) - set(manifest.files))
    if missing or extra:
        raise ImageError(f"payload does not match the manifest: missing {missing}, extra {extra}")
    for path, (digest, size) in manifest.files.items():
        content = payload[path]
        if len(content) != size or sha256(content) != digest:
            raise ImageError(f"{path}: content does not match the manifest's SHA-256")
    return CheckedImage(manifest, signature, payload)


def write_tree(image: CheckedImage, dest: Path) -> None:
    """Unpack a checked image into the new directory ``dest`` (fsync'd file by file)."""
    dest.mkdir(parents=True)
    for path, content in sorted(image.payload.items()):
        _write_durably(dest / path, content, 0o644)
    _write_durably(dest / MANIFEST, image.manifest.raw, 0o644)
    _write_durably(dest / SIGNATURE, image.signature, 0o644)
    for directory in sorted({p.parent for p in dest.rglob("*")}, reverse=True):
        fsync_dir(directory)


def check_tree(root: Path) -> Manifest:
    """An unpacked tree still holds exactly what its manifest says (no signature check)."""
    try:
        manifest = Manifest.parse((root / MANIFEST).read_bytes())
    except OSError as exc:
        raise ImageError(f"{root}: no manifest ({exc})") from None
    for path, (digest, size) in manifest.files.items():
        try:
            content = (root / path).read_bytes()
        except OSError:
            raise ImageError(f"{root}: {path} is missing") from None
        if len(content) != size or sha256(content) != digest:
            raise ImageError(f"{root}: {path} does not match the manifest")
    return manifest


def _write_durably(path: Path, content: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, content: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` so that a power cut leaves the old content or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    _write_durably(tmp, content, mode)
    os.replace(tmp, path)
    fsync_dir(path.parent)
