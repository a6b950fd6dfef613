# %% [markdown]
# # Design a Digital Worker Identity & Compliance Platform
#
# Thousands of employers, sites and workers; a badge must prove who a worker is, for which
# employer, on which site, with which qualifications, and it must keep working at a gate with no
# network, yet stop working soon after it is revoked. This notebook tells the story with
# `designpatterns_ref.identity`: Ed25519-signed credentials (compact JWS and a compact binary
# form for QR codes), key ids with rotation and distrust, a W3C Bitstring Status List cached with
# a max age, an offline gate that says why it refuses, a hash-chained audit log and the
# compliance query. Time is a manual clock, so the story is the same every time.

# %%
import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.identity import (
    AuditLog,
    ComplianceBook,
    GateVerifier,
    Issuer,
    KeySet,
    StatusAuthority,
    StatusListCache,
    TrustStore,
    b45encode,
    verify_chain,
)
from designpatterns_ref.identity.plot import (
    plot_badge_qr,
    plot_revocation_window,
    plot_status_list_size,
)

T0 = 1_800_000_000  # 15 January 2027, 08:00 UTC
DAY = 86_400
clock = ManualClock(T0)

# %% [markdown]
# ## 1. Issue a credential, in two encodings
#
# The issuer's key set names each key; the status authority hands the credential one bit of
# its status list. The forklift licence expires before the badge does.

# %%
keys = KeySet("acme-id", seed=b"example")
authority = StatusAuthority(keys, "acme/status/1", clock=clock)
issuer = Issuer(keys, authority, clock=clock)
claims = issuer.issue(
    "worker-0042",
    "Acme Logistics",
    "Rotterdam dock 3",
    "forklift operator",
    valid_for=90 * DAY,
    qualifications={"forklift": T0 + 20 * DAY, "site-induction": T0 + 90 * DAY},
)
jws = issuer.sign_jws(claims)
blob = issuer.sign_compact(claims)
qr_text = b45encode(blob)
print(f"compact JWS: {len(jws)} characters; compact binary: {len(blob)} bytes")
print(f"QR text (Base45): {len(qr_text)} characters")
print(jws[:80] + "...")

# %% [markdown]
# The compact form printed on a badge: Base45 text in QR's alphanumeric mode.

# %%
fig = plot_badge_qr(blob)
path = dp.show(fig, "badge-qr")
if path is not None:
    print("figure written to", path)

# %% [markdown]
# ## 2. An offline gate
#
# The gate holds the published key set (JWKS) and the latest signed status list, and is then
# cut off. Its policy: a status list older than an hour is stale.

# %%
trust = TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)
cache = StatusListCache(trust, clock=clock)
cache.update(authority.publish())
audit = AuditLog(clock=clock)
gate = GateVerifier(trust, cache, max_age=3_600, clock=clock, audit=audit, gate="north gate")
print("08:00", gate.verify(blob).reason.value)
clock.advance(600)
authority.revoke(claims.status_index)
clock.advance(600)
print("08:20 (revoked at 08:10, the gate cannot know)", gate.verify(blob).reason.value)
clock.advance(3_000)
print("09:10", gate.verify(jws).reason.value)
cache.update(authority.publish())
print("09:11 after a refresh", gate.verify(jws).reason.value)

# %% [markdown]
# The window in which an offline gate can accept a revoked badge is shorter than `max_age`:
# the list's age is counted from its signed issue time. The figure replays it minute by minute.

# %%
fig = plot_revocation_window(max_age=3_600, publish_every=1_800, revoked_at=2_500)
path = dp.show(fig, "revocation-window")
if path is not None:
    print("figure written to", path)

# %% [markdown]
# ## 3. Forgeries, rotation and a compromised key

# %%
head, body, signature = jws.split(".")
edited_signature = signature[:10] + ("B" if signature[10] == "A" else "A") + signature[11:]
print("edited signature:", gate.verify(f"{head}.{body}.{edited_signature}").reason.value)
print("alg none:", gate.verify("eyJhbGciOiJub25lIn0.e30.").reason.value)
old_kid = keys.active_kid
keys.rotate()
trust.load(keys.jwks(), issuer=keys.issuer)
fresh = issuer.sign_compact(
    issuer.issue("worker-0077", "Acme Logistics", "Rotterdam dock 3", "loader", valid_for=30 * DAY)
)
cache.update(authority.publish())
print("new key:", gate.verify(fresh).reason.value)
trust.distrust(old_kid)
print("a badge signed by the distrusted key:", gate.verify(jws).reason.value)

# %% [markdown]
# ## 4. The audit log: append-only and tamper-evident

# %%
count, head_hash = audit.head
print(f"{count} decisions; head {head_hash[:16]}...; chain intact: {audit.verify().ok}")
edited = [dict(e) for e in audit.entries]
edited[1] = {**edited[1], "event": {**edited[1]["event"], "outcome": "revoked"}}
print("after editing entry 1:", verify_chain(edited).problem)
print(
    "after deleting the last entry, against the anchored head:",
    verify_chain(audit.entries[:-1], expected_count=count, expected_head=head_hash).problem,
)

# %% [markdown]
# ## 5. Compliance and the daily sweep

# %%
book = ComplianceBook()
book.require("Rotterdam dock 3", "forklift")
book.assign("worker-0042", "Rotterdam dock 3")
book.assign("worker-0077", "Rotterdam dock 3")
book.record(claims)
for gap in book.gaps(T0 + 25 * DAY):
    print(f"day 25: {gap.worker} lacks {gap.qualification} ({gap.state})")
report = book.sweep(T0 + 10 * DAY, horizon=14 * DAY)
print("day-10 sweep, expiring within 14 days:", [(e.worker, e.what) for e in report.expiring])

# %% [markdown]
# ## 6. How big is a status list?
#
# One bit per credential, GZIP-compressed: revocations are rare, so the list is mostly zeros.

# %%
fig = plot_status_list_size(entries=200_000, fractions=(0.001, 0.01, 0.05))
path = dp.show(fig, "status-list-size")
if path is not None:
    print("figure written to", path)
