"""A finite state machine declared as data: states, transitions and named guards.

Case study: Design a Food Delivery App (docs/case-studies/food-delivery.md)

A :class:`MachineSpec` is a table, written once and shared: which events move which states
where, and which named guard must agree. A :class:`Machine` is one instance (one order): a
reference to its spec and the name of its current state, nothing else, so a million orders cost
a million small objects. Because the declaration is data, the diagram is drawn from it
(:meth:`MachineSpec.mermaid`) and cannot drift from the code, and an illegal event is refused
before anything changes. The trade-off against a library such as ``transitions`` or
``python-statemachine``: no callbacks, no per-instance bound methods, no hierarchy; the work a
transition triggers belongs to the caller (the saga), which keeps the machine a pure function
``(state, event, context) -> state``.

Complexity: building the spec is O(transitions); :meth:`Machine.fire` is two dictionary
lookups and the guard; an instance is one object with two slots.

>>> spec = MachineSpec(
...     "door", ["closed", "open", "locked"], "closed",
...     [Transition("open", ("closed",), "open"), Transition("close", ("open",), "closed"),
...      Transition("lock", ("closed",), "locked", guard="has_key")],
...     guards={"has_key": lambda ctx: bool(ctx.get("key"))},
... )
>>> door = Machine(spec)
>>> door.fire("lock", {"key": True})
'locked'
>>> door.fire("open")
Traceback (most recent call last):
...
designpatterns_ref.workflows.base.IllegalTransition: door: event 'open' is not allowed in ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from designpatterns_ref.errors import shown
from designpatterns_ref.workflows.base import (
    IllegalTransition,
    WorkflowError,
    WorkflowTypeError,
    check_name,
)

__all__ = ["Guard", "Machine", "MachineSpec", "Transition"]

#: A guard reads the transition's context and says whether the move may happen.
Guard = Callable[[Mapping[str, Any]], bool]

_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Transition:
    """``event`` moves any of ``sources`` to ``target`` when the named ``guard`` agrees."""

    event: str
    sources: tuple[str, ...]
    target: str
    guard: str | None = None


class MachineSpec:
    """The declaration: states, the initial one, the final ones, transitions and guards."""

    __slots__ = ("final", "guards", "initial", "name", "states", "table", "transitions")

    def __init__(
        self,
        name: str,
        states: Iterable[str],
        initial: str,
        transitions: Iterable[Transition],
        *,
        guards: Mapping[str, Guard] | None = None,
        final: Iterable[str] = (),
    ) -> None:
        where = "MachineSpec"
        self.name = check_name(where, "name", name)
        self.states: tuple[str, ...] = tuple(
            check_name(where, "state", s) for s in _listed(where, "states", states)
        )
        if len(set(self.states)) != len(self.states):
            raise WorkflowError(f"{where}: states={shown(self.states)} repeat a name")
        known = set(self.states)
        if check_name(where, "initial", initial) not in known:
            raise WorkflowError(f"{where}: initial={shown(initial)} is not one of {self.states}")
        self.initial = initial
        self.final: tuple[str, ...] = tuple(
            check_name(where, "final state", f) for f in _listed(where, "final", final)
        )
        for f in self.final:
            if f not in known:
                raise WorkflowError(f"{where}: final state {shown(f)} is not one of {self.states}")
        if guards is not None and not isinstance(guards, Mapping):
            raise WorkflowTypeError(f"{where}: guards={shown(guards, 80)} must be a mapping")
        self.guards: dict[str, Guard] = dict(guards or {})
        for gname, gfn in self.guards.items():
            check_name(where, "guard name", gname)
            if not callable(gfn):
                raise WorkflowTypeError(f"{where}: guard {shown(gname)} must be callable")
        self.transitions: tuple[Transition, ...] = tuple(_listed(where, "transitions", transitions))
        table: dict[str, dict[str, tuple[str, Guard | None, str | None]]] = {
            s: {} for s in self.states
        }
        for t in self.transitions:
            if not isinstance(t, Transition):
                raise WorkflowTypeError(f"{where}: transition {shown(t, 80)} must be a Transition")
            check_name(where, "event", t.event)
            if not isinstance(t.sources, tuple) or not t.sources:
                raise WorkflowTypeError(
                    f"{where}: transition {shown(t.event)} sources={shown(t.sources, 80)} must be "
                    "a non-empty tuple of state names"
                )
            for state in (*t.sources, t.target):
                if not isinstance(state, str) or state not in known:
                    raise WorkflowError(
                        f"{where}: transition {shown(t.event)} names state {shown(state)}, "
                        f"not one of {self.states}"
                    )
            if t.guard is not None and (not isinstance(t.guard, str) or t.guard not in self.guards):
                raise WorkflowError(
                    f"{where}: transition {shown(t.event)} needs guard {shown(t.guard)}, "
                    f"not among {sorted(self.guards)}"
                )
            for source in t.sources:
                if t.event in table[source]:
                    raise WorkflowError(
                        f"{where}: event {shown(t.event)} leaves {shown(source)} twice; "
                        "one event may have one target per state"
                    )
                guard = self.guards[t.guard] if t.guard is not None else None
                table[source][t.event] = (t.target, guard, t.guard)
        self.table = table

    def allowed(self, state: str) -> tuple[str, ...]:
        """The events the machine accepts in ``state`` (guards not consulted)."""
        if not isinstance(state, str) or state not in self.table:
            raise WorkflowError(
                f"{self.name}: state={shown(state, 80)} is not one of {self.states}"
            )
        return tuple(self.table[state])

    def next_state(self, state: str, event: str, ctx: Mapping[str, Any] | None = None) -> str:
        """Where ``event`` takes ``state`` (raises :class:`IllegalTransition` if nowhere).

        A ``ctx`` that is not a mapping (or None) is refused with :class:`WorkflowTypeError`
        before anything else, guard or no guard, as :meth:`Machine.fire` refuses it.
        """
        if not isinstance(state, str) or state not in self.table:
            raise WorkflowError(
                f"{self.name}: state={shown(state, 80)} is not one of {self.states}"
            )
        context = _context(self.name, ctx)
        try:
            entry = self.table[state][event]
        except (KeyError, TypeError):
            raise self._illegal(state, event) from None
        target, guard, guard_name = entry
        if guard is not None and not guard(context):
            raise IllegalTransition(
                f"{self.name}: event {shown(event)} in state {shown(state)} refused by guard "
                f"{shown(guard_name)}"
            )
        return target

    def reference_next(self, state: str, event: str, ctx: Mapping[str, Any] | None) -> str | None:
        """The oracle: scan the declaration in order; ``None`` when the event is refused."""
        ctx = _context(self.name, ctx)
        for t in self.transitions:
            if t.event == event and state in t.sources:
                if t.guard is None or self.guards[t.guard](ctx or _EMPTY):
                    return t.target
                return None
        return None

    def mermaid(self) -> str:
        """The state diagram as Mermaid text, drawn from the declaration."""
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for t in self.transitions:
            label = t.event if t.guard is None else f"{t.event} [{t.guard}]"
            lines += [f"    {s} --> {t.target}: {label}" for s in t.sources]
        lines += [f"    {f} --> [*]" for f in self.final]
        return "\n".join(lines)

    def _illegal(self, state: str, event: object) -> IllegalTransition:
        allowed = ", ".join(self.table[state]) or "none"
        if not isinstance(event, str):
            return IllegalTransition(
                f"{self.name}: event={shown(event, 80)} must be a string; allowed in "
                f"{shown(state)}: {allowed}"
            )
        return IllegalTransition(
            f"{self.name}: event {shown(event, 80)} is not allowed in state {shown(state)}; "
            f"allowed: {allowed}"
        )

    def __repr__(self) -> str:
        size = f"{len(self.states)} states, {len(self.transitions)} transitions"
        return f"MachineSpec({self.name!r}, {size})"


def _listed(where: str, field: str, value: object) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise WorkflowTypeError(f"{where}: {field}={shown(value, 80)} must be a list")
    return list(value)


def _context(name: str, ctx: object) -> Mapping[str, Any]:
    if ctx is None:
        return _EMPTY
    if not isinstance(ctx, Mapping):
        raise WorkflowTypeError(f"{name}: ctx={shown(ctx, 80)} must be a mapping or None")
    return ctx


class Machine:
    """One instance of a spec: the spec (shared) and the current state's name.

    Not thread-safe: one order's machine belongs to the worker running that order.
    """

    __slots__ = ("spec", "state")

    def __init__(self, spec: MachineSpec, state: str | None = None) -> None:
        if not isinstance(spec, MachineSpec):
            raise WorkflowTypeError(f"Machine: spec={shown(spec, 80)} must be a MachineSpec")
        if state is None:
            state = spec.initial
        elif not isinstance(state, str) or state not in spec.table:
            raise WorkflowError(f"Machine: state={shown(state, 80)} is not one of {spec.states}")
        self.spec = spec
        self.state: str = state

    def fire(self, event: str, ctx: Mapping[str, Any] | None = None) -> str:
        """Move by ``event``; on refusal raise :class:`IllegalTransition` and change nothing."""
        spec = self.spec
        if ctx is not None and ctx.__class__ is not dict:
            _context(spec.name, ctx)
        try:
            target, guard, guard_name = spec.table[self.state][event]
        except (KeyError, TypeError):
            raise spec._illegal(self.state, event) from None
        if guard is not None and not guard(_context(spec.name, ctx)):
            raise IllegalTransition(
                f"{spec.name}: event {shown(event)} in state {shown(self.state)} refused by guard "
                f"{shown(guard_name)}"
            )
        self.state = target
        return target

    def can(self, event: str, ctx: Mapping[str, Any] | None = None) -> bool:
        """Whether :meth:`fire` would accept ``event`` now (nothing changes either way).

        False where :meth:`fire` raises :class:`IllegalTransition`; bad input (a ``ctx`` that
        is not a mapping, a guard that cannot read it) raises what :meth:`fire` raises.
        """
        try:
            self.spec.next_state(self.state, event, ctx)
        except IllegalTransition:
            return False
        return True

    @property
    def done(self) -> bool:
        """True in a final state."""
        return self.state in self.spec.final

    def __repr__(self) -> str:
        return f"Machine({self.spec.name!r}, state={self.state!r})"
