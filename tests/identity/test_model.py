"""Sequences of issuing, key rotation, key withdrawal, pruning, trust-store reloads,
revocation, status-list publication and verification, against a short model of which
credential must verify, at every clock time the sequence visits.

The model is the policy the module docstrings state, written out plainly:

- the issuer's key set: the keys in creation order, one active, each published until it is
  withdrawn (:meth:`KeySet.distrust`) or pruned once the last credential it signed has expired
  and the last status list it signed is past its ``ttl``;
- the gate's trust store: what the issuer published when it was last loaded, less the kids the
  gate was told to distrust (for good);
- the gate's status cache: the held list's ``(iat, seq)``, its signing kid and the bits it
  shows; a list is taken when its kid is trusted, it is not from the cache clock's future, and
  it is later than the held one (or the held one's kid is no longer trusted);
- a verdict: the first failing check of the verifier's docstring, in its order.

The clock ticks, jumps and steps back (as NTP steps a wall clock). Every verdict is written to
a file-backed :class:`AuditLog`; the log reopened at the end holds exactly the model's outcomes.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity import (
    AuditLog,
    GateVerifier,
    IdentityError,
    Issuer,
    KeySet,
    Reason,
    StatusAuthority,
    StatusListCache,
    TrustStore,
    verify_chain,
)

T0 = 1_800_000_000
MAX_AGE = 1_000
TTL = 300  # the authority's ttl: shorter than MAX_AGE, so the gate honours the list's own
ISSUER = "acme-id"


@dataclass(frozen=True)
class Credential:
    kid: str
    issued_at: int
    not_before: int
    expires: int
    index: int
    token: str | bytes


@dataclass(frozen=True)
class Published:
    token: str
    iat: int
    seq: int
    kid: str
    revoked: frozenset[int]


class IdentityModel(RuleBasedStateMachine):
    credentials = Bundle("credentials")
    lists = Bundle("lists")

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "audit.jsonl"
        self.clock = ManualClock(start=T0)
        self.keys = KeySet(ISSUER, seed=b"model")
        self.authority = StatusAuthority(self.keys, "L1", ttl=TTL, clock=self.clock)
        self.issuer = Issuer(self.keys, self.authority, clock=self.clock)
        self.trust = TrustStore.from_jwks(self.keys.jwks(), issuer=ISSUER)
        self.cache = StatusListCache(self.trust, clock=self.clock)
        self.audit = AuditLog(self.path, clock=self.clock)
        self.gate = GateVerifier(
            self.trust, self.cache, max_age=MAX_AGE, clock=self.clock, audit=self.audit
        )
        # The model.
        self.published_keys: dict[str, int] = {self.keys.active_kid: 0}  # kid -> last expiry
        self.active = self.keys.active_kid
        self.trusted: set[str] = {self.active}
        self.gate_distrusted: set[str] = set()
        self.held: Published | None = None
        self.revoked: set[int] = set()
        self.seq = 0
        self.next_index = 0
        self.outcomes: list[str] = []

    def teardown(self) -> None:
        self.dir.cleanup()

    @property
    def now(self) -> int:
        return int(self.clock())

    # -- the clock -------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([0, 1, 7, 100, MAX_AGE - 1, MAX_AGE, 2_500]))
    def tick(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(seconds=st.sampled_from([1, 5, 300]))
    def step_back(self, seconds: int) -> None:
        self.clock.set(self.clock() - seconds, allow_backwards=True)

    # -- the issuer ------------------------------------------------------------------------

    @rule(
        target=credentials,
        start=st.sampled_from([0, 0, 0, -50, 1, 500, 3_000]),
        valid_for=st.sampled_from([1, 2, 999, 1_000, 4_000]),
        compact=st.booleans(),
    )
    def issue(self, start: int, valid_for: int, compact: bool) -> Credential:
        claims = self.issuer.issue(
            "w", "acme", "dock", "loader", valid_for=valid_for, not_before=self.now + start
        )
        assert claims.status_index == self.next_index
        self.next_index += 1
        token = self.issuer.sign_compact(claims) if compact else self.issuer.sign_jws(claims)
        kid = self.active
        self.published_keys[kid] = max(self.published_keys[kid], claims.expires)
        assert (claims.issued_at, claims.not_before) == (self.now, self.now + start)
        assert claims.expires == self.now + start + valid_for
        return Credential(
            kid, self.now, self.now + start, claims.expires, claims.status_index, token
        )

    @rule()
    def rotate(self) -> None:
        kid = self.keys.rotate()
        assert kid not in self.published_keys
        self.published_keys[kid] = 0
        self.active = kid
        assert self.keys.kids() == list(self.published_keys)

    @rule(data=st.data())
    def withdraw_key(self, data: st.DataObject) -> None:
        kid = data.draw(st.sampled_from(sorted(self.published_keys)))
        self.keys.distrust(kid)
        del self.published_keys[kid]
        if kid == self.active:
            self.active = self.keys.active_kid
            assert self.active not in self.published_keys
            self.published_keys[self.active] = 0
        assert self.keys.active_kid == self.active
        assert self.keys.kids() == list(self.published_keys)

    @rule()
    def prune(self) -> None:
        gone = self.keys.prune(self.now)
        want = [
            k for k, last in self.published_keys.items() if k != self.active and last <= self.now
        ]
        assert gone == want
        for kid in gone:
            del self.published_keys[kid]
        assert self.keys.kids() == list(self.published_keys)

    @rule(credential=credentials)
    def revoke(self, credential: Credential) -> None:
        self.authority.revoke(credential.index)
        self.revoked.add(credential.index)

    @rule(index=st.sampled_from([-1, 10**6]))
    def revoke_what_was_never_issued(self, index: int) -> None:
        with pytest.raises(IdentityError):
            self.authority.revoke(index)

    @precondition(lambda self: self.now <= 2**32 - 1)
    @rule(target=lists)
    def publish(self) -> Published:
        token = self.authority.publish()
        self.seq += 1
        # A list is good for its ttl (TTL s): its key stays published until then.
        self.published_keys[self.active] = max(self.published_keys[self.active], self.now + TTL)
        return Published(token, self.now, self.seq, self.active, frozenset(self.revoked))

    # -- the gate --------------------------------------------------------------------------

    @rule()
    def load_key_set(self) -> None:
        self.trust.load(self.keys.jwks(), issuer=ISSUER)
        self.trusted = set(self.published_keys) - self.gate_distrusted

    @rule(data=st.data())
    def gate_distrusts(self, data: st.DataObject) -> None:
        known = sorted({*self.published_keys, *self.trusted, *self.gate_distrusted})
        kid = data.draw(st.sampled_from(known))
        self.trust.distrust(kid)
        self.gate_distrusted.add(kid)
        self.trusted.discard(kid)

    def _held_counts(self) -> bool:
        return self.held is not None and self.held.kid in self.trusted

    @rule(listing=lists)
    def update_cache(self, listing: Published) -> None:
        if listing.kid not in self.trusted or listing.iat > self.now:
            refused = True
        elif self._held_counts():
            assert self.held is not None
            newer = listing.seq > self.held.seq  # one authority: its seq orders its lists
            refused = not newer and listing.token != self.held.token
        else:
            refused = False
        if refused:
            before = dict(self.cache.lists)
            with pytest.raises(IdentityError):
                self.cache.update(listing.token)
            assert self.cache.lists == before
            return
        assert self.cache.update(listing.token) == "L1"
        if not (self._held_counts() and self.held is not None and listing.token == self.held.token):
            self.held = listing

    def _expected(self, c: Credential) -> Reason:
        now = self.now
        if c.kid not in self.trusted:
            return Reason.DISTRUSTED_KEY if c.kid in self.gate_distrusted else Reason.UNKNOWN_KEY
        if c.issued_at > now:
            return Reason.ISSUED_IN_FUTURE
        if now < c.not_before:
            return Reason.NOT_YET_VALID
        if now >= c.expires:
            return Reason.EXPIRED
        held = self.held
        if held is None or held.kid not in self.trusted or held.iat > now:
            return Reason.STATUS_UNAVAILABLE
        if now - held.iat >= min(MAX_AGE, TTL):  # the list's own ttl, when shorter
            return Reason.STALE_STATUS
        return Reason.REVOKED if c.index in held.revoked else Reason.OK

    @rule()
    def refresh_gate(self) -> None:
        """What a gate does while online: fetch the key set, then the current list."""
        self.load_key_set()
        if self.now <= 2**32 - 1:
            self.update_cache(self.publish())

    @rule(credential=credentials)
    def verify(self, credential: Credential) -> None:
        verdict = self.gate.verify(credential.token)
        want = self._expected(credential)
        assert verdict.reason is want, (verdict, want)
        assert verdict.ok is (want is Reason.OK)
        self.outcomes.append(want.value)
        event(f"verdict: {want.value}")

    @rule(credential=consumes(credentials))
    def verify_last_time(self, credential: Credential) -> None:
        self.verify(credential)

    @invariant()
    def the_audit_log_holds_every_verdict(self) -> None:
        assert [e["event"]["outcome"] for e in self.audit.entries] == self.outcomes
        assert self.audit.head[0] == len(self.outcomes)


class IdentityModelReopened(IdentityModel):
    """The same sequences; at the end the audit file reopens to the same chain."""

    def teardown(self) -> None:
        try:
            again = AuditLog(self.path, clock=self.clock)
            assert again.entries == self.audit.entries
            assert verify_chain(again.entries).ok
            assert again.head == self.audit.head
        finally:
            super().teardown()


IdentityModelReopened.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_identity_sequences_follow_the_model = IdentityModelReopened.TestCase


class AuditFileModel(RuleBasedStateMachine):
    """Appends, crashes that leave part of the next line (or all of it but its newline),
    recoveries as the error message says, and reopenings, against a list of the events that
    were acknowledged. The file never loses an acknowledged entry, never gains an entry that
    was not (except one written whole but for its newline: the operator appends the newline
    and it is kept), and the chain continues from the last whole entry."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "gate.log"
        self.tick = 0
        self.log: AuditLog | None = AuditLog(self.path, clock=self._clock)
        self.events: list[dict[str, object]] = []

    def _clock(self) -> int:
        self.tick += 1
        return self.tick

    def teardown(self) -> None:
        self.dir.cleanup()

    @precondition(lambda self: self.log is not None)
    @rule(outcome=st.sampled_from(["ok", "revoked", "expired"]))
    def append(self, outcome: str) -> None:
        assert self.log is not None
        event = {"outcome": outcome, "n": len(self.events)}
        self.log.append(event)
        self.events.append(event)

    @precondition(lambda self: self.log is not None)
    @rule(keep=st.floats(0, 1, exclude_max=True))
    def crash_mid_write(self, keep: float) -> None:
        """The process dies while appending one more entry: part of its line reached the disk."""
        assert self.log is not None
        scratch = AuditLog(clock=self._clock)
        scratch.entries = [dict(e) for e in self.log.entries]
        line = json.dumps(scratch.append({"outcome": "lost"})).encode() + b"\n"
        with open(self.path, "ab") as f:
            f.write(line[: max(1, int(keep * len(line)))])
        self.log = None

    @rule()
    def reopen(self) -> None:
        whole = self.path.read_bytes() if self.path.exists() else b""
        if whole and not whole.endswith(b"\n"):
            size = whole.rfind(b"\n") + 1
            try:
                tail = json.loads(whole[size:])
            except ValueError:
                tail = None
            if isinstance(tail, dict):  # all of the entry but its newline: evidence, kept
                with pytest.raises(IdentityError, match="append one newline"):
                    AuditLog(self.path, clock=self._clock)
                assert self.path.read_bytes() == whole
                with open(self.path, "ab") as f:
                    f.write(b"\n")
                self.events.append(tail["event"])
            else:
                with pytest.raises(IdentityError, match=f"truncate it to {size} bytes"):
                    AuditLog(self.path, clock=self._clock)
                assert self.path.read_bytes() == whole  # the log repairs nothing by itself
                with open(self.path, "r+b") as f:
                    f.truncate(size)
        self.log = AuditLog(self.path, clock=self._clock)
        assert [e["event"] for e in self.log.entries] == self.events
        assert self.log.verify().ok


AuditFileModel.TestCase.settings = settings(max_examples=60, stateful_step_count=20, deadline=None)
test_audit_file_sequences_follow_the_model = AuditFileModel.TestCase
