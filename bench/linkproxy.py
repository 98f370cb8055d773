"""A TCP proxy between the agent and the CSMS that the bench can cut.

Cutting closes every open connection at once and refuses new ones, the way a
pulled Ethernet cable looks to both ends; TLS passes through untouched. One cable may
carry several ports (:meth:`LinkProxy.route`: the CSMS's port per security profile);
a cut cuts them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger("bench.linkproxy")


class LinkProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.up = True
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._routes: list[asyncio.Server] = []  # further ports on the same cable
        self._pipes: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self, port: int = 0) -> LinkProxy:
        self._server = await asyncio.start_server(self._accept, self.host, port)
        return self

    async def route(self, target_port: int, port: int = 0) -> int:
        """Carry one more CSMS port over this cable (on local ``port``, 0: any free one);
        returns the local port to dial."""

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._accept(reader, writer, (self.target[0], target_port))

        server = await asyncio.start_server(accept, self.host, port)
        self._routes.append(server)
        return server.sockets[0].getsockname()[1]

    def open_connections(self) -> int:
        """Connections passing now (a charge point connected through this cable)."""
        return len(self._writers) // 2

    def route_ports(self) -> list[int]:
        """The local ports of the further routes (:meth:`route`)."""
        return [server.sockets[0].getsockname()[1] for server in self._routes]

    async def stop(self) -> None:
        self.cut()
        for server in [self._server, *self._routes]:
            if server is not None:
                server.close()
                await server.wait_closed()
        self._routes.clear()

    def cut(self) -> None:
        """Drop every connection now and refuse new ones until :meth:`restore`."""
        self.up = False
        self.cuts += 1
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.up = True

    async def _accept(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        target: tuple[str, int] | None = None,
    ) -> None:
        if not self.up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*(target or self.target))
        except OSError as exc:
            log.info("link proxy: CSMS unreachable: %s", exc)
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        a = asyncio.create_task(self._pipe(reader, up_writer))
        b = asyncio.create_task(self._pipe(up_reader, writer))
        self._pipes |= {a, b}
        await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
        for task in (a, b):
            task.cancel()
        for w in (writer, up_writer):
            self._writers.discard(w)
            with contextlib.suppress(Exception):
                w.close()
        self._pipes -= {a, b}

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
