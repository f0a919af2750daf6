"""Hand-written samples for validator tests: one good dialogue per kind, and ways to spoil it."""

from schemas import Kind, Message, Provenance, Role, SampleRevision, SourceType

GOOD_QUESTION = """```asm
ReadValue:
    REP #$20
    LDA $10
    STA $7E2000
    RTS
```

After calling ReadValue my 8-bit code crashes - the next LDA #$00 eats the following opcode. Why?"""

GOOD_ANSWER = """**Bug: 16-bit/8-bit mode mismatch**

ReadValue switches the accumulator to 16-bit with REP #$20 and returns without SEP #$20, so the caller's
8-bit LDA #$00 is decoded as a 16-bit immediate and swallows the next opcode byte.

**What's happening:**
1. REP #$20 clears the M flag, so A is 16-bit inside ReadValue.
2. RTS returns with M still clear; the processor status is not restored.
3. The caller assembles LDA #$00 as two bytes, but the CPU reads three in 16-bit mode.

**Fix:**
```asm
ReadValue:
    PHP
    REP #$20
    LDA $10
    STA $7E2000
    PLP
    RTS
```

PHP saves the caller's mode and PLP restores it before returning, so the caller's 8-bit size is intact
whatever the routine does with REP and SEP."""

QUEST_QUESTION = """Quest design: the lost flute.

Goal: Link returns the flute to the boy in Kakariko.
Beats:
1. Talk to the boy; he asks for the flute.
2. Find the flute in the hidden room.
3. Return it.
Reward: a piece of heart.
Constraints: each text box fits 3 lines of 19 characters."""

QUEST_ANSWER = """The implementation hooks the boy's dialogue routine and keeps the quest state in an SRAM flag.

Hook point: $05:E3B2 (the boy's talk routine) jumps to FluteQuest.
Flag: SRAM $7EF3C9 bit 0 records that the flute was returned.
Message id $0123 is the thank-you text; $0124 asks for the flute.

```asm
org $05E3B2
    JSL FluteQuest

org $208000
FluteQuest:
    LDA $7EF3C9
    AND #$01
    BNE .done
    LDA #$23
    LDY #$01
    JSL Sprite_ShowMessageUnconditional
.done
    RTL
```

The hook replaces the original JSL, so the boy's routine runs the quest check first and the
flag keeps the reward from being given twice."""


def revision(
    question: str,
    answer: str,
    *,
    kind: Kind = Kind.debug_dialogue,
    category: str | None = "mode_mismatch",
    system: str | None = None,
) -> SampleRevision:
    messages = [Message(role=Role.user, content=question), Message(role=Role.assistant, content=answer)]
    if system:
        messages.insert(0, Message(role=Role.system, content=system))
    return SampleRevision(
        kind=kind,
        category=category,
        messages=tuple(messages),
        provenance=Provenance(source_type=SourceType.template, source_name="tests"),
    )


def good_dialogue(**kw) -> SampleRevision:
    return revision(GOOD_QUESTION, GOOD_ANSWER, **kw)


def with_answer(answer: str, **kw) -> SampleRevision:
    return revision(GOOD_QUESTION, answer, **kw)
