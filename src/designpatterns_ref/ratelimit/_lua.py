"""The Lua scripts behind every Redis limiter: one round trip per decision.

Case study: Design a Rate Limiter (docs/case-studies/rate-limiter.md)

:data:`SCRIPT` holds every algorithm (composites run it); :data:`SCRIPTS` holds one script
per algorithm with the same prelude and calling convention, so that a single limiter's call
defines only the functions it runs (each closure costs the server time on every call).
The scripts mirror the in-memory algorithms operation for operation, in IEEE doubles, so an
injected clock gives the same decisions (and the same ``retry_after``) on both backends.
Numbers cross the wire as ``%.17g`` strings, which round-trip a double exactly; Redis itself
would truncate a Lua number reply to an integer.

Calling convention: ``EVALSHA sha n key_1 .. key_n head spec_1 .. spec_n``, where ``head`` is
the string ``"mode now cost n slack token"`` and each ``spec`` the string ``"code a b c"`` (one
argument each, and one string back: every argument and reply costs the client time):

- ``mode``: ``allow`` (decide, and consume when every limiter admits), ``peek`` (decide only),
  ``release`` (give back the ``cost`` oldest live holds of a concurrency key) or ``unhold``
  (remove the holds named ``token:1 .. token:cost``);
- ``now``: seconds from the caller's clock, or ``-`` for the server's ``TIME``;
- ``slack``: seconds added to every key's expiry, for clocks that disagree;
- ``token``: names the holds a concurrency limiter takes (``-`` when there are none);
- each ``spec`` names the algorithm and its three numbers.

It answers one string of six values per limiter: allowed (0 or 1), limit, remaining,
retry_after, reset_after, delay.

Examples:
    >>> SCRIPT_SHA == __import__("hashlib").sha1(SCRIPT.encode()).hexdigest()
    True
"""

from __future__ import annotations

import hashlib

__all__ = ["ALGORITHMS", "SCRIPT", "SCRIPTS", "SCRIPT_SHA", "SHAS"]

PRELUDE = r"""
-- Redis >= 5 replicates a script's effects, so reading TIME before writing is allowed.
local mode, now, cost, n, slack, token =
  string.match(ARGV[1], '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$')
cost, n, slack, now = tonumber(cost), tonumber(n), tonumber(slack), tonumber(now)
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local floor = math.floor

local function fmt(x) return string.format('%.17g', x) end
-- an expiry in whole milliseconds, as the string Redis wants (a Lua number would cost a '%.17g')
local function ms(seconds)
  return string.format('%d', math.max(1, math.ceil((seconds + slack) * 1000)))
end
local function ulp(x)
  if x == 0 then return math.ldexp(1, -1074) end
  local _, e = math.frexp(x)
  return math.ldexp(1, e - 53)
end
-- the smallest wait (from the closed form, nudged up an ulp at a time) that admits
local function honest(admits, wait)
  if wait < 0 then wait = 0 end
  local step = 0
  while not admits(now + wait) do
    step = step + 1
    if step > 1000 or wait ~= wait or wait == math.huge then return math.huge end
    if step < 16 then wait = wait + ulp(wait) else wait = wait + ulp(wait) * 2 ^ step end
  end
  return wait
end
local function load(key)
  local raw = redis.call('GET', key)
  if not raw then return nil end
  local out = {}
  for word in string.gmatch(raw, '%S+') do out[#out + 1] = tonumber(word) end
  return out
end
-- SET key to the values formatted by pattern, expiring ttl seconds (plus slack) from now
local function store(key, ttl, pattern, ...)
  redis.call('SET', key, string.format(pattern, ...), 'PX', ms(ttl))
end

local algos = {}
"""

