"""The Bitstring Status List: bit order, the encodedList format, a 1M round trip, the cache."""

from __future__ import annotations

import base64
import gzip
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity import (
    MIN_BITS,
    BitstringStatusList,
    GateVerifier,
    IdentityError,
    IdentityTypeError,
    Issuer,
    KeySet,
    Reason,
    StatusAuthority,
    StatusListCache,
    TrustStore,
)
from designpatterns_ref.identity.keys import b64url_decode
from tests.identity.world import DAY, T0, make_world, standard_claims


def test_bit_zero_is_the_left_most_bit_of_the_first_byte() -> None:
    sl = BitstringStatusList()
    sl.set(0)
    sl.set(9)
    assert sl.bits[0] == 0x80 and sl.bits[1] == 0x40
    assert sl.size == MIN_BITS == 16 * 1024 * 8


def test_encoded_list_is_multibase_base64url_of_gzip() -> None:
    sl = BitstringStatusList()
    sl.set(12_345)
    encoded = sl.encode()
    assert encoded[0] == "u" and "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert raw == bytes(sl.bits)


@settings(max_examples=60)
@given(st.sets(st.integers(0, MIN_BITS - 1), max_size=200), st.integers(0, MIN_BITS - 1))
def test_round_trip_equals_the_set_of_revoked_indexes(revoked: set[int], probe: int) -> None:
    sl = BitstringStatusList()
    for i in revoked:
        sl.set(i)
    back = BitstringStatusList.decode(sl.encode())
    assert back.count() == len(revoked)
    assert back.get(probe) is (probe in revoked)
    assert all(back.get(i) for i in revoked)


def test_one_million_entries_round_trip_at_one_percent_revoked() -> None:
    size = 1_000_000
    rng = random.Random(26)
    revoked = set(rng.sample(range(size), size // 100))
    sl = BitstringStatusList(size)
    for i in revoked:
        sl.set(i)
    encoded = sl.encode()
    back = BitstringStatusList.decode(encoded)
    assert back.size == size and back.bits == sl.bits
    found = {i for i in range(size) if back.bits[i >> 3] >> (7 - (i & 7)) & 1}
    assert found == revoked
    assert len(encoded) < 20_000  # about 14 KB gzipped, 18.7 K characters of base64url


def test_clearing_a_bit_unrevokes_it() -> None:
    sl = BitstringStatusList()
    sl.set(5)
    sl.set(5, False)
    assert not sl.get(5) and sl.count() == 0


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "x",
        "u",
        "u!!!",
        "u" + base64.urlsafe_b64encode(gzip.compress(b"\0" * 10, mtime=0)).decode().rstrip("="),
        "u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="),
    ],
)
def test_malformed_encoded_lists_are_refused(encoded: str) -> None:
    with pytest.raises(IdentityError):
        BitstringStatusList.decode(encoded)


