"""What a lab operator does at the Central System's console during a case.

One method per operation of the Central System's operation table
(``bench.csms.operations``), generated from it: our CSMS is driven through its Python
API, an external one through an operator hook."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import shlex
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ocpp.charge_point import remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError

from bench.scenarios.handle import ScenarioFailed, ScenarioTimedOut
from charger.clock import Clock
from charger.protocol.errors import CallErrorReceived, NotConnected

if TYPE_CHECKING:
    from bench.csms.server import CentralSystem


log = logging.getLogger("bench.csms_role")


class OperatorActionUnavailable(RuntimeError):
    """A case needs an operator action on an external DUT and no operator hook is set."""


OperatorHook = Callable[[str, dict[str, Any]], Awaitable[Any]]


class OperatorRequest:
    """One operator action in progress; :meth:`outcome` is what the DUT reported back.

    For the local DUT that is the charge point's response as our CSMS received it; for
    an external DUT driven by a hook, whatever the hook returned (often None).
    """

    def __init__(self, action: str, params: dict[str, Any], task: asyncio.Future) -> None:
        self.action = action
        self.params = params
        self.task = task

    @property
    def failed(self) -> str | None:
        """Why the DUT refused or failed the action, once that is known."""
        if not self.task.done() or self.task.cancelled():
            return None
        exc = self.task.exception()
        return f"{type(exc).__name__}: {exc}" if exc else None

    async def outcome(self, within: float = 10.0, clock: Clock | None = None) -> Any:
        wall = clock.wall(within) if clock else within
        try:
            return await asyncio.wait_for(asyncio.shield(self.task), wall)
        except TimeoutError:
            raise ScenarioTimedOut(
                f"operator action {self.action} {self.params}: the CSMS reported no result "
                f"within {within:g} s"
            ) from None
        except CallErrorReceived as exc:
            return {"callError": exc.code}
        except (NotConnected, OCPPError) as exc:
            raise ScenarioFailed(
                f"operator action {self.action} {self.params}: the CSMS failed: {exc}"
            ) from None

    def cancel(self) -> None:
        self.task.cancel()


def console_actions() -> dict[str, inspect.Signature]:
    """Every operation of the CSMS's table (``bench.csms.operations``) as the operator's
    method: its name and parameters are those of the Python API, without ``cp_id``."""
    global _CONSOLE
    if _CONSOLE is None:
        from bench.csms.operations import BY_METHOD
        from bench.csms.server import CentralSystem

        _CONSOLE = {}
        for name in BY_METHOD:
            signature = inspect.signature(getattr(CentralSystem, name))
            params = list(signature.parameters.values())[2:]  # self, cp_id
            _CONSOLE[name] = signature.replace(parameters=params)
    return _CONSOLE


_CONSOLE: dict[str, inspect.Signature] | None = None


class Operator:
    """The Central System operator: one method per console action a case may ask for.

    Each operation of the CSMS's table is a method (``t.operator.remote_start(id_tag=...)``,
    ``t.operator.reset("Hard")``) that hands the action to the DUT and returns an
    :class:`OperatorRequest` without waiting for the charge point's answer; the case then
    waits for the CALL on the wire (``t.expect_call``). ``local`` is True when the DUT is
    our own CSMS, which is then ``csms`` (its state can be checked).
    """

    local = False
    csms: CentralSystem | None = None

    def __init__(self, cp_id: str, clock: Clock) -> None:
        self.cp_id = cp_id
        self.clock = clock
        self.requests: list[OperatorRequest] = []

    async def _do(self, action: str, **params: Any) -> OperatorRequest:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Callable[..., Awaitable[OperatorRequest]]:
        signature = console_actions().get(name)
        if signature is None:
            raise AttributeError(f"the operator has no console action {name!r}")

        async def action(*args: Any, **kwargs: Any) -> OperatorRequest:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"operator.{name}{signature}: {exc}") from None
            bound.apply_defaults()
            return await self._do(name, **bound.arguments)

        action.__name__ = name
        return action

    async def call(self, payload: Any) -> OperatorRequest:
        """Any other console action: make the CSMS send this ``ocpp.v16.call`` request."""
        return await self._do("call", payload=payload)

    async def set_security_profile(self, profile: int) -> OperatorRequest:
        """Registry: the profile the DUT expects this charge point to connect with."""
        return await self._do("set_security_profile", profile=profile)

    def provide_firmware(self, name: str, data: bytes) -> None:
        """Make a firmware image available at the DUT (an external one's operator has it)."""

    def last_failure(self) -> str | None:
        for request in reversed(self.requests):
            if request.failed:
                return f"operator action {request.action} failed: {request.failed}"
        return None

    def transactions(self) -> list[dict[str, Any]] | None:
        """The DUT's own record of this charge point's transactions, if it can be read."""
        return None


class LocalOperator(Operator):
    """Operator actions on our CSMS through its Python API (``bench.csms.operations``)."""

    local = True

    def __init__(self, csms: CentralSystem, cp_id: str, clock: Clock) -> None:
        super().__init__(cp_id, clock)
        self.csms = csms

    async def _do(self, action: str, **params: Any) -> OperatorRequest:
        method = getattr(self.csms, action)
        result = method(self.cp_id, **params)
        if not inspect.isawaitable(result):  # a registry change: done at once
            done: asyncio.Future = asyncio.get_running_loop().create_future()
            done.set_result(result)
            result = done
        task = asyncio.ensure_future(result)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # no "never retrieved"
        request = OperatorRequest(action, params, task)
        self.requests.append(request)
        await asyncio.sleep(0)  # let it start
        return request

    def transactions(self) -> list[dict[str, Any]] | None:
        return self.csms.transactions(self.cp_id)

    def provide_firmware(self, name: str, data: bytes) -> None:
        """Put the image into our CSMS's firmware store (its FTP server)."""
        self.csms.add_firmware(name, data)


class ExternalOperator(Operator):
    """Operator actions on an external DUT: through ``hook(action, params)`` if there is one.

    Without a hook every action raises :class:`OperatorActionUnavailable`, which the
    runner reports as verdict *error* (the case could not be run, the DUT did not fail).
    """

    def __init__(self, cp_id: str, clock: Clock, hook: OperatorHook | None) -> None:
        super().__init__(cp_id, clock)
        self.hook = hook

    async def _do(self, action: str, **params: Any) -> OperatorRequest:
        params = {k: v for k, v in params.items() if v is not None}
        if action == "call":  # hooks get JSON: the action and its wire payload
            payload = params.pop("payload")
            wire = remove_nones(snake_to_camel_case(serialize_as_dict(payload)))
            params = {"action": type(payload).__name__, "payload": wire}
        if self.hook is None:
            raise OperatorActionUnavailable(
                f"this case needs an operator action on the external CSMS: {action} "
                f"{params} for charge point {self.cp_id}; no operator hook is configured "
                "(RunOptions.operator_hook or BENCH_OPERATOR_HOOK)"
            )
        result = await self.hook(action, {"cp_id": self.cp_id, **params})
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        future.set_result(result)
        request = OperatorRequest(action, params, future)
        self.requests.append(request)
        return request


def command_hook(command: str) -> OperatorHook:
    """An operator hook that runs ``command ACTION JSON-PARAMS``; exit status 0 = done."""

    async def hook(action: str, params: dict[str, Any]) -> Any:
        process = await asyncio.create_subprocess_exec(
            *shlex.split(command),
            action,
            json.dumps(params),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise OperatorActionUnavailable(
                f"operator hook {command!r} failed on {action}: {err.decode().strip()}"
            )
        text = out.decode().strip()
        try:
            return json.loads(text) if text else None
        except json.JSONDecodeError:
            return text

    return hook


# --- the bench -----------------------------------------------------------------------------
