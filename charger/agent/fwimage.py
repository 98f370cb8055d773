"""The firmware image format, and how the agent checks an image before installing it.

An image is a gzip'd tar whose first members are, in this order::

    manifest.json   {"format": 2, "version", "created", "signer", "files": [{path, sha256, size}]}
    manifest.sig    base64 of the signature over manifest.json's exact bytes
                    (SHA256withRSA PKCS#1 v1.5, or ECDSA with SHA-256)
    signer.pem      the X.509 firmware-signing certificate (issued by the manufacturer CA)
    payload/...     the files the manifest lists (``charger/agent/__main__.py``, ...)

The agent trusts its ManufacturerRootCertificate(s). An image is installable only if
its signing certificate chains to one of them, the manifest's signature verifies with
that certificate's key, and the payload is exactly the listed files with the listed
SHA-256 and sizes. The three signed members are read first, with small size limits,
and the signature is checked BEFORE any payload is read (issue 11: an unchecked image
must not make the agent allocate what its headers claim); then every payload member
must have the size the signed manifest gives it, within :data:`MAX_UNPACKED_BYTES`.
Building and signing live in ``firmware_image/`` (``bench firmware build``); only
checking lives here, in the agent, because every firmware must check its successor.
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

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from charger.agent.features.security.certificates import (
    CertificateError,
    fingerprint,
    load_pems,
    verify_chain,
)

FORMAT = 2
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNER = "signer.pem"
PAYLOAD = "payload/"
SIGNED_MEMBERS = (MANIFEST, SIGNATURE, SIGNER)
#: BootNotification.firmwareVersion is a CiString50.
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,49}$")
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # an agent image is a few hundred kB
MAX_SIGNED_MEMBER_BYTES = 1024 * 1024  # manifest, signature, certificate
MAX_UNPACKED_BYTES = 64 * 1024 * 1024  # what the signed manifest may list in all
MAX_FILES = 10_000


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


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Orders firmware versions: numeric parts as numbers (``2.10.0`` after ``2.9.1``)."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.+-]", version)
    )


def is_older(candidate: str, running: str) -> bool:
    return version_key(candidate) < version_key(running)


def canonical_manifest(data: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no extra whitespace, one trailing newline."""
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signer_name(cert: x509.Certificate) -> str:
    """How a manifest names its signer: the signing certificate's fingerprint."""
    return "x509:" + fingerprint(cert)[:16]


def load_trust(pem: bytes | str) -> list[x509.Certificate]:
    """The manufacturer root certificate(s) of a PEM bundle."""
    try:
        return load_pems(pem)
    except CertificateError as exc:
        raise ImageError(f"the trusted manufacturer root is unreadable: {exc}") from None


