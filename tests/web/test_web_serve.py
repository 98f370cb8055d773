"""start_panel as `bench up` uses it: called on the bench's loop, stopped from it too."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

from web.serve import start_panel


def test_start_panel_serves_and_stops_from_the_bench_loop(system, loop, tmp_path):
    async def up():  # type: ignore[no-untyped-def]
        return start_panel(system, asyncio.get_running_loop(), tmp_path, port=0)

    url, stop = asyncio.run_coroutine_threadsafe(up(), loop).result(10)
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url + "login", timeout=5) as response:
        assert response.status == 200
        assert b"No panel user exists yet" in response.read()
    try:
        urllib.request.urlopen(url + "api/snapshot", timeout=5)
        raise AssertionError("the API answered without a login")
    except urllib.error.HTTPError as refused:
        assert refused.code == 401

    async def down() -> None:
        stop()  # on the loop's own thread: must not wait for the loop

    asyncio.run_coroutine_threadsafe(down(), loop).result(10)
    try:
        urllib.request.urlopen(url + "login", timeout=2)
        raise AssertionError("the panel still answers after stop()")
    except (urllib.error.URLError, ConnectionError):
        pass
    assert (tmp_path / "web" / "secret.key").stat().st_mode & 0o077 == 0
