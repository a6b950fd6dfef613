"""The Lua scripts behind every Redis limiter: one round trip per decision.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

:data:`SCRIPT` holds every algorithm (composites run it); :data:`SCRIPTS` holds one script
per algorithm with the same prelude and calling convention. Redis runs a script's whole text
on every call, so each line there costs server time on every decision: a single limiter's
script defines only its own algorithm and the helpers it calls (:data:`DOUBLES` or
:data:`ENTRIES`), calls that algorithm directly, and hands its six answers straight to the reply
(the composite's ending, :data:`MANY`, keeps a table per limiter because it must see every
answer before it commits any).
The scripts mirror the in-memory algorithms operation for operation, in IEEE doubles, so an
injected clock gives the same decisions (and the same ``retry_after``) on both backends.
Numbers cross the wire, and rest in Redis, as IEEE doubles packed with ``struct.pack``: exact,
and several times cheaper for the script than formatting and parsing decimal text, which was
the largest part of a decision's server time (Redis itself would truncate a Lua number reply
to an integer, so numbers could not travel as Lua numbers anyway). Expiries go to ``SET`` as
digits the script formats with ``%.0f``: handed a Lua number, Redis would format it with
``%.17g``, which costs more.
The sliding log is a list of packed admitted times that the script appends to (``RPUSH``)
and trims (``LTRIM``), so no decision copies it, read with a galloping search from the oldest
(``LINDEX``: a decision usually finds only a few expired); the concurrency cap is one string of
holds, each its expiry and the token of the call that took it, kept in expiry order. A
refusal's ``retry_after`` comes from a closed form, checked by replaying the decision, and
corrected once by a few ulps when rounding left it short (``resolve``), as in memory.

Calling convention: ``EVALSHA sha n key_1 .. key_n call``, one argument after the keys (the
client spends a microsecond or two packing each one, as much as the script spends on a small
step). ``call`` is a packed record, so that the script reads it with one ``struct.unpack``
instead of parsing decimal text:

- byte 1, the mode: ``a`` (allow: decide, and consume when every limiter admits), ``p``
  (peek: decide only), ``r`` (release: give back the ``cost`` oldest live holds of a
  concurrency key taken with ``allow``, never a hold's) or ``u`` (unhold: remove the
  ``cost`` holds that the call named ``token`` took);
- byte 2, the reply's form: ``b`` (packed doubles) or ``t`` (text, for a client that decodes
  replies to ``str``);
- bytes 3 to 26: ``now``, ``cost`` and ``slack`` as little-endian doubles: seconds from the
  caller's clock (NaN for the server's ``TIME``), the units asked for, and seconds added to
  every key's expiry, for clocks that disagree;
- bytes 27 to 58: ``token``, naming the holds a concurrency limiter takes (32 dashes for
  holds that only ``release`` gives back);
- then one 32-byte ``spec`` per key: the algorithm's three numbers as little-endian doubles
  and its code, padded with spaces to 8 bytes (built once per limiter).

It answers six values per limiter: allowed (0 or 1), limit, remaining, retry_after,
reset_after, delay; packed as six doubles, or as text (``%.17g``, exact too, but formatting
costs the script about 2 µs a number where packing all six costs under 1 µs). Release answers
``ok`` or ``short N``.

Examples:
    >>> SCRIPT_SHA == __import__("hashlib").sha1(SCRIPT.encode()).hexdigest()
    True
"""

from __future__ import annotations

import hashlib

__all__ = [
    "ALGORITHMS",
    "DOUBLES",
    "ENTRIES",
    "GALLOP",
    "MANY",
    "ONE",
    "PRELUDE",
    "SCRIPT",
    "SCRIPTS",
    "SCRIPT_SHA",
    "SHAS",
]

