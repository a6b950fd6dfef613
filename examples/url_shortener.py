# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Design a URL Shortener (bit.ly)
#
# Six or seven characters that redirect billions of times a day. The design looks trivial
# (store a code and a URL) and goes wrong in three places: **where the next code comes from**,
# **what happens when two URLs want the same code**, and **what the codes give away**. This
# notebook walks through each with `designpatterns_ref.shortcode`.

# %%
import tempfile
import threading
import time
from pathlib import Path

import designpatterns_ref as dp
from designpatterns_ref.clock import ManualClock
from designpatterns_ref.shortcode import (
    Blocklist,
    CleanObfuscator,
    CodeExpired,
    CollisionError,
    CounterAllocator,
    HashCodes,
    InvalidUrl,
    MemoryCounter,
    Obfuscator,
    RangeAllocator,
    TupleCodes,
    UrlShortener,
    codes_until_collision,
    collision_probability,
    decode,
    encode,
    expected_collisions,
)
from designpatterns_ref.shortcode.plot import plot_birthday

# %% [markdown]
# ## How many characters?
#
# A code is a number in base 62. Six characters name 56.8 billion links, seven name 3.5
# trillion: at 100 million new links a month, seven characters last about 3,000 years.

# %%
for width in (5, 6, 7, 8):
    print(f"{width} characters: {62**width:>20,} codes")
print(encode(62**7 - 1), decode("zzzzzzz"))

# %% [markdown]
# ## Where the next code comes from
#
# **A counter** never collides and gives the shortest codes, but every code is a trip to the
# one place that holds the counter, and the codes count your links for anyone who looks.

# %%
counter = CounterAllocator(start=10_000_000, width=7)
print([counter.allocate() for _ in range(4)])

# %% [markdown]
# **A keyed permutation** fixes the second problem without giving up the first property:
# a Feistel network with cycle walking maps `[0, 62**7)` onto itself one to one, so counter
# values become unrelated-looking codes that still cannot collide. It hides order, not
# secrets: anyone who needs unguessable codes should draw random ones instead.

# %%
ob = Obfuscator(key="production key", width=7)
hidden = CounterAllocator(start=10_000_000, obfuscator=ob)
codes = [hidden.allocate() for _ in range(4)]
print(codes, [ob.decode(c) for c in codes])

# %% [markdown]
# **Several numbers in one code.** `TupleCodes` packs a tuple of bounded numbers, here a shard
# below 1,024 and a row id below 2**40, into one integer (mixed radix) and permutes it: nine
# characters for every pair, no separator, nothing readable about either number. sqids and
# hashids instead join the numbers with a separator, so their codes grow with the numbers.

# %%
pairs = TupleCodes((1024, 2**40), key="production key")
pair_codes = [pairs.encode((shard, 7)) for shard in (0, 1, 2)]
print(pair_codes, [pairs.decode(c) for c in pair_codes])

# %% [markdown]
# **A blocklist** keeps listed words out of the codes by walking the permutation's cycle on
# past any code that contains one, which keeps the map one to one; the few counter values whose
# own plain code is blocked are skipped. Below, a list with a single letter makes the walk easy
# to see: no code contains an `x` or an `X`.

# %%
clean = CleanObfuscator(ob, Blocklist(["x"]))
n, numbers = 0, []
while len(numbers) < 8:  # a counter that skips numbers whose own plain code has an x
    n = clean.next_clean(n)
    numbers.append(n)
    n += 1
print("numbers:       ", numbers)
print("Obfuscator:    ", [ob.encode(n) for n in numbers])
print("with the list: ", [clean.encode(n) for n in numbers])
print("decoded:       ", [clean.decode(clean.encode(n)) for n in numbers])

# %% [markdown]
# **Leased ranges** (Flickr's ticket servers) fix the first problem: each app server takes
# a block of 1,000 numbers with one atomic increment (`INCRBY` in Redis, an `UPDATE` in
# SQLite) and hands them out from memory. A crash leaves a gap, which costs nothing.

# %%
shared = MemoryCounter()
servers = [RangeAllocator(shared, block=1000) for _ in range(3)]
print([s.next_number() for s in servers])  # 0, 1000, 2000: one lease each
for _ in range(5):
    servers[0].next_number()