ALGORITHMS = {
    "tb": r"""
algos.tb = function(key, commit, fill, burst, limit)
  local state = load(key)
  local tokens, stamp = burst, now
  if state then
    tokens, stamp = state[1], state[2]
    if now > stamp then
      tokens = tokens + (now - stamp) * fill
      if tokens > burst then tokens = burst end
      stamp = now
    end
  end
  if tokens >= cost then
    tokens = tokens - cost
    if commit then store(key, (burst - tokens) / fill, '%.17g %.17g', tokens, stamp) end
    return {1, limit, floor(tokens), 0, (burst - tokens) / fill, 0}
  end
  local saved, since = state[1], state[2]
  local wait = honest(function(t)
    local level = saved
    if t > since then level = saved + (t - since) * fill end
    return level >= cost
  end, (cost - tokens) / fill)
  return {0, limit, floor(tokens), wait, (burst - tokens) / fill, 0}
end
""",
    "gcra": r"""
algos.gcra = function(key, commit, interval, window, limit)
  local saved = tonumber(redis.call('GET', key))
  local tat = now
  if saved ~= nil and saved >= now then tat = saved end
  local new_tat = tat + cost * interval
  local allow_at = new_tat - window
  if now >= allow_at then
    if commit then store(key, new_tat - now, '%.17g', new_tat) end
    return {1, limit, floor((now - allow_at) / interval), 0, new_tat - now, 0}
  end
  local wait = honest(function(t)
    local base = tat
    if tat < t then base = t end
    return t >= base + cost * interval - window
  end, allow_at - now)
  local spare, remaining = now - (tat - window), 0
  if spare > 0 then remaining = floor(spare / interval) end
  return {0, limit, remaining, wait, tat - now, 0}
end
""",
    "leaky": r"""
algos.leaky = function(key, commit, leak, burst, limit)
  local state = load(key)
  local level, stamp = 0.0, now
  if state then
    level, stamp = state[1], state[2]
    if now > stamp then
      level = level - (now - stamp) * leak
      if level < 0 then level = 0.0 end
      stamp = now
    end
  end
  if level + cost <= burst then
    level = level + cost
    if commit then store(key, level / leak, '%.17g %.17g', level, stamp) end
    return {1, limit, floor(burst - level), 0, level / leak, 0}
  end
  local saved, since = state[1], state[2]
  local wait = honest(function(t)
    local water = saved
    if t > since then water = saved - (t - since) * leak end
    if not (water > 0) then water = 0.0 end
    return water + cost <= burst
  end, (level + cost - burst) / leak)
  return {0, limit, floor(burst - level), wait, level / leak, 0}
end
""",
    "fw": r"""
algos.fw = function(key, commit, rate, per)
  local window, count = floor(now / per), 0
  local state = load(key)
  if state and window <= state[1] then window, count = state[1], state[2] end
  local ends_in = (window + 1) * per - now
  if count + cost <= rate then
    count = count + cost
    if commit then store(key, ends_in, '%.17g %.17g', window, count) end
    return {1, rate, rate - count, 0, ends_in, 0}
  end
  local wait = honest(function(t) return floor(t / per) > window end, ends_in)
  return {0, rate, rate - count, wait, ends_in, 0}
end
""",
    "swl": r"""
algos.swl = function(key, commit, rate, per)
  local raw = redis.call('LRANGE', key, '0', '-1')
  local log, size = {}, #raw
  for i = 1, size do log[i] = tonumber(raw[i]) end
  local function at_or_before(x)  -- how many times are <= x (bisect_right)
    local lo, hi = 0, size
    while lo < hi do
      local mid = floor((lo + hi) / 2)
      if log[mid + 1] <= x then lo = mid + 1 else hi = mid end
    end
    return lo
  end
  local t0, expired, live = now, 0, 0
  if size > 0 then
    if t0 < log[size] then t0 = log[size] end
    expired = at_or_before(t0 - per)
    live = size - expired
  end
  if live + cost <= rate then
    if commit then
      if expired > 0 then redis.call('LTRIM', key, expired, -1) end
      local args = {}
      for i = 1, cost do args[i] = fmt(t0) end
      redis.call('RPUSH', key, unpack(args))
      redis.call('PEXPIRE', key, ms(per))
    end
    return {1, rate, rate - live - cost, 0, per, 0}
  end
  local oldest = log[expired + live + cost - rate]
  local wait = honest(function(t)
    if not (t > log[size]) then t = log[size] end
    return size - at_or_before(t - per) + cost <= rate
  end, oldest + per - now)
  return {0, rate, rate - live, wait, log[size] + per - now, 0}
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
  local state = load(key)
  local window, previous, current, estimate = swc_counts(state, now, per)
  if estimate + cost <= rate then
    current = current + cost
    local reset = (window + 2) * per - now
    if commit then store(key, reset, '%.17g %.17g %.17g', window, previous, current) end
    return {1, rate, floor(rate - estimate - cost), 0, reset, 0}
  end
  local retry_at
  if previous > 0 and current + cost <= rate then
    retry_at = (window + 1 - (rate - current - cost) / previous) * per
  elseif current > 0 and cost < rate then
    retry_at = (window + 2 - (rate - cost) / current) * per
  else
    retry_at = (window + 2) * per
  end
  local wait = honest(function(t)
    local _, _, _, later = swc_counts(state, t, per)
    return later + cost <= rate
  end, retry_at - now)
  local reset = 0
  if current > 0 then reset = (window + 2) * per - now
  elseif previous > 0 then reset = (window + 1) * per - now end
  local left = 0
  if estimate < rate then left = floor(rate - estimate) end
  return {0, rate, left, wait, reset, 0}
end
""",
    "conc": r"""
algos.conc = function(key, commit, limit, lease, _, i)
  local stamp = fmt(now)
  local expired = redis.call('ZCOUNT', key, '-inf', stamp)
  local total = redis.call('ZCARD', key)
  local live = total - expired
  local expires = now + lease
  if live + cost <= limit then
    if commit then
      if expired > 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', stamp) end
      local args, score, tag = {}, fmt(expires), token .. ':' .. i .. ':'
      for j = 1, cost do
        args[#args + 1] = score
        args[#args + 1] = tag .. j
      end
      redis.call('ZADD', key, unpack(args))
      local last = tonumber(redis.call('ZRANGE', key, '-1', '-1', 'WITHSCORES')[2])
      redis.call('PEXPIRE', key, ms(last - now))
    end
    return {1, limit, limit - live - cost, 0, expires - now, 0}
  end
  local needed = total + cost - limit
  local frees_at = tonumber(redis.call('ZRANGE', key, needed - 1, needed - 1, 'WITHSCORES')[2])
  local wait = honest(function(t) return t >= frees_at end, frees_at - now)
  local last = tonumber(redis.call('ZRANGE', key, '-1', '-1', 'WITHSCORES')[2])
  return {0, limit, limit - live, wait, last - now, 0}
end
""",
}

