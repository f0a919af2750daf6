"""The reviewer's day in a real browser: Debian's headless Chromium, driven by its own chromedriver
through Selenium, against the local Argilla 2.8 stack (the same code as ``triforge labeling up``).

A new expert gets a login with one command (``triforge reviewers add``), signs in to Argilla's UI, opens
the quest dataset and the debugging-dialogue dataset, answers each record with the form made for its
kind and submits it; ``triforge review pull`` then brings both answers into the store. The test looks
at what a person would: the fenced 65816 code is a rendered code block, the quest's design and
implementation are both on the page, and a screenshot of each form is saved (README's pictures come
from ``TRIFORGE_SCREENSHOTS=docs``).

Every wait is explicit (an element, a REST answer), and the browser's start is retried, so a slow CI
machine makes the test slower, not flaky. It is skipped only where Chromium or its driver is absent;
``.ci/run`` installs both, so CI runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from curation.workspace import Workspace
from labeling.argilla.stack import argilla_venv
from tests.dialogues import GOOD_ANSWER, GOOD_QUESTION
from tests.factories import chat_row, write_jsonl
from triforge.cli import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1000",
)
WAIT = 60  # seconds for any one thing the UI must show; CI machines are slow, never this slow

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="Debian's chromium and chromium-driver are installed by .ci/run",
    ),
]
NO_STACK = pytest.mark.skipif(
    not (argilla_venv() / "bin" / "noida-db").exists(), reason="the Argilla venv is built by `make setup`"
)


def _start_browser(attempts: int = 3) -> Any:
    """Headless Chromium under its driver; a start that fails (a busy machine) is tried again."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    for attempt in range(1, attempts + 1):
        try:
            driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
            driver.set_page_load_timeout(WAIT)
            return driver
        except WebDriverException:
            if attempt == attempts:
                raise
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = _start_browser()
    try:
        yield driver
    finally:
        driver.quit()


def _until(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT).until(condition)
    except TimeoutException as exc:
        raise AssertionError(f"the Argilla UI never showed {what} (at {driver.current_url})") from exc


def _css(selector: str) -> Callable[[Any], Any]:
    """The first visible element matching ``selector``, or False (a WebDriverWait condition)."""
    from selenium.webdriver.common.by import By

    def found(driver: Any) -> Any:
        return next((e for e in driver.find_elements(By.CSS_SELECTOR, selector) if e.is_displayed()), False)

    return found


