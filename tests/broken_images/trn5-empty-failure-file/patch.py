"""TRN-5: a failed run touches /opt/ml/output/failure but writes nothing in it (the cause goes to stderr
only), so FailureReason would be empty. The exit code stays non-zero (TRN-4 holds)."""

from edit import replace

replace(
    "/opt/program/train",
    "        partial.write_text(text, encoding=\"utf-8\")\n",
    "        partial.write_text(\"\", encoding=\"utf-8\")  # broken: an empty failure file\n",
)
