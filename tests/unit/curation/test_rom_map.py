"""The ROM map and the checks that know the game: a small checkout in usdasm's format, the shared US
disassembly read as a user's checkout, and for each check a hand-written patch that passes and one
that fails for the reason an ALttP hacker would give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from curation.rommap import build_rom_map, read_hack_file
from curation.rommap.model import save_offset
from curation.validators import REGISTRY, context_validators, load_builtin
from curation.validators.base import ValidationContext
from schemas.sample import Kind, SampleRevision
from tests.dialogues import revision
from tests.factories import REPO
from triforge.cli import app

FIXTURE_REGISTERS = "JOY1L = $004218\nHDMAEN = $00420C\n"
FIXTURE_BANK = """org $018000

pool Thing_Table

.values
#_018000: db $01, $02, $03

pool off

Thing_Main:
#_018003: LDA.b $10
#_018005: BNE .skip

#_018007: LDA.w JOY1L
#_01800A: STA.l $7EF3D9
#_01800E: STA.l $7EF3DB
#_018012: LDA.l $7003E5
#_018016: STA.l $7EF3E7,X
#_01801A: LDA.l $7EF400,X

.skip
#_01801E: JSL Other_Routine
#_018022: RTL

Other_Routine:
#_018023: STZ.w $1CF0
#_018026: RTL
#_019000: #_0800: mov A, #$01
"""


@pytest.fixture
def fixture_checkout(tmp_path: Path) -> Path:
    checkout = tmp_path / "mini-usdasm"
    checkout.mkdir()
    (checkout / "registers.asm").write_text(FIXTURE_REGISTERS)
    (checkout / "bank_01.asm").write_text(FIXTURE_BANK)
    return checkout


def test_a_checkout_in_usdasm_format_becomes_a_map(fixture_checkout):
    rom_map = build_rom_map(fixture_checkout)
    table = rom_map.entry_at(0x018001)
    assert not table.code and table.address == 0x018000 and table.length == 3 and table.routine == "Thing_Table"
    jsl = rom_map.entry_at(0x018020)
    assert jsl.code and jsl.text == "JSL Other_Routine" and (jsl.address, jsl.length) == (0x01801E, 4)
    assert jsl.routine == "Thing_Main"
    assert (
        rom_map.entry_at(0x018023).length == 3 and rom_map.entry_at(0x018026).length == 1
    )  # the last line: from its text
    assert not rom_map.entry_at(0x019000).code  # the sound CPU's code is data to the 65816
    assert rom_map.address_of("Other_Routine") == 0x018023 and rom_map.address_of("Thing_Main.skip") == 0x01801E
    assert rom_map.label_inside(0x01801C, 0x018020) == "Thing_Main.skip"
    # Who names which byte: long, absolute below $2000 (WRAM mirror), direct page, register names, SRAM slots.
    assert [r.routine for r in rom_map.writers_of(0x7E1CF0)] == ["Other_Routine"]
    assert rom_map.references_to(0x7E0010)[0].text == "LDA.b $10"
    assert rom_map.references_to(0x004218)[0].text == "LDA.w JOY1L"
    assert save_offset(0x7003E5) == save_offset(0x7EF3E5) == 0x3E5
    use = rom_map.vanilla_save_use
    assert "Thing_Main writes it" in use(0x7EF3D9)
    assert "high byte of a 16-bit value" in use(0x7EF3DA)  # between two named bytes two apart
    assert "reads it" in use(0x7EF3E5)  # named through the SRAM slot
    assert "in the table at offset $3E7" in use(0x7EF3EC)  # after a table base, up to the next named byte
    assert use(0x7EF401) is None  # a base at a page start is a block copy: it claims nothing
    assert 0x7EF401 in rom_map.free_save_bytes()


def test_the_shared_disassembly_answers_what_is_at_an_address(rom_map):
    split = rom_map.entry_at(0x05E1A0)
    assert (split.address, split.text, split.routine) == (
        0x05E19E,
        "JSL SpriteDraw_Shadow_long",
        "SpriteDraw_ArguingBros",
    )
    assert not rom_map.entry_at(0x0DB2F0).code  # a table, not code
    assert rom_map.address_of("Sprite_ShowMessageUnconditional") == 0x05E219
    assert sum(r.write for r in rom_map.references_to(0x7EF3CC)) == 42  # the 42 STA.l $7EF3CC
    for name_byte in range(0x7EF3D9, 0x7EF3E5):
        assert rom_map.vanilla_save_use(name_byte), f"${name_byte:06X} is part of the player's name"
    assert rom_map.vanilla_save_use(0x7EF3E5) and rom_map.vanilla_save_use(0x7EF3E6)  # the $55AA slot marker
    assert rom_map.vanilla_save_use(0x7EF3E8)  # a death counter
    assert len(rom_map.free_save_bytes()) > 100


def _quest(answer: str) -> SampleRevision:
    return revision("Quest design (fetch)", answer, kind=Kind.quest_implementation, category="fetch")


def _judge(name: str, answer: str, rom_map) -> tuple[bool, list[str], str]:
    load_builtin()
    result = REGISTRY[name].validate_in(_quest(f"```asm\n{answer}\n```"), ValidationContext(rom_map))
    errors = [i.code for i in result.issues if i.severity == "error"]
    return result.passed, errors, " ".join(i.message for i in result.issues)


GOOD_HOOK = """org $05DD23            ; Priest_LyingOnGround: JSL Sprite_ShowSolicitedMessage
    autoclean JSL MyHook
