"""Probing a wrapper ENTRYPOINT: does ``docker run IMAGE train`` reach a program called as ``train``?

A shell ``-c`` ENTRYPOINT with arguments after its script (``["/bin/bash", "-c", "source activate env && exec
\"$@\"", "--"]``) gets ``train`` as ``$1``; whether it passes it on is up to the script, which the configuration
cannot tell. So the harness runs the image as SageMaker does, with one change: a stub ``train`` and ``serve``
come first on PATH. A wrapper that passes the argument through (``exec "$@"``, or ``"$@"``) runs the stub, which
prints its name and arguments and exits at once; the probe is then over in about a second, before any of the
image's own code beyond the wrapper has run. The stub is copied into the container before it starts (no bind
mount, so a remote engine works) and the container has no network.

Why a stub on PATH rather than reading the script: the script may source other files, call functions, or build
the command in a variable; only running it tells. Why not the real ``train``: a script that ignores its argument
and guesses the mode (training jobs have ``/opt/ml/input/config``) reaches the real program too, so that would
not tell passing the argument from swallowing it.

Both stubs are on PATH in each probe, and each probe's surroundings point the other way: the ``train`` probe has no
``/opt/ml``, the ``serve`` probe has an empty ``/opt/ml/input/config``. A script that ignores its argument and
guesses the mode from them (training jobs have ``/opt/ml/input/config``) then runs the other stub, and fails at
once, instead of passing by luck.

A wrapper that hands the argument to a program by absolute path (``exec python /app/main.py "$@"``), or that
resets PATH and so runs the real ``train``, never runs the stub; while the probe waits, the container's process
table (``docker top``, read by the engine, so the image needs no ``ps``) shows that program with ``train`` among
its arguments, or a program named ``train``, and that passes too. Anything else is
stopped after :data:`PROBE_BUDGET_S`, so the probe is bounded whatever the wrapper does.

This module holds the stubs and what their traces mean; a target runs the probe
(:func:`conformance.targets.docker.entrypoint.probe_argument` on Docker).
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

SHELLS: Final = frozenset({"sh", "bash", "dash", "ash", "zsh"})


def shell_c(entrypoint: Sequence[str]) -> bool:
    """The ENTRYPOINT is a shell running a ``-c`` script (shell form, or a wrapper)."""
    return len(entrypoint) > 1 and posixpath.basename(entrypoint[0]) in SHELLS and entrypoint[1] == "-c"


def reads_dollar_zero(script: Sequence[str]) -> bool:
    """The `-c` script reads `$0`, where a shell-form ENTRYPOINT puts the argument (`exec "$0" "$@"` passes it on)."""
    return any("$0" in part or "${0" in part for part in script)


def drops_argument(entrypoint: Sequence[str]) -> bool:
    """A shell-form ENTRYPOINT (nothing after the script) whose script never reads `$0`: ``train``/``serve`` can
    reach no program, whatever the script does (IMG-1's static verdict)."""
    return shell_c(entrypoint) and len(entrypoint) <= 3 and not reads_dollar_zero(entrypoint[2:])


def shell_wrapper(entrypoint: Sequence[str]) -> bool:
    """A shell ``-c`` ENTRYPOINT that may pass the argument on: only running it tells (:func:`probe_argument`)."""
    return shell_c(entrypoint) and not drops_argument(entrypoint)


PROBE_BUDGET_S: Final = 15.0
"""How long a wrapper may take to reach the stub: activating a conda environment takes a second or two; a
wrapper still busy after this is running something else."""
STUB_DIR: Final = "/smc-entrypoint-probe"
STUB_MARK: Final = "smc-entrypoint-probe"


@dataclass(frozen=True)
class ArgumentProbe:
    """What became of ``argument`` when the image ran with it."""

    argument: str
    reached: bool
    """The stub ran under the argument's name (the wrapper exec'd or ran ``argument`` through PATH)."""
    via: str
    """How it was reached: the stub's own report, or the process that had the argument."""
    seconds: float
    exit_code: int | None
    """None when the container was still running at the end of the probe (then it was stopped)."""
    logs: str
    processes: tuple[str, ...]
    """The command lines last seen in the container (``docker top``)."""
    reproduce: tuple[str, ...]
    other: str = ""
    """The other stub's name when the wrapper ran that one instead (it guessed the mode)."""

    def describe(self) -> str:
        if self.reached:
            return f"`{self.argument}` reached {self.via} after {self.seconds:.1f} s"
        if self.other:
            return (
                f"`docker run IMAGE {self.argument}` ran `{self.other}` instead: the wrapper chose the program itself"
            )
        end = (
            f"the container exited with code {self.exit_code}"
            if self.exit_code is not None
            else f"the container was still running after {self.seconds:.0f} s and was stopped"
        )
        return f"no program was called as `{self.argument}` or given it as an argument; {end}"


def stub_script(shell: str, token: str) -> str:
    return f'#!{shell}\necho "{STUB_MARK} {token} $0 $#: $*"\n'


def stub_archive(shell: str, token: str, names: Sequence[str], folders: Sequence[str] = ()) -> bytes:
    """A tar of ``STUB_DIR`` holding an executable stub per name (and empty ``folders``), to extract at ``/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in [STUB_DIR, *folders]:
            parts = path.strip("/").split("/")
            for depth in range(1, len(parts) + 1):
                folder = tarfile.TarInfo("/".join(parts[:depth]))
                folder.type, folder.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(folder)
        script = stub_script(shell, token).encode()
        for name in names:
            info = tarfile.TarInfo(f"{STUB_DIR.lstrip('/')}/{name}")
            info.size, info.mode = len(script), 0o755
            archive.addfile(info, io.BytesIO(script))
    return buffer.getvalue()


def stub_report(logs: str, token: str) -> tuple[str, str] | None:
    """The name the first stub ran as, and what it reported (its path, argument count and arguments)."""
    for line in logs.splitlines():
        if line.startswith(f"{STUB_MARK} {token} "):
            report = line.split(" ", 2)[2]
            return report.split(" ", 1)[0].rsplit("/", 1)[-1], report
    return None


def argument_holder(processes: Sequence[str], argument: str, wrapper: Sequence[str]) -> str | None:
    """A process that runs a program named ``argument`` (itself, or as a script of an interpreter: a wrapper that
    resets PATH reaches the real one) or has ``argument`` among its arguments, and is not the wrapper shell itself
    (whose own command line ends with it). The probe's decoys make a script that guesses the mode run the other
    program, so a program of the right name is evidence that the argument was passed on."""
    own = " ".join([*wrapper, argument])
    for command in processes:
        words = command.split()
        if command.strip() == own or not words:
            continue
        if argument in words[1:] or any(word.rsplit("/", 1)[-1] == argument for word in words[:2]):
            return command
    return None
