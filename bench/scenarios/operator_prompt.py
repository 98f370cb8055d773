"""An operator step asked of a person: one pending step, answered by the first front end.

``bench run --role cs --dut external --interactive`` asks a person to do what needs hands
on the charger (plug an EV, present a card, cut the power). :class:`OperatorPrompts`
holds those steps; the console (:class:`ConsolePrompter`: Enter, or ``no``) and the
panel (``web/operator.py``: "Done", "Cannot do it") are two front ends of it. Whichever
answers first completes the step; "cannot" or the time limit fail it with
:class:`OperatorFailed`, which fails the case as any failed step does.

The steps are awaited on the run's event loop and answered from other threads (the
console's reader, the panel's request threads): everything here is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.scenarios.handle import ScenarioFailed

#: What a console line that refuses a step looks like (anything else confirms it).
CANNOT_WORDS = ("n", "no", "cannot", "x")


class OperatorFailed(ScenarioFailed):
    """The operator could not do a step (the hook failed, nobody confirmed in time)."""


class StepGone(LookupError):
    """The step is not waiting: answered (by another front end), timed out, or never
    asked (``asked`` False)."""

    def __init__(self, message: str, asked: bool) -> None:
        super().__init__(message)
        self.asked = asked


@dataclass
class Step:
    """One thing a person is asked to do."""

    id: int
    cp_id: str
    text: str
    timeout_s: float
    asked_at: float = field(default_factory=time.time)  # wall time, for the panel's clock
    case: str = ""
    action: str = ""  # what a script reading the panel's API acts on (the hook's ACTION)
    params: dict[str, Any] = field(default_factory=dict)
    answer: tuple[bool, str] | None = None  # (done, by whom)
    _future: asyncio.Future | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        left = self.asked_at + self.timeout_s - time.time()
        return {
            "id": self.id,
            "cp_id": self.cp_id,
            "text": self.text,
            "case": self.case,
            "action": self.action,
            "params": self.params,
            "asked_at": self.asked_at,
            "timeout_s": self.timeout_s,
            "seconds_left": max(0.0, round(left, 1)),
        }


Listener = Callable[[str, Step], None]


class OperatorPrompts:
    """The pending operator steps of a run; answered by whichever front end is first."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._pending: dict[int, Step] = {}
        self._last_id = 0
        self._listeners: list[Listener] = []
        self.version = 0
        self.case = ""  # the case running now, shown with each step
        self.closed = False

    # --- the side that asks (the run's event loop) -----------------------------------------

    async def ask(
        self,
        cp_id: str,
        text: str,
        timeout_s: float,
        action: str = "",
        params: dict[str, Any] | None = None,
    ) -> tuple[bool, str]:
        """Ask for ``text`` and wait for the first answer; (True, by whom) when done.

        "Cannot do it" and the time limit raise :class:`OperatorFailed`. ``action`` and
        ``params`` (the hook's) are shown beside the text, for scripts."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.closed:
                raise OperatorFailed("the run is over: no operator to ask")
            self._last_id += 1
            step = Step(self._last_id, cp_id, text, timeout_s, case=self.case, action=action)
            step.params = dict(params or {})
            step._future, step._loop = loop.create_future(), loop
            self._pending[step.id] = step
            self._bump()
        self._tell("asked", step)
        try:
            done, by = await asyncio.wait_for(asyncio.shield(step._future), timeout_s)
        except TimeoutError:
            if self._settle(step, (False, "timeout")):
                self._tell("timed out", step)
                raise OperatorFailed(f"nobody confirmed '{text}' within {timeout_s:g} s") from None
            assert step.answer is not None  # answered as the time ran out
            done, by = step.answer
        finally:
            self._settle(step, (False, "cancelled"))  # a cancelled case withdraws its step
        if not done:
            raise OperatorFailed(f"the operator ({by}) could not {text}")
        return done, by

    # --- the front ends (any thread) -------------------------------------------------------

    def answer(self, step_id: int, done: bool, by: str) -> Step:
        """Complete a pending step; :class:`StepGone` if it is not pending any more."""
        with self._lock:
            step = self._pending.get(step_id)
            if step is None or not self._settle(step, (bool(done), by)):
                asked = 0 < step_id <= self._last_id
                what = "was answered already or timed out" if asked else "was never asked"
                raise StepGone(f"step {step_id} {what}", asked)
        self._tell("answered", step)
        return step

    def oldest(self) -> Step | None:
        with self._lock:
            return min(self._pending.values(), key=lambda s: s.id, default=None)

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.to_json() for s in sorted(self._pending.values(), key=lambda s: s.id)]

    def listen(self, listener: Listener) -> None:
        """``listener(event, step)`` on "asked", "answered" and "timed out"."""
        self._listeners.append(listener)

    def set_case(self, label: str) -> None:
        with self._lock:
            self.case = label
            self._bump()

    def close(self) -> None:
        """The run is over: no more steps; one still pending fails."""
        with self._lock:
            self.closed = True
            for step in list(self._pending.values()):
                self._settle(step, (False, "nobody: the run ended"))
            self._bump()

    # --- inside ------------------------------------------------------------------------------

    def _settle(self, step: Step, answer: tuple[bool, str]) -> bool:
        """Give ``step`` its answer unless it has one; True if this was the first."""
        with self._lock:
            if step.answer is not None:
                return False
            step.answer = answer
            self._pending.pop(step.id, None)
            self._bump()
        assert step._loop is not None and step._future is not None
        future = step._future
        with contextlib.suppress(RuntimeError):  # the run's loop is closed: nobody waits
            step._loop.call_soon_threadsafe(lambda: future.done() or future.set_result(answer))
        return True

    def _bump(self) -> None:
        self.version += 1  # what the panel's WebSockets look for

    def _tell(self, event: str, step: Step) -> None:
        for listener in list(self._listeners):
            listener(event, step)


class ConsolePrompter:
    """The console's front end: says each step, and a line typed answers the oldest one.

    Enter (any line) confirms, ``no`` refuses. Reads the raw file descriptor on a thread
    of its own: a thread blocked in ``sys.stdin.readline`` would hold the buffer's lock
    when the interpreter exits. At end of input the console stops answering; the panel
    and the time limit still do.
    """

    def __init__(
        self, prompts: OperatorPrompts, fd: int, say: Callable[[str], None], panel_url: str = ""
    ) -> None:
        self.prompts = prompts
        self.fd = fd
        self.say = say
        self.panel_url = panel_url
        self._thread = threading.Thread(target=self._read, name="operator console", daemon=True)
        prompts.listen(self._on_event)

    def start(self) -> ConsolePrompter:
        self._thread.start()
        return self

    def _on_event(self, event: str, step: Step) -> None:
        if event == "asked":
            where = f", or Done in the panel {self.panel_url}" if self.panel_url else ""
            self.say(
                f"OPERATOR [{step.cp_id}] step {step.id}: {step.text}; then press Enter"
                f"{where} (no and Enter if you cannot)"
            )
        elif event == "answered" and step.answer is not None:
            done, by = step.answer
            self.say(f"OPERATOR step {step.id}: {'done' if done else 'cannot do it'} ({by})")
        elif event == "timed out":
            self.say(f"OPERATOR step {step.id}: nobody answered within {step.timeout_s:g} s")

    def _read(self) -> None:
        buffered = b""
        while True:
            try:
                chunk = os.read(self.fd, 1024)
            except OSError:
                chunk = b""
            if not chunk:
                if not self.prompts.closed:
                    self.say("the console's input ended: answer the steps in the panel")
                return
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                self._line(line.decode(errors="replace").strip())

    def _line(self, line: str) -> None:
        step = self.prompts.oldest()
        if step is None:
            return  # nothing asked: a stray Enter
        with contextlib.suppress(StepGone):  # the panel was first
            self.prompts.answer(step.id, line.lower() not in CANNOT_WORDS, "console")
