"""The job queue: Dramatiq on Redis. Messages are acknowledged only when a job ends, so a job
whose worker dies goes back to the queue (after REVIEWBOT_REQUEUE_SECONDS without the worker's
heartbeat); each job has a hard time limit; only transient failures are retried, with backoff.

`reviewbot worker` runs `dramatiq reviewbot.server.jobs:start_worker` with one thread per
process: the redactor a job installs is process-wide."""

from __future__ import annotations

import logging
import os
import random
import sys
from collections.abc import Sequence
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
    TimeLimitExceeded,
)

from reviewbot.errors import ReviewbotError
from reviewbot.server.limits import Limits
from reviewbot.server.run import Busy, Job, Runner, Transient
from reviewbot.server.settings import Settings, parser, read_settings

logger = logging.getLogger(__name__)

QUEUE = "reviews"
ACTOR = "review"
NAMESPACE = "dramatiq"
# Share of broker calls that also look for dead workers' jobs (Dramatiq's default is 0.1%,
# which can leave a dead worker's job unnoticed for a long time on a quiet queue).
MAINTENANCE_CHANCE = 100_000
MIN_BACKOFF_MS = 5_000
MAX_BACKOFF_MS = 600_000
BUSY_DELAY_MS = (2_000, 6_000)  # a job whose PR or installation is busy comes back after this


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, Transient | redis.ConnectionError | redis.TimeoutError)


class Queue:
    """The broker and the review actor: what the web app sends to and workers consume."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        retries = settings.job_retries
        self.broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=settings.redis_url,
            namespace=NAMESPACE,
            heartbeat_timeout=int(settings.requeue_seconds * 1000),
            maintenance_chance=MAINTENANCE_CHANCE,
            middleware=[
                AgeLimit(),
                TimeLimit(),
                ShutdownNotifications(),
                Callbacks(),
                Pipelines(),
                Retries(
                    max_retries=retries,
                    min_backoff=MIN_BACKOFF_MS,
                    max_backoff=MAX_BACKOFF_MS,
                    retry_when=lambda n, exc: is_transient(exc) and n < retries,
                ),
            ],
        )
        self._runner: Runner | None = None
        declare = dramatiq.actor(
            broker=self.broker,
            actor_name=ACTOR,
            queue_name=QUEUE,
            time_limit=settings.job_time_limit_ms,
        )
        self.actor: dramatiq.Actor[[dict[str, Any]], None] = declare(self._perform)

    def send(self, job: Job, delay_ms: int | None = None) -> str:
        """Enqueue the job; its message id."""
        message = self.actor.send_with_options(args=(job.message(),), delay=delay_ms)
        return message.message_id

    def runner(self) -> Runner:
        """Made on first use, in the worker process (after Dramatiq forks it)."""
        if self._runner is None:
            from reviewbot.server.appauth import AppAuth

            s = self.settings
            limits = Limits(redis.Redis.from_url(s.redis_url), s.lease_seconds)
            self._runner = Runner(s, limits, AppAuth(s.app_id, s.private_key, s.api_url))
        return self._runner

    def _perform(self, message: dict[str, Any]) -> None:
        job = Job.from_message(message)
        runner = self.runner()
        where = f"{job.repo}#{job.number} ({job.event}, delivery {job.delivery})"
        try:
            outcome = runner.run(job)
        except Busy as exc:
            # A new message rather than a retry: waiting for a turn is not a failure.
            self.send(job, random.randint(*BUSY_DELAY_MS))
            logger.info("%s waits: %s", where, exc)
            return
        except TimeLimitExceeded:
            _count(runner, "timed_out")
            logger.error("%s: stopped at its time limit", where)
            raise
        except Exception as exc:
            transient = is_transient(exc)
            _count(runner, "retried" if transient else "failed")
            if isinstance(exc, ReviewbotError | Transient):  # our own words: one line
                logger.error("%s: %s%s", where, exc, " (will retry)" if transient else "")
            raise
        _count(runner, outcome.status)
        logger.info("%s: %s: %s", where, outcome.status, outcome.message)


def _count(runner: Runner, outcome: str) -> None:
    runner._limits.count("jobs", outcome)


_QUEUE: Queue | None = None


def queue(settings: Settings) -> Queue:
    """The process's queue (Dramatiq keeps one global broker per process)."""
    global _QUEUE
    if _QUEUE is None:
        _QUEUE = Queue(settings)
        dramatiq.set_broker(_QUEUE.broker)
    return _QUEUE


def start_worker() -> None:
    """What `dramatiq` imports in each worker process."""
    queue(read_settings(os.environ, worker=True))


def main(argv: Sequence[str]) -> int:
    """`reviewbot worker`: job consumers, as many processes as asked, one job each at a time."""
    args = parser("worker").parse_args(argv)
    try:
        settings = read_settings(os.environ, worker=True)
        if settings.defaults_file:
            from reviewbot.server.run import check_defaults

            check_defaults(settings.defaults_file)
    except ReviewbotError as exc:
        print(f"reviewbot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    # Dramatiq's own log format (time, process, level) at INFO: job outcomes are worth a line.
    for handler in list(logging.root.handlers):
        logging.root.removeHandler(handler)
    # One message at a time per process, so a busy worker does not sit on jobs others could run.
    os.environ.setdefault("dramatiq_queue_prefetch", "1")
    os.environ.setdefault("dramatiq_delay_queue_prefetch", "10")
    dramatiq_args = make_argument_parser().parse_args(  # type: ignore[no-untyped-call]
        [
            "reviewbot.server.jobs:start_worker",
            "--processes",
            str(max(1, args.processes)),
            "--threads",
            "1",
        ]
    )
    return int(dramatiq_main(dramatiq_args))  # type: ignore[no-untyped-call]
