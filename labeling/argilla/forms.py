"""The review form of each sample kind: what a reviewer sees (fields), what they answer (questions) and
the guidelines written for that task.

Every form asks ``decision`` (approve / reject, the only required question: the consensus rule counts
it) and offers ``corrected_answer`` (the corrected final answer: a new revision), ``category``,
``rating`` and ``notes``, so ``review pull`` and ``review stats`` read every dataset alike. The
questions a kind adds (``realises``, ``hook_ok``, ``diagnosis_matches``, ``still_correct``, ...) are
stored with each review as its ``answers`` (tags); ``corrected_design`` (quests) corrects the quest
half - the user turn - and makes a new revision like ``corrected_answer`` does.

The specs are plain data, so the README table, the compatibility check of an existing dataset and the
push all read one definition; ``settings_for`` turns a form into Argilla objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FORM_VERSION = 2  # 1: the generic prompt/answer form every kind had before per-kind forms

YES_PARTLY_NO = {"yes": "yes", "partly": "partly", "no": "no"}
YES_NO = {"yes": "yes", "no": "no"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    title: str
    required: bool = True
    description: str | None = None


@dataclass(frozen=True)
class QuestionSpec:
    name: str
    title: str
    type: str  # label | text | rating
    labels: dict[str, str] | None = None  # label questions; None for category (the store's taxonomy)
    values: tuple[int, ...] = ()  # rating questions
    required: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Form:
    kind: str
    fields: tuple[FieldSpec, ...]
    questions: tuple[QuestionSpec, ...]
    guidelines: str
    extra: tuple[str, ...] = field(default=())  # question names stored as review answers (tags)

    @property
    def field_names(self) -> set[str]:
        return {f.name for f in self.fields}

    @property
    def question_names(self) -> set[str]:
        return {q.name for q in self.questions}


REPORT = FieldSpec(
    "validator_report",
    "What the validators found",
    required=False,
    description="Which automatic checks failed, where, and what the assembler said",
)
DECISION = QuestionSpec(
    "decision",
    "Keep this sample for training?",
    "label",
    {"approve": "approve", "reject": "reject"},
    required=True,
    description="Approve when it is right, or right once your correction below is applied",
)
CATEGORY = QuestionSpec("category", "Category", "label", None, description="Tag it when it is wrong or missing")
RATING = QuestionSpec("rating", "Overall quality", "rating", values=(1, 2, 3, 4, 5))
NOTES = QuestionSpec("notes", "Notes", "text", description="Anything the other reviewers should know")


def _corrected(title: str, description: str) -> QuestionSpec:
    return QuestionSpec("corrected_answer", title, "text", description=description)


COMMON_RULES = """Approve only what you would want a model to learn from. If it is close, fix it in the correction
box and approve: the correction becomes a new revision (it is validated again, and the original is kept).
Reject what cannot be saved. The pre-filled answers come from the validators and the proposer: check them,
they are not verdicts. The validator report says which automatic checks failed and where."""

QUEST = Form(
    "quest_implementation",
    fields=(
        FieldSpec("design", "Quest design", description="Goal, beats, reward and constraints"),
        FieldSpec("implementation", "Implementation", description="Hook point, flag, message ids and the asm"),
        REPORT,
    ),
    questions=(
        DECISION,
        QuestionSpec(
            "realises",
            "Does the implementation realise the quest?",
            "label",
            YES_PARTLY_NO,
            description="Every beat and the reward, under the stated constraints",
        ),
        QuestionSpec(
            "hook_ok",
            "Is the hook point correct?",
            "label",
            YES_NO,
            description="The address is the routine named, and the patch (JSL + padding) leaves it intact",
        ),
        QuestionSpec(
            "flag_ok",
            "Is the RAM/SRAM flag correct?",
            "label",
            YES_NO,
            description="A free bit in the save data ($7EF3xx/$7EF4xx) if the state must survive saving",
        ),
        QuestionSpec(
            "message_ok",
            "Are the message ids correct?",
            "label",
            YES_NO,
            description="Ids that exist or are added, queued the way the text engine reads them",
        ),
        QuestionSpec(
            "canon",
            "Consistent with ALTTP canon and lore?",
            "label",
            {"consistent": "consistent", "minor_issues": "minor issues", "breaks_canon": "breaks canon"},
        ),
        QuestionSpec(
            "difficulty", "Difficulty for the player", "rating", values=(1, 2, 3, 4, 5), description="1 trivial, 5 hard"
        ),
        CATEGORY,
        QuestionSpec(
            "corrected_design",
            "Corrected quest design",
            "text",
            description="The whole design as it should read (leave empty if the design is fine)",
        ),
        _corrected("Corrected implementation", "The whole implementation as it should read, asm included"),
        RATING,
        NOTES,
    ),
    guidelines=f"""## Quest design -> implementation

