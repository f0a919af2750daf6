"""What many test files build: rows and files of samples, the installed entry point, the repository, the
paid-API stand-in, and the mark that skips a test when the Argilla stack was not set up. Tests import these
from here, never from one another or from ``conftest`` (which holds fixtures only)."""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from labeling.argilla.stack import argilla_venv
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.local_http import chat_completion

REPO = Path(__file__).resolve().parents[1]
TRIFORGE = str(Path(sys.executable).with_name("triforge"))
NO_STACK = pytest.mark.skipif(
    not (argilla_venv() / "bin" / "noida-db").exists(), reason="the Argilla venv is built by `make setup`"
)

# Two answers to one question in other words: what only an embedding finds.
PARAPHRASE_Q = "Why does my routine leave the accumulator in the wrong size after it returns?"
PARAPHRASE_A = (
    "The subroutine executes REP #$20 and never sets the accumulator back to 8-bit before RTS, "
    "so the caller keeps running with a 16-bit A and misreads its immediates."
)
PARAPHRASE_A2 = (
    "Your routine runs REP #$20 and returns with RTS without switching A back to 8-bit, "
    "so the calling code continues with a 16-bit accumulator and decodes immediates wrongly."
)


def write_jsonl(path: Path, rows: list[object]) -> Path:
    """Rows that are str are written verbatim (for malformed lines); others as JSON."""
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def chat_row(question: str, answer: str, **extra: object) -> dict[str, object]:
    return {
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}],
        **extra,
    }


def good_teacher_reply(prompt: str) -> str:
    """A usable teacher reply, made distinct per task by quoting the task's category words."""
    topic = re.search(r"about an? (.+?) bug|one \"(\w+)\" quest", prompt)
    words = next(g for g in topic.groups() if g) if topic else "routine"
    return json.dumps({"question": f"{GOOD_QUESTION}\n(Seen while testing {words}.)", "answer": GOOD_ANSWER})


class PaidApiStandIn:
    """An OpenAI-compatible endpoint scripted with a hosted API's failure modes: 429 with Retry-After,
    a 500, a first reply that is not JSON (so the repair path runs), and an optional stall. ``reply``
    turns the request's user prompt into the text an "ok" step answers (default: a teacher dialogue)."""

    def __init__(self, script: list[str] | None = None, reply: Callable[[str], str] | None = None) -> None:
        self.script = list(script or [])
        self.reply = reply or good_teacher_reply
        self.calls: list[dict] = []
        self.stall_after: int | None = None
        self.app = FastAPI()
        self.lock = threading.Lock()

        @self.app.post("/v1/chat/completions")
        async def complete(request: Request):
            body = await request.json()
            with self.lock:
                self.calls.append(body)
                step = self.script.pop(0) if self.script else "ok"
                stall = self.stall_after is not None and len(self.calls) > self.stall_after
            if stall:
                time.sleep(60)
            if step == "429":
                return JSONResponse({"error": {"message": "slow down"}}, status_code=429, headers={"Retry-After": "0"})
            if step == "500":
                return JSONResponse({"error": {"message": "boom"}}, status_code=500)
            if step == "401":
                return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
            if step == "400":
                return JSONResponse({"error": {"message": "context length exceeded"}}, status_code=400)
            prompt = body["messages"][1]["content"]
            text = "Sure! Here is a dialogue about it." if step == "prose" else self.reply(prompt)
            return chat_completion(body["model"], text, 100, 50)