PRELUDE = r"""
-- Redis >= 5 replicates a script's effects, so reading TIME before writing is allowed.
local call = ARGV[1]
local mode = string.sub(call, 1, 1)  -- a(llow), p(eek), r(elease) or u(nhold)
local packed = string.sub(call, 2, 2) == 'b'  -- reply packed, or as text
local now, cost, slack = struct.unpack('<ddd', call, 3)
if now ~= now then  -- NaN: the server's clock
  local t = redis.call('TIME')
  now = t[1] + t[2] / 1000000  -- Lua reads the two numerals as numbers
end
local floor = math.floor

-- an expiry in whole milliseconds, as digits: Redis would format a Lua number with %.17g, which
-- costs more. Capped at 2^53 ms (about 285,000 years), as Redis could not hold a longer one;
-- '%.0f' prints any whole double up to that exactly, with no cast to a C long.
local function ms(seconds)
  return string.format('%.0f', math.min(math.max(1, math.ceil((seconds + slack) * 1000)), 2 ^ 53))
end
-- the refused request's wait: its retry time `at` comes from a closed form, checked by the
-- algorithm with its own arithmetic (resolve, below), as the in-memory code does
local function ulp(x)
  if x == 0 then return math.ldexp(1, -1074) end
  local _, e = math.frexp(x)
  return math.ldexp(1, e - 53)
end
local function search(admits, base, wait)
  local step = 0
  while not admits(base + wait) do
    step = step + 1
    if step > 1000 or wait ~= wait or wait == math.huge then return math.huge end
    if step < 16 then wait = wait + ulp(wait) else wait = wait + ulp(wait) * 2 ^ step end
  end
  return wait
end
-- the retry time: the closed form `at` if the decision's arithmetic, replayed then, admits;
-- else `at` moved a few ulps later (2^-48 of itself and of the algorithm's own length of
-- time, `span`); else (never seen) the search from there
local function resolve(admits, at, span)
  if admits(at) then return at end
  local size = at
  if not (at > 0) then size = -at end
  at = at + (size + span) * 2 ^ -48
  if admits(at) then return at end
  if at ~= at or at == math.huge or at == -math.huge then return math.huge end
  return at + search(admits, at, 0.0)
end
-- the wait from now that, added to now in floating point, reaches at
local function wait_until(at)
  local wait = at - now
  if now + wait < at then wait = wait + ulp(wait) end
  return wait
end
local algos, modes = {}, {}
"""

#: What the algorithms whose state is a few numbers share: reading and writing them.
DOUBLES = r"""
-- state is a few IEEE doubles packed little-endian: exact, and no decimal text to parse
local function load(key, layout)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  return {struct.unpack(layout, raw)}
end
-- SET key to the values packed by layout, expiring ttl seconds (plus slack) from now
local function store(key, ttl, layout, ...)
  redis.call('SET', key, struct.pack(layout, ...), 'PX', ms(ttl))
end
"""

#: What the sliding log and the concurrency cap share: counting, in ascending values, those at
#: or before a time.
GALLOP = r"""
-- how many of `size` ascending values, the k-th read by at(k), are at or before x
-- (bisect_right): gallop from the front (the usual case, a few expired entries, reads one or
-- two), then bisect: values 1..lo are at or before x, value hi is after it (size + 1: none is)
local function count_at_or_before(size, at, x)
  local lo, hi = 0, 1
  while hi <= size and at(hi) <= x do lo, hi = hi, hi * 2 end
  if hi > size then hi = size + 1 end
  while hi - lo > 1 do
    local mid = floor((lo + hi) / 2)
    if at(mid) <= x then lo = mid else hi = mid end
  end
  return lo
end
"""

#: What the concurrency cap reads its holds with: a string of fixed-width entries.
ENTRIES = r"""
-- a string of fixed-width entries, each opening with a packed double, ascending: how many
-- there are, the k-th one's double, and how many are at or before x (bisect_right)
local function entries(raw, width)
  local size = floor(#raw / width)  -- whole entries only: a search must end on any string
  local function at(k) return (struct.unpack('<d', raw, width * (k - 1) + 1)) end
  local function at_or_before(x) return count_at_or_before(size, at, x) end
  return size, at, at_or_before
end
"""

