"""The Central System over real sockets: handshake rules, a charging session, CSMS calls."""

import asyncio

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    InvalidStatus,
    NegotiationError,
)
from websockets.headers import build_authorization_basic

from bench.csms.server import CentralSystem
from bench.security.pki import server_ssl_context
from charger.clock import Clock, iso
from charger.protocol.errors import CallErrorReceived, NotConnected
from charger.protocol.transport import connect_client

CP = "CP001"
PASSWORD = "0123456789abcdefABCDEF"
OTHER = "CP002"
OTHER_PASSWORD = "fedcba9876543210FEDCBA"


class Charger(ChargePoint):
    """A minimal charge point: answers RemoteStartTransaction, nothing else."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.remote_starts = []

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag, connector_id=None, **_):
        self.remote_starts.append((id_tag, connector_id))
        return call_result.RemoteStartTransaction(status="Accepted")


def make_csms(tmp_path, pki, tls=True):
    ctx = server_ssl_context(pki.server_cert, pki.server_key) if tls else None
    cs = CentralSystem(tmp_path / "state", Clock.start(), ssl_context=ctx, response_timeout=5)
    cs.register_charge_point(CP, PASSWORD)
    cs.register_charge_point(OTHER, OTHER_PASSWORD)
    cs.add_id_tag("TAG1")
    return cs


async def refused_status(cs, pki, cp_id, password, url_id=None):
    with pytest.raises(InvalidStatus) as refused:
        await connect_client(cs.url(url_id or cp_id), cp_id, password, pki.ca_cert)
    return refused.value.response.status_code


async def wait_until(condition, timeout=2.0):
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def test_url_and_port(tmp_path, pki):
    async def main():
        async with make_csms(tmp_path, pki) as cs:
            assert cs.port > 0
            assert cs.url(CP) == f"wss://127.0.0.1:{cs.port}/ocpp/{CP}"
        plain = make_csms(tmp_path / "plain", pki, tls=False)
        assert plain.url(CP).startswith("ws://")
        plain.store.close()

    asyncio.run(main())


def test_basic_auth_and_subprotocol(tmp_path, pki):
    async def main():
        async with make_csms(tmp_path, pki) as cs:
            ws = await connect_client(cs.url(CP), CP, PASSWORD, pki.ca_cert)
            assert ws.subprotocol == "ocpp1.6"
            await wait_until(lambda: cs.connected(CP))
            await ws.close()

            assert await refused_status(cs, pki, CP, "wrong-password-0000") == 401
            assert await refused_status(cs, pki, CP, None) == 401
            # valid credentials of another charge point do not open this one's path
            assert await refused_status(cs, pki, OTHER, OTHER_PASSWORD, url_id=CP) == 401
            # OCPP-J 1.6 3.1.1: an unknown charge point id gets 404
            assert await refused_status(cs, pki, "NOPE", PASSWORD) == 404

    asyncio.run(main())


def test_missing_subprotocol_is_closed_after_handshake(tmp_path, pki):
    """OCPP-J 1.6 3.1.2: answer without Sec-WebSocket-Protocol, then close."""

    async def main():
        async with make_csms(tmp_path, pki, tls=False) as cs:
            headers = {"Authorization": build_authorization_basic(CP, PASSWORD)}
            async with connect(
                cs.url(CP), subprotocols=["ocpp2.0.1"], additional_headers=headers, proxy=None
            ) as ws:
                assert ws.subprotocol is None
                with pytest.raises(ConnectionClosedError) as closed:
                    await ws.recv()
                assert closed.value.rcvd.code == 1002
            assert not cs.connected(CP)
            with pytest.raises(NegotiationError):
                await connect_client(cs.url(CP), CP, PASSWORD, subprotocols=["ocpp2.0.1"])

    asyncio.run(main())


def test_charging_session_end_to_end(tmp_path, pki):
    async def main():
        async with make_csms(tmp_path, pki) as cs:
            ws = await connect_client(cs.url(CP), CP, PASSWORD, pki.ca_cert)
            charger = Charger(CP, ws)
            serving = asyncio.create_task(charger.start())
            now = lambda: iso(cs.clock.now())  # noqa: E731

            boot = await charger.call(
                call.BootNotification(charge_point_model="AE-240K-D", charge_point_vendor="CROCUS")
            )
            assert (boot.status, boot.interval) == ("Accepted", 60)
            auth = await charger.call(call.Authorize(id_tag="TAG1"))
            assert auth.id_tag_info == {"status": "Accepted"}
            started = await charger.call(
                call.StartTransaction(
                    connector_id=1, id_tag="TAG1", meter_start=100, timestamp=now()
                )
            )
            tx = started.transaction_id
            sample = {"value": "1600", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
            await charger.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[{"timestamp": now(), "sampledValue": [sample]}],
                )
            )
            stopped = await charger.call(
                call.StopTransaction(
                    meter_stop=1600, timestamp=now(), transaction_id=tx, id_tag="TAG1"
                )
            )
            assert stopped.id_tag_info == {"status": "Accepted"}

            [row] = cs.transactions(CP)
            assert (row["id"], row["meter_start"], row["meter_stop"]) == (tx, 100, 1600)
            [mv] = cs.meter_values(tx)
            assert (mv["value"], mv["unit"]) == ("1600", "Wh")
            payload = await cs.wait_for(CP, "StartTransaction", lambda p: p["meterStart"] == 100)
            assert payload["idTag"] == "TAG1"

            # CSMS-initiated, answered by the charger while it keeps serving
            mark = cs.mark()
            waiting = asyncio.create_task(cs.wait_for(CP, "Heartbeat", since=mark, timeout=5))
            assert await cs.remote_start(CP, "TAG1", connector_id=1) == {"status": "Accepted"}
            assert charger.remote_starts == [("TAG1", 1)]
            answer = await cs.wait_for_frame(
                CP, "RemoteStartTransaction", since=mark, message_type=3
            )
            assert answer["payload"] == {"status": "Accepted"}
            await charger.call(call.Heartbeat())
            assert await waiting == {}
            out = [e for e in cs.trace if e["direction"] == "out"]
            assert out[0]["action"] == "BootNotification" and out[0]["message_type"] == 3

            # a request the charger has no handler for comes back as a CALLERROR
            with pytest.raises(CallErrorReceived) as refused:
                await cs.clear_cache(CP)
            assert refused.value.code == "NotImplemented"  # the ocpp package's choice

            await ws.close()
            serving.cancel()
            await wait_until(lambda: not cs.connected(CP))
            with pytest.raises(NotConnected):
                await cs.reset(CP, "Soft")

    asyncio.run(main())


def test_call_to_never_connected_charge_point(tmp_path, pki):
    async def main():
        async with make_csms(tmp_path, pki) as cs:
            with pytest.raises(NotConnected):
                await cs.remote_stop(CP, 1)

    asyncio.run(main())


def test_disconnect_during_call_raises_not_connected_at_once(tmp_path, pki):
    async def main():
        async with make_csms(tmp_path, pki) as cs:
            ws = await connect_client(cs.url(CP), CP, PASSWORD, pki.ca_cert)
            await wait_until(lambda: cs.connected(CP))
            pending = asyncio.create_task(cs.get_configuration(CP))
            await ws.recv()  # the GetConfiguration CALL, never answered
            await ws.close()
            async with asyncio.timeout(2):  # well before the 5 s response timeout
                with pytest.raises(NotConnected):
                    await pending

    asyncio.run(main())


def test_reconnect_replaces_previous_connection(tmp_path, pki):
    async def main():
        async with make_csms(tmp_path, pki) as cs:
            first = await connect_client(cs.url(CP), CP, PASSWORD, pki.ca_cert)
            await wait_until(lambda: cs.connected(CP))
            second = await connect_client(cs.url(CP), CP, PASSWORD, pki.ca_cert)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(first.recv(), 2)
            assert cs.connected(CP)
            await second.send('[2,"h1","Heartbeat",{}]')
            reply = await asyncio.wait_for(second.recv(), 2)
            assert reply.startswith('[3,"h1",{"currentTime":')
            await second.close()

    asyncio.run(main())


def test_state_survives_restart(tmp_path, pki):
    async def main():
        async with make_csms(tmp_path, pki) as cs:
            ws = await connect_client(cs.url(CP), CP, PASSWORD, pki.ca_cert)
            await ws.close()
        again = CentralSystem(tmp_path / "state", Clock.start())
        async with again:
            assert again.store.charge_point(CP)["password_hash"].startswith("scrypt$")

    asyncio.run(main())