The left half is a quest design (goal, beats, reward, constraints such as text boxes of 3 lines of 19
characters); the right half is its ROM implementation for A Link to the Past.

- **Realises the quest**: every beat happens and the reward is given exactly once; `partly` when a beat or
  a constraint is missing.
- **Hook point**: the `org` address really is the routine the text names (e.g. a talk or room routine),
  and the bytes it overwrites are restored or padded (JSL is four bytes).
- **Flag**: quest state that must survive saving lives in the SRAM copy ($7EF000-$7EF4FF) in a bit nothing
  else uses; a WRAM flag is lost on reset.
- **Message ids**: the ids shown are the ones written or added, and the text fits the boxes.
- **Canon**: places, people and items fit the game's world.
- Correct either half: the design in *Corrected quest design*, the code in *Corrected implementation*.

{COMMON_RULES}""",
    extra=("realises", "hook_ok", "flag_ok", "message_ok", "canon", "difficulty", "corrected_design"),
)

DEBUG = Form(
    "debug_dialogue",
    fields=(
        FieldSpec("buggy_code", "The code", required=False, description="The code blocks of the question"),
        FieldSpec("symptom", "Symptom and question", description="What the asker sees go wrong"),
        FieldSpec("answer", "Answer under review"),
        REPORT,
    ),
    questions=(
        DECISION,
        QuestionSpec(
            "category", "Bug category", "label", None, description="The bug the code really has: tag it if wrong"
        ),
        QuestionSpec(
            "diagnosis_matches",
            "Does the diagnosis match the code?",
            "label",
            YES_PARTLY_NO,
            description="The bug it names is in this code and explains this symptom",
        ),
        _corrected("Corrected answer", "The whole answer, diagnosis first: **Bug:**, What's happening, **Fix:**"),
        RATING,
        NOTES,
    ),
    guidelines=f"""## Debugging dialogue

The question shows 65816 code and a symptom; the answer must diagnose it, diagnosis first:
`**Bug: <name>**`, one paragraph tied to the symptom, `**What's happening:**` steps, then `**Fix:**` with
code that assembles and why it works.

- **Bug category**: the bug the code really has (mode mismatch, stack imbalance, register clobber, DMA
  setup, ...), not the one the answer claims.
- **Diagnosis matches the code**: the bug named is present in *this* code and explains *this* symptom;
  `partly` when it is right but misses a second bug or blames the wrong line.
- The fix must keep the routine's contract (register sizes, stack balance, preserved registers).

{COMMON_RULES}""",
    extra=("diagnosis_matches",),
)

OPTIMIZE = Form(
    "asm_optimize",
    fields=(
        FieldSpec("prompt", "Code to optimise and the request"),
        FieldSpec("answer", "Optimised code and explanation"),
        REPORT,
    ),
    questions=(
        DECISION,
        QuestionSpec(
            "still_correct",
            "Does the optimised code still do the same thing?",
            "label",
            {"yes": "yes", "no": "no", "unsure": "unsure"},
            description="Same results, flags and side effects the callers rely on, in every register size",
        ),
        QuestionSpec(
            "saves",
            "What does it save?",
            "label",
            {"cycles": "cycles", "bytes": "bytes", "both": "both", "neither": "neither"},
        ),
        QuestionSpec("counts_ok", "Are the cycle/byte counts it claims right?", "label", YES_NO),
        _corrected("Corrected answer", "The whole answer with the code and the counts fixed"),
        CATEGORY,
        RATING,
        NOTES,
    ),
    guidelines=f"""## Optimisation

The answer rewrites 65816 code to be faster or smaller. Approve it only if it is **still correct** (same
results and the flags/registers callers use, in the register sizes the code runs in) and it **saves**
cycles or bytes; check the counts it claims (e.g. 16-bit A adds a cycle, page crossings, DMA vs a loop).