def test_a_decompression_bomb_is_refused() -> None:
    bomb = gzip.compress(b"\0" * (2**27 // 8 + 1024), mtime=0)
    encoded = "u" + base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    with pytest.raises(IdentityError, match="does not decode"):
        BitstringStatusList.decode(encoded)


def test_the_published_list_follows_the_w3c_data_model() -> None:
    w = make_world()
    payload = json.loads(b64url_decode(w.authority.publish().split(".")[1]))
    vc = payload["vc"]
    assert vc["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert vc["credentialSubject"]["type"] == "BitstringStatusList"
    assert vc["credentialSubject"]["statusPurpose"] == "revocation"
    assert payload["ttl"] == 86_400_000 and payload["iat"] == T0  # a day, in milliseconds


def test_the_cache_refuses_forged_unknown_and_older_lists() -> None:
    w = make_world()
    fresh = w.authority.publish()
    w.clock.advance(10)
    newer = w.authority.publish()
    w.cache.update(newer)
    with pytest.raises(IdentityError, match="older"):
        w.cache.update(fresh)
    assert w.cache.issued_at("acme/status/1") == T0 + 10
    stranger = KeySet("acme-id", seed=b"x")
    foreign = StatusAuthority(stranger, "acme/status/1", clock=w.clock).publish()
    with pytest.raises(IdentityError, match="not trusted"):
        w.cache.update(foreign)
    head, body, sig = newer.split(".")
    forged = ("B" if sig[0] == "A" else "A") + sig[1:]  # never the signature itself
    with pytest.raises(IdentityError, match="signature"):
        w.cache.update(f"{head}.{body}.{forged}")
    assert w.cache.issued_at("acme/status/1") == T0 + 10


def test_online_check_names_its_issuer_and_list() -> None:
    keys = KeySet("i", seed=b"s")
    authority = StatusAuthority(keys, "L", clock=lambda: 0.0)
    index = authority.allocate()
    authority.revoke(index)
    assert authority.check("i", "L", index) is True
    with pytest.raises(IdentityError):
        authority.check("i", "other", index)
    with pytest.raises(IdentityError, match="issuer"):
        authority.check("another issuer", "L", index)  # its list may have the same name
    with pytest.raises(IdentityError):
        authority.revoke(index + 1)  # never allocated
    assert len(TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)) == 1


def test_a_list_dated_ahead_of_the_caches_clock_is_refused() -> None:
    w = make_world()
    ahead = StatusAuthority(w.keys, "acme/status/1", clock=lambda: w.clock() + DAY)
    before = {k: (v[0], bytes(v[1])) for k, v in w.cache.lists.items()}
    with pytest.raises(IdentityError, match="after this cache's clock"):
        w.cache.update(ahead.publish())
    assert {k: (v[0], bytes(v[1])) for k, v in w.cache.lists.items()} == before
    lenient = StatusListCache(w.trust, clock=w.clock, leeway=DAY)
    lenient.update(ahead.publish())  # within the leeway: taken


def test_a_list_dated_ahead_of_time_never_blocks_the_revocation_window() -> None:
    """The authority's clock ran a day fast once: its list is refused, and the honest list
    published after a revocation is taken, so the revoked badge is refused at once."""
    w = make_world(max_age=3_600)
    claims = standard_claims(w)
    token = w.issuer.sign_jws(claims)
    with pytest.raises(IdentityError, match="after this cache's clock"):
        w.cache.update(StatusAuthority(w.keys, "acme/status/1", clock=lambda: T0 + DAY).publish())
    w.clock.advance(60)
    w.authority.revoke(claims.status_index)
    w.cache.update(w.authority.publish())
    for hours in (0, 2, 12, 24):
        w.clock.set(T0 + 60 + hours * 3_600)
        assert not w.gate.verify(token).ok, hours


def test_the_gate_does_not_read_a_list_dated_ahead_of_its_clock() -> None:
    """A cache whose clock runs a day fast took a list dated then; the gate, whose clock is
    right, does not read it until that time comes."""
    w = make_world()
    token = w.issuer.sign_jws(standard_claims(w))
    fast = ManualClock(T0 + DAY)
    cache = StatusListCache(w.trust, clock=fast)
    cache.update(StatusAuthority(w.keys, "acme/status/1", clock=fast).publish())
    gate = GateVerifier(w.trust, cache, max_age=3_600, leeway=60, clock=w.clock)
    for seconds in (0, 3_600, DAY - 61):
        w.clock.set(T0 + seconds)
        verdict = gate.verify(token)
        assert verdict.reason is Reason.STATUS_UNAVAILABLE and "after" in verdict.detail
    w.clock.set(T0 + DAY - 60)
    assert gate.verify(token).ok


def test_a_list_signed_with_a_stolen_key_ends_with_the_key() -> None:
    """A thief's all-clear list dated as late as the leeway allows; the issuer then distrusts
    the key, moves to a new one and revokes: the thief's list neither counts nor blocks."""
    w = make_world()
    claims = standard_claims(w)
    token = w.issuer.sign_jws(claims)
    stolen = w.keys.active_kid
    cache = StatusListCache(w.trust, clock=w.clock, leeway=600)
    cache.update(StatusAuthority(w.keys, "acme/status/1", clock=lambda: T0 + 600).publish())
    gate = GateVerifier(w.trust, cache, max_age=3_600, clock=w.clock, leeway=600)
    w.keys.distrust(stolen)
    w.trust.load(w.keys.jwks(), issuer="acme-id")
    w.trust.distrust(stolen)
    assert gate.verify(token).reason is Reason.DISTRUSTED_KEY
    renewed = w.issuer.sign_jws(standard_claims(w, "w2"))
    assert gate.verify(renewed).reason is Reason.STATUS_UNAVAILABLE  # the thief's list: void
    w.authority.revoke(w.issuer.statuses.next_index - 1)
    w.clock.advance(60)
    cache.update(w.authority.publish())  # earlier than the thief's list, yet taken
    assert gate.verify(renewed).reason is Reason.REVOKED


def test_a_list_published_from_a_server_thread_never_orders_before_what_it_shows() -> None:
    """The status server publishes from its own threads while the issuer revokes: a thread
    preempted between taking its ``seq`` and reading the bits (here made slow on purpose) must
    not hand out a list whose ``(iat, seq)`` orders it after a list showing a revocation it
    lacks, or a gate holding the newer list would take the older one and accept the revoked
    badge again."""
    import threading

    from designpatterns_ref.identity import BitstringStatusList

    class SlowOnce(BitstringStatusList):
        def encode(self) -> str:
            if not started.is_set():
                started.set()
                resume.wait(timeout=5)
            return super().encode()

    started, resume = threading.Event(), threading.Event()
    w = make_world()
    index = standard_claims(w).status_index
    slow = SlowOnce()
    slow.bits[:] = w.authority.statuses.bits
    w.authority.statuses = slow
    lists: list[str] = []
    server = threading.Thread(target=lambda: lists.append(w.authority.publish()))
    server.start()
    assert started.wait(timeout=5)

    def issuer_side() -> None:
        lists.append(w.authority.publish())  # another request, served meanwhile
        w.authority.revoke(index)

    other = threading.Thread(target=issuer_side)
    other.start()
    other.join(timeout=0.5)  # blocked, if the authority serialises its publications
    resume.set()
    server.join(timeout=5)
    other.join(timeout=5)
    versions = []
    for token in lists:
        payload = json.loads(b64url_decode(token.split(".")[1]))
        shown = BitstringStatusList.decode(payload["vc"]["credentialSubject"]["encodedList"])
        versions.append(((payload["iat"], payload["seq"]), shown.get(index)))
    versions.sort()
    assert [revoked for _, revoked in versions] in ([False, False], [False, True], [True, True])


def test_a_revocation_does_not_wait_for_a_publication_to_compress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compressing a large list takes a while (about 0.1 s at 2**27 bits): the authority holds
    its lock only to take the time, the ``seq`` and a copy of the bits, so a revocation issued
    while a publication is compressing completes at once. The list being compressed does not
    show it (its bits were taken before); the next one does, and is ordered after it."""
    import threading

    from designpatterns_ref.identity import bitstring

    compressing, resume, compressed = threading.Event(), threading.Event(), threading.Event()
    real_compress = gzip.compress

    def parked_compress(data: bytes, *args: object, **kwargs: object) -> bytes:
        if not compressing.is_set():  # the first publication only
            compressing.set()
            resume.wait(timeout=5)
            compressed.set()
        return real_compress(data, *args, **kwargs)  # type: ignore[arg-type]

    w = make_world()
    index = standard_claims(w).status_index
    monkeypatch.setattr(bitstring.gzip, "compress", parked_compress)
    lists: list[str] = []
    publisher = threading.Thread(target=lambda: lists.append(w.authority.publish()))
    publisher.start()
    try:
        assert compressing.wait(timeout=5)
        w.authority.revoke(index)  # waits for the lock if compression holds it
        assert not compressed.is_set(), "the revocation waited for the publication to compress"
    finally:
        resume.set()
        publisher.join(timeout=5)
    lists.append(w.authority.publish())
    shown = []
    for token in lists:
        payload = json.loads(b64url_decode(token.split(".")[1]))
        bits = BitstringStatusList.decode(payload["vc"]["credentialSubject"]["encodedList"])
        shown.append(((payload["iat"], payload["seq"]), bits.get(index)))
    assert shown[0][0] < shown[1][0] and [revoked for _, revoked in shown] == [False, True]


def test_a_retired_key_stays_published_while_a_list_it_signed_is_within_its_ttl() -> None:
    """Rotation never breaks a badge: the key that signed the list a gate holds stays in the
    key set for the list's ``ttl``, so pruning right after a rotation does not leave a gate
    that reloads the key set (and has not fetched a new list yet) with no status at all."""
    w = make_world(max_age=3_600, ttl=300)
    w.clock.advance(10)
    w.cache.update(w.authority.publish())  # signed by the first key, ttl 300 s
    w.keys.rotate()
    token = w.issuer.sign_compact(standard_claims(w))
    w.trust.load(w.keys.jwks(), issuer=w.keys.issuer)
    assert w.gate.verify(token).ok
    w.clock.advance(299)
    assert w.keys.prune(int(w.clock())) == []
    w.trust.load(w.keys.jwks(), issuer=w.keys.issuer)
    assert w.gate.verify(token).ok
    w.clock.advance(1)  # the list's ttl is over: the issuer may drop the key, the gate refetches
    assert w.gate.verify(token).reason is Reason.STALE_STATUS  # the list's ttl, not max_age
    assert len(w.keys.prune(int(w.clock()))) == 1
    w.trust.load(w.keys.jwks(), issuer=w.keys.issuer)
    assert w.gate.verify(token).reason is Reason.STATUS_UNAVAILABLE
    w.cache.update(w.authority.publish())
    assert w.gate.verify(token).ok


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-600, 600), st.one_of(st.none(), st.integers(0, 3))),
        min_size=1,
        max_size=12,
    )
)
def test_a_revocation_shows_at_the_next_publication_whatever_the_authoritys_clock_does(
    steps: list[tuple[int, int | None]],
) -> None:
    """The authority's clock runs up to ten minutes either side of the gate's, jumping back and
    forth (stepped back after running fast, say); the gate's clock goes on one second a step and
    its cache allows five minutes of leeway. Every list dated within the leeway is taken, however
    it is dated against the lists before it, and the one dated beyond is refused; so a
    revocation shows at the first publication after it that the gate can take. The oracle: the
    indexes revoked when the last list the cache could take was published."""
    w = make_world(max_age=3_600)
    cache = StatusListCache(w.trust, clock=w.clock, leeway=300)
    gate = GateVerifier(w.trust, cache, max_age=3_600, leeway=300, clock=w.clock)
    badges = []
    for n in range(4):
        claims = standard_claims(w, f"w{n}")
        badges.append((claims.status_index, w.issuer.sign_compact(claims)))
    skew = [0]
    w.authority.clock = lambda: w.clock() + skew[0]
    revoked: set[int] = set()
    shown: set[int] = set()  # what the list the cache holds shows
    cache.update(w.authority.publish())
    for offset, revoke in steps:
        w.clock.advance(1)
        skew[0] = offset
        if revoke is not None:
            w.authority.revoke(badges[revoke][0])
            revoked.add(badges[revoke][0])
        if offset > 300:
            with pytest.raises(IdentityError, match="after this cache's clock"):
                cache.update(w.authority.publish())
        else:
            cache.update(w.authority.publish())
            shown = set(revoked)
        for index, badge in badges:
            verdict = gate.verify(badge)
            assert verdict.ok is (index not in shown), (index, verdict)


def test_a_list_published_after_the_clock_stepped_back_is_dated_honestly_and_taken() -> None:
    """The authority's clock ran a minute fast and was put right: the next list is dated by
    the clock as it reads now, earlier than the one before, and the cache takes it (a later
    ``seq`` of the same epoch); a replay of the list dated ahead is refused after it."""
    w = make_world()
    claims = standard_claims(w)
    token = w.issuer.sign_jws(claims)
    cache = StatusListCache(w.trust, clock=w.clock, leeway=120)
    gate = GateVerifier(w.trust, cache, max_age=3_600, leeway=120, clock=w.clock)
    w.authority.clock = lambda: T0 + 100
    fast = w.authority.publish()
    cache.update(fast)
    w.authority.clock = lambda: T0 + 40
    w.authority.revoke(claims.status_index)
    honest = w.authority.publish()
    cache.update(honest)
    payload = json.loads(b64url_decode(honest.split(".")[1]))
    assert payload["iat"] == T0 + 40 and payload["epoch"] == w.authority.epoch
    assert cache.issued_at("acme/status/1") == T0 + 40
    assert gate.verify(token).reason is Reason.REVOKED
    with pytest.raises(IdentityError, match=r"seq 2 of the same epoch\) is not later"):
        cache.update(fast)
    assert gate.verify(token).reason is Reason.REVOKED


def test_lists_of_two_runs_of_the_authority_are_ordered_by_issue_time() -> None:
    """A restarted authority counts ``seq`` from 1 again under a new epoch: between runs the
    issue time orders, so neither run's lists roll the other's back."""
    w = make_world()
    w.clock.advance(10)
    first_run = w.authority.publish()
    restarted = StatusAuthority(w.keys, "acme/status/1", clock=w.clock)
    assert restarted.epoch != w.authority.epoch
    w.cache.update(first_run)
    with pytest.raises(IdentityError, match="issued at 1800000010, seq 1\\) is not later"):
        w.cache.update(restarted.publish())  # seq 1 < seq 2 in the same second
    w.clock.advance(1)
    w.cache.update(restarted.publish())
    with pytest.raises(IdentityError, match="not later"):
        w.cache.update(first_run)


def test_a_list_of_an_earlier_run_never_comes_back_after_a_later_list_of_that_run() -> None:
    """The authority's clock ran 30 s fast for its first list, was stepped back, and its next
    list (revoking a badge) replaced the first by seq; a restarted authority's list replaced
    that one by date. A replayed copy of the very first list (a stale cache, a replay) is of
    the first run, older than that run's second list: refused, so the revocation holds."""
    keys = KeySet("acme-id", seed=b"replay")
    cache = StatusListCache(TrustStore.from_jwks(keys.jwks(), issuer="acme-id"),
                            clock=ManualClock(T0), leeway=60)  # fmt: skip
    clock = ManualClock(T0 + 30)
    first = StatusAuthority(keys, "L", clock=clock)
    idx = first.allocate()
    fast = first.publish()
    cache.update(fast)
    clock.set(T0, allow_backwards=True)
    first.revoke(idx)
    clock.advance(1)
    cache.update(first.publish())  # seq 2 of the first run, dated 29 s before seq 1
    restarted = StatusAuthority(keys, "L", clock=clock)
    restarted.next_index = idx + 1
    restarted.revoke(idx)
    clock.advance(4)
    cache.update(restarted.publish())
    with pytest.raises(IdentityError, match="not later than seq 2 of that epoch"):
        cache.update(fast)
    assert cache.issued_at("L", issuer="acme-id") == T0 + 5  # the restarted run's list, held


def _stolen_key_world() -> tuple[KeySet, KeySet, str, TrustStore, ManualClock, StatusListCache]:
    """An issuer whose first key (``stolen``) a thief also holds, rotated to a second one."""
    keys = KeySet("acme-id", seed=b"stolen")
    stolen = keys.active_kid
    thief_keys = KeySet("acme-id", seed=b"stolen")  # the same seed: the thief holds it too
    keys.rotate()
    trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
    clock = ManualClock(T0)
    return keys, thief_keys, stolen, trust, clock, StatusListCache(trust, clock=clock, leeway=600)


def test_the_honest_list_is_taken_back_once_a_thiefs_key_is_distrusted() -> None:
    """A thief's list dated ahead replaced the honest one; once its key is distrusted, the
    honest list the authority still serves is taken again at once."""
    keys, thief_keys, stolen, trust, clock, cache = _stolen_key_world()
    honest = StatusAuthority(keys, "L", clock=clock).publish()
    cache.update(honest)
    cache.update(StatusAuthority(thief_keys, "L", clock=lambda: T0 + 600).publish())
    trust.distrust(stolen)
    cache.update(honest)
    assert cache.issued_at("L", issuer="acme-id") == T0


def test_a_thiefs_list_naming_the_epoch_never_lets_an_older_honest_list_back() -> None:
    """A thief names the authority's epoch with seq 100; after its key is distrusted, a replay
    of the honest list from before a revocation is still older than the honest list taken
    after it: refused, so the revocation holds."""
    keys, thief_keys, stolen, trust, clock, cache = _stolen_key_world()
    authority = StatusAuthority(keys, "L", clock=clock)
    idx = authority.allocate()
    before = authority.publish()
    cache.update(before)
    authority.revoke(idx)
    clock.advance(10)
    cache.update(authority.publish())
    thief = StatusAuthority(thief_keys, "L", clock=clock)
    thief.epoch, thief.published = authority.epoch, 99
    thief.revoke(thief.allocate())  # shows the revocation: a list undoing it is refused anyway
    cache.update(thief.publish())
    trust.distrust(stolen)
    with pytest.raises(IdentityError, match="not later than seq 2 of that epoch"):
        cache.update(before)


def test_a_rotation_between_naming_the_key_and_signing_never_breaks_what_is_signed() -> None:
    """A rotation lands after a status list or credential names its key in its header and
    before it is signed (the key set is shared with a status server's threads): what is signed
    is signed by the key its header names, so the gate takes it."""

    class RotatesBeforeSigning(KeySet):
        armed = False

        def sign(self, data: bytes, **options: Any) -> tuple[str, bytes]:
            if self.armed:
                self.armed = False
                self.rotate()
            return super().sign(data, **options)

    clock = ManualClock(T0)
    keys = RotatesBeforeSigning("acme-id", seed=b"r")
    authority = StatusAuthority(keys, "acme/status/1", clock=clock)
    issuer = Issuer(keys, authority, clock=clock)
    claims = issuer.issue("w1", "acme", "dock-3", "loader", valid_for=DAY)
    keys.armed = True
    status_list = authority.publish()
    keys.armed = True
    jws = issuer.sign_jws(claims)
    keys.armed = True
    compact = issuer.sign_compact(claims)
    trust = TrustStore.from_jwks(keys.jwks(), issuer="acme-id")
    cache = StatusListCache(trust, clock=clock)
    cache.update(status_list)
    gate = GateVerifier(trust, cache, max_age=3_600, clock=clock)
    assert gate.verify(jws).ok and gate.verify(compact).ok
    assert len(keys.kids()) == 4  # three rotations: each one landed


def test_signing_with_a_key_no_longer_held_is_refused() -> None:
    keys = KeySet("acme-id", seed=b"r")
    first = keys.active_kid
    keys.distrust(first)
    with pytest.raises(IdentityError, match="distrusted or pruned"):
        keys.sign(b"data", kid=first)
    with pytest.raises(IdentityTypeError, match="kid=123 must be a str"):
        keys.sign(b"data", kid=123)  # type: ignore[arg-type]
