"""Every port a bench listens on, derived from one base or set one by one.

A lab's firewall, a second bench on the same Pi or parallel ``bench run`` rigs each
need to know (and choose) every listener: the CSMS and its per-profile ports, its HTTP
API, the panel, FTP control and its passive range, the link proxy and the twins
(Modbus TCP meters, the CAN remote bus). 0 means "any free port", as for tests.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields, replace

#: Offsets from ``--port-base``; the passive FTP range and the meters come last.
OFFSETS = {
    "csms": 0,
    "api": 1,
    "client_cert": 2,
    "plain": 3,
    "panel": 4,
    "ftp": 5,
    "proxy": 6,
    "can": 7,
    "proxy_client_cert": 8,
    "proxy_plain": 9,
}
METER_OFFSET = 10  # one per connector
FTP_PASSIVE_COUNT = 8
MAX_CONNECTORS = 4
#: Ports one bench uses from its base: N .. N + SPAN - 1.
SPAN = METER_OFFSET + MAX_CONNECTORS + FTP_PASSIVE_COUNT


@dataclass(frozen=True)
class Ports:
    """Where each listener binds; None: that listener is off."""

    csms: int = 0  # main port, security profile 2 (TLS + Basic auth)
    api: int | None = None  # the CSMS's HTTP operations API
    client_cert: int | None = None  # security profile 3 (TLS client certificates)
    plain: int | None = None  # security profile 1 (plain ws + Basic auth)
    panel: int | None = None
    ftp: int = 0
    ftp_passive: range | None = None
    proxy: int = 0  # the link proxy the agent reaches the CSMS through
    proxy_client_cert: int = 0  # the same cable's port to the profile-3 port
    proxy_plain: int = 0  # ... and to the profile-1 port
    can: int = 0  # the CAN remote bus (python-can-remote) of the simulated rig
    meters: tuple[int, ...] = field(default=())  # Modbus TCP meter twins, per connector slot

    @classmethod
    def from_base(cls, base: int, plain: bool = False) -> Ports:
        """Every listener on ``base`` + a fixed offset (see :data:`OFFSETS`)."""
        if not 1 <= base <= 65535 - SPAN + 1:
            raise ValueError(f"port base {base} leaves no room for {SPAN} ports below 65536")
        passive = base + METER_OFFSET + MAX_CONNECTORS
        return cls(
            csms=base,
            api=base + OFFSETS["api"],
            client_cert=base + OFFSETS["client_cert"],
            plain=base + OFFSETS["plain"] if plain else None,
            panel=base + OFFSETS["panel"],
            ftp=base + OFFSETS["ftp"],
            ftp_passive=range(passive, passive + FTP_PASSIVE_COUNT),
            proxy=base + OFFSETS["proxy"],
            proxy_client_cert=base + OFFSETS["proxy_client_cert"],
            proxy_plain=base + OFFSETS["proxy_plain"],
            can=base + OFFSETS["can"],
            meters=tuple(base + METER_OFFSET + i for i in range(MAX_CONNECTORS)),
        )

    def meter(self, slot: int) -> int:
        return self.meters[slot] if slot < len(self.meters) else 0

    def with_overrides(self, **ports: object) -> Ports:
        """These ports set one by one (None values leave the derived port)."""
        known = {f.name for f in fields(self)}
        given = {k: v for k, v in ports.items() if v is not None}
        unknown = set(given) - known
        if unknown:
            raise ValueError(f"unknown listener(s): {', '.join(sorted(unknown))}")
        return replace(self, **given)  # type: ignore[arg-type]

    def listeners(self) -> list[tuple[str, int]]:
        """(name, port) of every fixed listener, for the console and for checks."""
        out = [(name, getattr(self, name)) for name in OFFSETS]
        out = [(n, p) for n, p in out if p]
        out += [(f"meter{i + 1}", p) for i, p in enumerate(self.meters) if p]
        if self.ftp_passive:
            out += [(f"ftp passive {self.ftp_passive.start}-{self.ftp_passive.stop - 1}", 0)]
        return out


def parse_range(text: str) -> range:
    """``A-B`` (inclusive) as a range; a bad value is one line for argparse."""
    try:
        low, high = (int(part) for part in text.split("-", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port range A-B") from None
    if not 1 <= low <= high <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port range within 1-65535")
    return range(low, high + 1)


def parse_ports(text: str) -> tuple[int, ...]:
    """``P1,P2`` as a tuple of ports."""
    try:
        ports = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated port list") from None
    if any(not 1 <= p <= 65535 for p in ports):
        raise argparse.ArgumentTypeError(f"{text!r}: ports are 1-65535")
    return ports


def add_port_arguments(parser: argparse.ArgumentParser) -> None:
    """``--port-base`` and one option per listener (``bench up``)."""
    group = parser.add_argument_group("ports (127.0.0.1)")
    group.add_argument(
        "--port-base",
        type=int,
        help=f"derive every listener's port from this base, N..N+{SPAN - 1} "
        "(default: --port, else 9000)",
    )
    group.add_argument(
        "--port", dest="csms_port", type=int, help="CSMS port (profile 2); the base if none given"
    )
    group.add_argument("--api-port", type=int, help="the CSMS's HTTP API")
    group.add_argument("--client-cert-port", type=int, help="CSMS profile 3 (client certs)")
    group.add_argument("--plain-port", type=int, help="also serve profile 1 (plain ws) here")
    group.add_argument("--ftp-port", type=int, help="FTP control port")
    group.add_argument("--ftp-passive-ports", type=parse_range, help="FTP passive range A-B")
    group.add_argument("--proxy-port", type=int, help="the link proxy (agent -> CSMS)")
    group.add_argument("--proxy-client-cert-port", type=int, help="its route to profile 3")
    group.add_argument("--proxy-plain-port", type=int, help="its route to profile 1")
    group.add_argument("--can-port", type=int, help="the simulated CAN bus (python-can-remote)")
    group.add_argument("--meter-ports", type=parse_ports, help="Modbus TCP meter twins P1,P2")


def ports_from_args(args: argparse.Namespace, default_base: int | None = None) -> Ports:
    """The ports ``add_port_arguments``' options give (a bad base: ValueError, one line)."""
    base = getattr(args, "port_base", None) or default_base
    ports = Ports.from_base(base, plain=args.plain_port is not None) if base else Ports()
    return ports.with_overrides(
        csms=args.csms_port,
        api=args.api_port,
        client_cert=args.client_cert_port,
        plain=args.plain_port,
        ftp=args.ftp_port,
        ftp_passive=args.ftp_passive_ports,
        proxy=args.proxy_port,
        proxy_client_cert=args.proxy_client_cert_port,
        proxy_plain=args.proxy_plain_port,
        can=args.can_port,
        meters=args.meter_ports,
    )
