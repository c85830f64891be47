"""Parse registry references into every S3 location they may mean. PURE: no I/O.

The invariant, kept here and nowhere else: **a reference yields every key it could mean, or it is refused.**
When a spelling is ambiguous, every reading is returned so that all of them are protected; when it cannot
be understood, or could point into a bucket we cannot name offline, :class:`ReferenceParseError` stops the
run (exit 3). Nothing is ever silently read as "a bare key" that protects nothing.

Spellings understood:

* ``s3://``, ``s3a://``, ``s3n://`` (any case): bucket and key as written; percent signs, a query
  (``?s3_region=...``, written by some SQL engines) and a fragment may or may not be part of the key.
* ``https://``/``http://`` URLs, path-style or virtual-hosted, on every S3 data endpoint: regional, legacy
  dash, dual-stack, FIPS, Transfer Acceleration, website (dot and dash forms), PrivateLink interface
  endpoints, S3 Express zonal endpoints, with or without a trailing dot, and ``--endpoint-url`` hosts.
  URL paths are percent-encoded and ``+`` may stand for a space: the raw, decoded and plus-decoded keys.
* ``arn:aws[-cn|-us-gov]:s3:::bucket/key`` object ARNs.
* A bare key, meaning the configured bucket (with and without a leading slash).

Readings every key gets (each may be the one a client fetches): dot segments resolved and doubled slashes
collapsed (HTTP clients resolve ``..``, Hadoop collapses ``//``); Unicode NFC and NFD; and for globs
(``* ? [ {``, which Spark and Hadoop expand but which may also be literal) the literal key plus everything
under the text before the first glob character, reported as *widened*.

Refused: anything else that begins with a URI scheme (``runs:/``, ``models:/``, ``mlflow-artifacts:/``,
``dbfs:/``, ``gs://``, a typo such as ``s3:/b/k``), hosts that are not S3, and S3 access points (alias,
ARN, host, Multi-Region) unless the user maps them to a bucket (``--access-point NAME=BUCKET``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus, urlsplit

from artifact_gc.errors import ReferenceParseError

_S3_SCHEMES = ("s3", "s3a", "s3n")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_GLOB_CHARS = re.compile(r"[*?\[{]")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
# S3 data endpoints (the part of the host after a virtual-hosted bucket, or the whole host path-style).
_LABEL = r"[a-z0-9-]+"
_S3_SERVICE_HOST = re.compile(
    r"^(?:"
    rf"s3(?:-fips)?(?:\.dualstack)?(?:[.-]{_LABEL})?"  # s3, s3.R, s3-R, s3.dualstack.R, s3-fips(.dualstack).R
    r"|s3-accelerate(?:\.dualstack)?"  # Transfer Acceleration
    rf"|s3-website[.-]{_LABEL}"  # website endpoints, dash and dot forms
    rf"|s3express-{_LABEL}(?:\.dualstack)?\.{_LABEL}"  # S3 Express One Zone zonal endpoints
    rf"|bucket\.vpce-{_LABEL}\.s3\.{_LABEL}\.vpce"  # PrivateLink interface endpoint (bucket form)
    r")\.amazonaws\.com(?:\.cn)?$"
)
# A PrivateLink endpoint named without the literal "bucket." label: the first label is the bucket.
_VPCE_HOST = re.compile(rf"^vpce-{_LABEL}\.s3\.{_LABEL}\.vpce\.amazonaws\.com(?:\.cn)?$")
_ACCESS_POINT_HOST = re.compile(
    r"(?:^|\.)(?:s3-accesspoint(?:-fips)?(?:\.dualstack)?\.|s3-object-lambda(?:-fips)?\.|accesspoint\.s3-global\.|"
    r"accesspoint\.vpce-)"
)
_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]+)(?:/(?P<key>.*))?$", re.DOTALL)
_ACCESS_POINT_ARN = re.compile(
    r"^(?P<name>arn:aws[a-z-]*:s3(?:-object-lambda)?:[a-z0-9-]*:\d*:accesspoint[/:][^/]+)"
    r"(?:/object)?(?:/(?P<key>.*))?$",
    re.DOTALL,
)


@dataclass(frozen=True, order=True)
class Location:
    """One S3 location a reference may mean: a bucket and a key prefix (``""`` means the whole bucket)."""

    bucket: str
    key: str


@dataclass(frozen=True)
class ParsedReference:
    """Every location one reference may mean, and whether a glob widened it to its literal prefix."""

    locations: frozenset[Location]
    glob_widened: bool = False


def parse_reference(
    ref: object,
    default_bucket: str,
    endpoint_hosts: frozenset[str] = frozenset(),
    access_points: Mapping[str, str] | None = None,
) -> set[Location]:
    """Return every location ``ref`` could mean; raise ReferenceParseError when it means nothing we know."""
    return set(analyse_reference(ref, default_bucket, endpoint_hosts, access_points).locations)


def analyse_reference(
    ref: object,
    default_bucket: str,
    endpoint_hosts: frozenset[str] = frozenset(),
    access_points: Mapping[str, str] | None = None,
) -> ParsedReference:
    """Like :func:`parse_reference`, and says whether a glob widened the reference.

    ``endpoint_hosts`` are extra host names (``host`` or ``host:port``) served path-style, for custom or
    local S3 endpoints. ``access_points`` maps access point aliases, ARNs or hosts to bucket names.
    Surrounding white space and a byte-order mark are ambiguous (S3 keys may hold them): both readings.
    """
    if not isinstance(ref, str):
        raise ReferenceParseError(f"reference {ref!r} is not a string")
    if not ref.strip().lstrip("\ufeff").strip():
        raise ReferenceParseError(f"reference {ref!r} is empty")
    mapped = {k.lower().rstrip("."): v for k, v in (access_points or {}).items()}
    raw: set[Location] = set()
    for spelling in dict.fromkeys((ref, ref.strip(), ref.strip().lstrip("\ufeff").strip())):
        for loc in _parse_one(spelling, default_bucket, endpoint_hosts, mapped):
            # Bucket names are DNS names: a case variant of ours is ours, and so protects.
            bucket = default_bucket if loc.bucket.lower() == default_bucket.lower() else loc.bucket
            raw.add(Location(bucket, loc.key))
    locations: set[Location] = set()
    widened = False
    for loc in raw:
        keys, glob = key_readings(loc.key)
        widened |= glob
        locations.update(Location(loc.bucket, key) for key in keys)
    return ParsedReference(frozenset(locations), widened)


def key_readings(key: str) -> tuple[set[str], bool]:
    """Every key a client could fetch for ``key``, and whether a glob widened it (see the module doc)."""
    if key.isascii() and "." not in key and "//" not in key and not _GLOB_CHARS.search(key):
        return {key}, False
    found = {key, _resolve_dots(key), _collapse_slashes(key), _resolve_dots(_collapse_slashes(key))}
    found |= {unicodedata.normalize(form, k) for k in found for form in ("NFC", "NFD")}
    widened = False
    for k in list(found):
        glob = _GLOB_CHARS.search(k)
        if glob:
            found.add(k[: glob.start()])
            widened = True
    return found, widened


def _resolve_dots(key: str) -> str:
    """RFC 3986 dot-segment removal on a key (as an HTTP client does to the URL path)."""
    segments = key.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and out:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    return "/".join(out)


def _collapse_slashes(key: str) -> str:
    """Hadoop's path normalisation: ``a//b`` is ``a/b``."""
    return re.sub(r"/{2,}", "/", key)


