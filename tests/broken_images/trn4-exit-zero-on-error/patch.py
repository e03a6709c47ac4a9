"""TRN-4: a failed training run exits 0 (the job would be marked Completed).

The error is still logged and written to /opt/ml/output/failure; only the exit codes change.
"""

from edit import replace

replace(
    "/opt/program/train",
    "EXIT_OK, EXIT_USER_ERROR, EXIT_INTERNAL_ERROR = 0, 1, 2",
    "EXIT_OK, EXIT_USER_ERROR, EXIT_INTERNAL_ERROR = 0, 0, 0  # broken: errors are logged, then 'success'",
)
