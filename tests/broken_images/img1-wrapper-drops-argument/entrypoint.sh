#!/bin/sh
# Called by a wrapper ENTRYPOINT that drops its arguments: the `train`/`serve` argument is lost, so guess the mode.
if [ -d /opt/ml/input/config ]; then
    exec train
fi
exec serve
