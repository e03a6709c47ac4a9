"""IMG: what the image's configuration and files say, before anything runs."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from conformance import contract
from conformance.context import CheckContext
from conformance.entrypoint import drops_argument, shell_c
from conformance.failures import Violation
from conformance.registry import Level, check


@check("IMG-1", Level.MUST, "train and serve resolve the way SageMaker calls them", source=contract.DG_TRAIN_IMG)
def train_and_serve_resolve(ctx: CheckContext) -> Iterator[Violation]:
    """`train` and `serve` resolve as SageMaker calls them: the first argument to an exec-form ENTRYPOINT (a shell
    `-c` wrapper must pass it through to a program, as `exec "$@"` does), or executables on PATH when there is no
    ENTRYPOINT; no shell-form ENTRYPOINT, and no `tini` entrypoint.

    SageMaker runs `docker run IMAGE train` and `docker run IMAGE serve`, replacing CMD. A shell-form ENTRYPOINT
    (`["/bin/sh", "-c", "SCRIPT"]`, nothing after the script) makes the argument the script's `$0`, so it fails from
    the config alone, unless the script reads `$0` (then it is probed like a wrapper). A `-c` wrapper with
    arguments after its script (the conda/venv pattern `["/bin/bash", "-c", "source activate env && exec \"$@\"",
    "--"]`) gets the argument as `$1`, and only its behaviour tells whether it passes it on: the harness runs it
    with a stub `train`/`serve` first on PATH and passes it when the stub, or a program holding the argument, is
    reached within 15 s, in surroundings where a script that guesses the mode guesses wrong (see
    conformance/entrypoint.py for why this probe).

    Why: SageMaker starts every training job with `docker run IMAGE train` and every endpoint and batch transform
    with `docker run IMAGE serve`, replacing CMD. An entrypoint that drops or ignores that argument never starts the
    right program, and AWS documents that tini cannot be the entrypoint.

    How: Reads the image config (ENTRYPOINT, CMD, PATH) and the image's files: an exec-form entrypoint must exist
    and be executable; without one, `train` and `serve` must be executables on PATH (only the one the policy's
    profile uses for a train-only or serve-only image). A shell-form entrypoint and a
    tini entrypoint are refused; a `-c` wrapper is probed as above, in a short-lived container with no network.
    """
    image = ctx.image
    files = ctx.files()
    entrypoint = image.entrypoint
    if entrypoint:
        program = posixpath.basename(entrypoint[0])
        found = files.which(entrypoint[0], image.path)
        if shell_c(entrypoint):
            if drops_argument(entrypoint):
                yield Violation(
                    "A shell-form ENTRYPOINT drops the `train`/`serve` argument and keeps SIGTERM from the program",
                    expected='an exec-form ENTRYPOINT, e.g. ENTRYPOINT ["/opt/program/entrypoint"], or none',
                    actual=f"ENTRYPOINT {list(entrypoint)}",
                    evidence=(
                        (
                            "Why",
                            f"`docker run IMAGE train` runs {list(entrypoint)} with `train` as $0 of the shell "
                            "script, so the program never sees it.",
                        ),
                    ),
                )
            elif found is not None:
                yield from _wrapper_passes_arguments(ctx, entrypoint, found.path)
        if program in contract.FORBIDDEN_INIT_ENTRYPOINTS:
            yield Violation(
                "The ENTRYPOINT is the tini initializer, which SageMaker forbids",
                expected='an ENTRYPOINT that is not tini ("it gets confused by the train and serve arguments")',
                actual=f"ENTRYPOINT {list(entrypoint)}",
            )
        elif found is None:
            yield Violation(
                "The ENTRYPOINT's program does not exist or is not executable in the image",
                expected=f"an executable {entrypoint[0]!r} (absolute, or on PATH {':'.join(image.path)})",
                actual="not found or not executable",
            )
        return
    for argument in _arguments(ctx):
        if files.which(argument, image.path) is None:
            yield Violation(
                f"`docker run IMAGE {argument}` cannot start: `{argument}` is not an executable on PATH",
                expected=f"an executable {argument!r} in one of {':'.join(image.path)} (there is no ENTRYPOINT)",
                actual=f'exec: "{argument}": executable file not found in $PATH',
                evidence=(
                    ("Image config", f"Entrypoint: none\nCmd: {list(image.cmd or [])}\nPATH: {':'.join(image.path)}"),
                ),
            )


def _arguments(ctx: CheckContext) -> tuple[str, ...]:
    """The arguments SageMaker will pass this image: a train-only image is never run with `serve`, nor a serve-only
    one with `train` (AWS's training toolkit images have no `serve`)."""
    return tuple(
        argument
        for argument, used in ((contract.TRAIN_ARG, ctx.policy.trains), (contract.SERVE_ARG, ctx.policy.serves))
        if used
    )


_DECOYS = {
    contract.TRAIN_ARG: f"no {contract.OPT_ML} (a script that guesses the mode would pick `{contract.SERVE_ARG}`)",
    contract.SERVE_ARG: (
        f"an empty {contract.INPUT_CONFIG_DIR} (a script that guesses the mode would pick `{contract.TRAIN_ARG}`)"
    ),
}
"""The probe's surroundings (see conformance.context's probe_entrypoint), as the evidence states them."""


def _wrapper_passes_arguments(ctx: CheckContext, entrypoint: tuple[str, ...], shell: str) -> Iterator[Violation]:
    """IMG-1's probe of a shell `-c` wrapper: each of `train` and `serve` must reach a program."""
    for argument in _arguments(ctx):
        probe = ctx.probe_entrypoint(argument, shell)
        if probe.reached:
            ctx.note(f"wrapper ENTRYPOINT probed: {probe.describe()}")
            continue
        seen = "\n".join(probe.processes[:20]) or "(none seen)"
        yield Violation(
            f"The wrapper ENTRYPOINT does not pass `{argument}` on: `docker run IMAGE {argument}` never reaches a "
            f"program called as `{argument}`",
            expected=f'the script passes its arguments through, e.g. `exec "$@"`, so that `{argument}` runs',
            actual=probe.describe(),
            evidence=(
                (
                    "How it was probed",
                    f"The image ran with its own ENTRYPOINT {list(entrypoint)} and the argument `{argument}`, with "
                    f"stub `{contract.TRAIN_ARG}` and `{contract.SERVE_ARG}` programs first on PATH that report and "
                    f"exit, and {_DECOYS[argument]}. It passes when the `{argument}` stub runs, or a program named "
                    f"`{argument}` or holding it as an argument.",
                ),
                ("Processes last seen", seen),
            ),
        )


@check("IMG-2", Level.MUST, "The image's platform is the one SageMaker runs", source=contract.DG_TRAIN_IMG)
def platform_matches(ctx: CheckContext) -> Iterator[Violation]:
    """The image's platform is linux/amd64 (or the platform asked for with --platform).

    An arm64 image built on a laptop fails on SageMaker with "exec format error".

    Why: SageMaker's CPU and GPU instances run linux/amd64 images (Graviton instances aside). An arm64 image built
    on a laptop pushes to ECR without complaint and fails only when SageMaker starts it, with "exec format error".

    How: Compares the OS and architecture in the image config with --platform (default linux/amd64); no container is
    started.
    """
    wanted = ctx.options.platform
    actual = ctx.image.platform
    wanted_os, _, wanted_arch = wanted.partition("/")
    if (ctx.image.os, ctx.image.architecture) != (wanted_os, wanted_arch.split("/")[0]):
        yield Violation(
            "The image is built for another platform; SageMaker would fail with 'exec format error'",
            expected=wanted,
            actual=actual,
            reproduce=(
                ctx.commands.show_config("os", "architecture"),
                f"{ctx.commands.build(wanted)}  # rebuild for SageMaker",
            ),
        )


PLACEHOLDER_NAMES = frozenset({".gitkeep", ".keep"})
"""Files that only keep a folder in version control; harmless when baked, whatever their content."""


def is_placeholder(path: str, size: int) -> bool:
    """An empty regular file, or a .gitkeep (size -1 is a link, which may point at content elsewhere)."""
    return size == 0 or (size > 0 and posixpath.basename(path) in PLACEHOLDER_NAMES)


def _size(size: int) -> str:
    return f"{size} bytes" if size >= 0 else "a link or special file"


@check("IMG-3", Level.MUST, "Nothing is baked into the directories SageMaker replaces", source=contract.DG_TRAIN_IMG)
def nothing_baked_into_replaced_dirs(ctx: CheckContext) -> Iterator[Violation]:
    """The image does not rely on files baked into /opt/ml/input, /opt/ml/model, /opt/ml/output or
    /opt/ml/checkpoints: SageMaker mounts fresh directories there, so such files are never seen. Placeholders
    (empty folders, zero-byte files, `.gitkeep` / `.keep`) pass: nothing can rely on them.

    The harness always mounts fresh, empty directories there; code under /opt/ml/code stays visible.

    Why: AWS reserves /opt/ml for SageMaker and warns that data placed there may not be visible at run time: the
    service mounts fresh directories over input, model, output and checkpoints. A model baked into the image works
    under a plain `docker run` and is gone on SageMaker.

    How: Lists the files the image's layers put under those four directories; placeholders (empty folders,
    zero-byte files, `.gitkeep` / `.keep`) do not count, a link does. Every container the harness starts also gets
    fresh, empty volumes there, as on SageMaker, so nothing baked in can pass for a trained model.
    """
    files = ctx.files()
    for directory in contract.REPLACED_AT_RUN_TIME:
        sizes = files.sizes_under(directory)
        baked = [path for path, size in sorted(sizes.items()) if not is_placeholder(path, size)]
        placeholders = len(sizes) - len(baked)
        if placeholders:
            ctx.note(f"{placeholders} placeholder file(s) under {directory} (empty or .gitkeep): harmless")
        if baked:
            listing = "\n".join(f"{path} ({_size(sizes[path])})" for path in baked[:30])
            listing += f"\n... ({len(baked) - 30} more)" if len(baked) > 30 else ""
            yield Violation(
                f"The image bakes files into {directory}, which SageMaker hides under a fresh mount at run time",
                expected=f"no files under {directory} but placeholders (empty folders, empty files, .gitkeep)",
                actual=f"{len(baked)} file(s)",
                evidence=(("Baked files", listing),),
                reproduce=(ctx.commands.run("ls", "-laR", directory),),
            )


def resolve_uid(user: str, passwd: str | None) -> int | None:
    """The uid ``docker run`` gives an image whose config says ``User: user``: empty is root (0), a number is that
    uid, a name is its uid in the image's /etc/passwd (``passwd``'s text); a group after ``:`` does not change the
    uid. None when the name is not in /etc/passwd (``docker run`` then fails: "unable to find user")."""
    name = user.partition(":")[0].strip()
    if not name:
        return 0
    if name.isdigit():
        return int(name)
    for line in (passwd or "").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name and fields[2].strip().isdigit():
            return int(fields[2])
    return 0 if name == "root" else None


SERVERLESS_USER_NOTE = (
    "the real-time rule that the image runs as root does not apply: the policy declares a serverless deployment "
    "([serverless] memory_mb), and ENV-9 judges the image as a non-root uid on a read-only file system instead"
)


@check("IMG-4", Level.MUST, "The image runs as root, as real-time hosting expects", source=contract.DG_INF)
def runs_as_root(ctx: CheckContext) -> Iterator[Violation]:
    """The image config's `User` is root: empty (Docker's default), `root`, `0`, or a name that the image's
    /etc/passwd gives uid 0, with any group (`0:0`, `root:root`); a numeric uid other than 0, or a name with another
    uid, fails, unless the policy declares a serverless deployment: then the rule does not apply (the clause passes
    saying so) and ENV-9 judges the image as a non-root uid instead. A name that is not in /etc/passwd always fails.

    Why: AWS's hosting page says that SageMaker expects every container to run with root users and that users
    without root-level access can cause permissions issues when SageMaker runs the container (the training page
    has no such sentence; the rule is judged for every image all the same, since the same image usually trains and
    serves). A `USER app` that works under a plain `docker run` fails on SageMaker, not before: users report
    non-root images that cannot write the output directories SageMaker mounts, as the harness's own root-owned
    /opt/ml volumes show.

    How: Reads `User` from the image config and, for a name, the image's /etc/passwd (from a never-started
    container, as `docker run` resolves it); no container runs. The evidence is the configured `User` and the uid it
    resolves to. With `[serverless] memory_mb` in the policy a non-root uid passes, with a note that says why.
    """
    user = ctx.image.user
    name = user.partition(":")[0].strip()
    passwd = None
    if name and not name.isdigit():
        data = ctx.files().read(contract.PASSWD_FILE)
        passwd = data.decode("utf-8", "replace") if data is not None else None
    uid = resolve_uid(user, passwd)
    config = f"User: {user!r}" + (" (empty: Docker's default, root)" if not user.strip() else "")
    reproduce = (ctx.commands.show_config("user"), ctx.commands.run("id"))
    if uid == 0:
        ctx.note(f"{config} resolves to uid 0 (root)")
        return
    if uid is not None and ctx.policy.serverless_memory_mb is not None:
        ctx.note(f"{config} resolves to uid {uid}: {SERVERLESS_USER_NOTE}")
        return
    if uid is None:
        found = "not found" if passwd is None else "has no such user"
        yield Violation(
            f"The image's USER {name!r} is not a user of the image: `docker run` cannot start it",
            expected="User empty, root or 0 (or a name /etc/passwd gives uid 0)",
            actual=f"{config}; {contract.PASSWD_FILE} {found}",
            evidence=(("Image config", config),),
            reproduce=reproduce,
        )
        return
    yield Violation(
        "The image runs as a non-root user; SageMaker expects containers to run as root",
        expected="User empty, root or 0 (or a name /etc/passwd gives uid 0), e.g. no USER instruction",
        actual=f"{config}, which runs as uid {uid}",
        evidence=(
            ("Image config", f"{config}\nResolved uid: {uid}" + (f" ({contract.PASSWD_FILE})" if passwd else "")),
            (
                "Why",
                "SageMaker AI expects all containers to run with root users; users without root-level access can "
                "cause permissions issues (AWS, Custom Inference Code with Hosting Services).",
            ),
        ),
        reproduce=reproduce,
    )
