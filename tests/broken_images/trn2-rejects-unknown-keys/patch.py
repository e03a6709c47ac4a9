"""TRN-2: unknown hyperparameters are an error, so tuning jobs (`_tuning_objective_metric`) and framework
estimators (`sagemaker_*`) fail. The failure is clean: exit 1 and a failure file naming the keys."""

from edit import replace

replace(
    "/opt/program/train",
    """    if ignored:
        log.info("ignoring hyperparameters this algorithm does not use: %s", ", ".join(ignored))""",
    """    if ignored:  # broken: strict validation
        raise UserError(f"unknown hyperparameters: {', '.join(ignored)}")""",
)
