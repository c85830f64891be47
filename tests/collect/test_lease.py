"""The GC lease: one run at a time, taken and given back with S3 conditional writes (in-process moto)."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest

from artifact_gc.collect import control
from artifact_gc.errors import AwsError, SafetyError

from conftest import BUCKET, World

HOUR = timedelta(hours=1)


def test_a_second_run_cannot_take_a_held_lease(world: World) -> None:
    lease = control.acquire(world.s3, BUCKET, HOUR, world.now, "apply a", holder="ci-run-1:42")
    with pytest.raises(SafetyError, match=r"ci-run-1:42 \(apply a\)"):
        control.acquire(
            world.s3, BUCKET, HOUR, world.now + timedelta(minutes=5), "apply b", holder="laptop:7"
        )
    assert control.release(world.s3, lease, world.now)
    second = control.acquire(world.s3, BUCKET, HOUR, world.now, "apply b", holder="laptop:7")
    assert second.holder == "laptop:7"


def test_an_expired_lease_is_taken_over_and_its_holder_is_stopped(world: World) -> None:
    crashed = control.acquire(world.s3, BUCKET, HOUR, world.now, "apply a", holder="crashed:1")
    later = world.now + 2 * HOUR
    taker = control.acquire(world.s3, BUCKET, HOUR, later, "apply b", holder="new:2")
    assert taker.holder == "new:2"
    with pytest.raises(SafetyError, match="taken over"):
        control.renew(world.s3, crashed, HOUR, later)
    assert not control.release(world.s3, crashed, later)  # cannot release what it no longer holds
    with pytest.raises(SafetyError, match="new:2"):
        control.acquire(world.s3, BUCKET, HOUR, later, "apply c", holder="third:3")


def test_renewing_keeps_the_lease(world: World) -> None:
    lease = control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="me:1")
    control.renew(world.s3, lease, HOUR, world.now + timedelta(minutes=50))
    with pytest.raises(SafetyError, match="me:1"):  # still held 1h10 later thanks to the renewal
        control.acquire(world.s3, BUCKET, HOUR, world.now + timedelta(minutes=70), "other", holder="x:2")


def test_a_race_for_a_stale_lease_has_one_winner(world: World) -> None:
    """Two runs read the same expired lease; the conditional write lets only the first take it."""
    control.acquire(world.s3, BUCKET, HOUR, world.now, "old", holder="dead:0")
    _, stale_etag = control._get(world.s3, BUCKET, control.LOCK_KEY)
    later = world.now + 2 * HOUR
    control.acquire(world.s3, BUCKET, HOUR, later, "first", holder="first:1")
    assert control._put(world.s3, BUCKET, control.LOCK_KEY, {"holder": "second:2"}, stale_etag) is None


def test_a_lease_left_by_a_dead_process_on_this_host_is_taken_over(world: World) -> None:
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="crashed:1")
    document, etag = control._get(world.s3, BUCKET, control.LOCK_KEY)
    control._put(
        world.s3, BUCKET, control.LOCK_KEY, document | {"pid": int(dead.stdout)}, etag
    )  # its process is gone
    assert control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="next:2").holder == "next:2"
    # a live holder on this host keeps its lease
    with pytest.raises(SafetyError, match="next:2"):
        control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="third:3")


def test_the_held_lease_message_names_holder_purpose_times_and_the_way_out(world: World) -> None:
    control.acquire(world.s3, BUCKET, HOUR, world.now, "apply a", holder="ci:1")
    document, _ = control._get(world.s3, BUCKET, control.LOCK_KEY)
    assert document is not None
    with pytest.raises(SafetyError) as caught:
        control.acquire(world.s3, BUCKET, HOUR, world.now, "apply b", holder="me:2")
    assert str(caught.value) == (
        f"another GC run holds the lease on s3://{BUCKET}: ci:1 (apply a) since {document['acquired_at']}, "
        f"until {document['expires_at']}; wait for it, or remove s3://{BUCKET}/.artifact-gc/lock.json if that "
        "run is known to be dead"
    )


def test_the_lease_document_says_who_holds_it_until_when(world: World) -> None:
    lease = control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="me:1")
    document, etag = control._get(world.s3, BUCKET, control.LOCK_KEY)
    assert document == {
        "holder": "me:1",
        "purpose": "apply",
        "acquired_at": control.isoformat(world.now),
        "expires_at": control.isoformat(world.now + HOUR),
        "host": socket.gethostname(),
        "pid": document["pid"] if document else None,
    }
    assert (lease.bucket, lease.holder, lease.etag, lease.expires_at) == (
        BUCKET,
        "me:1",
        etag,
        world.now + HOUR,
    )
    later = world.now + timedelta(minutes=30)
    control.renew(world.s3, lease, HOUR, later)
    renewed, new_etag = control._get(world.s3, BUCKET, control.LOCK_KEY)
    assert renewed is not None and renewed["expires_at"] == control.isoformat(later + HOUR)
    assert renewed["holder"] == "me:1" and renewed["purpose"] == "renewed"
    assert (lease.etag, lease.expires_at) == (new_etag, later + HOUR)
    assert control.release(world.s3, lease, later)
    released, _ = control._get(world.s3, BUCKET, control.LOCK_KEY)
    assert released == {"holder": "me:1", "released": True, "released_at": control.isoformat(later)}


def test_a_lease_expiring_exactly_now_is_taken_and_one_a_moment_later_is_not(world: World) -> None:
    control.acquire(world.s3, BUCKET, HOUR, world.now, "a", holder="old:1")
    with pytest.raises(SafetyError):
        control.acquire(world.s3, BUCKET, HOUR, world.now + HOUR - timedelta(seconds=1), "b", holder="x:2")
    assert control.acquire(world.s3, BUCKET, HOUR, world.now + HOUR, "b", holder="x:2").holder == "x:2"


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", json.dumps({"holder": "h", "expires_at": "soon"}).encode()]
)
def test_an_unreadable_lease_is_taken_over_conditionally(world: World, body: bytes) -> None:
    world.s3.put_object(Bucket=BUCKET, Key=control.LOCK_KEY, Body=body)
    lease = control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="me:1")
    document, _ = control._get(world.s3, BUCKET, control.LOCK_KEY)
    assert document is not None and document["holder"] == "me:1" and lease.holder == "me:1"


def test_a_lost_race_for_a_free_lease_is_refused(world: World) -> None:
    world.s3.put_object(Bucket=BUCKET, Key=control.LOCK_KEY, Body=b"{}")  # released... then someone wrote
    _, etag = control._get(world.s3, BUCKET, control.LOCK_KEY)
    world.s3.put_object(Bucket=BUCKET, Key=control.LOCK_KEY, Body=b'{"released": true}')
    assert control._put(world.s3, BUCKET, control.LOCK_KEY, {"holder": "late"}, etag) is None
    assert control._put(world.s3, BUCKET, control.LOCK_KEY, {"holder": "late"}, None) is None  # exists now


def test_a_renewal_after_a_takeover_names_the_bucket(world: World) -> None:
    lease = control.acquire(world.s3, BUCKET, HOUR, world.now, "a", holder="me:1")
    control.acquire(world.s3, BUCKET, HOUR, world.now + 2 * HOUR, "b", holder="other:2")
    with pytest.raises(SafetyError) as caught:
        control.renew(world.s3, lease, HOUR, world.now + 2 * HOUR)
    assert str(caught.value) == (
        f"the GC lease on s3://{BUCKET} was taken over by another run: stopping before the next batch"
    )
    assert (lease.expires_at, lease.holder) == (world.now + HOUR, "me:1")  # unchanged


def test_lease_requests_that_fail_are_aws_errors_naming_the_object(world: World) -> None:
    with pytest.raises(AwsError) as caught:
        control.acquire(world.s3, "no-such-bucket-here", HOUR, world.now, "a", holder="me:1")
    assert str(caught.value).startswith("reading s3://no-such-bucket-here/.artifact-gc/lock.json failed: ")
    with pytest.raises(AwsError) as caught:
        control._put(world.s3, "no-such-bucket-here", control.LOCK_KEY, {}, None)
    assert str(caught.value).startswith("writing s3://no-such-bucket-here/.artifact-gc/lock.json failed: ")
    assert control._get(world.s3, BUCKET, "absent.json") == (None, None)


def test_only_a_dead_process_on_this_host_makes_a_lease_stale() -> None:
    host = socket.gethostname()
    assert not control._holder_is_dead({"host": "elsewhere", "pid": 2**22 + 12345})
    assert not control._holder_is_dead({"host": host, "pid": "12"})
    assert not control._holder_is_dead({"host": host})
    import os

    assert not control._holder_is_dead({"host": host, "pid": os.getpid()})


def _fail_with(world: World, operation: str, error: Exception) -> None:
    def fail(**_: object) -> None:
        raise error

    world.s3.meta.events.register(f"before-call.s3.{operation}", fail)


def test_a_lease_with_missing_fields_is_still_named(world: World) -> None:
    until = control.isoformat(world.now + HOUR)
    world.s3.put_object(Bucket=BUCKET, Key=control.LOCK_KEY, Body=json.dumps({"expires_at": until}).encode())
    with pytest.raises(SafetyError) as caught:
        control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="me:1")
    assert str(caught.value).startswith(
        f"another GC run holds the lease on s3://{BUCKET}: ? (?) since ?, until {until}; "
    )


def test_losing_the_conditional_write_says_so(world: World) -> None:
    from botocore.exceptions import ClientError

    _fail_with(world, "PutObject", ClientError({"Error": {"Code": "PreconditionFailed"}}, "PutObject"))
    with pytest.raises(SafetyError) as caught:
        control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="me:1")
    assert str(caught.value) == (
        f"another GC run took the lease on s3://{BUCKET} at the same moment: try again later"
    )


@pytest.mark.parametrize("code", ["PreconditionFailed", "412", "ConditionalRequestConflict", "409"])
def test_every_spelling_of_a_lost_race_is_a_lost_race(world: World, code: str) -> None:
    from botocore.exceptions import ClientError

    _fail_with(world, "PutObject", ClientError({"Error": {"Code": code}}, "PutObject"))
    assert control._put(world.s3, BUCKET, control.LOCK_KEY, {}, None) is None


def test_network_failures_are_aws_errors_naming_the_object(world: World) -> None:
    from botocore.exceptions import EndpointConnectionError

    down = EndpointConnectionError(endpoint_url="https://s3.example")
    _fail_with(world, "GetObject", down)
    with pytest.raises(AwsError) as caught:
        control._get(world.s3, BUCKET, control.LOCK_KEY)
    assert str(caught.value) == (
        f'reading s3://{BUCKET}/.artifact-gc/lock.json failed: Could not connect to the endpoint URL: "https://s3.example"'
    )
    _fail_with(world, "PutObject", down)
    with pytest.raises(AwsError) as caught:
        control._put(world.s3, BUCKET, control.LOCK_KEY, {}, None)
    assert str(caught.value) == (
        f'writing s3://{BUCKET}/.artifact-gc/lock.json failed: Could not connect to the endpoint URL: "https://s3.example"'
    )


def test_denied_requests_name_the_object_and_the_error(world: World) -> None:
    from botocore.exceptions import ClientError

    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
    _fail_with(world, "GetObject", denied)
    with pytest.raises(AwsError) as caught:
        control._get(world.s3, BUCKET, control.LOCK_KEY)
    assert (
        str(caught.value)
        == f"reading s3://{BUCKET}/.artifact-gc/lock.json failed: AccessDenied: Access Denied"
    )
    _fail_with(world, "PutObject", denied)
    with pytest.raises(AwsError) as caught:
        control._put(world.s3, BUCKET, control.LOCK_KEY, {}, None)
    assert (
        str(caught.value)
        == f"writing s3://{BUCKET}/.artifact-gc/lock.json failed: AccessDenied: Access Denied"
    )


def test_the_lease_is_stored_as_json(world: World) -> None:
    control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="me:1")
    assert world.s3.head_object(Bucket=BUCKET, Key=control.LOCK_KEY)["ContentType"] == "application/json"


def test_a_renewal_rewrites_the_whole_document(world: World) -> None:
    import os

    lease = control.acquire(world.s3, BUCKET, HOUR, world.now, "apply", holder="me:1")
    later = world.now + timedelta(minutes=10)
    control.renew(world.s3, lease, HOUR, later)
    document, _ = control._get(world.s3, BUCKET, control.LOCK_KEY)
    assert document == {
        "holder": "me:1",
        "purpose": "renewed",
        "acquired_at": control.isoformat(later),
        "expires_at": control.isoformat(later + HOUR),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def test_checking_a_live_holder_does_not_signal_it() -> None:
    import subprocess
    import sys

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGHUP, signal.SIG_DFL); time.sleep(60)",
        ]
    )
    try:
        import time

        time.sleep(0.3)  # let it install the default handler
        assert not control._holder_is_dead({"host": socket.gethostname(), "pid": child.pid})
        time.sleep(0.1)
        assert child.poll() is None  # still running: signal 0 only asks
    finally:
        child.kill()
        child.wait()


def test_a_holder_running_under_another_user_is_alive() -> None:
    """Signal 0 to another user's process is refused (EPERM): the process exists, the lease is not stale."""
    import os

    lease = {"host": socket.gethostname(), "pid": 1}  # init: root's
    if os.geteuid() != 0:
        assert not control._holder_is_dead(lease)
        return
    # as root every process can be signalled: ask from a child that became an unprivileged user (asked
    # here first too, so that a coverage-based test runner such as mutmut sees this test use it)
    assert not control._holder_is_dead({"host": socket.gethostname(), "pid": os.getpid()})
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 2
        try:
            os.setuid(65534)
            code = 1 if control._holder_is_dead(lease) else 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("code", ["NoSuchKey", "404"])
def test_every_spelling_of_no_lease_is_no_lease(world: World, code: str) -> None:
    from botocore.exceptions import ClientError

    _fail_with(world, "GetObject", ClientError({"Error": {"Code": code}}, "GetObject"))
    assert control._get(world.s3, BUCKET, control.LOCK_KEY) == (None, None)