print("server 0 would lose", servers[0].remaining(), "numbers if it crashed now: a gap")

# %% [markdown]
# ## Hashing, and the birthday bound
#
# Hashing the URL needs no counter at all and is idempotent, but codes collide far sooner
# than the size of the space suggests: with `n` codes in a space of `N` a collision is likely
# once `n` nears `sqrt(N)`.

# %%
for width in (6, 7):
    space = 62**width
    print(
        f"{width} chars: even odds of a collision after {codes_until_collision(0.5, space):,} "
        f"URLs; after one million, P = {collision_probability(1_000_000, space):.3f}"
    )

# %% [markdown]
# Measured with real MurmurHash3 on three-character codes (238,328 of them), the bound holds:

# %%
hashes = HashCodes(length=3, hash="mmh3")
for n in (200, 576, 2000):
    trials = [
        n - len({hashes.code(f"https://example.com/{t}/{i}") for i in range(n)}) for t in range(20)
    ]
    print(
        f"{n:>5} URLs: predicted {expected_collisions(n, 62**3):5.2f} colliding, "
        f"measured {sum(trials) / len(trials):5.2f}"
    )

# %% [markdown]
# The same measurement as a picture: two-character codes (3,844 of them), 40 trials per point.
# The line is the formula, the dots what MurmurHash3 did, the dashed line where a collision
# becomes more likely than not: at 74 URLs, 2% of the space.

# %%
fig = plot_birthday(2, trials=40)
if path := dp.show(fig, "url-shortener-birthday"):
    print("figure saved to", path)

# %% [markdown]
# So a hash allocator must check the store and re-hash with a salt on a collision, up to a
# bound. With tiny 2-character codes the bound is reached quickly, and the service says so
# without storing anything:

# %%
tiny = UrlShortener(allocator=HashCodes(length=2, max_attempts=3))
made = 0
try:
    for i in range(10_000):
        tiny.shorten(f"https://example.com/{i}")
        made += 1
except CollisionError as exc:
    print(f"after {made} URLs: {exc}")
print(len(tiny), "links stored")

# %% [markdown]
# ## The service
#
# `UrlShortener` checks input (only http/https with a host, bounded length, no control
# characters), keeps one code per URL or makes a new one each time, counts clicks, expires
# links, and stores them in memory or in SQLite, where a unique constraint makes duplicate
# codes impossible.

# %%
clock = ManualClock(start=1_700_000_000.0)
links = UrlShortener(clock=clock, allocator=CounterAllocator(obfuscator=ob))
code = links.shorten("https://example.com/2024/06/a-very-long-article-title?utm_source=x")
print(code, links.shorten("https://example.com/2024/06/a-very-long-article-title?utm_source=x"))
links.shorten("https://example.com/spring", alias="spring-sale", ttl=7 * 86400)
for _ in range(3):
    links.resolve(code)
print("clicks:", links.clicks(code))
clock.advance(8 * 86400)
try:
    links.resolve("spring-sale")
except CodeExpired as exc:
    print(exc)
for bad in ("javascript:alert(1)", "https://exa mple.com", "ftp://files.example.com/x"):
    try:
        links.shorten(bad)
    except InvalidUrl as exc:
        print("refused:", exc)

# %% [markdown]
# Eight threads shortening at once on one SQLite file: no duplicate codes, every code
# resolves, and everything is still there after reopening.

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "links.db"
    made_codes: dict[str, str] = {}
    lock = threading.Lock()
    with UrlShortener(path) as service:

        def work(t: int, service: UrlShortener = service) -> None:
            for i in range(500):
                url = f"https://example.com/{t}/{i}"
                c = service.shorten(url)
                with lock:
                    made_codes[c] = url

        start = time.perf_counter()
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - start
    print(f"{len(made_codes)} distinct codes from 4,000 shortens in {elapsed:.2f} s")
    with UrlShortener(path) as reopened:
        assert all(reopened.resolve(c) == u for c, u in made_codes.items())
        print("after reopening, all", len(reopened), "links resolve")
