"""``dpref bench shortcode``: pairs in one code beside sqids and hashids, and the blocklist's cost.

Timings interleave the codecs: each pass times every codec once, in turn, and the figure is the
median over passes, so a burst of load on a shared machine hits every row alike and the ratios
within a table stay meaningful even when the absolute figures do not.
"""

from __future__ import annotations

import importlib
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from designpatterns_ref.benchkit import Table, installed
from designpatterns_ref.errors import shown
from designpatterns_ref.shortcode.base62 import ALPHABET, encode
from designpatterns_ref.shortcode.blocklist import DEFAULT_WORDS, Blocklist, CleanObfuscator
from designpatterns_ref.shortcode.obfuscate import Obfuscator
from designpatterns_ref.shortcode.tuples import TupleCodes

__all__ = ["bench_blocklist", "bench_tuples"]

SEED = 20240604

Case = tuple[Callable[[Any], object], Sequence[Any]]


def interleaved(cases: Sequence[Case], repeat: int) -> list[float]:
    """Median µs per call of each ``fn(item)``, the cases timed in turn within every pass."""
    runs: list[list[float]] = [[] for _ in cases]
    for _ in range(repeat):
        for i, (fn, items) in enumerate(cases):
            start = time.perf_counter()
            for item in items:
                fn(item)
            runs[i].append((time.perf_counter() - start) / len(items) * 1e6)
    return [statistics.median(r) for r in runs]


def bench_tuples(quick: bool) -> list[Table]:
    """Pairs ``(shard, id)`` in one code, beside sqids' and hashids' lists of numbers."""
    rng = random.Random(SEED)
    count, repeat = (500, 5) if quick else (5_000, 15)
    pairs = [(rng.randrange(1024), rng.randrange(2**40)) for _ in range(count)]
    codecs: list[tuple[str, Callable[[Any], str], Callable[[str], Any]]] = []
    keyed, plain = TupleCodes((1024, 2**40), key="bench"), TupleCodes((1024, 2**40))
    codecs.append(("TupleCodes, keyed (this library)", keyed.encode, keyed.decode))
    codecs.append(("TupleCodes, plain (this library)", plain.encode, plain.decode))
    clean = TupleCodes((1024, 2**40), key="bench", blocklist=Blocklist(DEFAULT_WORDS))
    codecs.append(("TupleCodes, keyed, DEFAULT_WORDS blocked", clean.encode, clean.decode))
    peer_words = sqids_words()
    if peer_words is not None:  # the list and the rule sqids' own blocklist uses
        like = TupleCodes((1024, 2**40), key="bench", blocklist=Blocklist(peer_words, rule="sqids"))
        codecs.append(("TupleCodes, keyed, sqids' list and rule", like.encode, like.decode))
    if installed("sqids"):
        from sqids import Sqids

        sq, bare = Sqids(), Sqids(blocklist=[])
        codecs.append(("sqids encode([shard, id]), its default list", sq.encode, sq.decode))
        codecs.append(("sqids encode([shard, id]), blocklist=[]", bare.encode, bare.decode))
    if installed("hashids"):
        hashids: Any = importlib.import_module("hashids")
        hs = hashids.Hashids(salt="bench")
        codecs.append(("hashids encode(shard, id)", lambda p: str(hs.encode(*p)), hs.decode))
    cases: list[Case] = []
    lengths = []
    for _, enc, dec in codecs:
        codes = [enc(p) for p in pairs]
        if [tuple(dec(c)) for c in codes] != pairs:  # every peer must round-trip first
            raise AssertionError(f"{shown(enc)} does not round-trip the benchmark's pairs")
        cases += [(enc, pairs), (dec, codes)]
        lengths.append([len(c) for c in codes])
    times = interleaved(cases, repeat)
    base_enc, base_dec = times[0], times[1]
    table = Table(
        f"pairs (shard < 1024, id < 2**40): µs per call, median of {repeat} interleaved passes "
        f"over {count:,} pairs",
        ["codec", "encode µs", "decode µs", "encode / keyed", "decode / keyed", "length"],
    )
    for i, (name, _, _) in enumerate(codecs):
        enc_us, dec_us, ls = times[2 * i], times[2 * i + 1], lengths[i]
        table.add(
            name,
            enc_us,
            dec_us,
            f"{enc_us / base_enc:.2f}",
            f"{dec_us / base_dec:.2f}",
            f"{min(ls)} / {statistics.fmean(ls):.1f} / {max(ls)}",
        )
    table.note = (
        "length: min / mean / max characters; every codec round-trips the pairs first. Like for "
        "like: the keyed and plain codes with sqids' blocklist=[] row, the sqids' list and rule "
        "row with sqids' default list."
    )
    return [table]


