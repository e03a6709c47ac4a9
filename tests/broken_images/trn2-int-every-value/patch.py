"""TRN-2: every hyperparameter value is converted with int() before use.

The test-dir's own values ("20") survive, but the keys that tuning jobs and framework estimators add
(`_tuning_objective_metric`, and JSON-encoded strings such as `sagemaker_job_name = "\\"name\\""`)
raise ValueError, and the job fails.
"""

from edit import replace

replace(
    "/opt/program/train",
    "    values: dict[str, Any] = {}\n",
    "    raw = {key: str(int(value)) for key, value in raw.items()}  # broken: 'all my hyperparameters are ints'\n"
    "    values: dict[str, Any] = {}\n",
)
