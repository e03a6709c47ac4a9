"""The image's ENTRYPOINT: `serve` starts the model server; any other command runs as given."""

from __future__ import annotations

import shlex
import subprocess
import sys

if sys.argv[1:2] == ["serve"]:
    from iris_serving import serving

    serving.main()
else:
    sys.exit(subprocess.call(shlex.split(" ".join(sys.argv[1:]))))
