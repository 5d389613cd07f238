"""Lua scripts of `RedisHealthStore` (one atomic script per state change) and their replies.

The scripts port the transitions of `InMemoryHealthStore` one to one (same order of checks,
same reservations, same lease handling); `tests/unit_tests/test_redis_health.py` runs the
in-memory store's own tests against them.

One route is three keys sharing a Redis Cluster hash tag: ``{ns}:route:{<route>}:state`` (a
hash), ``...:ttft`` and ``...:latency`` (capped lists, newest first). Hash fields:

=================  ============================================================
``state``          ``closed`` (absent), ``open``, ``half_open``, ``disabled``
``cf``, ``reop``   consecutive counting failures; reopenings since a success
``open_until``     end of the open period (store clock)
``probes``         half-open probe leases: expiry times, oldest first
``ra_until``       end of the pending ``retry-after``
``rq_*``, ``tk_*``  request / token budget: ``_rem``, ``_lim``, ``_reset`` (reset time)
``rate_at``        when rate-limit headers were last applied
``succ``, ``f:*``  success count; failure count per kind
``last_failure``   JSON of the last `Failure`; ``last_kind`` its kind
``disabled_reason`` why the route is disabled
=================  ============================================================

Times come from the caller's clock (``ARGV``), never from Redis ``TIME``, so that a fake
clock drives the store in tests. Floats travel as ``%.17g`` strings (exact round trip).
Every script sets the TTL of what it touched: ``key_ttl`` after the furthest pending
deadline (open period, ``retry-after``, budget reset), so idle routes vanish on their own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from langchain_cerebras_router.failures import Failure, FailureKind
from langchain_cerebras_router.health import (
    Admission,
    RateLimitSnapshot,
    RouteHealthSnapshot,
    RouteState,
    _quantile,
)

__all__ = [
    "ADMIT",
    "RECORD_FAILURE",
    "RECORD_SUCCESS",
    "RELEASE_PROBE",
    "SNAPSHOT",
    "admission",
    "check_quantile",
    "snapshot",
    "text",
]

_STATES: frozenset[str] = frozenset({"closed", "open", "half_open", "disabled"})

_PRELUDE = """
local function num(v)
  if v == nil or v == false or v == '' then return nil end
  return tonumber(v)
end
local function fmt(x) return string.format('%.17g', x) end
local function load(key)
  local flat = redis.call('HGETALL', key)
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end
local function put(key, h, field, value)
  h[field] = value
  redis.call('HSET', key, field, value)
end
local function drop(key, h, field)
  if h[field] ~= nil then
    h[field] = nil
    redis.call('HDEL', key, field)
  end
