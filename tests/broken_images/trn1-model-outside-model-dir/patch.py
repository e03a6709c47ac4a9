"""TRN-1: the model goes to /opt/ml/output/data (SM_OUTPUT_DATA_DIR), not /opt/ml/model (SM_MODEL_DIR).

SageMaker uploads /opt/ml/model as model.tar.gz; /opt/ml/output/data becomes output.tar.gz, which no
endpoint ever loads.
"""

from edit import replace

replace(
    "/opt/program/train",
    "MODEL_DIR = Path(_MODEL_DIR)",
    'MODEL_DIR = PREFIX / "output" / "data"  # broken: the output data directory, not the model directory',
)
