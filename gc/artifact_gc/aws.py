"""boto3 at the edge: sessions and clients with bounded standard-mode retries."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ProfileNotFound

from artifact_gc.errors import UsageError

T = TypeVar("T")

# Bursts of SlowDown come several in a row: standard mode with 10 attempts backs off up to 20 s per call;
# the apply loop also retries a failed batch as a whole before giving up on its keys.
RETRY_ATTEMPTS = 10


@dataclass(frozen=True)
class AwsSettings:
    """Where and as whom to call AWS. ``endpoint_url`` None means boto3's own resolution, which reads
    ``AWS_ENDPOINT_URL`` and the per-service ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL_DYNAMODB``."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = RETRY_ATTEMPTS
    # "adaptive" adds a client-side rate limiter that slows every thread once S3 throttles (apply's
    # --concurrency); "standard" retries each call on its own
    retry_mode: str = "standard"


class AwsClients:
    """The S3, DynamoDB and STS clients of one run, created lazily from one session."""

    def __init__(self, settings: AwsSettings) -> None:
        self.settings = settings
        try:
            self.session = boto3.Session(profile_name=settings.profile, region_name=settings.region)
        except ProfileNotFound as exc:
            raise UsageError(f"--profile {settings.profile!r}: no such AWS profile ({exc})") from exc
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = Config(
                retries={"mode": self.settings.retry_mode, "max_attempts": self.settings.max_attempts},
                connect_timeout=10,
                read_timeout=60,
                max_pool_connections=32,  # --list-concurrency and parallel downloads share one client
            )
            kwargs: dict[str, Any] = {"config": config}
            if self.settings.endpoint_url:
                kwargs["endpoint_url"] = self.settings.endpoint_url
            if not self.session.region_name:
                kwargs["region_name"] = "us-east-1"
            client = self.session.client(service, **kwargs)
            client.meta.events.register("needs-retry", _say_retry)
            self._clients[service] = client
        return self._clients[service]

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    def account_id(self) -> str | None:
        """The caller's account, or None where STS cannot say (S3-compatible stores without STS)."""
        try:
            return self.client("sts").get_caller_identity()["Account"]
        except (BotoCoreError, ClientError, KeyError):
            return None

    def s3_endpoint_hosts(self) -> frozenset[str]:
        """Hosts of a custom S3 endpoint: registry URLs pointing there are read path-style."""
        candidates = [
            self.settings.endpoint_url,
            os.environ.get("AWS_ENDPOINT_URL_S3"),
            os.environ.get("AWS_ENDPOINT_URL"),
        ]
        hosts = set()
        for url in filter(None, candidates):
            parts = urlsplit(url)
            if parts.hostname:
                hosts.add(
                    parts.hostname.lower() if parts.port is None else f"{parts.hostname.lower()}:{parts.port}"
                )
        return frozenset(hosts)


RETRY_LOG = logging.getLogger("artifact_gc.retries")


def _say_retry(
    attempts: int = 0, caught_exception: Exception | None = None, operation: Any = None, **_: Any
) -> None:
    """Say what is being retried when the network fails (a closed port is 10 attempts of silence).

    A botocore ``needs-retry`` listener; it returns None, so botocore's own retry decision is unchanged.
    """
    if caught_exception is not None and attempts in (1, RETRY_ATTEMPTS // 2):
        name = getattr(operation, "name", "request")
        RETRY_LOG.warning(
            "retrying %s after attempt %d of %d: %s",
            name,
            attempts,
            RETRY_ATTEMPTS,
            aws_message(caught_exception),
        )


def aws_message(exc: Exception) -> str:
    """One line for an AWS failure: the error code and message, never a traceback."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def in_order(call: Callable[[Any], T], items: Sequence[Any], workers: int) -> list[T]:
    """Independent S3 calls made at once, answered as if made one after another:
    ``[call(item) for item in items]`` with up to ``workers`` calls at once: results in ``items``
    order, and the first failure in that order is raised (calls not started yet are cancelled), so a
    refusal names what a sequential loop would have named."""
    if len(items) < 2 or workers < 2:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(call, item) for item in items]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()


def in_rounds(
    call: Callable[[Any], T],
    items: Sequence[Any],
    workers: int,
    before_round: Callable[[], None] | None = None,
) -> list[T]:
    """:func:`in_order` over rounds of ``32 * workers`` items, with ``before_round()`` run before each
    round: a long run of calls (a restore of millions of keys) can renew the GC lease between rounds,
    and stops at the first round that ``before_round`` refuses. None: no pause."""
    size = 32 * max(1, workers)
    results: list[T] = []
    for start in range(0, len(items), size):
        if before_round:
            before_round()
        results += in_order(call, items[start : start + size], workers)
    return results
