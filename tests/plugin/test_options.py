"""The plugin's options and usage errors: --help, ini keys, markers, bad values, the target factory, a test-dir that
is missing or wrong, and a session that certifies nothing (the plugin stays out of its way).

Most tests run on the unit tests' fake engine (``--target-factory=unit.faketarget:connect``; pytest puts tests/ on
sys.path for these tests): options need no engine. tests/plugin/test_collection.py has the test ids and selection,
tests/plugin/test_verdicts.py how a verdict reads and the runs on the Docker engine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import __version__
from conformance.plugin import SUITE

from .runs import BASE_IMAGE, GOOD, usage_error, write_test_dir

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