def _parse_one(
    ref: str, default_bucket: str, endpoint_hosts: frozenset[str], access_points: Mapping[str, str]
) -> set[Location]:
    scheme, sep, rest = ref.partition("://")
    scheme_l = scheme.lower()
    if sep and scheme_l in _S3_SCHEMES:
        return _parse_s3(ref, rest, access_points)
    if sep and scheme_l in ("https", "http"):
        return _parse_url(ref, endpoint_hosts, access_points)
    if ref.lower().startswith("arn:"):
        return _parse_arn(ref, access_points)
    if _URI_SCHEME.match(ref):
        name = ref.split(":", 1)[0]
        if name.lower() in (*_S3_SCHEMES, "http", "https"):
            raise ReferenceParseError(
                f"reference {ref!r} looks like a malformed URI (expected s3://bucket/key): it would protect nothing"
            )
        raise ReferenceParseError(
            f"reference {ref!r} uses the URI scheme {name}:, which is not an S3 location: artifact-gc cannot tell "
            "which objects it protects (MLflow URIs are resolved only by the MLflow registry source)"
        )
    return _bare_key(ref, default_bucket)


def _bare_key(ref: str, default_bucket: str) -> set[Location]:
    """A bare key means the configured bucket; a leading slash may or may not be part of the key."""
    found = {Location(default_bucket, ref)}
    if ref.startswith("/"):
        found.add(Location(default_bucket, ref.lstrip("/")))
    return found