end
local function leases(h)
  local out = {}
  if h.probes then
    for t in string.gmatch(h.probes, '%S+') do out[#out + 1] = tonumber(t) end
  end
  return out
end
local function save_leases(key, h, list)
  if #list == 0 then
    drop(key, h, 'probes')
  else
    local parts = {}
    for i, v in ipairs(list) do parts[i] = fmt(v) end
    put(key, h, 'probes', table.concat(parts, ' '))
  end
end
local function touch(key, h, now, ttl_ms)
  local furthest = now
  for _, f in ipairs({'open_until', 'ra_until', 'rq_reset', 'tk_reset'}) do
    local v = num(h[f])
    if v and v > furthest then furthest = v end
  end
  redis.call('PEXPIRE', key, ttl_ms + math.ceil((furthest - now) * 1000))
end
local function apply_rate(key, h, now, base, default_reset)
  local groups = {{'rq', base}, {'tk', base + 3}}
  for _, g in ipairs(groups) do
    local p, i = g[1], g[2]
    local remaining, limit, reset = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    if remaining ~= '' or limit ~= '' then
      if remaining == '' then drop(key, h, p .. '_rem') else put(key, h, p .. '_rem', remaining) end
      if limit == '' then drop(key, h, p .. '_lim') else put(key, h, p .. '_lim', limit) end
      put(key, h, p .. '_reset', fmt(now + (num(reset) or default_reset)))
    end
  end
  put(key, h, 'rate_at', fmt(now))
end
"""

ADMIT = (
    _PRELUDE
    + """
-- KEYS: state. ARGV: now, estimated_tokens, max_probes, probe_timeout, ttl_ms.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local est = num(ARGV[2])
local max_probes = tonumber(ARGV[3])
local probe_timeout = tonumber(ARGV[4])
local ttl_ms = tonumber(ARGV[5])
if redis.call('EXISTS', key) == 0 then return {1, 'ok', '0'} end
local h = load(key)
local state = h.state or 'closed'
if state == 'disabled' then
  touch(key, h, now, ttl_ms)
  return {0, 'disabled', h.disabled_reason or ''}
end
if state == 'open' then
  local open_until = num(h.open_until) or 0
  if now < open_until then
    touch(key, h, now, ttl_ms)
    return {0, 'open', fmt(open_until - now), h.cf or '0', h.last_kind or 'unknown'}
  end
  state = 'half_open'
  put(key, h, 'state', state)
end
local probe = false
local live = {}
if state == 'half_open' then
  for _, t in ipairs(leases(h)) do
    if t > now then live[#live + 1] = t end
  end
  save_leases(key, h, live)
  if #live >= max_probes then
    touch(key, h, now, ttl_ms)
    return {0, 'probe'}
  end
  probe = true
end
local ra_until = num(h.ra_until) or 0
if ra_until > now then
  touch(key, h, now, ttl_ms)
  return {0, 'retry_after', fmt(ra_until - now)}
end
for _, p in ipairs({'rq', 'tk'}) do
  local reset = num(h[p .. '_reset'])
  if reset and now >= reset then
    drop(key, h, p .. '_rem')
    drop(key, h, p .. '_lim')
    drop(key, h, p .. '_reset')
  end
end
local requests = num(h.rq_rem)
if requests and requests <= 0 then
  touch(key, h, now, ttl_ms)
  return {0, 'requests', fmt((num(h.rq_reset) or now) - now)}
end
local tokens = num(h.tk_rem)
if tokens and (tokens <= 0 or (est or 0) > tokens) then
  touch(key, h, now, ttl_ms)
  return {0, 'tokens', h.tk_rem, fmt((num(h.tk_reset) or now) - now)}
end
if probe then
  live[#live + 1] = now + probe_timeout
  save_leases(key, h, live)
end
if requests then put(key, h, 'rq_rem', string.format('%d', requests - 1)) end
if tokens and est and est ~= 0 then
  put(key, h, 'tk_rem', string.format('%d', math.max(tokens - est, 0)))
end
touch(key, h, now, ttl_ms)
if probe then return {1, 'ok', '1'} end
return {1, 'ok', '0'}
"""
)

RECORD_SUCCESS = (
    _PRELUDE
    + """
-- KEYS: state, ttft, latency.
-- ARGV: now, ttft ('' if none), latency, window, ttl_ms, has_rate, 6 budget values,
--       default_reset.
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[4])
local ttl_ms = tonumber(ARGV[5])
local h = load(key)
h.succ = redis.call('HINCRBY', key, 'succ', 1)
put(key, h, 'cf', '0')
if (h.state or 'closed') ~= 'disabled' then
  put(key, h, 'state', 'closed')
  put(key, h, 'reop', '0')
  put(key, h, 'open_until', '0')
  drop(key, h, 'probes')
end
if ARGV[2] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[2])
  redis.call('LTRIM', KEYS[2], 0, window - 1)
  redis.call('PEXPIRE', KEYS[2], ttl_ms)
end
redis.call('LPUSH', KEYS[3], ARGV[3])
redis.call('LTRIM', KEYS[3], 0, window - 1)
redis.call('PEXPIRE', KEYS[3], ttl_ms)
if ARGV[6] == '1' then apply_rate(key, h, now, 7, tonumber(ARGV[13])) end
touch(key, h, now, ttl_ms)
return 1
"""
)

RECORD_FAILURE = (
    _PRELUDE
    + """
-- KEYS: state.
-- ARGV: now, kind, counts ('1'/'0'), disables ('1'/'0'), disabled_reason, retry_after
--       ('' if none), failure JSON, threshold, open_seconds, open_backoff, max_open_seconds,
--       ttl_ms, has_rate, 6 budget values, default_reset, probe ('1'/'0'; '' unknown).
local key = KEYS[1]
local now = tonumber(ARGV[1])
local kind = ARGV[2]
local ttl_ms = tonumber(ARGV[12])
local h = load(key)
redis.call('HINCRBY', key, 'f:' .. kind, 1)
put(key, h, 'last_failure', ARGV[7])
put(key, h, 'last_kind', kind)
if ARGV[13] == '1' then apply_rate(key, h, now, 14, tonumber(ARGV[20])) end
local retry_after = num(ARGV[6])
if retry_after and retry_after > 0 then
  local ra_until = now + retry_after
  if ra_until > (num(h.ra_until) or 0) then put(key, h, 'ra_until', fmt(ra_until)) end
end
local state = h.state or 'closed'
local function open()
  local reopenings = num(h.reop) or 0
  local period = math.min(tonumber(ARGV[9]) * tonumber(ARGV[10]) ^ reopenings, tonumber(ARGV[11]))
  put(key, h, 'state', 'open')
  put(key, h, 'open_until', fmt(now + period))
  drop(key, h, 'probes')
end
if ARGV[4] == '1' then
  put(key, h, 'state', 'disabled')
  put(key, h, 'disabled_reason', ARGV[5])
  drop(key, h, 'probes')
elseif ARGV[3] ~= '1' then
  if state == 'half_open' and ARGV[21] ~= '0' then
    local list = leases(h)
    if #list > 0 then
      table.remove(list, 1)
      save_leases(key, h, list)
    end
  end
else
  local failures = redis.call('HINCRBY', key, 'cf', 1)
  h.cf = failures
  if state == 'half_open' then
    h.reop = redis.call('HINCRBY', key, 'reop', 1)
    open()
  elseif state == 'closed' and failures >= tonumber(ARGV[8]) then
    open()
  end
end
touch(key, h, now, ttl_ms)
return 1
"""
)

RELEASE_PROBE = (
    _PRELUDE
    + """
-- KEYS: state. ARGV: now, ttl_ms.
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 0 end
local h = load(key)
if h.state == 'half_open' then
  local list = leases(h)
  if #list > 0 then
    table.remove(list, 1)
    save_leases(key, h, list)
  end
end
touch(key, h, tonumber(ARGV[1]), tonumber(ARGV[2]))
return 1
"""
)

SNAPSHOT = """
-- KEYS: state, ttft, latency. Read only: the hash (flat) and both sample counts.
return {
  redis.call('HGETALL', KEYS[1]),
  redis.call('LLEN', KEYS[2]),
  redis.call('LLEN', KEYS[3]),
}
"""


def text(value: Any) -> str:
    """A reply item as ``str`` (clients built without ``decode_responses`` return bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


# --------------------------------------------------------------------------- replies


def admission(raw: Sequence[Any], estimated_tokens: int | None) -> Admission:
    """Turn an ``ADMIT`` script reply into the `Admission` `InMemoryHealthStore` would give."""
    allowed, code = int(raw[0]), text(raw[1])
    if allowed:
        return Admission(True, None, probe=text(raw[2]) == "1")
    if code == "disabled":
        return Admission(False, f"disabled: {text(raw[2])}")
    if code == "open":
        left = float(text(raw[2]))
        reason = (
            f"circuit open for {left:.1f} s after {text(raw[3])} failures (last: {text(raw[4])})"
        )
        return Admission(False, reason, retry_in=left)
    if code == "probe":
        return Admission(False, "circuit half-open: probe in flight")
    if code == "retry_after":
        left = float(text(raw[2]))
        return Admission(False, f"retry-after pending for {left:.1f} s", retry_in=left)
    if code == "requests":
        reset_in = float(text(raw[2]))
        reason = f"rate limit: 0 requests left until reset in {reset_in:.0f} s"
        return Admission(False, reason, retry_in=reset_in)
    if code == "tokens":
        tokens, reset_in = int(text(raw[2])), float(text(raw[3]))
        need = f" ({estimated_tokens} estimated)" if estimated_tokens else ""
        reason = f"rate limit: {tokens} tokens left{need} until reset in {reset_in:.0f} s"
        return Admission(False, reason, retry_in=reset_in)
    msg = f"unexpected admit reply from Redis: {code!r}"
    raise ValueError(msg)


def check_quantile(q: float) -> None:
    """Raise `ValueError` for ``q`` outside 0..1, before any Redis round trip."""
    _quantile([], q)


def _float(h: dict[str, str], name: str) -> float | None:
    value = h.get(name)
    return float(value) if value else None


def _int(h: dict[str, str], name: str) -> int | None:
    value = h.get(name)
    return int(value) if value else None


def _failure(text: str | None) -> Failure | None:
    if not text:
        return None
    try:
        data = json.loads(text)
        return Failure(
            kind=FailureKind(data["kind"]),
            status_code=data.get("status_code"),
            retry_after=data.get("retry_after"),
            message=str(data.get("message", "")),
            exception_type=str(data.get("exception_type", "")),
            provider_code=data.get("provider_code"),
            in_stream=bool(data.get("in_stream", False)),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _rate_view(h: dict[str, str], now: float) -> RateLimitSnapshot | None:
    observed = _float(h, "rate_at")
    if observed is None:
        return None
    views: list[tuple[int | None, int | None, float | None]] = []
    for prefix in ("rq", "tk"):
        reset_at = _float(h, f"{prefix}_reset")
        if reset_at is not None and reset_at > now:
            views.append((_int(h, f"{prefix}_rem"), _int(h, f"{prefix}_lim"), reset_at - now))
        else:
            views.append((None, None, None))
    (rr, lr, tr), (rt, lt, tt) = views
    if rr is None and lr is None and rt is None and lt is None:
        return None
    return RateLimitSnapshot(rr, lr, tr, rt, lt, tt, observed_at=observed)


def snapshot(route: str, raw: Sequence[Any], now: float) -> RouteHealthSnapshot:
    flat = [text(v) for v in raw[0]]
    h = dict(zip(flat[::2], flat[1::2], strict=True))
    stored = h.get("state", "closed")
    stored = stored if stored in _STATES else "closed"
    open_until = _float(h, "open_until") or 0.0
    state = cast("RouteState", stored)
    if state == "open" and now >= open_until:
        state = "half_open"
    leases = [float(t) for t in h.get("probes", "").split()]
    retry_after_until = _float(h, "ra_until") or 0.0
    return RouteHealthSnapshot(
        route=route,
        state=state,
        consecutive_failures=_int(h, "cf") or 0,
        open_until=open_until if stored == "open" else None,
        retry_after_until=retry_after_until if retry_after_until > now else None,
        rate_limits=_rate_view(h, now),
        successes=_int(h, "succ") or 0,
        failures={k[2:]: int(v) for k, v in h.items() if k.startswith("f:")},
        last_failure=_failure(h.get("last_failure")),
        disabled_reason=h.get("disabled_reason") if stored == "disabled" else None,
        probes_in_flight=sum(1 for t in leases if t > now) if state == "half_open" else 0,
        ttft_samples=int(raw[1]),
        latency_samples=int(raw[2]),
        as_of=now,
    )
