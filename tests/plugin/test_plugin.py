"""The pytest plugin as a user meets it: options, markers, test ids, the report header and every usage error.

Nothing here starts a container. Most tests give the plugin the unit tests' fake engine
(``--target-factory=unit.checkfakes:FakeEngine``; pytest puts tests/ on sys.path for these tests): collection, test
ids, options, selection and reports need no engine. Tests marked ``docker`` are where the engine is the point:
connecting to it, inspecting a local image and never pulling one, the header naming it, one real certification from
start to report. ``sagemaker-conformance/base:bookworm-py3.11`` (scripts/build-base.sh) is their image: they never
run it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import docker
import docker.errors
import jsonschema
import pytest
from unit.checkfakes import FakeEngine

from conformance import __version__
from conformance.plugin import SUITE
from conformance.registry import clauses

BASE_IMAGE = "sagemaker-conformance/base:bookworm-py3.11"
ROOT = Path(__file__).parents[2]
GOOD = "fake/good:1"
"""An image of the fake engine (tests/unit/checkfakes.py, FAKE_IMAGES) that keeps every clause."""
OPTIONS = (
    "--image",
    "--test-dir",
    "--startup-timeout",
    "--train-timeout",
    "--platform",
    "--max-examples",
    "--property-budget",
    "--conformance-report",
    "--target-factory",
)
INI_KEYS = (
    "conformance_images",
    "conformance_test_dirs",
    "conformance_startup_timeout",
    "conformance_train_timeout",
    "conformance_platform",
    "conformance_max_examples",
    "conformance_property_budget",
    "conformance_report",
    "conformance_target_factory",
)
CLAUSES = list(clauses())


def write_test_dir(root: Path, policy: str | None = None) -> Path:
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "config" / "hyperparameters.json").write_text('{"max_depth": "3"}')
    (root / "input" / "data" / "training").mkdir(parents=True)
    (root / "input" / "data" / "training" / "iris.csv").write_text("0,5.1,3.5,1.4,0.2\n1,6.2,2.9,4.3,1.3\n")
    (root / "payload.csv").write_text("5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n")
    if policy is not None:
        (root / "conformance.toml").write_text(policy)
    return root


@pytest.fixture
def test_dir(pytester: pytest.Pytester) -> Path:
    return write_test_dir(pytester.path / "iris")


@pytest.fixture
def fake(pytester: pytest.Pytester) -> str:
    """The option that gives the plugin the fake engine (tests/unit/checkfakes.py), importable as this module imports
    it."""
    pytester.syspathinsert(ROOT / "tests")
    return "--target-factory=unit.checkfakes:FakeEngine"


@pytest.fixture(scope="module")
def engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except docker.errors.DockerException as error:
        pytest.fail(f"these tests need the Docker engine (scripts/ensure-docker.sh): {error}")
    return client


@pytest.fixture(scope="module")
def base_image(engine: docker.DockerClient) -> str:
    try:
        engine.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{BASE_IMAGE} is not in the engine's image store: run scripts/build-base.sh")
    return BASE_IMAGE


def usage_error(result: pytest.RunResult) -> str:
    """The one error a usage mistake prints: exit code 4, a single ERROR line of plain text, no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    output = "\n".join(result.outlines + result.errlines)
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.errlines
    return output[output.index("ERROR:") :].strip()


# --- help, ini keys and markers: no engine needed -----------------------------------------------------------------


def test_help_shows_the_option_group_and_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == 0
    text = result.stdout.str()
    group = text.index("SageMaker bring-your-own-container conformance:")
    section = text[group : text.index("\n\n", group)]
    for option in OPTIONS:
        assert re.search(rf"^\s+{option}=", section, re.MULTILINE), f"{option} is not in the group:\n{section}"
    assert "Never pulled." in section
    assert "0 turns generation off" in section


def test_help_lists_every_ini_key(pytester: pytest.Pytester) -> None:
    text = pytester.runpytest("--help").stdout.str()
    for key in INI_KEYS:
        assert re.search(rf"^\s+{key} \(", text, re.MULTILINE), f"ini key {key} is not in --help"


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.clause(id, level): the clause a conformance test certifies.",
            "@pytest.mark.conformance: a conformance test generated from the clause registry.",
        ]
    )
    # The repository's own markers are its pyproject.toml's business, not every user's run.
    assert "@pytest.mark.docker" not in result.stdout.str()
    assert "@pytest.mark.xdist_group(name): pytest-xdist's grouping" not in result.stdout.str()


