"""IMG-1's wrapper probe: the stub it installs and how it reads what happened (no Docker)."""

from __future__ import annotations

import io
import tarfile

from conformance.entrypoint import STUB_DIR, STUB_MARK, argument_holder, stub_archive, stub_report, stub_script

WRAPPER = ["/bin/bash", "-c", 'source activate env && exec "$@"', "--"]


def test_the_stub_reports_its_name_and_arguments() -> None:
    assert stub_script("/bin/bash", "tok") == f'#!/bin/bash\necho "{STUB_MARK} tok $0 $#: $*"\n'


def test_the_archive_holds_executable_stubs_and_the_decoy_folders() -> None:
    data = stub_archive("/bin/sh", "tok", ["train", "serve"], ["/opt/ml/input/config"])
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = {m.name: m for m in archive.getmembers()}
    stub = STUB_DIR.lstrip("/")
    assert members[f"{stub}/train"].mode == 0o755
    assert members[f"{stub}/serve"].isfile()
    assert {"opt", "opt/ml", "opt/ml/input", "opt/ml/input/config"} <= set(members)
    assert members["opt/ml/input/config"].isdir()


def test_the_report_names_the_stub_that_ran() -> None:
    logs = f"activating env\n{STUB_MARK} tok /smc-entrypoint-probe/serve 0: \n"
    assert stub_report(logs, "tok") == ("serve", "/smc-entrypoint-probe/serve 0: ")
    assert stub_report(logs, "other-token") is None
    assert stub_report("train\n", "tok") is None


def test_a_program_holding_the_argument_is_found_but_not_the_wrapper_itself() -> None:
    wrapper_line = " ".join([*WRAPPER, "train"])
    assert argument_holder([wrapper_line], "train", WRAPPER) is None
    assert argument_holder([wrapper_line, "python /app/main.py train"], "train", WRAPPER) == "python /app/main.py train"
    assert argument_holder(["python3 /opt/program/serve"], "train", WRAPPER) is None
    assert argument_holder(["/bin/sh /opt/program/entrypoint.sh"], "train", WRAPPER) is None


def test_the_real_program_of_that_name_counts_when_the_wrapper_reset_path() -> None:
    assert argument_holder(["python3 /opt/program/train"], "train", WRAPPER) == "python3 /opt/program/train"
    assert argument_holder(["/usr/local/bin/serve --workers 2"], "serve", WRAPPER) == "/usr/local/bin/serve --workers 2"
