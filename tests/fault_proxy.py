"""A fault-injecting HTTP proxy between the GC and the emulator, on 127.0.0.1.

The GC talks to the proxy through AWS_ENDPOINT_URL; the proxy forwards to moto's ThreadedMotoServer, or
answers with a fault instead: S3 SlowDown bursts, connection resets, DynamoDB throughput or access
errors, per-key DeleteObjects errors (the keys are removed from the request, so S3 really keeps them), or
a call back that kills the GC process mid-run (before or after S3 has done the request).
"""

from __future__ import annotations

import http.client
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def operation(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """Name the AWS operation of a request, as much as the tests need."""
    target = headers.get("x-amz-target", "")
    if target:
        return "dynamodb:" + target.split(".")[-1]
    if b"Action=GetCallerIdentity" in body:
        return "sts:GetCallerIdentity"
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    if method == "POST" and "delete" in query:
        return "s3:DeleteObjects"
    if method == "GET" and query.get("list-type") == ["2"]:
        return "s3:ListObjectsV2"
    if method == "GET" and "versions" in query:
        return "s3:ListObjectVersions"
    if method == "HEAD":
        return "s3:HeadObject"
    if method == "PUT" and "tagging" in query:
        return "s3:PutObjectTagging"
    return f"s3:{method}"


@dataclass
class Fault:
    """Answer the ``nth`` .. ``nth + times - 1`` requests of ``op`` (1-based) with ``action``."""

    op: str
    action: str  # slowdown | reset | throughput | denied | key_errors | kill_before | kill_after
    nth: int = 1
    times: int = 1
    key_errors: dict[str, str] = field(default_factory=dict)  # key -> S3 error code, for key_errors
    on_kill: Callable[[], None] | None = None
    hits: int = 0


class FaultProxy:
    def __init__(self, upstream: str, latency: float = 0.0) -> None:
        """``latency`` seconds are added to every request (a far-away S3 for `make bench-scale`)."""
        self.latency = latency
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults: list[Fault] = []
        self.counts: dict[str, int] = {}
        self.delete_requests: list[list[str]] = []  # keys of each DeleteObjects that reached S3
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _handle(self) -> None:
                proxy.handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---------------------------------------------------------------------------------------------

    def _fault_for(self, op: str) -> Fault | None:
        with self._lock:
            self.counts[op] = self.counts.get(op, 0) + 1
            n = self.counts[op]
            for fault in self.faults:
                if fault.op == op and fault.nth <= n < fault.nth + fault.times:
                    fault.hits += 1
                    return fault
        return None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        if self.latency:
            time.sleep(self.latency)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in request.headers.items()}
        op = operation(request.command, request.path, headers, body)
        fault = self._fault_for(op)
        action = fault.action if fault else None
        if action == "reset" or action == "kill_before":
            if action == "kill_before" and fault and fault.on_kill:
                fault.on_kill()
            request.close_connection = True
            request.connection.close()
            return
        if action == "slowdown":
            return self._reply(
                request,
                503,
                "application/xml",
                b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
            )
        if action in ("throughput", "denied"):
            kind = (
                "ProvisionedThroughputExceededException"
                if action == "throughput"
                else "AccessDeniedException"
            )
            payload = (
                f'{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"injected {kind}"}}'.encode()
            )
            return self._reply(request, 400, "application/x-amz-json-1.0", payload)
        failing: dict[str, str] = {}
        if action == "key_errors" and fault:
            body, failing = self._drop_keys(body, fault.key_errors)
            headers = {
                k: v
                for k, v in headers.items()
                if k not in ("content-md5",) and not k.startswith("x-amz-checksum")
            }
        if op == "s3:DeleteObjects":
            root = ET.fromstring(body)
            with self._lock:
                self.delete_requests.append(
                    [e.text or "" for e in root.iter(f"{{{S3_NS}}}Key")]
                    or [e.text or "" for e in root.iter("Key")]
                )
        status, reply_headers, payload = self._forward(request.command, request.path, headers, body)
        if failing:
            payload = self._add_errors(payload, failing)
        if action == "kill_after" and fault and fault.on_kill:
            fault.on_kill()  # S3 has done the request; the GC never hears back
            request.close_connection = True
            request.connection.close()
            return
        self._reply(
            request, status, reply_headers.get("content-type", "application/xml"), payload, reply_headers
        )

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(*self.upstream, timeout=60)
        forwarded = {
            k: v for k, v in headers.items() if k not in ("content-length", "connection", "transfer-encoding")
        }
        forwarded["content-length"] = str(len(body))
        connection.request(method, path, body=body, headers=forwarded)
        response = connection.getresponse()
        payload = response.read()
        reply = {k.lower(): v for k, v in response.getheaders()}
        connection.close()
        return response.status, reply, payload

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler,
        status: int,
        content_type: str,
        payload: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        for name, value in (headers or {}).items():
            if name not in (
                "content-length",
                "transfer-encoding",
                "connection",
                "content-type",
                "date",
                "server",
            ):
                request.send_header(name, value)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(payload)

    @staticmethod
    def _drop_keys(body: bytes, key_errors: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        """Remove the failing keys from a DeleteObjects request, so S3 really keeps them."""
        root = ET.fromstring(body)
        failing = {}
        for obj in list(root):
            key = next((child.text for child in obj if child.tag.endswith("Key")), None)
            if key in key_errors:
                root.remove(obj)
                failing[key] = key_errors[key]
        ET.register_namespace("", S3_NS)
        return ET.tostring(root), failing

    @staticmethod
    def _add_errors(payload: bytes, failing: dict[str, str]) -> bytes:
        ET.register_namespace("", S3_NS)
        root = ET.fromstring(payload)
        ns = f"{{{S3_NS}}}" if root.tag.startswith("{") else ""
        for key, code in failing.items():
            error = ET.SubElement(root, f"{ns}Error")
            ET.SubElement(error, f"{ns}Key").text = key
            ET.SubElement(error, f"{ns}Code").text = code
            ET.SubElement(error, f"{ns}Message").text = f"injected {code}"
        return ET.tostring(root)
