"""``bench firmware build | verify | key``: added to ``bench`` by ``bench/cli/parser.py``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_KEY_DIR = "bench-state/pki/firmware"  # beside `bench up`'s default state directory


def add_subcommands(subparsers: argparse._SubParsersAction) -> None:
    firmware = subparsers.add_parser("firmware", help="build and check agent firmware images")
    sub = firmware.add_subparsers(dest="firmware_command", required=True)

    build = sub.add_parser("build", help="build a signed, installable image of the agent")
    build.add_argument("--version", required=True, help="firmware version (BootNotification)")
    build.add_argument("--out", default="dist", help="directory for the image (default: dist)")
    build.add_argument(
        "--broken",
        action="store_true",
        help="content that does not match the manifest: the agent reports InstallationFailed",
    )
    build.add_argument(
        "--key-dir",
        default=DEFAULT_KEY_DIR,
        help=f"signing key directory, made on first use (default: {DEFAULT_KEY_DIR})",
    )
    build.set_defaults(func=_cmd_build)

    verify = sub.add_parser("verify", help="check an image as the agent would")
    verify.add_argument("image", type=Path, help="the image file to check")
    verify.add_argument(
        "--key-dir", default=DEFAULT_KEY_DIR, help="its sibling manufacturer/ca.pem is trusted"
    )
    verify.add_argument("--root", type=Path, help="a manufacturer root certificate PEM instead")
    verify.set_defaults(func=_cmd_verify)

    key = sub.add_parser("key", help="make (first use) and show the signing certificate")
    key.add_argument(
        "--key-dir",
        default=DEFAULT_KEY_DIR,
        help=f"signing key directory, made on first use (default: {DEFAULT_KEY_DIR})",
    )
    key.set_defaults(func=_cmd_key)


def _cmd_build(args: argparse.Namespace) -> int:
    from firmware_image.build import build_image

    try:
        image = build_image(args.version, args.out, args.key_dir, broken=args.broken)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"image     {image.path}")
    broken = "  (BROKEN: content does not match its manifest)" if image.broken else ""
    print(f"version   {image.version}{broken}")
    print(f"files     {image.files}")
    print(f"signed by {image.signer} ({Path(args.key_dir) / 'firmware-signing.pem'})")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from charger.agent.fwimage import ImageError, check_image, load_trust

    root = args.root or Path(args.key_dir).parent / "manufacturer" / "ca.pem"
    try:
        image = check_image(args.image.read_bytes(), load_trust(root.read_bytes()))
    except (OSError, ImageError) as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    manifest = image.manifest
    print(f"OK {manifest.version} created {manifest.created}, {len(manifest.files)} files")
    return 0


def _cmd_key(args: argparse.Namespace) -> int:
    from firmware_image.keys import ensure_signing_key

    key = ensure_signing_key(args.key_dir)
    print(f"certificate {key.certificate_path}")
    print(f"issued by   {key.root_path} (the agent's ManufacturerRootCertificate)")
    print(f"fingerprint {key.fingerprint}")
    return 0
