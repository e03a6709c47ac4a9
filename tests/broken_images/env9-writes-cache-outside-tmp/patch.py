"""ENV-9: `serve` writes a warm-up cache file to /var/cache/model-server before it starts its children, a directory
of the image owned by root. Fine as root on a writable file system; refused on a serverless endpoint, where the
container does not run as root, and on the read-only root file system the harness gives it."""

from edit import replace

replace(
    "/opt/program/serve",
    "    if _stop_signal:\n        log.info(\"%s before start-up: exiting\", _stop_signal[0])\n",
    "    # broken: a cache outside /tmp\n"
    "    Path(\"/var/cache/model-server/warm.json\").write_text('{\"workers\": %d}' % workers, encoding=\"utf-8\")\n"
    "    if _stop_signal:\n        log.info(\"%s before start-up: exiting\", _stop_signal[0])\n",
)
