"""A real ``triforge serve`` process on a free loopback port, for tests that need one to kill,
restart or reach through the CLI. Its output goes to a file in the home, never to a pipe nobody
drains (a full pipe would block the server)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.factories import TRIFORGE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(
    home: Path, *args: str, log_name: str = "serve.log", timeout: float = 120
) -> tuple[subprocess.Popen, str]:
    """Start ``triforge serve`` on ``home`` and wait until ``/healthz`` answers; returns (process, base URL).
    Raises ``RuntimeError`` with the log when it does not come up."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(home / log_name, "a") as log:
        proc = subprocess.Popen(
            [TRIFORGE, "serve", "--port", str(port), *args],
            env={**os.environ, "TRIFORGE_HOME": str(home)},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"server did not start: {(home / log_name).read_text()}")


def stop_service(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)