def verify_signature(cert: x509.Certificate, data: bytes, signature_b64: bytes | str) -> bool:
    """Whether ``signature_b64`` is the certificate key's SHA-256 signature of ``data``
    (RSA PKCS#1 v1.5 or ECDSA: whitepaper ed. 3, signed firmware update)."""
    try:
        raw = base64.b64decode(signature_b64.strip(), validate=True)
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(raw, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_signer(pem: bytes | str, trust: list[x509.Certificate]) -> x509.Certificate:
    """The signing certificate, if it chains to one of the manufacturer roots ``trust``."""
    try:
        chain = load_pems(pem)
        verify_chain(chain, trust)
    except CertificateError as exc:
        raise ImageError(f"the signing certificate is not trusted: {exc}") from None
    return chain[0]


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
    signer: bytes  # signer.pem as stored
    payload: dict[str, bytes]  # path -> content, every one matching the manifest


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if not member.isfile():
        raise ImageError(f"{member.name!r} in the image is not a regular file")
    if member.size > limit:
        raise ImageError(f"{member.name!r} claims {member.size} bytes, more than {limit}")
    handle = tar.extractfile(member)
    assert handle is not None
    content = handle.read(limit + 1)
    if len(content) != member.size:
        raise ImageError(f"{member.name!r} is truncated")
    return content


def _members(data: bytes):
    """(tar, member) in archive order, streamed; paths checked before anything is read."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"image is {len(data)} bytes, more than {MAX_IMAGE_BYTES}")
    count = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|gz") as tar:
        for member in tar:
            count += 1
            if count > MAX_FILES + len(SIGNED_MEMBERS):
                raise ImageError(f"the image holds more than {MAX_FILES} files")
            if member.isdir():
                continue
            if member.name.startswith(PAYLOAD):
                check_member_path(member.name[len(PAYLOAD) :])
            elif member.name not in SIGNED_MEMBERS:
                raise ImageError(f"unexpected {member.name!r} in the image")
            yield tar, member


def read_image(data: bytes) -> tuple[dict[str, bytes], bytes | None, bytes | None]:
    """(payload files, manifest bytes, signature bytes) of an image, unchecked but bounded
    (for tools and tests; the agent installs only what :func:`check_image` returns)."""
    payload: dict[str, bytes] = {}
    signed: dict[str, bytes] = {}
    total = 0
    try:
        for tar, member in _members(data):
            if member.name in SIGNED_MEMBERS:
                signed[member.name] = _read_member(tar, member, MAX_SIGNED_MEMBER_BYTES)
                continue
            total += member.size
            if total > MAX_UNPACKED_BYTES:
                raise ImageError(f"the image unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            path = member.name[len(PAYLOAD) :]
            if path in payload:
                raise ImageError(f"{path!r} appears twice in the image")
            payload[path] = _read_member(tar, member, MAX_UNPACKED_BYTES)
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"not a firmware image (corrupt archive): {exc}") from None
    return payload, signed.get(MANIFEST), signed.get(SIGNATURE)


def check_image(data: bytes, trust: list[x509.Certificate] | None) -> CheckedImage:
    """The image's manifest is signed by a certificate chaining to ``trust`` (checked
    before any payload is read) and its payload matches the manifest."""
    signed: dict[str, bytes] = {}
    payload: dict[str, bytes] = {}
    manifest: Manifest | None = None
    total = 0
    try:
        for tar, member in _members(data):
            if member.name in SIGNED_MEMBERS:
                if manifest is not None or member.name in signed:
                    raise ImageError(f"{member.name!r} out of place in the image")
                signed[member.name] = _read_member(tar, member, MAX_SIGNED_MEMBER_BYTES)
                continue
            if manifest is None:  # the first payload member: everything signed is here
                manifest = _verified_manifest(signed, trust)
            path = member.name[len(PAYLOAD) :]
            expected = manifest.files.get(path)
            if expected is None or path in payload:
                raise ImageError(f"payload does not match the manifest: extra [{path!r}]")
            if member.size != expected[1]:
                raise ImageError(f"{path}: content does not match the manifest's SHA-256")
            total += member.size
            if total > MAX_UNPACKED_BYTES:
                raise ImageError(f"the image unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            payload[path] = _read_member(tar, member, expected[1])
    except (tarfile.TarError, EOFError, OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"not a firmware image (corrupt archive): {exc}") from None
    if manifest is None:
        manifest = _verified_manifest(signed, trust)
    missing = sorted(set(manifest.files) - set(payload))
    if missing:
        raise ImageError(f"payload does not match the manifest: missing {missing}, extra []")
    for path, (digest, size) in manifest.files.items():
        content = payload[path]
        if len(content) != size or sha256(content) != digest:
            raise ImageError(f"{path}: content does not match the manifest's SHA-256")
    return CheckedImage(manifest, signed[SIGNATURE], signed[SIGNER], payload)


def _verified_manifest(signed: dict[str, bytes], trust: list[x509.Certificate] | None) -> Manifest:
    if MANIFEST not in signed:
        raise ImageError("the image has no manifest (it must come first)")
    if SIGNATURE not in signed or SIGNER not in signed:
        raise ImageError("the image is unsigned (no manifest.sig and signer.pem)")
    if not trust:
        raise ImageError("no trusted manufacturer root is installed: every image is refused")
    cert = check_signer(signed[SIGNER], trust)
    if not verify_signature(cert, signed[MANIFEST], signed[SIGNATURE]):
        raise ImageError(
            f"the manifest's signature does not verify with the signing certificate "
            f"{signer_name(cert)}"
        )
    return Manifest.parse(signed[MANIFEST])


def write_tree(image: CheckedImage, dest: Path) -> None:
    """Unpack a checked image into the new directory ``dest`` (fsync'd file by file)."""
    dest.mkdir(parents=True)
    for path, content in sorted(image.payload.items()):
        _write_durably(dest / path, content, 0o644)
    _write_durably(dest / MANIFEST, image.manifest.raw, 0o644)
    _write_durably(dest / SIGNATURE, image.signature, 0o644)
    _write_durably(dest / SIGNER, image.signer, 0o644)
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
