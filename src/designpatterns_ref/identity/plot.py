"""Figures for the identity family: the revocation window, and the status list's size.

Case study: Design a Digital Worker Identity & Compliance Platform (docs/case-studies/worker-identity.md)

:func:`plot_revocation_window` runs a real issuer, status authority and offline gate on a manual
clock: the list is published every ``publish_every`` seconds, the gate refreshes whenever it can,
the credential is revoked at ``revoked_at``, and the gate checks it every minute. The figure shows
when the gate still accepted it (the window) and the bound ``max_age`` after the revocation.
:func:`plot_status_list_size` encodes lists of ``entries`` bits at several revoked fractions
and draws the compressed size. :func:`plot_badge_qr` draws the QR code of a compact credential
(Base45 text in QR's alphanumeric mode), with the ``qrcode`` package. matplotlib is imported inside the functions (the ``plot`` extra);
each takes an optional ``ax`` and returns the Figure.

Complexity: O(horizon / 60) verifications; O(entries) per encoded list.

>>> callable(plot_revocation_window) and callable(plot_status_list_size)
True
"""  # noqa: E501

from __future__ import annotations

import random
from typing import Any

from designpatterns_ref.clock import ManualClock
from designpatterns_ref.errors import shown
from designpatterns_ref.figures import new_figure
from designpatterns_ref.identity.base import IdentityError, IdentityTypeError, check_seconds
from designpatterns_ref.identity.bitstring import BitstringStatusList
from designpatterns_ref.identity.compact import b45encode
from designpatterns_ref.identity.issuer import Issuer
from designpatterns_ref.identity.keys import KeySet, TrustStore
from designpatterns_ref.identity.statuscache import StatusListCache
from designpatterns_ref.identity.statuslist import StatusAuthority
from designpatterns_ref.identity.verifier import GateVerifier

__all__ = [
    "plot_badge_qr",
    "plot_revocation_window",
    "plot_status_list_size",
    "revocation_timeline",
]

_T0 = 1_800_000_000