{COMMON_RULES}""",
    extra=("still_correct", "saves", "counts_ok"),
)

GENERATE = Form(
    "asm_generate",
    fields=(FieldSpec("prompt", "Request"), FieldSpec("answer", "Generated code and explanation"), REPORT),
    questions=(
        DECISION,
        QuestionSpec(
            "does_what_asked",
            "Does the code do what was asked?",
            "label",
            YES_PARTLY_NO,
            description="All of the request, on the real hardware, without clobbering what it must keep",
        ),
        QuestionSpec("hardware_accurate", "Accurate about the hardware?", "label", YES_PARTLY_NO),
        _corrected("Corrected answer", "The whole answer with the code fixed"),
        CATEGORY,
        RATING,
        NOTES,
    ),
    guidelines=f"""## Code generation

The answer writes 65816 code for a request. Approve it when it **does what was asked** - all of it, with
the register sizes set, the stack balanced and the registers the caller needs kept - and what it says
about the hardware (PPU, DMA, timing, memory map) is right.

{COMMON_RULES}""",
    extra=("does_what_asked", "hardware_accurate"),
)

EXPLAIN = Form(
    "asm_explain",
    fields=(FieldSpec("prompt", "Code or question"), FieldSpec("answer", "Explanation"), REPORT),
    questions=(
        DECISION,
        QuestionSpec(
            "hardware_accurate",
            "Is it accurate about the hardware?",
            "label",
            YES_PARTLY_NO,
            description="Registers, flags, timing, PPU/DMA behaviour and the memory map as the SNES has them",
        ),
        QuestionSpec("explains_the_code", "Does it explain this code (not a generic one)?", "label", YES_PARTLY_NO),
        _corrected("Corrected answer", "The whole explanation, corrected"),
        CATEGORY,
        RATING,
        NOTES,
    ),
    guidelines=f"""## Explanation

The answer explains 65816 code or an SNES mechanism. Approve it when it is **accurate about the hardware**
(registers, flags, cycle timing, PPU/DMA behaviour, the memory map) and explains *this* code.

{COMMON_RULES}""",
    extra=("hardware_accurate", "explains_the_code"),
)

OTHER = Form(
    "other",
    fields=(FieldSpec("prompt", "Prompt"), FieldSpec("answer", "Answer under review"), REPORT),
    questions=(DECISION, _corrected("Corrected answer", "The whole answer, corrected"), CATEGORY, RATING, NOTES),
    guidelines=f"""## Review

{COMMON_RULES}""",
)

FORMS: dict[str, Form] = {f.kind: f for f in (QUEST, DEBUG, OPTIMIZE, GENERATE, EXPLAIN, OTHER)}
# Every question a form may store beside the core review columns.
EXTRA_QUESTIONS = tuple(dict.fromkeys(q for f in FORMS.values() for q in f.extra))


def form_for(kind: str) -> Form:
    return FORMS.get(kind, OTHER)


def settings_for(form: Form, categories: list[str], metadata: list[Any], vectors: list[Any], min_submitted: int) -> Any:
    import argilla as rg

    def question(q: QuestionSpec) -> Any:
        common = {"name": q.name, "title": q.title, "description": q.description, "required": q.required}
        if q.type == "label":
            return rg.LabelQuestion(labels=q.labels if q.labels is not None else categories, **common)
        if q.type == "rating":
            return rg.RatingQuestion(values=list(q.values), **common)
        return rg.TextQuestion(use_markdown=True, **common)

    return rg.Settings(
        guidelines=form.guidelines,
        fields=[
            rg.TextField(name=f.name, title=f.title, use_markdown=True, required=f.required, description=f.description)
            for f in form.fields
        ],
        questions=[question(q) for q in form.questions],
        metadata=metadata,
        vectors=vectors,
        distribution=rg.TaskDistribution(min_submitted=min_submitted),
    )


def matches(dataset: Any, form: Form) -> bool:
    """Whether a published dataset has exactly this form's fields and questions (Argilla cannot add
    either to a published dataset, so one that differs is kept as it is and a new version is made)."""
    settings = dataset.settings
    return {f.name for f in settings.fields} == form.field_names and {
        q.name for q in settings.questions
    } == form.question_names


_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.S)


def split_question(prompt: str) -> tuple[str, str]:
    """A debugging question's fenced code blocks, and the prose around them (the symptom)."""
    blocks = [m.group(0).rstrip() for m in _FENCE.finditer(prompt)]
    blocks = [b if b.endswith("```") else b + "\n```" for b in blocks]
    prose = re.sub(r"\n{3,}", "\n\n", _FENCE.sub("", prompt)).strip()
    return "\n\n".join(blocks), prose


