# Sourced by the project's own commands (certify.sh, test.sh) after bootstrap.sh: testcontainers' reaper (Ryuk)
# stays on, as the user set it, when the engine has or can pull its image. Only when it cannot (a machine with no
# registry) is it turned off for this command, saying so: the harness removes its own containers by label anyway.
# The plugin itself never changes the setting (it is shared with the user's own testcontainers tests).
if [ -z "${TESTCONTAINERS_RYUK_DISABLED+set}" ]; then
  ryuk_image=$("${SMC_VENV:-$root/.venv}/bin/python" -c \
    "from testcontainers.core.config import testcontainers_config as c; print(c.ryuk_image)")
  if ! docker image inspect "$ryuk_image" >/dev/null 2>&1 && ! timeout 120 docker pull -q "$ryuk_image" >/dev/null 2>&1; then
    echo "note: the engine cannot provide testcontainers' reaper image $ryuk_image: TESTCONTAINERS_RYUK_DISABLED=true for this run (the harness removes its own containers by label)" >&2
    export TESTCONTAINERS_RYUK_DISABLED=true
  fi
fi