freecode
MyHook:
    JSL Sprite_ShowSolicitedMessage
    RTL
"""


def test_rom_patch_accepts_a_hook_at_a_call_site_that_re_runs_it(rom_map):
    passed, errors, _ = _judge("rom_patch", GOOD_HOOK, rom_map)
    assert passed and errors == []


@pytest.mark.parametrize(
    "name, patch, code, says",
    [
        ("split instruction", "org $05E1A0\n    JSL MyHook\n    NOP\nfreecode\nMyHook:\n    RTL",
         "hook_splits_instruction", "byte 3 of $05:E19E JSL SpriteDraw_Shadow_long (in SpriteDraw_ArguingBros)"),
        ("hook in data", "org $0DB2F0\n    JSL MyHook\nfreecode\nMyHook:\n    RTL", "hook_in_data", "into data"),
        ("displaced instruction dropped", "org $05DD23\n    autoclean JSL MyHook\nfreecode\nMyHook:\n    RTL",
         "displaced_not_rerun", "JSL Sprite_ShowSolicitedMessage"),
        ("overlapping writes", "org $05DD23\n    JSL MyHook\norg $05DD25\n    NOP\nfreecode\nMyHook:\n"
         "    JSL Sprite_ShowSolicitedMessage\n    RTL", "overlapping_writes", "overlap"),
        ("branch target inside", "org $05E1E9\n    JSL MyHook\nfreecode\nMyHook:\n    RTL",
         "hook_over_branch_target", "jumps to"),
        ("hard-coded free space", "org $05DD23\n    JSL $238000\norg $238000\n    JSL Sprite_ShowSolicitedMessage\n"
         "    RTL", "hard_coded_free_space", "freecode"),
    ],
)  # fmt: skip
def test_rom_patch_names_what_a_bad_hook_hits(rom_map, name, patch, code, says):
    passed, errors, message = _judge("rom_patch", patch, rom_map)
    assert not passed and code in errors, (errors, message)
    assert says in message


def test_without_a_map_the_game_checks_warn_and_judge_nothing():
    load_builtin()
    for name in ("rom_patch", "sram_ownership"):
        result = REGISTRY[name].validate_in(_quest(f"```asm\n{GOOD_HOOK}\nLDA.l $7EF3D9\nBNE +\nSTA.l $7EF3D9\n+\n```"),
                                            ValidationContext(None))  # fmt: skip
        assert result.passed and [i.code for i in result.issues] == ["no_rom_map"]


FREE_FLAG = "$7EF4C0"


def test_sram_ownership_accepts_a_free_byte_that_the_patch_tests_and_sets(rom_map):
    assert FREE_FLAG.replace("$", "0x").lower() in [hex(a) for a in rom_map.free_save_bytes()]
    code = f"LDA.l {FREE_FLAG}\nAND.b #$01\nBNE .done\nLDA.l {FREE_FLAG}\nORA.b #$01\nSTA.l {FREE_FLAG}\n.done\nRTL"
    assert _judge("sram_ownership", code, rom_map)[:2] == (True, [])


def test_sram_ownership_refuses_a_name_byte_as_flag_and_a_condition_nothing_writes(rom_map):
    name_flag = "LDA.l $7EF3E4\nBIT.b #$08\nBNE .done\nORA.b #$08\nSTA.l $7EF3E4\n.done\nRTL"
    passed, errors, message = _judge("sram_ownership", name_flag, rom_map)
    assert not passed and errors == ["flag_in_vanilla_byte"] and "NameFile" in message
    never = f"LDA.l $7EF4C1\nAND.b #$80\nBEQ .no\nLDA.b #$01\nSTA.l {FREE_FLAG}\n.no\nRTL"
    passed, errors, message = _judge("sram_ownership", never, rom_map)
    assert not passed and errors == ["condition_never_written"] and "$7E:F4C1" in message


@pytest.mark.parametrize(
    "code, rule",
    [
        ("LDA.b #$2E\nSTA.w $1CF0\nLDA.b #$01\nSTA.w $1CF1\nRTL", "message_without_routine"),
        ("LDA.l $7EF36C\nCLC\nADC.b #$08\nSTA.l $7EF36C\nRTL", "item_poked"),
        ("LDA.b #$80\nSTA.w $420C\nRTL", "hdma_enable_direct"),
        ("LDA.w $4218\nAND.b #$80\nRTS", "joypad_direct"),
        ("Routine:\nREP #$20\nLDA.l $7EF360\nRTL", "widths_not_restored"),
    ],
)
def test_each_convention_fails_its_pitfall_and_cites_the_vanilla_routine(rom_map, code, rule):
    passed, errors, message = _judge("alttp_conventions", code, rom_map)
    assert not passed and errors == [rule], (errors, message)
    if rule == "message_without_routine":
        assert "Sprite_ShowMessageUnconditional ($05:E219)" in message
    if rule == "item_poked":
        assert "Link_ReceiveItem ($07:99AD)" in message
    if rule == "joypad_direct":
        assert "NMI_ReadJoypads ($00:83D1)" in message


def test_the_conventions_pass_code_that_does_it_the_vanilla_way(rom_map):
    code = """Quest:
    PHP
    SEP #$30
    LDA.b #$2E
    LDY.b #$01
    JSL Sprite_ShowMessageUnconditional
    LDY.b #$3E
    STZ.w $02E9
    JSL Link_ReceiveItem
    LDA.b $F4
    AND.b #$80
    PLP
    RTL"""
    assert _judge("alttp_conventions", code, rom_map)[:2] == (True, [])


def test_the_cli_builds_the_map_shows_an_address_and_reopens_the_verdicts(home, usdasm_dir, tmp_path):
    runner = CliRunner()
    assert "no ROM map" in runner.invoke(app, ["rom-map", "show", "$05E1A0"]).output
    hack = tmp_path / "hack.toml"
    hack.write_text(
        'name = "Test Hack"\n[[sram]]\naddress = "$7EF410"\nsize = 2\nname = "QuestFlags"\nuse = "quests"\n'
        '[[free_space]]\nstart = "$208000"\nend = "$20FFFF"\n'
    )
    built = runner.invoke(app, ["rom-map", "build", "--disassembly", str(usdasm_dir), "--hack", str(hack), "--json"])
    assert built.exit_code == 0, built.output
    summary = json.loads(built.stdout)
    assert summary["instructions"] > 100_000 and summary["hack"] == "Test Hack"
    shown = runner.invoke(app, ["rom-map", "show", "$05E1A0"])
    assert "byte 3 of it, not a boundary" in shown.output and "SpriteDraw_ArguingBros" in shown.output
    claimed = runner.invoke(app, ["rom-map", "show", "$7EF411", "--json"])
    assert any("QuestFlags" in fact for fact in json.loads(claimed.stdout)["facts"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sram]]\naddress = "nowhere"\n')
    refused = runner.invoke(app, ["rom-map", "build", "--disassembly", str(usdasm_dir), "--hack", str(bad)])
    assert refused.exit_code == 2 and "is not an address" in refused.output


def test_rebuilding_the_map_reopens_only_the_verdicts_that_depend_on_it(home, usdasm_dir, tmp_path):
    runner = CliRunner()
    turns = [{"role": "user", "content": "Add a quest."}, {"role": "assistant", "content": f"```asm\n{GOOD_HOOK}\n```"}]
    row = {"messages": turns, "intent": "generation"}
    (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
    runner.invoke(app, ["import", str(tmp_path / "q.jsonl"), "--kind", "quest_implementation"])
    before = json.loads(runner.invoke(app, ["validate", "--json"]).stdout)
    assert before["validators"]["rom_patch"]["issue_codes"] == {"no_rom_map": 1}
    runner.invoke(app, ["rom-map", "build", "--disassembly", str(usdasm_dir)])
    after = json.loads(runner.invoke(app, ["validate", "--json"]).stdout)
    assert after["validators"]["rom_patch"]["ran"] == 1 and after["validators"]["quest_structure"]["ran"] == 0
    assert set(context_validators()) == {"alttp_conventions", "rom_patch", "sram_ownership"}


def test_the_example_hack_file_reads(tmp_path):
    example = REPO / "docs" / "examples" / "hack.toml"
    claims = read_hack_file(example)
    assert claims.name and claims.free_space and claims.sram and claims.sram_claim(claims.sram[0].address)


def test_the_review_form_prefills_approve_only_when_the_game_checks_passed():
    from labeling.argilla.forms import decision_suggestion, validator_suggestions

    def result(name: str, passed: bool, *codes: str) -> dict:
        severity = "error" if not passed else "warning"
        return {"validator": name, "passed": passed, "issues": [{"code": c, "severity": severity} for c in codes]}

    clean = [result("rom_patch", True), result("sram_ownership", True), result("alttp_conventions", True)]
    assert decision_suggestion("quest_implementation", clean, 0.9) == ("approve", 0.9)
    split = [result("rom_patch", False, "hook_splits_instruction"), *clean[1:]]
    assert decision_suggestion("quest_implementation", split, 0.9) == ("reject", 1.0)
    assert validator_suggestions("quest_implementation", split) == {"hook_ok": "no"}
    unchecked = [result("rom_patch", True, "no_rom_map"), *clean[1:]]
    assert decision_suggestion("quest_implementation", unchecked, 0.9) is None
    assert decision_suggestion("debug_dialogue", [], 0.8) == ("approve", 0.8)
