"""TRN-13: before fitting, training runs six half-second steps and writes /opt/ml/checkpoints/step-<n>.ckpt after
each, but never looks at the folder when it starts: a run on an earlier run's checkpoints starts over at step 0.
Everything else trains as the reference image does (3 s later)."""

from edit import replace

replace(
    "/opt/program/train",
    """    hp = read_hyperparameters(algorithm)
""",
    """    hp = read_hyperparameters(algorithm)
    # broken: checkpoints are written, never read
    checkpoints = PREFIX / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    for step in range(6):
        time.sleep(0.5)
        (checkpoints / f"step-{step}.ckpt").write_text(f"{step}\\n", encoding="utf-8")
        log.info("step %d: checkpoint written", step)
""",
)