ALGORITHMS = {
    "tb": r"""
algos.tb = function(key, commit, fill, burst, limit)
  local state = load(key, '<dd')
  local tokens, stamp = burst, now
  if state then
    tokens, stamp = state[1], state[2]
    if now > stamp then
      tokens = tokens + (now - stamp) * fill
      if tokens > burst then tokens = burst end
      stamp = now
    end
  end
  -- full again once refilled, after a clock that stepped back is back at the stamp: the key
  -- expires then, no sooner (a key forgotten early would grant a fresh burst)
  local behind = 0.0
  if stamp > now then behind = stamp - now end
  if tokens >= cost then
    tokens = tokens - cost
    local reset = (burst - tokens) / fill + behind
    if commit then store(key, reset, '<dd', tokens, stamp) end
    return 1, limit, floor(tokens), 0, reset, 0
  end
  local saved, since = state[1], state[2]
  local at = resolve(function(t)  -- refused: when the bucket holds cost again
    local level = saved
    if t > since then level = saved + (t - since) * fill end
    return level >= cost
  end, stamp + (cost - tokens) / fill, burst / fill)
  return 0, limit, floor(tokens), wait_until(at), (burst - tokens) / fill + behind, 0
end
""",
    "gcra": r"""
-- the TAT is kept as {stamp, lead}: `lead` units of the interval after the clock reading
-- `stamp`, the last admission; the units that pass are counted on the grid (a power of two)
-- on which whole units up to twice the burst add exactly (units.since): no rounding at one
-- instant, at any clock and any rate
algos.gcra = function(key, commit, speed, interval, burst)
  local state = load(key, '<dd')
  local grid = ulp(2 * burst)
  local function lead_at(t)  -- how many units the TAT leads t by
    if t < state[1] then return state[2] end  -- a clock that steps back: time stands still
    local passed = (t - state[1]) * speed
    passed = passed - passed % grid
    if state[2] > passed then return state[2] - passed end
    if passed ~= passed then return error('clock out of range: ' .. now) end
    return 0.0
  end
  if now - now ~= 0 then return error('clock out of range: ' .. now) end
  local lead = 0.0
  if state then lead = lead_at(now) end
  local ahead = lead + cost
  -- a clock that stepped back must get back to the stamp before the TAT is reached: the key
  -- expires then, no sooner (a key forgotten early would grant a fresh burst)
  local behind = 0.0
  if state and state[1] > now then behind = state[1] - now end
  if ahead <= burst then
    local stamp = now  -- the stamp never moves back
    if behind > 0 then stamp = state[1] end
    local reset = ahead * interval + behind
    if commit then store(key, reset, '<dd', stamp, ahead) end
    return 1, burst, floor(burst - ahead), 0, reset, 0
  end
  local at = resolve(function(t)  -- refused: when the TAT is close enough to t
    local passed = (t - state[1]) * speed
    passed = passed - passed % grid
    local later = 0.0
    if state[2] > passed then later = state[2] - passed end
    return later + cost <= burst
  end, state[1] + (state[2] - (burst - cost)) * interval, burst * interval)
  local remaining = 0
  if lead < burst then remaining = floor(burst - lead) end
  return 0, burst, remaining, wait_until(at), lead * interval + behind, 0
end
""",
    "leaky": r"""
algos.leaky = function(key, commit, leak, burst, limit)
  local state = load(key, '<dd')
  local level, stamp = 0.0, now
  if state then
    level, stamp = state[1], state[2]
    if now > stamp then
      level = level - (now - stamp) * leak
      if level < 0 then level = 0.0 end
      stamp = now
    end
  end
  -- empty once drained, after a clock that stepped back is back at the stamp: the key
  -- expires then, no sooner (a key forgotten early would grant a fresh burst)
  local behind = 0.0
  if stamp > now then behind = stamp - now end
  if level + cost <= burst then
    level = level + cost
    local reset = level / leak + behind
    if commit then store(key, reset, '<dd', level, stamp) end
    return 1, limit, floor(burst - level), 0, reset, 0
  end
  local saved, since = state[1], state[2]
  local function admits(t)
    local water = saved
    if t > since then water = saved - (t - since) * leak end
    if not (water > 0) then water = 0.0 end
    return water + cost <= burst
  end
  local at = resolve(admits, stamp + (level + cost - burst) / leak, burst / leak)
  return 0, limit, floor(burst - level), wait_until(at), level / leak + behind, 0
end
""",
    "fw": r"""
algos.fw = function(key, commit, rate, per)
  local window, count = floor(now / per), 0
  local state = load(key, '<dd')
  if state and window <= state[1] then window, count = state[1], state[2] end
  local ends_in = (window + 1) * per - now
  if count + cost <= rate then
    count = count + cost
    if commit then store(key, ends_in, '<dd', window, count) end
    return 1, rate, rate - count, 0, ends_in, 0
  end
  -- refused: the next window starts from zero
  local at = resolve(function(t) return floor(t / per) > window end, (window + 1) * per, per)
  return 0, rate, rate - count, wait_until(at), ends_in, 0
end
""",
    "swl": r"""
-- the admitted times: a list of packed doubles, ascending, appended to on the right and
-- trimmed on the left, so no decision copies the log
local function swl_at(key)
  return function(k) return (struct.unpack('<d', redis.call('LINDEX', key, k - 1))) end
end

algos.swl = function(key, commit, rate, per)
  local size = redis.call('LLEN', key)
  local at = swl_at(key)
  local t0, expired, live, last = now, 0, 0, now
  if size > 0 then
    last = (struct.unpack('<d', redis.call('LINDEX', key, -1)))
    if t0 < last then t0 = last end  -- a clock that steps back: time stands still
    expired = count_at_or_before(size, at, t0 - per)
    live = size - expired
  end
  if live + cost <= rate then
    if commit then
      if expired > 0 then redis.call('LTRIM', key, expired, -1) end
      local added = struct.pack('<d', t0)
      local left = cost
      while left > 0 do  -- RPUSH takes at most 1,000 at a time here (Lua's stack is small)
        local batch = {}
        for i = 1, math.min(left, 1000) do batch[i] = added end
        redis.call('RPUSH', key, unpack(batch))
        left = left - #batch
      end
      redis.call('PEXPIRE', key, ms(t0 - now + per))
    end
    return 1, rate, rate - live - cost, 0, per, 0
  end
  local function admits(t)
    if not (t > last) then t = last end
    return size - count_at_or_before(size, at, t - per) + cost <= rate
  end
  -- refused: once the entry that must leave the window has left it
  local retry = resolve(admits, at(expired + live + cost - rate) + per, per)
  return 0, rate, rate - live, wait_until(retry), last + per - now, 0
end
""",
    "swc": r"""
local function swc_counts(state, t, per)
  local window = floor(t / per)
  if not state then return window, 0, 0, 0.0 end
  local start, previous, current = state[1], state[2], state[3]
  if window > start then
    if window == start + 1 then previous = current else previous = 0 end
    current = 0
  else
    window = start
  end
  local into = (t - window * per) / per
  local weight = 1.0
  if into > 0 then weight = 1.0 - into end
  return window, previous, current, previous * weight + current
end

algos.swc = function(key, commit, rate, per)
  local state = load(key, '<ddd')
  local window, previous, current, estimate = swc_counts(state, now, per)
  if estimate + cost <= rate then
    current = current + cost
    local reset = (window + 2) * per - now
    if commit then store(key, reset, '<ddd', window, previous, current) end
    return 1, rate, floor(rate - estimate - cost), 0, reset, 0
  end
  local retry_at
  if previous > 0 and current + cost <= rate then
    retry_at = (window + 1 - (rate - current - cost) / previous) * per
  elseif current > 0 and cost < rate then
    retry_at = (window + 2 - (rate - cost) / current) * per
  else
    retry_at = (window + 2) * per
  end
  local at = resolve(function(t)
    local _, _, _, estimate_then = swc_counts(state, t, per)
    return estimate_then + cost <= rate
  end, retry_at, per)
  local reset = 0
  if current > 0 then reset = (window + 2) * per - now
  elseif previous > 0 then reset = (window + 1) * per - now end
  local left = 0
  if estimate < rate then left = floor(rate - estimate) end
  return 0, rate, left, wait_until(at), reset, 0
end
""",
    "conc": r"""
-- The holds of a key: HOLD bytes each, its expiry (a packed double) then the 32-character
-- token of the call that took it, ascending by expiry.
local HOLD = 40
local token = string.sub(call, 27, 58)
local function holds_of(key)
  local holds = redis.call('GET', key) or ''
  return holds, entries(holds, HOLD)
end
-- write holds back (or delete the key when none is left), expiring with the last one (whose
-- expiry the caller may know already)
local function put_holds(key, holds, last)
  if holds == '' then redis.call('DEL', key) return end
  last = last or struct.unpack('<d', holds, #holds - HOLD + 1)
  redis.call('SET', key, holds, 'PX', ms(last - now))
end

algos.conc = function(key, commit, limit, lease)
  local holds, size, expiry, at_or_before = holds_of(key)
  local expired = at_or_before(now)
  local live = size - expired
  local expires = now + lease
  if live + cost <= limit then
    if commit then  -- drop the expired holds, insert the new ones in order
      local taken = struct.pack('<d', expires) .. token
      if cost > 1 then taken = string.rep(taken, cost) end
      if live == 0 or expiry(size) <= expires then  -- the usual case: they go last
        put_holds(key, string.sub(holds, HOLD * expired + 1) .. taken, expires)
      else  -- the clock stepped back
        local at = at_or_before(expires)
        put_holds(key, string.sub(holds, HOLD * expired + 1, HOLD * at) .. taken
          .. string.sub(holds, HOLD * at + 1))
      end
    end
    return 1, limit, limit - live - cost, 0, expires - now, 0
  end
  local frees_at = expiry(size + cost - limit)  -- the hold that must expire first
  -- refused: admitted exactly once that hold has expired (the decision compares that very
  -- expiry with the time, so no correction is needed)
  return 0, limit, limit - live, wait_until(frees_at), expiry(size) - now, 0
end

-- r(elease): give back the cost oldest live holds taken with allow (named by 32 dashes), never
-- a hold's; the usual case finds them first, else they are cut out from among the holds
local ANONYMOUS = string.rep('-', 32)
modes.r = function(key)
  local holds, size, _, at_or_before = holds_of(key)
  local k = at_or_before(now)
  local kept, left = {}, cost
  while left > 0 and k < size do
    k = k + 1
    local hold = string.sub(holds, HOLD * k - HOLD + 1, HOLD * k)
    if string.sub(hold, 9) == ANONYMOUS then left = left - 1 else kept[#kept + 1] = hold end
  end
  if left > 0 then return 'short ' .. (cost - left) end
  put_holds(key, table.concat(kept) .. string.sub(holds, HOLD * k + 1))
  return 'ok'
end

-- u(nhold): remove the holds the call named token took (none when their lease ran out)
modes.u = function(key)
  local holds, size = holds_of(key)
  local kept, left = {}, cost
  for k = 1, size do
    local hold = string.sub(holds, HOLD * k - HOLD + 1, HOLD * k)
    if left > 0 and string.sub(hold, 9) == token then
      left = left - 1
    else
      kept[#kept + 1] = hold
    end
  end
  put_holds(key, table.concat(kept))
  return 'ok'
end
""",
}

