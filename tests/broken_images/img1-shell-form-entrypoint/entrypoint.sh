#!/bin/sh
# Called from a shell-form ENTRYPOINT: the `train`/`serve` argument is lost, so guess the mode.
if [ -d /opt/ml/input/config ]; then
    exec train
fi
exec serve