MAIN = r"""
if mode == 'release' then
  local key = KEYS[1]
  local expired = redis.call('ZCOUNT', key, '-inf', fmt(now))
  local live = redis.call('ZCARD', key) - expired
  if live < cost then return 'short ' .. live end
  if expired > 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', fmt(now)) end
  redis.call('ZPOPMIN', key, cost)
  return 'ok'
end
if mode == 'unhold' then
  local members = {}
  for i = 1, cost do members[i] = token .. ':1:' .. i end
  redis.call('ZREM', KEYS[1], unpack(members))
  return 'ok'
end

local function run(i, commit)
  local code, a, b, c = string.match(ARGV[1 + i], '^(%S+) (%S+) (%S+) (%S+)$')
  return algos[code](KEYS[i], commit, tonumber(a), tonumber(b), tonumber(c), i)
end
local function reply(r)
  return string.format('%d %d %d %.17g %.17g %.17g', r[1], r[2], r[3], r[4], r[5], r[6])
end

if mode == 'allow' and n == 1 then return reply(run(1, true)) end
local results = {}
do
  local everyone = true
  for i = 1, n do
    results[i] = run(i, false)
    if results[i][1] == 0 then everyone = false end
  end
  if mode == 'allow' and everyone then
    for i = 1, n do results[i] = run(i, true) end
  end
end
local out = {}
for i = 1, n do out[i] = reply(results[i]) end
return table.concat(out, ' ')
"""

#: Every algorithm in one script: what composites (``all_of``) run.
SCRIPT = PRELUDE + "".join(ALGORITHMS.values()) + MAIN
SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()

#: One script per algorithm, for single limiters: each call defines only what it runs.
SCRIPTS = {code: PRELUDE + chunk + MAIN for code, chunk in ALGORITHMS.items()}
SHAS = {code: hashlib.sha1(text.encode()).hexdigest() for code, text in SCRIPTS.items()}