def test_strict_markers_accepts_the_plugins_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.conformance
        @pytest.mark.clause(id="IMG-1", level="MUST")
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    pytester.makepyfile(test_typo="import pytest\n\n@pytest.mark.dockr\ndef test_x():\n    pass\n")
    result = pytester.runpytest("--strict-markers", "test_typo.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'dockr' not found in `markers` configuration option*"])


def test_without_an_image_the_suite_is_one_skip_that_says_how(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(str(SUITE), "-rs")
    result.assert_outcomes(skipped=1)
    assert "no --image given: run `pytest --image=IMAGE [--test-dir=DIR]` to certify an image" in result.stdout.str()


def test_without_an_image_the_plugin_stays_out_of_the_way(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ordinary():\n    pass\n")
    # Options only matter with --image: the target factory is not even imported.
    result = pytester.runpytest("--startup-timeout=abc", "--target-factory=no_such_module:connect")
    result.assert_outcomes(passed=1)
    assert f"sagemaker-conformance {__version__}:" not in result.stdout.str(), "no engine, no header"


USERS_OWN_TEST = """
import os

from testcontainers.core.config import testcontainers_config


def test_users_own_testcontainers_test_keeps_its_reaper_setting():
    expected = os.environ.get("EXPECTED_RYUK")
    assert os.environ.get("TESTCONTAINERS_RYUK_DISABLED") == expected
    assert testcontainers_config.ryuk_disabled is (expected == "true")
"""


@pytest.mark.parametrize("setting", [None, "false", "true"])
def test_a_session_that_certifies_nothing_leaves_the_reaper_setting_alone(
    setting: str | None, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's own testcontainers tests keep Ryuk as they configured it (unset means on) with the plugin
    installed: it sets no environment variable in a session that certifies nothing."""
    for name in ("TESTCONTAINERS_RYUK_DISABLED", "EXPECTED_RYUK"):
        if setting is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, setting)
    pytester.makepyfile(test_own=USERS_OWN_TEST)
    result = pytester.runpytest_subprocess("test_own.py")
    result.assert_outcomes(passed=1)


# --- bad values: validated before the engine is asked anything ----------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("--startup-timeout=abc", "Invalid --startup-timeout 'abc': expected a number."),
        ("--startup-timeout=0", "Invalid --startup-timeout '0': must be at least 1."),
        ("--train-timeout=ten", "Invalid --train-timeout 'ten': expected a number."),
        ("--max-examples=-1", "Invalid --max-examples '-1': must be at least 0."),
        ("--max-examples=2.5", "Invalid --max-examples '2.5': expected a number."),
        ("--property-budget=-1", "Invalid --property-budget '-1': must be at least 0."),
        ("--clause=SRV-99", "Invalid --clause: no such clause: SRV-99 (known: IMG-1, "),
    ],
)
def test_bad_values_are_usage_errors(argument: str, message: str, pytester: pytest.Pytester) -> None:
    monkeypatched = pytester.runpytest("--image=never/inspected:1", argument)
    assert usage_error(monkeypatched).startswith(f"ERROR: {message}")


def test_bad_ini_values_name_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nconformance_images = never/inspected:1\nconformance_max_examples = many\n")
    assert (
        usage_error(pytester.runpytest())
        == "ERROR: Invalid ini key conformance_max_examples 'many': expected a number."
    )


def test_unreachable_engine_is_one_clear_error(
    pytester: pytest.Pytester, test_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    result = pytester.runpytest_subprocess(f"--image={BASE_IMAGE}", f"--test-dir={test_dir}", "--collect-only")
    message = usage_error(result)
    assert message.startswith("ERROR: No Docker engine answers at tcp://127.0.0.1:9: ")
    assert "Start one" in message
    assert "point DOCKER_HOST at a running engine" in message


# --- images and test-dirs: on the fake engine -------------------------------------------------------------------


def test_an_image_the_engine_does_not_hold_is_one_clear_error(
    pytester: pytest.Pytester, fake: str, test_dir: Path
) -> None:
    result = pytester.runpytest(fake, "--image=fake/no-such-image:1", f"--test-dir={test_dir}", "--collect-only")
    message = usage_error(result)
    assert message.startswith("ERROR: Image 'fake/no-such-image:1' is not in the fake engine")


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        ("conformance.plugin", "expected MODULE:CALLABLE."),
        ("no_such_module:connect", "cannot import no_such_module: No module named 'no_such_module'"),
        ("conformance.plugin:no_such_callable", "conformance.plugin has no callable no_such_callable."),
    ],
)
def test_a_bad_target_factory_is_a_usage_error(factory: str, message: str, pytester: pytest.Pytester) -> None:
    output = usage_error(pytester.runpytest(f"--image={GOOD}", f"--target-factory={factory}", "--collect-only"))
    assert output == f"ERROR: Invalid --target-factory {factory!r}: {message}"


def test_missing_test_dir_is_one_clear_error(pytester: pytest.Pytester, fake: str) -> None:
    missing = pytester.path / "no-such-dir"
    message = usage_error(pytester.runpytest(fake, f"--image={GOOD}", f"--test-dir={missing}", "--collect-only"))
    assert message == f"ERROR: --test-dir {missing} is not a directory. Point it at a folder shaped like /opt/ml."


def test_malformed_test_dir_is_one_clear_error(pytester: pytest.Pytester, fake: str) -> None:
    root = write_test_dir(pytester.path / "bad", policy='profile = "serve"\n')
    message = usage_error(pytester.runpytest(fake, f"--image={GOOD}", f"--test-dir={root}", "--collect-only"))
    assert "profile = 'serve' is not one of train+serve, serve-only, train-only." in message


def test_a_must_clause_cannot_be_waived(pytester: pytest.Pytester, fake: str) -> None:
    root = write_test_dir(pytester.path / "waives", policy='[waive]\nSRV-4 = "we do not count records"\n')
    message = usage_error(pytester.runpytest(fake, f"--image={GOOD}", f"--test-dir={root}", "--collect-only"))
    assert "waives SRV-4, which is MUST: only a SHOULD can be downgraded." in message


def test_no_test_dir_for_an_unknown_image_name(pytester: pytest.Pytester, fake: str) -> None:
    message = usage_error(pytester.runpytest(fake, f"--image={GOOD}", "--collect-only"))
    assert f"No --test-dir for image {GOOD!r}, and {pytester.path / 'test-dirs' / 'good'} does not exist." in message


def test_test_dir_count_must_match(pytester: pytest.Pytester, fake: str, test_dir: Path) -> None:
    args = [fake, f"--image={GOOD}", f"--image={GOOD}", f"--image={GOOD}"]
    result = pytester.runpytest(*args, f"--test-dir={test_dir}", f"--test-dir={test_dir}", "--collect-only")
    assert "Give one --test-dir for all images or one per --image: got 2 for 3 images." in usage_error(result)


def collected(result: pytest.RunResult) -> list[str]:
    assert result.ret == pytest.ExitCode.OK, result.outlines + result.errlines
    return [line for line in result.outlines if "::test_clause[" in line]


def short_id(reference: str) -> str:
    """How the header shortens the id the fake engine gives ``reference``."""
    return FakeEngine().inspect(reference).id[7:19]


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


def clause_ids(result: pytest.RunResult) -> list[str]:
    return [re.search(r"-([A-Z]{3}-\d+)-[A-Z]+\]$", line).group(1) for line in collected(result)]  # type: ignore[union-attr]


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


# --- how a verdict reads ------------------------------------------------------------------------------------------


def test_a_conformance_failure_reads_as_its_rendering(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from conformance.failures import ConformanceFailure, Section, Violation

        def test_clause():
            raise ConformanceFailure(
                "SRV-6", "SHOULD", "An unsupported Content-Type gets a 4xx",
                [Violation("Content-Type 'image/png' was not rejected", expected="a 4xx", actual="200 OK")],
                sections=[Section("serving container 'default' logs", "GET /ping 200")],
                reproduce=["docker run --rm -p 8080:8080 IMAGE serve"],
            )
        """
    )
    result = pytester.runpytest("-rf")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert (
        "SRV-6 [SHOULD] An unsupported Content-Type gets a 4xx\n\nContent-Type 'image/png' was not rejected" in output
    )
    assert "    Expected: a 4xx\n    Actual:   200 OK" in output
    assert "Reproduce with:\n    docker run --rm -p 8080:8080 IMAGE serve" in output
    result.stdout.fnmatch_lines(["*- serving container 'default' logs -*", "GET /ping 200"])
    assert "raise ConformanceFailure" not in output, "no traceback of the harness"
    result.stdout.fnmatch_lines(["FAILED *::test_clause - S*"])  # the headline, cut to the terminal width


SCHEMA = json.loads((Path(__file__).parents[2] / "conformance" / "report.schema.json").read_text())


def test_a_certification_on_the_fake_engine_writes_its_reports(
    pytester: pytest.Pytester, fake: str, test_dir: Path
) -> None:
    """A run from start to report on the fake: SRV-11 fails on an image that ignores SIGTERM, with the failure, the
    summary, and the JSON and HTML reports as a real run writes them."""
    reports = pytester.path / "reports"
    image = "fake/ignores-sigterm:1"
    args = [fake, f"--image={image}", f"--test-dir={test_dir}", "--clause=SRV-11", f"--conformance-report={reports}"]
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=5, failed=1)
    output = result.stdout.str()
    assert "SRV-11 [MUST] " in output
    assert "The server ignored SIGTERM and was killed by SIGKILL after 30 s" in output
    assert "fake-engine stop --grace 30 sigterm" in output, "the target renders 'Reproduce with'"
    assert "Traceback" not in output
    result.stdout.fnmatch_lines(["*= sagemaker-conformance summary =*", f"{image}: FAILED - 5 passed, 1 failed, *"])
    document = json.loads((reports / "fake_ignores-sigterm_1.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["verdict"] == "failed"
    assert [c["id"] for c in document["clauses"]] == ["IMG-1", "TRN-1", "SRV-1", "SRV-2", "SRV-3", "SRV-11"]
    result.stdout.fnmatch_lines([f"  HTML report: {reports / 'fake_ignores-sigterm_1.html'}"])


# --- with the Docker engine: where the engine is the point -------------------------------------------------------


@pytest.mark.docker
def test_unknown_image_is_one_clear_error_and_never_pulled(
    pytester: pytest.Pytester, test_dir: Path, engine: docker.DockerClient
) -> None:
    reference = "sagemaker-conformance/no-such-image:never-built"
    result = pytester.runpytest(f"--image={reference}", f"--test-dir={test_dir}", "--collect-only")
    message = usage_error(result)
    assert f"Image {reference!r} is not in the engine's image store" in message
    assert "the harness never pulls" in message
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(reference)


@pytest.mark.docker
def test_report_header_names_image_test_dir_and_docker_version(
    pytester: pytest.Pytester, base_image: str, test_dir: Path, engine: docker.DockerClient
) -> None:
    result = pytester.runpytest(f"--image={base_image}", f"--test-dir={test_dir}", "--collect-only")
    assert result.ret == pytest.ExitCode.OK
    version = engine.version()
    image = engine.images.get(base_image)
    result.stdout.fnmatch_lines(
        [
            f"sagemaker-conformance {__version__}: Docker {version['Version']} (API {version['ApiVersion']}, *",
            f"  image {base_image} ({image.id[7:19]}, linux/amd64) with test-dir {test_dir} [profile train+serve]",
        ]
    )


@pytest.mark.docker
def test_a_static_clause_certified_end_to_end(pytester: pytest.Pytester, base_image: str, test_dir: Path) -> None:
    """IMG-2 reads only the image's config: a real run on the default (Docker) target, start to report, that starts
    no container."""
    reports = pytester.path / "reports"
    args = [f"--image={base_image}", f"--test-dir={test_dir}", "-k", "IMG-2", f"--conformance-report={reports}"]
    passed = pytester.runpytest(*args)
    passed.assert_outcomes(passed=1, deselected=len(CLAUSES) - 1)
    passed.stdout.fnmatch_lines(
        [
            "*= sagemaker-conformance summary =*",
            f"{base_image}: PASSED - 1 passed, 0 failed, 0 warned, 0 skipped, 0 containers",
        ]
    )
    document = json.loads((reports / "sagemaker-conformance_base_bookworm-py3.11.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert (document["verdict"], [c["id"] for c in document["clauses"]]) == ("passed", ["IMG-2"])
    assert document["test_dir"] == str(test_dir)
    assert document["timeline"]["containers"] == []  # IMG-2 starts no container
    page = reports / "sagemaker-conformance_base_bookworm-py3.11.html"
    passed.stdout.fnmatch_lines([f"  HTML report: {page}"])
    assert 'data-verdict="certified"' in page.read_text()

    failed = pytester.runpytest(*args, "--platform=linux/arm64")
    failed.assert_outcomes(failed=1, deselected=len(CLAUSES) - 1)
    output = failed.stdout.str()
    assert "IMG-2 [MUST] The image's platform is the one SageMaker runs" in output
    assert "    Expected: linux/arm64\n    Actual:   linux/amd64" in output
    assert "Traceback" not in output
    failed.stdout.fnmatch_lines([f"{base_image}: FAILED - 0 passed, 1 failed, *"])
    document = json.loads((reports / "sagemaker-conformance_base_bookworm-py3.11.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["verdict"] == "failed"
    assert document["clauses"][0]["evidence"].startswith("IMG-2 [MUST]")
