"""``triforge labeling up|down|status|logs``: a real local Argilla 2.8 stack on loopback.

Three processes, each in its own session so ``down`` can stop it with its children:

- ``noida-db``: one binary serving the Elasticsearch 8 API (Argilla's search engine) and Redis (its
  job queue), persisting to ``labeling/noida``. No real Elasticsearch/OpenSearch installs offline here;
  it has one known gap - per-user dataset metrics aggregate wrongly - so Triforge never reads them.
- ``argilla_server start`` on 127.0.0.1 (its default host is 0.0.0.0) with SQLite on disk, and
- ``argilla_server worker`` (rq) for background jobs.

The server runs from its own venv (``.venv-argilla`` beside the checkout, or ``$TRIFORGE_ARGILLA_VENV``):
it pins fastapi 0.115 and pydantic 2.9, which must not leak into Triforge. ``up`` migrates the database,
creates an owner with a generated password and API key (never the public defaults; passed on stdin,
not the command line; a lost credentials file just re-keys the owner), keeps them in a 0600 file the CLI
reads, and waits for ``/api/v1/me`` (``/api/v1/status`` answers 422 under the ES
engine). Each server import unpacks 14 MB of UI statics into a new temp dir and never deletes it, so
TMPDIR points into the stack's directory and ``down`` empties it. ``up`` is idempotent.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from curation.store import StoreError
from curation.workspace import WorkspacePaths

SERVICES = ("noida", "server", "worker")
OWNER = "triforge-owner"
OWNER_SETUP = Path(__file__).with_name("owner_setup.py")  # runs under the Argilla venv's Python
SERVER_APP = Path(__file__).with_name("server_app.py")  # likewise


class StackError(StoreError):
    """The labeling stack cannot start or be reached; the message says what to do."""


def argilla_venv() -> Path:
    env = os.environ.get("TRIFORGE_ARGILLA_VENV")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".venv-argilla"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


@dataclass
class Credentials:
    api_url: str
    username: str
    password: str
    api_key: str


class LabelingStack:
    def __init__(self, home: Path) -> None:
        self.dir = WorkspacePaths(home).labeling
        self.state_file = self.dir / "stack.json"
        self.credentials_file = self.dir / "argilla-credentials.json"
        self.logs_dir = self.dir / "logs"
        self.tmp_dir = self.dir / "tmp"

    # --- state -------------------------------------------------------------------------------
    def state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, state: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2))

    def credentials(self) -> Credentials:
        try:
            return Credentials(**json.loads(self.credentials_file.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise StackError("no Argilla credentials: start the stack with `triforge labeling up`") from exc

    def _env(self, state: dict) -> dict[str, str]:
        return {
            **os.environ,
            "ARGILLA_HOME_PATH": str(self.dir / "argilla"),
            "ARGILLA_DATABASE_URL": f"sqlite+aiosqlite:///{self.dir / 'argilla' / 'argilla.db'}",
            "ARGILLA_SEARCH_ENGINE": "elasticsearch",
            "ARGILLA_ELASTICSEARCH": f"http://127.0.0.1:{state['es_port']}",
            "ARGILLA_REDIS_URL": f"redis://127.0.0.1:{state['redis_port']}/0",
            "ARGILLA_ENABLE_TELEMETRY": "0",
            "HF_HUB_OFFLINE": "1",
            "TMPDIR": str(self.tmp_dir),
        }

    # --- processes ---------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> int:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.logs_dir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        return proc.pid

    def _run(self, argv: list[str], env: dict[str, str], what: str, stdin: str | None = None) -> str:
        done = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise StackError(f"{what} failed (exit {done.returncode}): {(done.stderr or done.stdout)[-800:]}")
        return done.stdout

    def set_owner(self, username: str, password: str, api_key: str) -> str:
        """Create that owner in Argilla's database, or give an existing one this password and key.

        The secrets go over stdin, never argv, which every local user can read in ``ps``; ``-I`` keeps the
        script's own directory (our ``datasets.py`` vs HF ``datasets``) off its path. Returns "created" or
        "re-keyed"."""
        owner = json.dumps({"username": username, "password": password, "api_key": api_key})
        python = argilla_venv() / "bin" / "python"
        argv = [str(python), "-I", str(OWNER_SETUP)]
        return self._run(argv, self._env(self.state()), "setting the owner", stdin=owner).strip()

    def running(self) -> dict[str, bool]:
        pids = self.state().get("pids", {})
        return {name: _alive(pids.get(name)) for name in SERVICES}

    def healthy(self, timeout: float = 3.0) -> bool:
        try:
            creds = self.credentials()
            reply = httpx.get(
                f"{creds.api_url}/api/v1/me", headers={"X-Argilla-Api-Key": creds.api_key}, timeout=timeout
            )
        except (StackError, httpx.HTTPError):
            return False
        return reply.status_code == 200

    def _wait(self, check: Callable[[], bool], what: str, seconds: float, say: Callable[[str], None]) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            if time.monotonic() > deadline:
                raise StackError(f"{what} did not come up in {seconds:.0f} s; see `triforge labeling logs`")
            if not all(self.running()[n] for n in self.state().get("pids", {})):
                dead = [n for n, up in self.running().items() if not up and n in self.state().get("pids", {})]
                raise StackError(f"{', '.join(dead)} exited while starting; see `triforge labeling logs {dead[0]}`")
            time.sleep(0.5)
        say(f"{what} is up")

    def up(self, *, port: int = 6900, say: Callable[[str], None] = lambda text: None) -> Credentials:
        """Start whatever is not running; a healthy stack is left as it is."""
        if all(self.running().values()) and self.healthy():
            return self.credentials()
        venv = argilla_venv()
        python, noida = venv / "bin" / "python", venv / "bin" / "noida-db"
        if not python.exists() or not noida.exists():
            raise StackError(f"the Argilla venv is missing at {venv}: run `make setup` (or set TRIFORGE_ARGILLA_VENV)")
        self.down(quiet=True)  # a half-started stack is stopped first, never doubled
        try:
            return self._start(port, python, noida, say)
        except BaseException:  # an error or Ctrl-C while starting leaves no orphan processes behind
            self.down(quiet=True)
            raise

    def _start(self, port: int, python: Path, noida: Path, say: Callable[[str], None]) -> Credentials:
        state = {"port": port, "es_port": _free_port(), "redis_port": _free_port(), "pids": {}}
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "argilla").mkdir(parents=True, exist_ok=True)
        env = self._env(state)
        say("starting noida-db (Elasticsearch API + Redis)")
        state["pids"]["noida"] = self._spawn(
            "noida",
            [str(noida), "start", "--data-dir", str(self.dir / "noida"), "--host", "127.0.0.1",
             "--only", "elasticsearch,redis", "--elasticsearch-port", str(state["es_port"]),
             "--redis-port", str(state["redis_port"])],
            env,
        )  # fmt: skip
        self._save_state(state)
        es = f"http://127.0.0.1:{state['es_port']}"
        self._wait(lambda: _reachable(es), "the search engine", 60, say)
        say("migrating Argilla's database")
        self._run([str(python), "-m", "argilla_server", "database", "migrate"], env, "database migrate")
        if not self.credentials_file.exists():
            creds = Credentials(f"http://127.0.0.1:{port}", OWNER, secrets.token_urlsafe(18), secrets.token_urlsafe(32))
            self.set_owner(creds.username, creds.password, creds.api_key)
            self.credentials_file.touch(mode=0o600)
            self.credentials_file.write_text(json.dumps(creds.__dict__, indent=2))
        creds = self.credentials()
        if creds.api_url != f"http://127.0.0.1:{port}":
            creds.api_url = f"http://127.0.0.1:{port}"
            self.credentials_file.write_text(json.dumps(creds.__dict__, indent=2))
        say(f"starting argilla-server on 127.0.0.1:{port} and its worker")
        # server_app.py: argilla-server with two per-record costs of its bulk upsert patched out (see there)
        server = [str(python), "-I", str(SERVER_APP), "--host", "127.0.0.1", "--port", str(port)]
        if os.environ.get("TRIFORGE_ARGILLA_STOCK") == "1":
            server.append("--stock")
        state["pids"]["server"] = self._spawn("server", server, env)
        state["pids"]["worker"] = self._spawn("worker", [str(python), "-m", "argilla_server", "worker"], env)
        self._save_state(state)
        self._wait(self.healthy, "argilla-server", 300, say)
        return creds

    def down(self, *, quiet: bool = False) -> list[str]:
        """Stop every process of the stack (data is kept) and empty its temp dir."""
        stopped = []
        state = self.state()
        for name, pid in state.get("pids", {}).items():
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGTERM)
                deadline = time.monotonic() + 15
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.2)
                if _alive(pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
                stopped.append(name)
        if state:
            state["pids"] = {}
            self._save_state(state)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        return stopped

    def status(self) -> dict:
        state = self.state()
        return {
            "processes": self.running(),
            "healthy": self.healthy(),
            "url": self.credentials().api_url if self.credentials_file.exists() else None,
            "ports": {k: state.get(k) for k in ("port", "es_port", "redis_port")},
            "dir": str(self.dir),
        }

    def logs(self, service: str, lines: int = 50) -> str:
        if service not in SERVICES:
            raise StackError(f"unknown service {service!r}: {', '.join(SERVICES)}")
        path = self.logs_dir / f"{service}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _reachable(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False