#: A single limiter's ending: its algorithm is known, and an allow commits in the same pass.
ONE = r"""
if modes[mode] then return modes[mode](KEYS[1]) end
local decide, commit = algos.%s, mode == 'a'
local a, b, c = struct.unpack('<ddd', call, 59)  -- the limiter's three numbers
if packed then return struct.pack('<dddddd', decide(KEYS[1], commit, a, b, c)) end
return string.format('%%d %%d %%d %%.17g %%.17g %%.17g', decide(KEYS[1], commit, a, b, c))
"""

#: A composite's ending: every limiter decides; an allow commits only when every one admits.
MANY = r"""
if modes[mode] then return modes[mode](KEYS[1]) end

local function run(i, commit)
  local at = 59 + 32 * (i - 1)
  local a, b, c = struct.unpack('<ddd', call, at)
  return {algos[string.match(call, '^%S+', at + 24)](KEYS[i], commit, a, b, c)}
end
local function reply(r)
  if packed then return struct.pack('<dddddd', r[1], r[2], r[3], r[4], r[5], r[6]) end
  return string.format('%d %d %d %.17g %.17g %.17g', r[1], r[2], r[3], r[4], r[5], r[6])
end

local n = (#call - 58) / 32
local results, everyone = {}, true
for i = 1, n do
  results[i] = run(i, false)
  if results[i][1] == 0 then everyone = false end
end
if mode == 'a' and everyone then
  for i = 1, n do results[i] = run(i, true) end
end
local out = {}
for i = 1, n do out[i] = reply(results[i]) end
return table.concat(out, packed and '' or ' ')
"""

#: The helpers each algorithm's chunk calls, besides the prelude's.
_HELPERS = {code: DOUBLES for code in ("tb", "gcra", "leaky", "fw", "swc")}
_HELPERS.update(swl=GALLOP, conc=GALLOP + ENTRIES)

#: Every algorithm in one script: what composites (``all_of``) run.
SCRIPT = PRELUDE + DOUBLES + GALLOP + ENTRIES + "".join(ALGORITHMS.values()) + MANY
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()

#: One script per algorithm, for single limiters: each call defines only what it runs.
SCRIPTS = {
    code: PRELUDE + _HELPERS[code] + chunk + ONE % code for code, chunk in ALGORITHMS.items()
}
SHAS = {code: hashlib.sha1(text.encode()).hexdigest() for code, text in SCRIPTS.items()}
