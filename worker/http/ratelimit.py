"""Per-host politeness shared by every worker: a token bucket plus a back-off window (Retry-After, 429/503).

Why a Lua script rather than the `limits` package: `limits` answers "allowed or not" but not "how long
until the next token", and we want a worker to sleep exactly that long (or hand back a retry with that
countdown) instead of polling Redis. The script is one atomic round trip, reads the clock of the Redis
server (so workers on machines with skewed clocks agree), and also answers the back-off window, so a host
that said "Retry-After: 120" gets no request from any worker for 120 s.

Without Redis (`syndicate extract URL`, tests of pure code) LocalRateLimiter does the same in-process.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Protocol

import redis

# KEYS[1] bucket hash {tokens, ms}, KEYS[2] back-off marker; ARGV rate (tokens/s), burst (capacity)
# returns milliseconds to wait: 0 means a token was taken
_TAKE_TOKEN = """
local backoff = redis.call('PTTL', KEYS[2])
if backoff > 0 then return backoff end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ms')
local tokens = tonumber(state[1]) or burst
local last = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
"""


class HostLimiter(Protocol):
    """What fetch needs from a limiter: take a token for a host, or push the host back."""

    def acquire(self, host: str, rate: float, burst: int) -> float:
        """Take one request token for `host`; return 0.0, or the seconds to wait before asking again."""
        ...

    def back_off(self, host: str, seconds: float) -> None:
        """Give `host` no request (from any worker sharing this limiter) for `seconds`."""
        ...


class RedisRateLimiter:
    """The shared limiter: every worker process using the same Redis (and key prefix) shares the buckets."""

    def __init__(self, client: redis.Redis, key_prefix: str = "") -> None:
        self.client = client
        self.key_prefix = key_prefix
        self._take = client.register_script(_TAKE_TOKEN)

    def _keys(self, host: str) -> list[str]:
        base = f"{self.key_prefix}syndication:fetch:{host.lower()}"
        return [f"{base}:bucket", f"{base}:backoff"]

    def acquire(self, host: str, rate: float, burst: int) -> float:
        wait_ms = int(self._take(keys=self._keys(host), args=[repr(float(rate)), int(burst)]))
        return wait_ms / 1000.0

    def back_off(self, host: str, seconds: float) -> None:
        millis = max(1, math.ceil(seconds * 1000))
        # keep the longer of an existing and the new window: a short Retry-After must not cut a long one
        key = self._keys(host)[1]
        if self.client.pttl(key) < millis:
            self.client.set(key, "1", px=millis)


class LocalRateLimiter:
    """The same token bucket in one process, for runs without Redis. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # host -> (tokens, monotonic time)
        self._backoff_until: dict[str, float] = {}

    def acquire(self, host: str, rate: float, burst: int) -> float:
        host = host.lower()
        with self._lock:
            now = time.monotonic()
            blocked = self._backoff_until.get(host, 0.0) - now
            if blocked > 0:
                return blocked
            tokens, last = self._buckets.get(host, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[host] = (tokens - 1, now)
                return 0.0
            self._buckets[host] = (tokens, now)
            return (1 - tokens) / rate

    def back_off(self, host: str, seconds: float) -> None:
        host = host.lower()
        with self._lock:
            until = time.monotonic() + seconds
            self._backoff_until[host] = max(until, self._backoff_until.get(host, 0.0))
