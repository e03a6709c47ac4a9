"""Right verdicts on the images teams ship: the harness against the ecosystem corpus (tests/ecosystem).

Each corpus image is built the way its ecosystem builds it (scripts/build-ecosystem-images.sh) and
certified with its own test-dir and policy, as a user runs the harness; every clause's verdict must be the
one pinned in tests/ecosystem/corpus.toml. A pin may record that today's harness is known to give another
verdict (`today`, with the issue): the test then expects that verdict as a known failure of the harness
(xfail), and fails as soon as the harness judges the clause right, so that the pin is updated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "broken_images"))
sys.path.insert(0, str(TESTS / "ecosystem"))
import catalogue  # tests/broken_images/catalogue.py  # noqa: E402
import corpus  # tests/ecosystem/corpus.py  # noqa: E402

pytestmark = pytest.mark.docker

IMAGES = corpus.load()


@pytest.mark.parametrize("image", IMAGES, ids=[i.name for i in IMAGES])
def test_corpus_image_gets_its_pinned_verdicts(image: corpus.Image, tmp_path: Path) -> None:
    if catalogue.layers(image.image) is None:
        pytest.fail(f"{image.image} is not built: run scripts/build-ecosystem-images.sh {image.name}", pytrace=False)
    run = catalogue.certify(image.image, image.test_dir, tmp_path, image.options)
    if run.report is None:
        pytest.fail(f"no JSON report (exit code {run.returncode}):\n{run.output[-4000:]}", pytrace=False)
    result = corpus.compare(image, run.report)
    problems = result.mismatches + result.fixed
    if problems:
        lines = [f"{image.image}: the harness's verdicts differ from tests/ecosystem/corpus.toml:"]
        pytest.fail("\n".join(lines + [f"  - {p}" for p in problems]), pytrace=False)
    if result.known_wrong:
        pytest.xfail("today's harness is known to judge these clauses wrong: " + "; ".join(result.known_wrong))


def test_corpus_table_is_complete() -> None:
    """Every corpus image has its folder, and pins every clause of the registry, each with a reason."""
    from conformance.registry import clauses

    known = {c.id for c in clauses()}
    for image in IMAGES:
        folder = corpus.HERE / image.name
        assert (folder / "Dockerfile").is_file(), f"{image.name}: no Dockerfile"
        assert (folder / "test-dir").is_dir(), f"{image.name}: no test-dir"
        assert image.packages, f"{image.name}: no package versions"
        assert set(image.pins) == known, f"{image.name}: pins differ from the registry: {set(image.pins) ^ known}"
        for pin in image.pins.values():
            assert pin.verdict == "pass" or pin.reason, f"{image.name} {pin.clause}: {pin.verdict} without a reason"
            assert not pin.today or pin.today != pin.expected, f"{image.name} {pin.clause}: `today` equals the pin"


def test_twins_in_the_catalogue() -> None:
    """Each corpus image has a broken twin in the catalogue, built on it, with the corpus's test-dir."""
    twins = {e.base: e for e in catalogue.load() if e.base}
    for image in IMAGES:
        assert image.image in twins, f"{image.name}: no catalogue entry with base = {image.image!r}"
        assert twins[image.image].test_dir == image.test_dir, f"{image.name}: its twin uses another test-dir"