def revocation_timeline(
    *, max_age: float, publish_every: float, revoked_at: float, horizon: float, step: float = 60.0
) -> list[tuple[float, bool]]:
    """``(seconds, accepted)``: a revoked credential checked every ``step`` by an offline gate."""
    age = check_seconds("max_age", max_age, allow_zero=False)
    every = check_seconds("publish_every", publish_every, allow_zero=False)
    revoke = check_seconds("revoked_at", revoked_at)
    end = check_seconds("horizon", horizon, allow_zero=False)
    tick = check_seconds("step", step, allow_zero=False)
    if end / tick > 100_000:
        raise IdentityError(f"horizon={shown(horizon)} / step={shown(step)} makes too many checks")
    clock = ManualClock(_T0)
    keys = KeySet("plot", seed=b"plot")
    authority = StatusAuthority(keys, "plot/1", clock=clock)
    issuer = Issuer(keys, authority, clock=clock)
    claims = issuer.issue("w", "e", "s", "r", valid_for=end + 86_400)
    token = issuer.sign_compact(claims)
    trust = TrustStore.from_jwks(keys.jwks(), issuer=keys.issuer)
    cache = StatusListCache(trust, clock=clock)
    gate = GateVerifier(trust, cache, max_age=age, clock=clock)
    events = sorted(
        [(revoke, 0, "revoke")]
        + [(k * every, 1, "publish") for k in range(int(end // every) + 1)]
        + [(k * tick, 2, "check") for k in range(int(end // tick) + 1)]
    )
    out = []
    for at, _, what in events:
        clock.set(_T0 + at)
        if what == "revoke":
            authority.revoke(claims.status_index)
        elif what == "publish":
            cache.update(authority.publish())
        elif at >= revoke:
            out.append((at, gate.verify(token).ok))
    return out


def plot_revocation_window(
    *,
    max_age: float = 3_600.0,
    publish_every: float = 1_800.0,
    revoked_at: float = 2_500.0,
    horizon: float = 4 * 3_600.0,
    ax: Any = None,
) -> Any:
    """When an offline gate still accepted a revoked credential, against the ``max_age`` bound."""
    timeline = revocation_timeline(
        max_age=max_age, publish_every=publish_every, revoked_at=revoked_at, horizon=horizon
    )
    fig, ax = new_figure(ax)
    minutes = [t / 60 for t, _ in timeline]
    ax.step(minutes, [1 if ok else 0 for _, ok in timeline], where="post", label="gate accepts")
    ax.axvline(revoked_at / 60, color="tab:red", linestyle="--", label="revoked")
    ax.axvline((revoked_at + max_age) / 60, color="tab:grey", linestyle=":", label="+ max_age")
    for k in range(int(horizon // publish_every) + 1):
        ax.axvline(k * publish_every / 60, color="tab:green", alpha=0.25, linewidth=1)
    ax.set_yticks([0, 1], ["refused", "accepted"])
    ax.set_xlabel("minutes")
    ax.set_ylabel("offline verdict on the revoked credential")
    ax.set_title("The revocation window of an offline gate (green: list published)")
    ax.legend(loc="upper right")
    return fig


def plot_status_list_size(
    *,
    entries: int = 1_000_000,
    fractions: tuple[float, ...] = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1),
    seed: int = 26,
    ax: Any = None,
) -> Any:
    """The GZIP-compressed size of a status list of ``entries`` bits at each revoked fraction."""
    if isinstance(entries, bool) or not isinstance(entries, int) or not 0 < entries <= 10**7:
        raise IdentityError(f"entries={shown(entries, 40)} must be an int in (0, 10,000,000]")
    if (
        not isinstance(fractions, tuple)
        or not fractions
        or not all(
            isinstance(f, float | int) and not isinstance(f, bool) and 0 <= f <= 1
            for f in fractions
        )
    ):
        raise IdentityError(f"fractions={shown(fractions, 60)} must be a tuple of shares in [0, 1]")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise IdentityTypeError(f"seed={shown(seed, 40)} must be an int")
    entries = max(entries + (-entries % 8), 131_072)
    sizes = []
    rng = random.Random(seed)
    for f in fractions:
        sl = BitstringStatusList(entries)
        for i in rng.sample(range(entries), int(entries * f)):
            sl.set(i)
        sizes.append((len(sl.encode()) - 1) * 3 / 4 / 1024)  # base64url back to bytes
    fig, ax = new_figure(ax)
    ax.plot([100 * f for f in fractions], sizes, marker="o")
    ax.axhline(entries / 8 / 1024, color="tab:grey", linestyle=":", label="uncompressed")
    ax.set_xlabel("revoked credentials (%)")
    ax.set_ylabel("compressed status list (KB)")
    ax.set_title(f"Bitstring Status List of {entries:,} credentials, GZIP")
    ax.legend()
    return fig


def plot_badge_qr(blob: bytes, *, error_correction: str = "M", ax: Any = None) -> Any:
    """The QR code of a compact credential, as a badge would print it (needs ``qrcode``)."""
    import qrcode
    import qrcode.constants

    if not isinstance(blob, bytes):
        raise IdentityTypeError(f"blob={shown(blob, 60)} must be the bytes of a compact credential")
    levels = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }
    if not isinstance(error_correction, str) or error_correction not in levels:
        raise IdentityError(f"error_correction={shown(error_correction, 20)} must be L, M, Q or H")
    text = b45encode(blob)
    code = qrcode.QRCode(error_correction=levels[error_correction], border=2)
    code.add_data(text)
    code.make(fit=True)
    matrix = [[0 if cell else 1 for cell in row] for row in code.get_matrix()]
    fig, ax = new_figure(ax, figsize=(4.0, 4.3))
    ax.imshow(matrix, cmap="gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{len(blob)} bytes, {len(text)} Base45 characters")
    ax.set_ylabel(f"error correction {error_correction}")
    side = 17 + 4 * code.version  # modules across, without the quiet border
    ax.set_title(f"QR version {code.version} ({side} x {side} modules)")
    return fig
