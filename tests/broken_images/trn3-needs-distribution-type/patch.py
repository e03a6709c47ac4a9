"""TRN-3: training reads S3DistributionType from inputdataconfig.json for every channel.

The service's full form has it; local mode's minimal form ({"TrainingInputMode": "File"}) does not, and
training dies with a KeyError.
"""

from edit import replace

replace(
    "/opt/program/train",
    """def read_channels(algorithm: Any) -> dict[str, LabelledData | None]:
""",
    """def read_channels(algorithm: Any) -> dict[str, LabelledData | None]:
    data_config = json.loads((PREFIX / "input" / "config" / "inputdataconfig.json").read_text())
    for name, channel_config in data_config.items():  # broken: assumes the service's full form
        log.info("channel %s: %s", name, channel_config["S3DistributionType"])
""",
)
