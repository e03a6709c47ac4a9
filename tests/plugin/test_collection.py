"""The tests the plugin makes of an image: their ids, selection by id, --clause and marker, one image at a time,
the report header, an ini file, xdist groups. All on the fake engine: collection needs none."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import __version__
from conformance.registry import clauses

from .runs import CLAUSES, GOOD, clause_ids, collected, short_id, write_test_dir


def test_ids_name_the_image_clause_and_level(pytester: pytest.Pytester, fake: str, test_dir: Path) -> None:
    ids = collected(pytester.runpytest(fake, f"--image={GOOD}", f"--test-dir={test_dir}", "--collect-only", "-q"))
    assert len(ids) == len(CLAUSES)
    assert ids[0].endswith(f"::test_clause[{GOOD}-IMG-1-MUST]")
    for line, clause in zip(ids, CLAUSES, strict=True):
        assert line.endswith(f"[{GOOD}-{clause.id}-{clause.level.value}]")
    assert any(line.endswith("-ENV-5-CONDITIONAL]") for line in ids)


def test_clauses_can_be_selected_by_id(pytester: pytest.Pytester, fake: str, test_dir: Path) -> None:
    result = pytester.runpytest(
        fake, f"--image={GOOD}", f"--test-dir={test_dir}", "--collect-only", "-q", "-k", "IMG-1-MUST or SRV-6"
    )
    assert [line.rsplit("[", 1)[1] for line in collected(result)] == [f"{GOOD}-IMG-1-MUST]", f"{GOOD}-SRV-6-SHOULD]"]


def test_a_clause_option_selects_it_and_what_it_needs(pytester: pytest.Pytester, fake: str, test_dir: Path) -> None:
    result = pytester.runpytest(
        fake, f"--image={GOOD}", f"--test-dir={test_dir}", "--collect-only", "-q", "--clause=SRV-9"
    )
    assert clause_ids(result) == [
        "IMG-1", "TRN-1", "SRV-1", "SRV-2", "SRV-3", "SRV-9"
    ]  # fmt: skip
    pytester.makeini(f"[pytest]\nconformance_images = {GOOD}\nconformance_clauses =\n    TRN-5\n    IMG-2\n")
    result = pytester.runpytest(fake, f"--test-dir={test_dir}", "--collect-only", "-q")
    assert clause_ids(result) == [
        "IMG-1", "IMG-2", "TRN-1", "TRN-4", "TRN-5"
    ]  # fmt: skip


def test_clause_markers_select_by_level(pytester: pytest.Pytester, fake: str, test_dir: Path) -> None:
    result = pytester.runpytest(
        fake, f"--image={GOOD}", f"--test-dir={test_dir}", "--collect-only", "-q", "-m", "conformance and clause"
    )
    assert len(collected(result)) == len(CLAUSES)


def test_repeated_image_doubles_the_tests(pytester: pytest.Pytester, fake: str, test_dir: Path) -> None:
    second = "fake/good:2"
    result = pytester.runpytest(
        fake, f"--image={GOOD}", f"--image={second}", f"--test-dir={test_dir}", "--collect-only", "-q"
    )
    ids = collected(result)
    assert len(ids) == 2 * len(CLAUSES)
    assert sum(f"[{GOOD}-" in line for line in ids) == len(CLAUSES)
    assert sum(f"[{second}-" in line for line in ids) == len(CLAUSES)
    # One image at a time, in the order given.
    assert all(f"[{GOOD}-" in line for line in ids[: len(CLAUSES)])


def test_one_test_dir_per_image(pytester: pytest.Pytester, fake: str) -> None:
    second = "fake/good:2"
    first_dir, second_dir = write_test_dir(pytester.path / "one"), write_test_dir(pytester.path / "two")
    args = (fake, f"--image={GOOD}", f"--image={second}", f"--test-dir={first_dir}", f"--test-dir={second_dir}")
    assert len(collected(pytester.runpytest(*args, "--collect-only", "-q"))) == 2 * len(CLAUSES)
    header = pytester.runpytest(*args, "--collect-only").stdout.str()
    assert f"image {GOOD} ({short_id(GOOD)}, linux/amd64) with test-dir {first_dir} " in header
    assert f"image {second} ({short_id(second)}, linux/amd64) with test-dir {second_dir} " in header


def test_report_header_names_the_engine_image_and_test_dir(
    pytester: pytest.Pytester, fake: str, test_dir: Path
) -> None:
    result = pytester.runpytest(fake, f"--image={GOOD}", f"--test-dir={test_dir}", "--collect-only")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            f"sagemaker-conformance {__version__}: Fake 27.0.0 (API 1.46, linux/x86_64, 2 CPUs) at fake://",
            "  up to 2 containers starting or training at once per image",
            f"  image {GOOD} ({short_id(GOOD)}, linux/amd64) with test-dir {test_dir} [profile train+serve]",
        ]
    )


def test_ini_file_configures_a_run(pytester: pytest.Pytester, fake: str, test_dir: Path) -> None:
    factory = fake.partition("=")[2]
    pytester.makeini(
        f"[pytest]\nconformance_images =\n    {GOOD}\nconformance_test_dirs = {test_dir}\n"
        f"conformance_target_factory = {factory}\n"
    )
    result = pytester.runpytest("--collect-only", "-q")
    assert len(collected(result)) == len(CLAUSES)


def test_xdist_group_only_with_xdist_so_strict_markers_holds_without_it(
    pytester: pytest.Pytester, fake: str, test_dir: Path
) -> None:
    # pytest-xdist registers xdist_group itself; without it the marker is neither applied nor needed.
    args = (fake, f"--image={GOOD}", f"--test-dir={test_dir}", "--strict-markers")
    items, _ = pytester.inline_genitems(*args)
    assert len(items) == len(list(clauses()))
    assert all(item.get_closest_marker("xdist_group") is not None for item in items)
    items, _ = pytester.inline_genitems(*args, "-p", "no:xdist")
    assert len(items) == len(list(clauses()))
    assert all(item.get_closest_marker("xdist_group") is None for item in items)
