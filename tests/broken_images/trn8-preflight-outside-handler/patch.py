"""TRN-8: before training, a pre-flight opens every entry of every channel to sniff its first line.

It runs outside the error handling that writes /opt/ml/output/failure, so a nested folder in a channel
(as S3 prefixes often hold) crashes training with IsADirectoryError and no failure file. Empty channels
still fail cleanly (TRN-4 and TRN-5 hold), and plain channels train.
"""

from edit import replace

replace(
    "/opt/program/train",
    """    outcome: list[BaseException] = []
""",
    """    outcome: list[BaseException] = []
    for channel_dir in sorted(DATA_DIR.iterdir()):  # broken: a pre-flight outside the failure handler
        for entry in sorted(channel_dir.iterdir()):
            with open(entry, encoding="utf-8", errors="replace") as sniffed:
                log.info("%s starts with %r", entry, sniffed.readline()[:40])
""",
)
