"""The OS sandbox every assembler run goes through: untrusted code sees nothing but its own folder.

Asar is a macro assembler: ``incsrc``, ``incbin``, ``table``, ``readfile1``, ``canreadfile``,
``getfilesize`` and whatever a later version adds read files, and a command can be spelt through
defines, line continuations and function aliases. No deny-list of that syntax can be complete, so
the assembler runs where there is nothing to read:

* **bubblewrap** (``bwrap``, Debian's ``bubblewrap``) gives each run new user, mount, PID, IPC, UTS,
  cgroup and network namespaces, with every capability dropped: the root file system is empty but
  for a read-only ``/usr`` (the C++ runtime Asar links against), the Asar binary itself, and the
  run's throwaway folder at ``/work``. No ``/etc``, ``/proc``, ``/home``, workspace, venv or key file
  exists in there, and no network.
* **rlimits** (util-linux ``prlimit``, inherited through ``bwrap``): CPU seconds, memory, the size of
  any file written, and the number of processes. The caller adds a wall-clock timeout.

Where bubblewrap is missing or cannot create namespaces, :func:`default_sandbox` raises
:class:`SandboxUnavailable` naming the fix. Running unsandboxed is a choice a user makes out loud
(``TRIFORGE_ASAR_SANDBOX=off``, for files they trust on a machine without namespaces), never a
silent fallback; the HTTP service refuses that choice and will not start.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from curation.errors import StoreError

SANDBOX_ENV = "TRIFORGE_ASAR_SANDBOX"
INSIDE_WORKDIR = "/work"
INSIDE_EXECUTABLE = "/opt/assembler"
_PRLIMIT = shutil.which("prlimit")
_NICE = shutil.which("nice")  # assembling yields the CPU to the service that answers requests


class SandboxUnavailable(StoreError):
    """No way to run the assembler contained: a user can fix it (install bubblewrap) - never a traceback."""


@dataclass(frozen=True)
class Limits:
    """What one assembler run may use. The CPU limit also catches an endless ``while`` loop that the
    wall-clock timeout would otherwise only cut later."""

    cpu_seconds: int = 11
    file_bytes: int = 32 * 1024 * 1024
    address_space: int = 1 << 30
    processes: int = 16

    def prlimit_args(self) -> list[str]:
        return [
            f"--cpu={self.cpu_seconds}",
            f"--fsize={self.file_bytes}",
            f"--as={self.address_space}",
            f"--nproc={self.processes}",
        ]


class Sandbox(Protocol):
    """Turns "run this executable in this folder" into an argv that runs it contained."""

    name: str

    def command(
        self,
        executable: Path,
        args: Sequence[str],
        workdir: Path,
        limits: Limits,
        *,
        then: Sequence[Sequence[str]] = (),
    ) -> tuple[list[str], Path]:
        """(argv, the folder to start it in). ``args`` name files relative to ``workdir``. ``then``: more
        runs of the same executable in the same sandbox, see :func:`chained`."""
        ...


def chained(program: str, args: Sequence[str], then: Sequence[Sequence[str]]) -> list[str]:
    """``program args``, then each of ``then`` in turn while all succeed, in one process tree: one sandbox
    costs about a third of a short assembly, so a check that assembles one patch onto two images pays
    for one. The first run's output is the process's; run N of ``then`` writes its own to ``then-N.log``
    in the folder, and a failure there exits with status 200 + N."""
    if not then:
        return [program, *args]
    script = shlex.join([program, *args])
    for number, more in enumerate(then, 1):
        script += f" && {{ {shlex.join([program, *more])} >then-{number}.log 2>&1 || exit {200 + number}; }}"
    return ["/bin/sh", "-c", script]


def _with_limits(argv: list[str], limits: Limits) -> list[str]:
    if _PRLIMIT is None:
        raise SandboxUnavailable("util-linux prlimit not found: install util-linux (it sets the assembler's limits)")
    niced = [_NICE, "-n", "10", *argv] if _NICE else argv
    return [_PRLIMIT, *limits.prlimit_args(), "--", *niced]


@dataclass(frozen=True)
class Bubblewrap:
    """Each run in fresh namespaces over an empty root (see the module docstring)."""

    bwrap: Path
    name: str = "bwrap"

    def command(
        self,
        executable: Path,
        args: Sequence[str],
        workdir: Path,
        limits: Limits,
        *,
        then: Sequence[Sequence[str]] = (),
    ) -> tuple[list[str], Path]:
        argv = [
            str(self.bwrap),
            "--unshare-all",
            "--unshare-user",
            "--uid", "65534",
            "--gid", "65534",
            "--cap-drop", "ALL",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--setenv", "HOME", INSIDE_WORKDIR,
            "--setenv", "PATH", "/usr/bin",
            "--ro-bind", "/usr", "/usr",
            *_usrmerge_links(),
            "--ro-bind", str(executable), INSIDE_EXECUTABLE,
            "--bind", str(workdir), INSIDE_WORKDIR,
            "--chdir", INSIDE_WORKDIR,
            "--",
            *chained(INSIDE_EXECUTABLE, args, then),
        ]  # fmt: skip
        return _with_limits(argv, limits), workdir


@dataclass(frozen=True)
class Unsandboxed:
    """The assembler with rlimits only: for trusted files, chosen with ``TRIFORGE_ASAR_SANDBOX=off``."""

    name: str = "off"

    def command(
        self,
        executable: Path,
        args: Sequence[str],
        workdir: Path,
        limits: Limits,
        *,
        then: Sequence[Sequence[str]] = (),
    ) -> tuple[list[str], Path]:
        return _with_limits(chained(str(executable), args, then), limits), workdir


def _usrmerge_links() -> list[str]:
    """``/lib``, ``/lib64`` and ``/bin`` as the host has them: links into ``/usr`` on a merged-/usr
    system (Debian 12), where the dynamic loader's path ``/lib64/ld-linux-x86-64.so.2`` resolves."""
    args: list[str] = []
    for top in ("/lib", "/lib64", "/bin", "/lib32"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    return args


@functools.cache
def _bubblewrap_works(bwrap: str) -> str | None:
    """Run ``true`` in the sandbox once per process: None when it works, else why not. A container
    without user namespaces has ``bwrap`` installed and still cannot use it."""
    with tempfile.TemporaryDirectory(prefix="triforge-sandbox-probe-") as tmp:
        argv, cwd = Bubblewrap(Path(bwrap)).command(Path("/usr/bin/true"), [], Path(tmp), Limits(cpu_seconds=5))
        try:
            proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit status {proc.returncode}")


def default_sandbox() -> Sandbox:
    """bubblewrap, checked to work; ``TRIFORGE_ASAR_SANDBOX=off`` chooses rlimits only (trusted input)."""
    choice = os.environ.get(SANDBOX_ENV, "bwrap").strip().lower()
    if choice == "off":
        return Unsandboxed()
    if choice != "bwrap":
        raise SandboxUnavailable(f"{SANDBOX_ENV} must be bwrap or off, not {choice!r}")
    found = shutil.which("bwrap")
    if found is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) not found: the assembler runs untrusted code only inside it. Install it "
            f"(apt-get install bubblewrap; `make setup` does), or set {SANDBOX_ENV}=off to assemble files "
            "you trust without a sandbox (the HTTP service refuses that)"
        )
    problem = _bubblewrap_works(found)
    if problem:
        raise SandboxUnavailable(
            f"bubblewrap cannot create its namespaces here ({problem}); allow unprivileged user namespaces "
            f"(or run where they are), or set {SANDBOX_ENV}=off for files you trust"
        )
    return Bubblewrap(Path(found))


__all__ = ["SANDBOX_ENV", "Bubblewrap", "Limits", "Sandbox", "SandboxUnavailable", "Unsandboxed", "default_sandbox"]
