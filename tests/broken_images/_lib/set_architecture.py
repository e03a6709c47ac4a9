"""Give a local image another architecture in its config, without rebuilding or copying its layers.

    python3 set_architecture.py SOURCE TARGET ARCH      e.g. smc-broken/x:amd64-build smc-broken/x:latest arm64

The IMG-2 catalogue image is an amd64 image whose config claims linux/arm64, as an image built on an Apple
Silicon laptop does: SageMaker would fail it ("exec format error"), while on this amd64 engine its binaries
still run, so every other check runs normally. TARGET gets SOURCE's config (from `docker image inspect`)
with the new architecture and a label naming SOURCE's image ID, and is loaded with `docker load` from a tar
that holds only the manifest and the config: the engine already has every layer, so nothing is copied.
Idempotent: when TARGET already carries that label for the current SOURCE, nothing happens.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile

SOURCE_LABEL = "org.sagemaker-conformance.broken.rewritten-from"
VARIANTS = {"arm64": "v8"}


def inspect(reference: str) -> dict | None:
    done = subprocess.run(["docker", "image", "inspect", reference], capture_output=True, text=True)
    return json.loads(done.stdout)[0] if done.returncode == 0 else None


def config_for(source: dict, architecture: str) -> dict:
    config = dict(source["Config"])
    config["Labels"] = {**(config.get("Labels") or {}), SOURCE_LABEL: source["Id"]}
    document = {
        "architecture": architecture,
        "os": source["Os"],
        "created": source["Created"],
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": source["RootFS"]["Layers"]},
    }
    if architecture in VARIANTS:
        document["variant"] = VARIANTS[architecture]
    return document


def load(config: dict, target: str) -> None:
    raw = json.dumps(config, sort_keys=True).encode()
    name = hashlib.sha256(raw).hexdigest() + ".json"
    layers = [f"layer{index}/layer.tar" for index in range(len(config["rootfs"]["diff_ids"]))]
    manifest = json.dumps([{"Config": name, "RepoTags": [target], "Layers": layers}]).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for member_name, data in ((name, raw), ("manifest.json", manifest)):
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    subprocess.run(["docker", "load", "-q"], input=buffer.getvalue(), check=True, stdout=subprocess.DEVNULL)


def main(source_ref: str, target_ref: str, architecture: str) -> int:
    source = inspect(source_ref)
    if source is None:
        print(f"set_architecture: no image {source_ref}", file=sys.stderr)
        return 1
    current = inspect(target_ref)
    if (
        current is not None
        and current.get("Architecture") == architecture
        and (current["Config"].get("Labels") or {}).get(SOURCE_LABEL) == source["Id"]
    ):
        return 0
    load(config_for(source, architecture), target_ref)
    result = inspect(target_ref)
    if result is None or result.get("Architecture") != architecture:
        print(f"set_architecture: {target_ref} did not come out as {architecture}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
