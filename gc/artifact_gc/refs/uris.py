"""Parse registry references into the S3 locations they may mean.

A reference may be spelled ``s3://``, ``s3a://``, ``s3n://``, an ``https://``/``http://`` URL
(virtual-hosted or path-style, percent-encoded), an S3 object ARN, or a bare key in the configured bucket.
When a spelling could mean more than one key, every meaning is returned, so that all of them are protected:
when in doubt, we keep. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from artifact_gc.errors import ReferenceParseError

_S3_SCHEMES = ("s3", "s3a", "s3n")
# Host shapes of S3 endpoints: s3.amazonaws.com, s3.eu-west-1.amazonaws.com, s3-eu-west-1.amazonaws.com,
# s3.dualstack.eu-west-1.amazonaws.com, and the same under amazonaws.com.cn.
_S3_HOST = r"s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?"
_PATH_STYLE_HOST = re.compile(rf"^{_S3_HOST}$")
_VIRTUAL_HOST = re.compile(rf"^(?P<bucket>[a-z0-9][a-z0-9.-]*[a-z0-9])\.{_S3_HOST}$")
_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]+)(?:/(?P<key>.*))?$", re.DOTALL)
# A bare key that starts like a URI ("s3:/b/k", "https:b/k") is a typo, not a key: it would protect nothing.
_MALFORMED_URI = re.compile(r"^(?:s3[an]?|https?|gs|abfss?|wasbs?|hdfs|file|arn):", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class Location:
    """One S3 location a reference may mean: a bucket and a key prefix (``""`` means the whole bucket)."""

    bucket: str
    key: str


def parse_reference(
    ref: object, default_bucket: str, endpoint_hosts: frozenset[str] = frozenset()
) -> set[Location]:
    """Return every location ``ref`` could mean; raise ReferenceParseError when it means nothing we know.

    ``endpoint_hosts`` are extra host names (``host`` or ``host:port``) served path-style, for custom or
    local S3 endpoints. Surrounding white space is ambiguous (S3 keys may hold it), so both readings count.
    """
    if not isinstance(ref, str):
        raise ReferenceParseError(f"reference {ref!r} is not a string")
    if not ref.strip():
        raise ReferenceParseError(f"reference {ref!r} is empty")
    locations: set[Location] = set()
    for spelling in {ref, ref.strip()}:
        for loc in _parse_one(spelling, default_bucket, endpoint_hosts):
            # Bucket names are DNS names: a case variant of ours is ours, and so protects.
            bucket = default_bucket if loc.bucket.lower() == default_bucket.lower() else loc.bucket
            locations.add(Location(bucket, loc.key))
    return locations


def _parse_one(ref: str, default_bucket: str, endpoint_hosts: frozenset[str]) -> set[Location]:
    scheme, sep, rest = ref.partition("://")
    scheme_l = scheme.lower()
    if sep and scheme_l in _S3_SCHEMES:
        return _parse_s3(ref, rest)
    if sep and scheme_l in ("https", "http"):
        return _parse_url(ref, endpoint_hosts)
    if ref.lower().startswith("arn:"):
        return _parse_arn(ref)
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        raise ReferenceParseError(
            f"reference {ref!r} uses a scheme artifact-gc does not understand ({scheme}://)"
        )
    if _MALFORMED_URI.match(ref):
        raise ReferenceParseError(f"reference {ref!r} looks like a malformed URI (expected s3://bucket/key)")
    return _bare_key(ref, default_bucket)


def _bare_key(ref: str, default_bucket: str) -> set[Location]:
    """A bare key means the configured bucket; a leading slash may or may not be part of the key."""
    found = {Location(default_bucket, ref)}
    if ref.startswith("/"):
        found.add(Location(default_bucket, ref.lstrip("/")))
    return found


def _parse_s3(ref: str, rest: str) -> set[Location]:
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ReferenceParseError(f"reference {ref!r} names no bucket")
    found = {Location(bucket, key)}
    if "%" in key:
        # Some writers percent-encode keys in s3:// URIs, most do not: protect both readings.
        found.add(Location(bucket, unquote(key)))
    return found


def _parse_arn(ref: str) -> set[Location]:
    match = _ARN.match(ref)
    if not match:
        raise ReferenceParseError(f"reference {ref!r} is not an S3 object ARN (arn:aws:s3:::bucket/key)")
    return {Location(match["bucket"], match["key"] or "")}


def _parse_url(ref: str, endpoint_hosts: frozenset[str]) -> set[Location]:
    parts = urlsplit(ref)
    host = (parts.hostname or "").lower()
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    virtual = _VIRTUAL_HOST.match(host)
    if _PATH_STYLE_HOST.match(host) or netloc in endpoint_hosts or host in endpoint_hosts:
        bucket_part, _, raw_key = path.partition("/")
        bucket = unquote(bucket_part)
        if not bucket:
            raise ReferenceParseError(f"reference {ref!r} is a path-style URL without a bucket")
    elif virtual:
        bucket, raw_key = virtual["bucket"], path
    else:
        raise ReferenceParseError(
            f"reference {ref!r} is a URL whose host {host!r} is not an S3 endpoint "
            "(pass --endpoint-url for a custom S3 endpoint)"
        )
    # URL keys are percent-encoded; a writer that forgot to encode meant the raw text: protect both.
    return {Location(bucket, unquote(raw_key)), Location(bucket, raw_key)}