def _parse_s3(ref: str, rest: str, access_points: Mapping[str, str]) -> set[Location]:
    if rest.lower().startswith("arn:"):
        return _parse_arn(rest, access_points, shown=ref)
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ReferenceParseError(f"reference {ref!r} names no bucket")
    bucket = _bucket_or_access_point(ref, bucket, access_points)
    keys = {key}
    if "%" in key:
        # Some writers percent-encode keys in s3:// URIs, most do not: protect both readings.
        keys.add(unquote(key))
    for mark in ("?", "#"):
        # A query (s3_region=..., versionId=...) or fragment may be the writer's, or part of the key.
        keys |= {k.split(mark, 1)[0] for k in keys}
    return {Location(bucket, k) for k in keys}


def _bucket_or_access_point(ref: str, bucket: str, access_points: Mapping[str, str]) -> str:
    """A bucket name as written, or the bucket an access point alias is mapped to; refuse unmapped aliases."""
    lowered = bucket.lower().rstrip(".")
    if lowered in access_points:
        return access_points[lowered]
    if lowered.endswith(("-s3alias", "--ol-s3", ".mrap")) or ":" in bucket:
        raise _access_point_error(ref, bucket)
    return bucket


def _access_point_error(ref: str, name: str) -> ReferenceParseError:
    return ReferenceParseError(
        f"reference {ref!r} goes through the S3 access point {name!r}, which cannot be mapped to a bucket "
        f"offline: pass --access-point {name}=BUCKET (or gc_config.access_points) if it serves this bucket"
    )


def _parse_arn(ref: str, access_points: Mapping[str, str], shown: str | None = None) -> set[Location]:
    shown = shown or ref
    match = _S3_ARN.match(ref)
    if match:
        bucket = _bucket_or_access_point(shown, match["bucket"], access_points)
        return {Location(bucket, match["key"] or "")}
    point = _ACCESS_POINT_ARN.match(ref)
    if point:
        name = point["name"]
        if name.lower() not in access_points:
            raise _access_point_error(shown, name)
        return {Location(access_points[name.lower()], point["key"] or "")}
    raise ReferenceParseError(f"reference {shown!r} is not an S3 object ARN (arn:aws:s3:::bucket/key)")


def _parse_url(ref: str, endpoint_hosts: frozenset[str], access_points: Mapping[str, str]) -> set[Location]:
    try:
        parts = urlsplit(ref)
        port = parts.port
    except ValueError as exc:
        raise ReferenceParseError(f"reference {ref!r} is not a valid URL ({exc})") from exc
    host = (parts.hostname or "").lower().rstrip(".")
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    located: set[tuple[str, str]] = set()  # (bucket, raw key) for every way the host can be read
    if host in access_points or netloc in access_points:
        located.add((access_points.get(host) or access_points[netloc], path))
    elif _ACCESS_POINT_HOST.search(host):
        labels = host.split(".")
        names = [".".join(labels[:i]) for i in range(1, len(labels))]  # alias, alias.mrap, ...
        mapped = next((access_points[n] for n in names if n in access_points), None)
        if mapped is None:
            raise _access_point_error(ref, host)
        located.add((mapped, path))
    else:
        if netloc in endpoint_hosts or host in endpoint_hosts or _S3_SERVICE_HOST.match(host):
            bucket_part, _, raw_key = path.partition("/")
            if not bucket_part:
                raise ReferenceParseError(f"reference {ref!r} is a path-style URL without a bucket")
            located.add((unquote(bucket_part), raw_key))
        for bucket in _virtual_buckets(host):
            located.add((bucket, path))
    if not located:
        raise ReferenceParseError(
            f"reference {ref!r} is a URL whose host {host!r} is not an S3 endpoint "
            "(pass --endpoint-url for a custom S3 endpoint)"
        )
    found: set[Location] = set()
    for bucket, raw_key in located:
        bucket = _bucket_or_access_point(ref, bucket, access_points)
        # URL paths are percent-encoded, and "+" may mean a space; a writer that forgot to encode meant
        # the raw text: protect every reading.
        found |= {Location(bucket, k) for k in (raw_key, unquote(raw_key), unquote_plus(raw_key))}
    return found


def _virtual_buckets(host: str) -> Iterable[str]:
    """Every bucket a virtual-hosted name could carry: each split at a dot whose right side is an S3 host."""
    labels = host.split(".")
    for i in range(1, len(labels)):
        bucket, service = ".".join(labels[:i]), ".".join(labels[i:])
        if not _BUCKET.match(bucket) and not bucket.endswith("--x-s3"):
            continue
        if _S3_SERVICE_HOST.match(service) or _VPCE_HOST.match(service):
            yield bucket
