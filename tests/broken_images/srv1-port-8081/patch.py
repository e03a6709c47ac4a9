"""SRV-1: the default port is 8081, not 8080. SAGEMAKER_BIND_TO_PORT still moves the listener (ENV-5 holds)."""

from edit import replace

replace("/opt/program/serve", "DEFAULT_PORT = 8080", "DEFAULT_PORT = 8081  # broken: SageMaker calls 8080")