def _sign_in(driver: Any, url: str, username: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/sign-in")
    _until(driver, _css("input[name=Username]"), "the sign-in form").send_keys(username)
    driver.find_element(By.CSS_SELECTOR, "input[name=Password]").send_keys(password)
    _until(driver, _css("button[type=submit]:enabled"), "an enabled sign-in button").click()
    _until(driver, lambda d: "/sign-in" not in d.current_url, "the page after signing in")


def _choose(driver: Any, question: str, value: str) -> None:
    """Click one option of a label question the way a person does: on its label."""
    option = _until(driver, _css(f"label[for='{question}_{value}']"), f"option {value} of {question}")
    from selenium.common.exceptions import ElementClickInterceptedException

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", option)
    try:
        option.click()
    except ElementClickInterceptedException:
        # The form scrolls inside its own panel; where the driver's scrolling misses it, the label's own
        # click (what the mouse would deliver) still goes through the UI's handlers.
        driver.execute_script("arguments[0].click()", option)
    _until(driver, lambda d: d.find_element("id", f"{question}_{value}").is_selected(), f"{question} = {value}")


def _shots(tmp_path: Path) -> Path:
    """Where pictures go: the test's folder, or ``$TRIFORGE_SCREENSHOTS`` (``docs`` refreshes README's)."""
    folder = Path(os.environ.get("TRIFORGE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _save(driver: Any, folder: Path, name: str, *, at: Any = None) -> Path:
    """A screenshot of the page's top, or of the part that starts with element ``at``."""
    path = folder / name
    if at is None:
        driver.execute_script("window.scrollTo(0, 0)")
    else:
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", at)
    assert driver.save_screenshot(str(path)), f"Chromium saved no screenshot {name}"
    return path


def _looks_like_a_page(path: Path) -> None:
    """A real rendering: full size and many colours (a blank or error page has a handful)."""
    from PIL import Image

    with Image.open(path) as image:
        assert image.size[0] >= 1200 and image.size[1] >= 800
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 200, f"{path.name} looks blank ({len(colours)} colours)"


def _submitted_by(creds: Any, dataset_id: str, username: str) -> list[dict[str, Any]]:
    """The submitted responses ``username`` has on the dataset's records, from Argilla's REST API."""
    headers = {"X-Argilla-Api-Key": creds.api_key}
    users = {
        u["id"]: u["username"] for u in httpx.get(f"{creds.api_url}/api/v1/users", headers=headers).json()["items"]
    }
    reply = httpx.post(
        f"{creds.api_url}/api/v1/datasets/{dataset_id}/records/search",
        headers=headers,
        params={"include": ["responses"], "limit": 10},
        json={},
    )
    assert reply.status_code == 200, reply.text
    return [
        response
        for item in reply.json()["items"]
        for response in item["record"].get("responses") or []
        if users.get(response["user_id"]) == username and response["status"] == "submitted"
    ]


def _answer_in_the_ui(driver: Any, creds: Any, dataset_id: str, choices: list[tuple[str, str]], shot: Path) -> None:
    """Open the dataset's annotation page, pick ``choices``, save a picture, submit, and wait until
    Argilla holds the submitted response."""
    driver.get(f"{creds.api_url}/dataset/{dataset_id}/annotation-mode")
    _until(driver, _css("button.button--submit"), "the response form")
    for question, value in choices:
        _choose(driver, question, value)
    _looks_like_a_page(_save(driver, shot.parent, shot.name))
    _until(driver, _css("button.button--submit:enabled"), "an enabled Submit button").click()
    deadline = time.monotonic() + WAIT
    while not _submitted_by(creds, dataset_id, "ana"):
        assert time.monotonic() < deadline, f"Argilla holds no submitted response after Submit ({shot.name})"
        time.sleep(0.5)


@NO_STACK
def test_a_new_expert_reviews_a_quest_and_a_dialogue_in_the_browser(
    argilla, home_with_map, tmp_path, browser, monkeypatch
):
    home = home_with_map
    _, creds = argilla
    monkeypatch.setenv("ARGILLA_API_URL", creds.api_url)  # what the CLI's entry points read
    monkeypatch.setenv("ARGILLA_API_KEY", creds.api_key)
    from curation.importers import import_file
    from curation.validators.runner import validate_samples
    from pipelines.generate import run_generator

    dialogue = chat_row(GOOD_QUESTION, GOOD_ANSWER, category="mode_mismatch")
    with Workspace(home) as ws:
        import_file(ws, write_jsonl(tmp_path / "dialogue.jsonl", [dialogue]), source_name="browser-dialogue")
        run_generator(ws, "quest_templates", 1, seed=17)
        validate_samples(ws)
    runner = CliRunner()
    pushed = runner.invoke(app, ["review", "push", "--no-vectors", "--json"])
    assert pushed.exit_code == 0, pushed.output
    datasets = json.loads(pushed.stdout)["datasets"]
    assert datasets == {"triforge-debug-dialogue": 1, "triforge-quest-implementation": 1}

    # One command gives the new expert a login; the password is theirs (stdin), never on a command line.
    added = runner.invoke(app, ["reviewers", "add", "ana", "--password-stdin"], input="Ana-pass-12345\n")
    assert added.exit_code == 0, added.output
    assert creds.api_url in added.stdout

    headers = {"X-Argilla-Api-Key": creds.api_key}
    listed = httpx.get(f"{creds.api_url}/api/v1/me/datasets", headers=headers).json()["items"]
    ids = {d["name"]: d["id"] for d in listed}
    shots = _shots(tmp_path)

    _sign_in(browser, creds.api_url, "ana", "Ana-pass-12345")

    from selenium.webdriver.common.by import By

    # The quest: both halves on the page, in order, each rendered from markdown.
    quest_id = ids["triforge-quest-implementation"]
    browser.get(f"{creds.api_url}/dataset/{quest_id}/annotation-mode")
    _until(browser, _css("button.button--submit"), "the quest form")
    page = browser.execute_script("return document.body.textContent")
    assert page.index("Quest design") < page.index("Implementation") < page.index("What the validators found")
    assert "Hook point" in page and browser.find_elements(By.CSS_SELECTOR, "li")  # markdown lists, not raw '-'
    _answer_in_the_ui(browser, creds, quest_id, [("realises", "partly"), ("hook_ok", "no")], shots / "review-quest.png")

    # The dialogue: the buggy code is a rendered code block, not a fenced string.
    dialogue_id = ids["triforge-debug-dialogue"]
    browser.get(f"{creds.api_url}/dataset/{dialogue_id}/annotation-mode")
    _until(browser, _css("button.button--submit"), "the dialogue form")
    blocks = [e for e in browser.find_elements(By.CSS_SELECTOR, "pre") if e.text.strip()]
    texts = [b.text for b in blocks]
    assert any("REP #$20" in t and "```" not in t for t in texts), texts
    # The answer under review: bold headings, a numbered list, and its fix as a second code block.
    fix = next((b for b in blocks if "PHP" in b.text and "PLP" in b.text), None)
    assert fix is not None and "```" not in fix.text, texts
    assert browser.find_elements(By.XPATH, "//ol/li[contains(., 'REP #$20 clears the M flag')]")
    assert browser.find_elements(By.XPATH, "//strong[contains(., 'Bug: 16-bit/8-bit mode mismatch')]")
    heading = browser.find_element(By.XPATH, "//strong[contains(., 'Bug: 16-bit/8-bit mode mismatch')]")
    _looks_like_a_page(_save(browser, shots, "review-dialogue-answer.png", at=heading))
    _answer_in_the_ui(
        browser,
        creds,
        dialogue_id,
        [("decision", "reject"), ("diagnosis_matches", "no"), ("category", "register_clobber")],
        shots / "review-dialogue.png",
    )

    pulled = runner.invoke(app, ["review", "pull", "--json"])
    assert pulled.exit_code == 0, pulled.output
    summary = json.loads(pulled.stdout)
    assert (summary["approved"], summary["rejected"], summary["responses"]) == (1, 1, 2)
    with Workspace(home, read_only=True) as ws:
        answers = {r.kind: r for r in ws.reviews.by_reviewer("ana")}
    assert answers["quest_implementation"].decision == "approve"  # the validators' suggestion, kept
    # The two answers picked in the form (other questions may keep the validators' suggestions).
    assert {"realises": "partly", "hook_ok": "no"}.items() <= answers["quest_implementation"].answers.items()
    assert answers["debug_dialogue"].decision == "reject"
    assert answers["debug_dialogue"].category == "register_clobber"
    assert answers["debug_dialogue"].answers == {"diagnosis_matches": "no"}


def test_the_dedup_report_renders_clusters_and_side_by_side_diffs(validated_store, home, tmp_path, browser):
    """The HTML report a curator opens after ``triforge dedup run``: summary, the similarity histogram
    (inline SVG) and each cluster with its diff table, all from one self-contained file."""
    from selenium.webdriver.common.by import By

    validated_store.close()  # the commands open the store themselves
    runner = CliRunner()
    ran = runner.invoke(app, ["dedup", "run", "--method", "exact,minhash", "--json"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["clusters"] > 0
    page = tmp_path / "dedup.html"
    wrote = runner.invoke(app, ["dedup", "report", "latest", "--out", str(page)])
    assert wrote.exit_code == 0, wrote.output
    browser.get(page.as_uri())
    _until(browser, _css("div.cluster"), "a cluster")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Dedup report")
    assert browser.find_elements(By.CSS_SELECTOR, "svg rect"), "no histogram bars"
    diff = _until(browser, _css("table.diff"), "a side-by-side diff")
    assert diff.size["width"] > 600  # two columns of text, not a squeezed strip
    _looks_like_a_page(_save(browser, _shots(tmp_path), "dedup-report.png"))
    first = browser.find_element(By.CSS_SELECTOR, "div.cluster")
    _looks_like_a_page(_save(browser, _shots(tmp_path), "dedup-cluster.png", at=first))


@pytest.fixture
def service(home: Path) -> Iterator[tuple[str, str]]:
    """``triforge serve`` on the home, with a contributor's API key: (base URL, key)."""
    from tests.service_process import start_service, stop_service

    created = CliRunner().invoke(app, ["keys", "create", "--role", "contributor", "--name", "cleo", "--json"])
    assert created.exit_code == 0, created.output
    proc, base = start_service(home)
    try:
        yield base, json.loads(created.stdout)["key"]
    finally:
        stop_service(proc)


def test_the_contribution_page_takes_a_sample_and_shows_its_report(service, tmp_path, browser):
    """A contributor fills the form in the browser and gets the validators' report on the page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, key = service
    shots = _shots(tmp_path)
    browser.get(f"{base}/submit")
    _until(browser, _css("textarea[name=prompt]"), "the contribution form").send_keys(GOOD_QUESTION)
    browser.find_element(By.CSS_SELECTOR, "input[name=api_key]").send_keys(key)
    Select(browser.find_element(By.CSS_SELECTOR, "select[name=kind]")).select_by_value("debug_dialogue")
    browser.find_element(By.CSS_SELECTOR, "input[name=category]").send_keys("stack_imbalance")
    browser.find_element(By.CSS_SELECTOR, "textarea[name=answer]").send_keys("I think maybe the stack is wrong.")
    _looks_like_a_page(_save(browser, shots, "contribute-form.png"))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    verdict = _until(browser, _css("#verdict, .banner"), "the submission's verdict")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Validation report", verdict.text
    assert "fail" in browser.find_element(By.TAG_NAME, "body").text  # the hedged answer fails a validator
    _looks_like_a_page(_save(browser, shots, "contribute-report.png"))