def sqids_words() -> list[str] | None:
    """sqids' own default list, read from the installed package (``None`` without it)."""
    if not installed("sqids"):
        return None
    constants: Any = importlib.import_module("sqids.constants")
    return sorted(w for w in constants.DEFAULT_BLOCKLIST if w.isascii() and w.isalnum())


def first_order_share(blocklist: Blocklist, width: int) -> float:
    """The share of random base62 codes blocked, to first order (the sum over words and places).

    A letter matches a position with probability 2/62 (either case), a digit 1/62; overlaps
    between matches are ignored, so this is an upper estimate, close while the share is small.
    """

    def p(word: str) -> float:
        out = 1.0
        for c in word:
            out *= (2 if c.isalpha() else 1) / len(ALPHABET)
        return out

    total = 0.0
    for w in blocklist.words:
        if blocklist.rule == "sqids" and len(w) <= 3:
            places = 1 if len(w) == width else 0
        elif blocklist.rule == "sqids" and any(c.isdigit() for c in w):
            places = min(2, max(0, width - len(w) + 1))
        else:
            places = max(0, width - len(w) + 1)
        total += places * p(w)
    return total


def bench_blocklist(quick: bool) -> list[Table]:
    """The share of the code space a blocklist costs, and what it adds to encoding."""
    rng = random.Random(SEED)
    samples = 50_000 if quick else 1_000_000
    lists: list[tuple[str, list[str]]] = [("DEFAULT_WORDS", list(DEFAULT_WORDS))]
    peer_words = sqids_words()
    if peer_words is not None:
        lists.append(("sqids' default list", peer_words))
    widths = (6, 7, 8)
    lost = Table(
        f"code space lost: share of {samples:,} uniformly random codes that are blocked "
        "(first-order estimate in brackets)",
        ["list", "words", "rule", *(f"{w} chars" for w in widths)],
    )
    codes = {w: [encode(rng.randrange(62**w), w) for _ in range(samples)] for w in widths}
    for label, words in lists:
        for rule in ("anywhere", "sqids"):
            blocklist = Blocklist(words, rule=rule)
            shares = []
            for w in widths:
                hits = sum(map(blocklist.blocks, codes[w]))
                shares.append(f"{hits / samples:.3%} ({first_order_share(blocklist, w):.3%})")
            lost.add(label, len(blocklist), rule, *shares)
    lost.note = "sqids' list is read from the installed sqids package at run time."

    count, repeat = (500, 5) if quick else (5_000, 15)
    ob = Obfuscator("bench", width=7)
    numbers = [rng.randrange(62**7) for _ in range(count)]
    rows: list[tuple[str, str]] = [("Obfuscator, no list (this library)", "")]
    cases: list[Case] = [(ob.encode, numbers), (ob.decode, [ob.encode(n) for n in numbers])]
    for label, words in lists:
        clean = CleanObfuscator(ob, Blocklist(words))
        inputs = [clean.next_clean(n) for n in numbers]
        clean_codes = [clean.encode(n) for n in inputs]
        if [clean.decode(c) for c in clean_codes] != inputs:
            raise AssertionError("CleanObfuscator does not round-trip")
        walked = sum(c != ob.encode(n) for n, c in zip(inputs, clean_codes, strict=True))
        rows.append((f"CleanObfuscator, {label} (this library)", f"{walked / count:.2%}"))
        cases += [(clean.encode, inputs), (clean.decode, clean_codes)]
    if installed("sqids"):
        from sqids import Sqids

        for label, peer in (
            ("sqids (min_length=7), its default list", Sqids(min_length=7)),
            ("sqids (min_length=7), blocklist=[]", Sqids(min_length=7, blocklist=[])),
        ):
            rows.append((label, ""))
            cases += [(_one(peer), numbers), (peer.decode, [peer.encode([n]) for n in numbers])]
    times = interleaved(cases, repeat)
    cost = Table(
        f"blocklist cost, 7 chars: µs per call, median of {repeat} interleaved passes over "
        f"{count:,} numbers",
        ["codec", "encode µs", "decode µs", "encode / no list", "encodes that walked"],
    )
    for i, (label, walked_share) in enumerate(rows):
        enc_us, dec_us = times[2 * i], times[2 * i + 1]
        if label.startswith("sqids"):
            ratio = f"{enc_us / times[-2]:.2f} × sqids without"
        else:
            ratio = f"{enc_us / times[0]:.2f}"
        cost.add(label, enc_us, dec_us, ratio, walked_share)
    return [lost, cost]


def _one(peer: Any) -> Callable[[int], str]:
    return lambda n: str(peer.encode([n]))
