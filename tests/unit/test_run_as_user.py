"""IMG-4 (the image runs as root) and ENV-9 (serverless: a non-root uid on a read-only file system) on fakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import contract
from conformance.checks.image import resolve_uid
from conformance.checks.profiles import SERVE_NON_ROOT, refused_writes
from conformance.runner import FAIL, PASS, SKIP

from .checkfakes import GoodImage, image_info, serverless_test_dir
from .fakeimages import WritesOutsideTmp
from .faketarget import certify, rendered

PASSWD = b"""root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
app:x:1000:1000::/opt/program:/bin/sh
toor:x:0:0:root by another name:/root:/bin/sh
"""


@pytest.mark.parametrize("user", ["", " ", "root", "0", "0:0", "root:root", "0:1000", "toor", "toor:app"])
def test_resolve_uid_root(user: str) -> None:
    assert resolve_uid(user, PASSWD.decode()) == 0


@pytest.mark.parametrize(("user", "uid"), [("1000", 1000), ("1000:1000", 1000), ("app", 1000), ("nobody", 65534)])
def test_resolve_uid_non_root(user: str, uid: int) -> None:
    assert resolve_uid(user, PASSWD.decode()) == uid


def test_resolve_uid_needs_no_passwd_for_numbers_and_root() -> None:
    assert resolve_uid("1000", None) == 1000
    assert resolve_uid("0", None) == 0
    assert resolve_uid("root", None) == 0


def test_resolve_uid_of_an_unknown_name_is_none() -> None:
    assert resolve_uid("ghost", PASSWD.decode()) is None
    assert resolve_uid("app", None) is None
    assert resolve_uid("app", "appx:x:0:0::/:/bin/sh\n# app:x:0\n") is None


def test_img4_passes_docker_default_and_notes_the_uid(tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), "IMG-4", tmp_path)
    assert outcome.verdict == PASS, outcome.reason
    assert any("uid 0 (root)" in note for note in outcome.notes)


def test_img4_a_named_user_with_uid_0_is_root(tmp_path: Path) -> None:
    image = GoodImage(info=image_info(user="toor"), contents={contract.PASSWD_FILE: PASSWD})
    outcome, _ = certify(image, "IMG-4", tmp_path)
    assert outcome.verdict == PASS, outcome.reason


@pytest.mark.parametrize(("user", "uid"), [("1000", "1000"), ("app", "1000"), ("nobody:nogroup", "65534")])
def test_img4_a_non_root_user_fails_with_the_resolved_uid(user: str, uid: str, tmp_path: Path) -> None:
    image = GoodImage(info=image_info(user=user), contents={contract.PASSWD_FILE: PASSWD})
    outcome, _ = certify(image, "IMG-4", tmp_path)
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("IMG-4 [MUST] The image runs as root")
    assert f"User: {user!r}, which runs as uid {uid}" in text
    assert f"Resolved uid: {uid}" in text
    by_hand = "fake-engine inspect example.com/team/model:1.0 user\n    fake-engine run example.com/team/model:1.0 id"
    assert by_hand in text


def test_img4_a_name_missing_from_passwd_fails(tmp_path: Path) -> None:
    image = GoodImage(info=image_info(user="ghost"), contents={contract.PASSWD_FILE: PASSWD})
    outcome, _ = certify(image, "IMG-4", tmp_path)
    assert outcome.verdict == FAIL
    assert "is not a user of the image" in rendered(outcome)


def test_img4_does_not_apply_to_a_serverless_deployment(tmp_path: Path) -> None:
    image = GoodImage(info=image_info(user="1000"))
    outcome, _ = certify(image, "IMG-4", tmp_path, test_dir=serverless_test_dir(tmp_path / "td"))
    assert outcome.verdict == PASS, outcome.reason
    assert any("uid 1000" in note and "does not apply" in note and "ENV-9" in note for note in outcome.notes)
    ghost = GoodImage(info=image_info(user="ghost"), contents={contract.PASSWD_FILE: PASSWD})
    outcome, _ = certify(ghost, "IMG-4", tmp_path / "ghost", test_dir=serverless_test_dir(tmp_path / "td2"))
    assert outcome.verdict == FAIL


def test_refused_writes_names_the_paths() -> None:
    logs = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "/opt/program/serve", line 3, in <module>',
            "OSError: [Errno 30] Read-only file system: '/opt/program/cache/warm.json'",
            "PermissionError: [Errno 13] Permission denied: '/var/cache/model'",
            '2026/12/02 [emerg] open() "/var/lib/nginx/body" failed (13: Permission denied)',
            "sh: 1: cannot create /opt/ml/x.log: Read-only file system",
            "OSError: [Errno 30] Read-only file system: '/opt/program/cache/warm.json'",
            "all fine here",
        ]
    )
    assert [path for _, path in refused_writes(logs)] == [
        "/opt/program/cache/warm.json",
        "/var/cache/model",
        "/var/lib/nginx/body",
        "/opt/ml/x.log",
    ]
    assert refused_writes("nothing refused\n") == []


def test_the_non_root_spec_runs_as_nobody_on_a_read_only_root_with_a_tmpfs() -> None:
    assert SERVE_NON_ROOT.user == contract.SERVERLESS_USER
    assert SERVE_NON_ROOT.read_only
    assert dict(SERVE_NON_ROOT.tmpfs) == {contract.SERVERLESS_WRITABLE_DIR: contract.SERVERLESS_TMPFS_OPTIONS}
    assert SERVE_NON_ROOT.memory_mb is None  # memory is ENV-8's


def test_env9_skips_without_a_serverless_policy(tmp_path: Path) -> None:
    outcome, _ = certify(GoodImage(), "ENV-9", tmp_path)
    assert outcome.verdict == SKIP
    assert "[serverless] memory_mb" in outcome.reason


def test_env9_a_server_that_needs_only_tmp_passes(tmp_path: Path) -> None:
    outcome, certification = certify(GoodImage(), "ENV-9", tmp_path, test_dir=serverless_test_dir(tmp_path / "td"))
    assert outcome.verdict == PASS, outcome.failure.render() if outcome.failure else outcome.reason
    # The real sharing rules also start the default server (a variant needs it healthy) and the empty-model one.
    assert certification.servers[SERVE_NON_ROOT.name].spec == SERVE_NON_ROOT


def test_env9_a_write_outside_tmp_fails_naming_the_path(tmp_path: Path) -> None:
    outcome, _ = certify(WritesOutsideTmp(), "ENV-9", tmp_path, test_dir=serverless_test_dir(tmp_path / "td"))
    assert outcome.verdict == FAIL
    text = rendered(outcome)
    assert text.startswith("ENV-9 [CONDITIONAL] Serverless")
    assert "the file system refused an access" in text
    assert "refused: /opt/program/cache.json" in text
    assert contract.SERVERLESS_USER in text
