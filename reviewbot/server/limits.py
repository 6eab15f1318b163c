"""What every worker shares through Redis: a lock per pull request, a concurrency cap and write
pacing per installation, the daily token budget, the newest head of each pull request, and the
counters /metrics shows. A lease that is not renewed (its worker died) frees itself."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

logger = logging.getLogger(__name__)

NS = "reviewbot"
DAY_SECONDS = 86_400

# Take a free place among `limit` holders of ARGV[4] seconds; expired holders are dropped first.
_TAKE_SLOT = """
redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1])
if redis.call('zcard', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('zadd', KEYS[1], ARGV[1] + ARGV[4], ARGV[3])
  redis.call('expire', KEYS[1], math.ceil(ARGV[4]) + 60)
  return 1
end
return 0
"""
# The next free moment for a write: now, or `interval` after the last one handed out.
_PACE = """
local now = tonumber(ARGV[1])
local slot = math.max(now, tonumber(redis.call('get', KEYS[1]) or '0'))
redis.call('set', KEYS[1], slot + tonumber(ARGV[2]), 'px', math.ceil(ARGV[2] * 1000) + 60000)
return tostring(slot - now)
"""
_RENEW_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Lease:
    """Something held in Redis for a while: renewed in the background until released."""

    def __init__(
        self, ttl: float, renew: Callable[[], bool], release: Callable[[], None], what: str
    ) -> None:
        self._renew = renew
        self._release = release
        self._what = what
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._keep, args=(ttl / 3,), daemon=True)
        self._thread.start()

    def _keep(self, every: float) -> None:
        while not self._done.wait(every):
            try:
                if not self._renew():
                    logger.warning("%s was lost (expired while held)", self._what)
            except redis.RedisError as exc:  # Redis away for a moment: the next renewal may do
                logger.warning("could not renew %s: %s", self._what, type(exc).__name__)

    def release(self) -> None:
        self._done.set()
        try:
            self._release()
        except redis.RedisError as exc:  # it expires by itself
            logger.warning("could not release %s: %s", self._what, type(exc).__name__)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Limits:
    """The shared state of all servers and workers of one deployment."""

    def __init__(
        self, client: redis.Redis, lease_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = client
        self._ttl = lease_seconds
        self._clock = clock
        self._take_slot = client.register_script(_TAKE_SLOT)
        self._pace = client.register_script(_PACE)
        self._renew_lock = client.register_script(_RENEW_LOCK)
        self._release_lock = client.register_script(_RELEASE_LOCK)

    # ------------------------------------------------------------- one review per PR

    def pull_lock(self, repo: str, number: int) -> Lease | None:
        """The pull request's lock, or None while another job holds it."""
        key = f"{NS}:lock:{repo}#{number}"
        token = uuid.uuid4().hex
        ms = int(self._ttl * 1000)
        if not self.redis.set(key, token, nx=True, px=ms):
            return None
        return Lease(
            self._ttl,
            lambda: bool(self._renew_lock(keys=[key], args=[token, ms])),
            lambda: _ignore(self._release_lock(keys=[key], args=[token])),
            f"the lock of {repo}#{number}",
        )

    def set_head(self, repo: str, number: int, sha: str) -> None:
        """The newest head a webhook announced for the pull request."""
        self.redis.set(f"{NS}:head:{repo}#{number}", sha, ex=30 * DAY_SECONDS)

    def head(self, repo: str, number: int) -> str | None:
        value = self.redis.get(f"{NS}:head:{repo}#{number}")
        return _text(value) if value is not None else None

    # ------------------------------------------------------------- per installation

    def slot(self, installation: int, limit: int) -> Lease | None:
        """One of the installation's `limit` places for a running job, or None when full."""
        key = f"{NS}:running:{installation}"
        token = uuid.uuid4().hex
        if not self._take_slot(keys=[key], args=[self._clock(), limit, token, self._ttl]):
            return None
        return Lease(
            self._ttl,
            lambda: (
                bool(self.redis.zadd(key, {token: self._clock() + self._ttl}, xx=True, ch=True))
                or self.redis.zscore(key, token) is not None
            ),
            lambda: _ignore(self.redis.zrem(key, token)),
            f"a running place of installation {installation}",
        )

    def write_wait(self, installation: int, per_minute: int) -> float:
        """Seconds to wait before the installation's next write, across all workers."""
        wait = self._pace(
            keys=[f"{NS}:writes:{installation}"], args=[self._clock(), 60 / per_minute]
        )
        return max(0.0, float(_text(wait)))

    def tokens_today(self, installation: int) -> int:
        return int(_text(self.redis.get(self._budget_key(installation)) or 0))

    def spend(self, installation: int, tokens: int) -> None:
        key = self._budget_key(installation)
        pipe = self.redis.pipeline()
        pipe.incrby(key, tokens)
        pipe.expire(key, 2 * DAY_SECONDS)
        pipe.execute()

    def first_notice(self, key: str) -> bool:
        """True once per key and UTC day (a notice is posted once, not on every push)."""
        return bool(self.redis.set(f"{NS}:notice:{self._day()}:{key}", 1, nx=True, ex=DAY_SECONDS))

    def _budget_key(self, installation: int) -> str:
        return f"{NS}:tokens:{installation}:{self._day()}"

    def _day(self) -> str:
        return datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%d")

    # ------------------------------------------------------------- webhook deliveries

    def first_delivery(self, keys: list[str], ttl: int) -> bool:
        """True when none of `keys` (delivery id, body digest) was seen; marks them all."""
        pipe = self.redis.pipeline()
        for key in keys:
            pipe.set(f"{NS}:delivery:{key}", 1, nx=True, ex=ttl)
        return all(pipe.execute())

    def forget_delivery(self, keys: list[str]) -> None:
        """After a failed enqueue: GitHub's redelivery must be taken, not dropped."""
        self.redis.delete(*[f"{NS}:delivery:{key}" for key in keys])

    # ------------------------------------------------------------- counters for /metrics

    def count(self, what: str, name: str, amount: int = 1) -> None:
        try:
            self.redis.hincrby(f"{NS}:stats:{what}", name, amount)
        except redis.RedisError as exc:  # a lost count never fails a job
            logger.warning("could not count %s %s: %s", what, name, type(exc).__name__)

    def counts(self, what: str) -> dict[str, int]:
        raw: dict[Any, Any] = self.redis.hgetall(f"{NS}:stats:{what}")  # type: ignore[assignment]
        return {_text(k): int(v) for k, v in raw.items()}


def _ignore(result: object) -> None:
    """A Redis answer nobody needs (a release that found its key already gone is fine)."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
