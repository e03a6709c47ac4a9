"""How a verdict reads: a failure as its rendering, a certification from start to report on the fake engine, and the
Docker engine where it is the point (an image never pulled, the header naming it, one real run that starts no
container). ``sagemaker-conformance/base:bookworm-py3.11`` (scripts/build-base.sh) is the Docker tests' image: they
never run it."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import docker.errors
import jsonschema
import pytest

from conformance import __version__

from .runs import CLAUSES, SCHEMA, usage_error

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
