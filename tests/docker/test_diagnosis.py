"""Diagnosis instead of cascades, on real images: when training gives no model, the serving clauses are judged on
the model the test-dir ships (and say so), rather than all skipping as "depends on TRN-1".

smc-broken/trn1-no-model trains and exits 0 without saving its model; the test-dir here is the decision-tree
test-dir plus a model/ folder that the reference image trained. Build the images first: scripts/build-images.sh,
then scripts/build-broken-images.sh trn1-no-model.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from conformance.trainings import TEST_DIR_MODEL_NOTE

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broken_images"))
import catalogue  # tests/broken_images/catalogue.py

pytestmark = pytest.mark.docker

IMAGE = "smc-broken/trn1-no-model:latest"
REFERENCE = "sagemaker-conformance/decision_trees:latest"
SKIPPED_WITH_TRN1 = {"TRN-2", "TRN-3", "TRN-6", "TRN-8", "TRN-9", "TRN-10", "TRN-11"}
"""Variants of a run that produced no model: nothing new to judge."""
NOT_CLAIMED = {"TRN-12", "TRN-13", "ENV-7", "ENV-8", "ENV-9", "SRV-21", "SRV-22", "SRV-23", "SRV-24", "SRV-25"}
NOT_CLAIMED |= {"SRV-26", "SRV-27", "ENV-10", "ENV-11", "ENV-12", "ENV-13"}
"""Capabilities the decision-tree image and test-dir do not claim (multi-host, resumable, multi-model, serverless,
one JSON document per request, streaming, bidirectional streaming, asynchronous endpoints)."""


def train_reference_model(test_dir: Path, destination: Path) -> None:
    """The reference image's model for ``test_dir``, through `docker cp` (no bind mount)."""
    created = catalogue.docker(
        "create", "--hostname", "algo-1", "--label", "sagemaker-conformance=1", REFERENCE, "train"
    )
    assert created.returncode == 0, created.stderr
    container = created.stdout.strip()
    try:
        # The image has no /opt/ml: `docker cp DIR container:/opt/ml` creates it as a copy of the test-dir.
        copied = catalogue.docker("cp", str(test_dir), f"{container}:/opt/ml")
        assert copied.returncode == 0, copied.stderr
        started = catalogue.docker("start", "--attach", container, timeout=300)
        assert started.returncode == 0, started.stdout + started.stderr
        out = catalogue.docker("cp", f"{container}:/opt/ml/model", str(destination))
        assert out.returncode == 0, out.stderr
    finally:
        catalogue.docker("rm", "-f", container)


def test_serving_is_judged_on_the_test_dirs_model_when_training_gives_none(tmp_path: Path) -> None:
    for image in (IMAGE, REFERENCE):
        if catalogue.docker("image", "inspect", image).returncode != 0:
            pytest.fail(f"{image} is not built: see this module's docstring", pytrace=False)
    test_dir = tmp_path / "test-dir"
    shutil.copytree(catalogue.ROOT / "test-dirs" / "decision_trees", test_dir)
    train_reference_model(test_dir, test_dir / "model")
    assert any((test_dir / "model").iterdir())

    (tmp_path / "run").mkdir()
    run = catalogue.certify(IMAGE, str(test_dir), tmp_path / "run")
    assert run.report is not None, run.output[-4000:]
    clauses = run.clauses
    assert clauses["TRN-1"]["verdict"] == "fail"
    for clause_id, clause in clauses.items():
        if clause_id in SKIPPED_WITH_TRN1:
            assert clause["verdict"] == "skip", (clause_id, clause["reason"])
            assert clause["depends_on"] == "TRN-1", (clause_id, clause["reason"])
        elif clause_id in NOT_CLAIMED:
            assert clause["verdict"] == "skip", (clause_id, clause["reason"])
        elif clause_id != "TRN-1":
            assert clause["verdict"] == "pass", (clause_id, clause["reason"])
    served = [c for c in clauses if c.startswith(("SRV-", "ENV-")) and TEST_DIR_MODEL_NOTE in clauses[c]["notes"]]
    assert {"SRV-2", "SRV-3", "SRV-4"} <= set(served), served