def record_fields(kind: str, turns: list[dict[str, str]], answer: str, report: str) -> dict[str, str]:
    """The form's field values for a sample: ``turns`` are the messages before the answer."""
    labelled = "\n\n".join(f"**{m['role']}:** {m['content']}" for m in turns)
    prompt = turns[0]["content"] if len(turns) == 1 else labelled
    answer = answer or "_(no answer)_"
    if kind == "quest_implementation":
        values = {"design": prompt or "_(no design)_", "implementation": answer}
    elif kind == "debug_dialogue":
        code, symptom = split_question(prompt)
        values = {"symptom": symptom or "_(the question is the code alone)_", "answer": answer}
        if code:
            values["buggy_code"] = code
    else:
        values = {"prompt": prompt or "_(no prompt)_", "answer": answer}
    values["validator_report"] = report
    return values


# Which validator issue means which form answer is "no": the suggestions the validators can make.
_HOOK_ISSUES = (
    "impl_missing_hook",
    "hook_splits_instruction",
    "hook_in_data",
    "hook_over_branch_target",
    "hook_overwrites_return",
    "displaced_not_rerun",
    "displaced_branch",
    "overwrites_hack_hook",
    "overlapping_writes",
    "hard_coded_free_space",
)
_FLAG_ISSUES = ("impl_missing_flag", "flag_in_vanilla_byte", "flag_in_claimed_byte", "condition_never_written")
ISSUE_SUGGESTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "quest_implementation": {
        **{code: ("hook_ok", "no") for code in _HOOK_ISSUES},
        **{code: ("flag_ok", "no") for code in _FLAG_ISSUES},
        "impl_missing_text_id": ("message_ok", "no"),
        "message_without_routine": ("message_ok", "no"),
        "impl_missing_code": ("realises", "no"),
    },
}
# The checks that know the game (hooks, save bytes, vanilla routines): only when all of them ran on a ROM map and
# passed does the form pre-fill "approve" - a pair that merely assembles and has the right headings is not one.
GAME_CHECKS = ("rom_patch", "sram_ownership", "alttp_conventions")


def decision_suggestion(kind: str, results: list[dict[str, Any]], score: float) -> tuple[str, float] | None:
    """The decision to pre-fill: "approve" (with the validation score) unless a game check failed ("reject")
    or, for a quest pair, the game checks could not run for lack of a ROM map (no suggestion at all)."""
    game = [r for r in results if r["validator"] in GAME_CHECKS]
    if any(not r["passed"] for r in game):
        return "reject", 1.0
    unchecked = any(i.get("code") == "no_rom_map" for r in game for i in r["issues"])
    if kind == "quest_implementation" and (unchecked or len(game) < len(GAME_CHECKS)):
        return None
    return "approve", score


# A failed validator that says a form answer is "no" (the answer's own code does not assemble).
FAILED_SUGGESTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "asm_optimize": {"asm_assembles": ("still_correct", "no")},
    "asm_generate": {"asm_assembles": ("does_what_asked", "partly")},
    "debug_dialogue": {"terminology": ("diagnosis_matches", "partly")},
}


def validator_suggestions(kind: str, results: list[dict[str, Any]]) -> dict[str, str]:
    """Form answers the validators already know, from a sample's latest results."""
    found: dict[str, str] = {}
    by_issue, by_failure = ISSUE_SUGGESTIONS.get(kind, {}), FAILED_SUGGESTIONS.get(kind, {})
    for result in results:
        if not result["passed"] and result["validator"] in by_failure:
            question, value = by_failure[result["validator"]]
            found.setdefault(question, value)
        for issue in result["issues"]:
            if issue.get("code") in by_issue:
                question, value = by_issue[issue["code"]]
                found.setdefault(question, value)
    return found
