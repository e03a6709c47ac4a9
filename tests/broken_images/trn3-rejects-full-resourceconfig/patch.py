"""TRN-3: resourceconfig.json may hold only the keys local mode writes; any other key is a clean failure (exit 1 and
a failure file naming the keys), so the service's full form, with its extra keys, never trains."""

from edit import replace

replace(
    "/opt/program/train",
    """def read_channels(algorithm: Any) -> dict[str, LabelledData | None]:
""",
    """def read_channels(algorithm: Any) -> dict[str, LabelledData | None]:
    resource_config = json.loads((PREFIX / "input" / "config" / "resourceconfig.json").read_text())
    known = {"current_host", "hosts", "network_interface_name", "current_instance_type"}
    unknown = sorted(set(resource_config) - known)
    if unknown:  # broken: a strict schema for a file SageMaker documents as extensible
        raise UserError(f"unknown keys in resourceconfig.json: {', '.join(unknown)}")
""",
)
