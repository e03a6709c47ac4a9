"""TRN-9: training lists /opt/ml/input/config and refuses any file but hyperparameters.json,
inputdataconfig.json and resourceconfig.json, so a job with checkpoints or the debugger turned on fails. The
failure is clean: exit 1 and a failure file naming the files."""

from edit import replace

replace(
    "/opt/program/train",
    """    log.info("algorithm %s; reading %s", algorithm.NAME, PREFIX / "input")
""",
    """    log.info("algorithm %s; reading %s", algorithm.NAME, PREFIX / "input")
    # broken: a strict allow-list of config files
    known = {"hyperparameters.json", "inputdataconfig.json", "resourceconfig.json"}
    unexpected = sorted(p.name for p in HYPERPARAMETERS_FILE.parent.iterdir() if p.name not in known)
    if unexpected:
        raise UserError(f"unexpected files in {HYPERPARAMETERS_FILE.parent}: {', '.join(unexpected)}")
""",
)
