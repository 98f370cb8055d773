"""Password guessing at the handshake: back-off per source and per charge point, never a
lockout, and a valid charge point is not held up by guessers."""

import asyncio

from csms_rig import CP, PASSWORD, handshake, running

from bench.security.backoff import Backoff


def test_wrong_passwords_back_off_and_the_right_one_still_works(tmp_path):
    async def main():
        waits = []
        backoff = Backoff(free=5, base=0.001, cap=0.004)
        async with running(tmp_path, connect=False, backoff=backoff) as (cs, _):
            assert (
                await handshake(cs, CP, PASSWORD) == 101
            )  # verified once: wrong ones cost no scrypt
            original = asyncio.sleep

            async def recorded(seconds, *args, **kwargs):  # type: ignore[no-untyped-def]
                if 0 < seconds <= 0.004:
                    waits.append(seconds)
                return await original(seconds, *args, **kwargs)

            asyncio.sleep = recorded
            try:
                for n in range(300):
                    assert await handshake(cs, CP, f"wrong-password-{n:08d}") == 401
            finally:
                asyncio.sleep = original
            assert backoff.failures(("cp", CP)) == 300
            assert backoff.failures(("src", "127.0.0.1")) == 300
            assert len(waits) == 295 and waits[:3] == [0.001, 0.002, 0.004]
            assert await handshake(cs, CP, PASSWORD) == 101  # no lockout
            assert cs.credentials.slow_checks == 1

    asyncio.run(main())


def test_sixteen_guessers_do_not_hold_up_a_valid_charge_point(tmp_path):
    """A charge point that has connected before: while 16 guessers hammer its account,
    its next handshake costs no scrypt and waits for nobody - it completes before any
    guesser hears back again (their refusals wait out the back-off)."""

    async def main():
        backoff = Backoff(free=0, base=5.0, cap=5.0)
        async with running(tmp_path, connect=False, backoff=backoff) as (cs, _):
            assert await handshake(cs, CP, PASSWORD) == 101
            checks = cs.credentials.slow_checks
            events: list[str] = []
            first_round = asyncio.Event()

            async def guesser(k: int) -> None:
                while True:
                    status = await handshake(cs, CP, f"guess-{k:02d}-0123456789abcdef")
                    events.append(f"guesser {k}: {status}")
                    if sum(e.startswith("guesser") for e in events) >= 16:
                        first_round.set()

            guessers = [asyncio.create_task(guesser(k)) for k in range(16)]
            try:
                await asyncio.wait_for(first_round.wait(), 60)
                mark = len(events)
                status = await handshake(cs, CP, PASSWORD)
                events.append(f"valid: {status}")
                assert status == 101
                # Nothing from the guessers came back while the valid one connected.
                assert events[mark:] == ["valid: 101"], events[mark:]
                assert cs.credentials.slow_checks == checks  # not one more scrypt
            finally:
                for task in guessers:
                    task.cancel()
                await asyncio.gather(*guessers, return_exceptions=True)

    asyncio.run(main())
