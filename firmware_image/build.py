"""Build an installable, signed image of the charger agent.

The payload is the agent's closure in the ``bench`` package: every module of
``bench.agent`` plus, transitively, every ``bench.*`` module they import (at module
level or inside functions; found by reading the source, not by running it), their
parent packages' ``__init__.py`` and the data files beside them. Third-party
packages (ocpp, websockets, pymodbus, ...) are not part of the image: they are the
charger's platform, installed with the bench.
"""

from __future__ import annotations

import ast
import base64
import gzip
import io
import os
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import bench
from bench.agent.fwimage import (
    FORMAT,
    MANIFEST,
    PAYLOAD,
    SIGNATURE,
    VERSION_RE,
    canonical_manifest,
    sha256,
)
from firmware_image.keys import SigningKey, ensure_signing_key

ROOT_PACKAGE = "bench"
ENTRY_PACKAGE = "bench.agent"
#: What ``--broken`` puts in place of this file (the manifest keeps the real hash).
BROKEN_FILE = "bench/agent/__main__.py"
BROKEN_CONTENT = b"raise SystemExit('this firmware image is deliberately broken')\n"


def default_source_root() -> Path:
    """The directory holding the ``bench`` package the bench itself runs."""
    return Path(bench.__file__).resolve().parent.parent


def _module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _package_of(root: Path, name: str) -> str:
    """The package a module belongs to (itself for a package's __init__)."""
    path = _module_file(root, name)
    return name if path is not None and path.name == "__init__.py" else name.rpartition(".")[0]


def _imports(root: Path, name: str, path: Path) -> set[str]:
    """``bench.*`` modules named by the import statements of ``name``."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    found: set[str] = set()
    package = _package_of(root, name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # submodules
    return {m for m in found if m == ROOT_PACKAGE or m.startswith(ROOT_PACKAGE + ".")}


def agent_modules(root: Path | None = None) -> dict[str, Path]:
    """Module name -> source file of everything ``python -m bench.agent`` may import."""
    root = root or default_source_root()
    todo = [ROOT_PACKAGE, ENTRY_PACKAGE]
    entry_dir = root.joinpath(*ENTRY_PACKAGE.split("."))
    for path in sorted(entry_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        todo.append(".".join(parts))
    modules: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in modules:
            continue
        path = _module_file(root, name)
        if path is None:
            continue  # ``from bench.x import some_function``: not a module
        modules[name] = path
        parent = name.rpartition(".")[0]
        if parent:
            todo.append(parent)
        todo.extend(_imports(root, name, path))
    return modules


def agent_files(root: Path | None = None) -> list[str]:
    """Paths (relative to ``root``, POSIX) of the agent's sources and package data."""
    root = root or default_source_root()
    files: set[Path] = set()
    for path in agent_modules(root).values():
        files.add(path)
        if path.name == "__init__.py":  # data files beside a package's modules
            for data in path.parent.iterdir():
                if data.is_file() and data.suffix not in (".py", ".pyc", ".pyo"):
                    if not data.name.startswith("."):
                        files.add(data)
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

    ``key`` is a :class:`SigningKey` or a key directory (the key is made on first use).
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
    signature = base64.b64encode(signing.sign(manifest)) + b"\n"
    if broken:
        contents[BROKEN_FILE] = BROKEN_CONTENT
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / (name or f"bench-agent-{version}{'-broken' if broken else ''}.tar.gz")
    path.write_bytes(_archive(manifest, signature, contents, created))
    return BuiltImage(path, version, len(contents), signing.fingerprint, broken)


def _archive(
    manifest: bytes, signature: bytes, contents: dict[str, bytes], created: datetime
) -> bytes:
    """A reproducible tar.gz: fixed mtimes, owners and modes, sorted entries."""
    mtime = int(created.timestamp())
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            entries = [(MANIFEST, manifest), (SIGNATURE, signature)]
            entries += [(PAYLOAD + rel, data) for rel, data in sorted(contents.items())]
            for member, data in entries:
                info = tarfile.TarInfo(member)
                info.size, info.mtime, info.mode = len(data), mtime, 0o644
                tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()
