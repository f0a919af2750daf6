"""Arithmetic and logic: the carry going into ADC/SBC, comparisons branching the wrong way, signed
values treated as unsigned, and bit masks that do something else than intended."""

from __future__ import annotations

from curation.asm.behaviour import BehaviourSpec, Scenario
from generators.bug_injection.case import Case
from generators.draw import Draw, h2
from generators.vocabulary import Ram

# What every routine here owes its caller, whatever the bug: it comes back, with the stack as it was.
RETURNS = ("returns", "stack_balanced")
# ALttP's usual state on entry: 8-bit A and index registers.
SHORT = {"m8": True, "x8": True}


def _spec(entry: str, call: str, *scenarios: Scenario) -> BehaviourSpec:
    """A spec without defines or stubs: the routines here call nothing and use no ``!Name``."""
    return BehaviourSpec(entry, call, scenarios)


def _byte(value: int) -> bytes:
    """One byte as the 8-bit CPU leaves it (sums and differences wrap)."""
    return bytes([value & 0xFF])


def adc_without_clc(d: Draw) -> Case:
    """ADC after a compare that leaves the carry set: one too many is added."""
    name = d.routine()
    var, gate = d.free_ram(), d.save_ram(wide=False)
    amount, limit = d.int(1, 0x20), d.int(2, 0x40)
    skip = d.exit_label()
    head = [f"{name}:", "SEP #$20", f"LDA {gate.long}", f"CMP #{h2(limit)}", f"BCC {skip}", f"LDA {var.long}"]
    tail = [f"ADC #{h2(amount)}", f"STA {var.long}", skip, "RTS"]
    buggy = d.asm([*head, *tail])
    fixed = d.asm([*head, "CLC", *tail])
    # The add only runs when the gate is at or above the limit - exactly when CMP left the carry set.
    start = 0x10
    spec = _spec(
        name,
        "jsr",
        *(
            Scenario(
                f"{gate.what} = {h2(level)}",
                flags=SHORT,
                memory={gate.address: _byte(level), var.address: _byte(start)},
                expect_memory={var.address: _byte(start + amount if level >= limit else start)},
                properties=RETURNS,
            )
            for level in (limit, min(limit + 0x20, 0xFF), limit - 1)
        ),
    )
    return Case(
        "carry_flag",
        d.pick(["ADC without CLC", "carry flag added in", "missing CLC before the add"]),
        d.pick(
            [
                f"{name} should add {amount} to {var.long}, but it always adds {amount + 1}.",
                f"The counter at {var.long} goes up one more than I tell it to.",
                f"Each call of {name} is off by one, always too high.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"ADC always adds the carry flag as well. {name} reaches the ADC only when BCC {skip} was not taken, "
                f"i.e. when CMP #{h2(limit)} left the carry set, so the add is {amount} + 1. A CLC before the ADC "
                "clears the carry.",
                f"The carry from CMP #{h2(limit)} leaks into the addition: on the path to ADC the carry flag is "
                f"always 1 (that is why BCC did not branch), and ADC #{h2(amount)} adds it in.",
            ]
        ),
        (
            f"CMP #{h2(limit)} sets the carry when {gate.what} is at least {limit}.",
            d.pick(
                [
                    f"BCC {skip} is not taken exactly when the carry is set.",
                    "Falling through the BCC means carry = 1.",
                ]
            ),
            f"ADC #{h2(amount)} computes A + {h2(amount)} + carry, one more than intended.",
        ),
        d.pick(
            [
                f"CLC clears the carry flag so ADC #{h2(amount)} adds exactly {amount}.",
                "Every ADC that starts a new sum needs CLC first; only a multi-byte add keeps the carry.",
            ]
        ),
        culprit=f"ADC #{h2(amount)}",
        spec=spec,
    )


def sbc_without_sec(d: Draw) -> Case:
    """SBC after an addition that leaves the carry clear: one too many is subtracted."""
    name = d.routine()
    first, second = d.free_ram(), d.save_ram(wide=False) if d.chance(0.5) else d.free_ram()
    step, dmg = d.int(1, 0x10), d.int(1, 0x10)
    head = [f"{name}:", "SEP #$20", f"LDA {first.long}", "CLC", f"ADC #{h2(step)}", f"STA {first.long}"]
    tail = [f"SBC #{h2(dmg)}", f"STA {second.long}", "RTS"]
    buggy = d.asm([*head, f"LDA {second.long}", *tail])
    fixed = d.asm([*head, f"LDA {second.long}", "SEC", *tail])

    def run(before: int) -> Scenario:
        """``before`` in the first variable; the second (its own value, or the sum when both are the same
        byte) must drop by exactly dmg."""
        same = second.address == first.address
        value = (before + step) & 0xFF if same else 0x40
        memory = {first.address: _byte(before)}
        if not same:
            memory[second.address] = _byte(value)
        return Scenario(
            f"{first.what} = {h2(before)}" + (" (the add carries out)" if before + step > 0xFF else ""),
            flags=SHORT,
            memory=memory,
            expect_memory={second.address: _byte(value - dmg)},
            properties=RETURNS,
        )

    # The usual case (no carry out of the add) shows the bug; an add that overflows hides it.
    spec = _spec(name, "jsr", run(0x20), run(0x100 - step))
    return Case(
        "carry_flag",
        d.pick(["SBC without SEC", "borrow from a stale carry", "missing SEC before the subtract"]),
        d.pick(
            [
                f"{name} takes {dmg + 1} off {second.long} instead of {dmg}.",
                f"{second.what.capitalize()} drops by one more than the damage value.",
                f"The subtraction in {name} is off by one; the add right before it is fine.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"SBC subtracts the operand and the inverted carry (the borrow). The carry flag left by CLC/ADC in "
                f"{name} is clear unless that add overflowed, so SBC #{h2(dmg)} subtracts {dmg} + 1. SEC first sets "
                "the carry, meaning no borrow.",
                "The subtraction inherits the carry of the ADC before it: with the carry flag clear, SBC treats it "
                "as a "
                f"borrow and takes away one extra. {name} needs SEC before SBC #{h2(dmg)}.",
            ]
        ),
        (
            f"CLC / ADC #{h2(step)} leaves the carry clear (no overflow).",
            "The carry clear means 'borrow' to SBC.",
            f"SBC #{h2(dmg)} computes A - {h2(dmg)} - 1.",
        ),
        d.pick(
            [
                "SEC sets the carry flag, so SBC subtracts exactly the operand.",
                "A fresh subtraction always starts with SEC; the carry is only kept between the bytes of a wider one.",
            ]
        ),
        culprit=f"SBC #{h2(dmg)}",
        spec=spec,
    )


def equality_check_skipped(d: Draw) -> Case:
    """``CMP #max : BNE`` on a counter that moves in steps larger than one and jumps past max."""
    name = d.routine()
    counter = d.free_ram()
    step = d.pick([2, 3, 4, 5, 8])
    limit = step * d.int(4, 20) + d.int(1, step - 1)
    ok = d.exit_label()
    head = [f"{name}:", "SEP #$20", f"LDA {counter.long}", "CLC", f"ADC #{h2(step)}", f"STA {counter.long}"]
    head.append(f"CMP #{h2(limit)}")
    tail = [f"LDA #{h2(limit)}", f"STA {counter.long}", ok, "RTS"]
    buggy = d.asm([*head, f"BNE {ok}", *tail])
    fixed = d.asm([*head, f"BCC {ok}", *tail])
    # The counter only ever holds multiples of the step: from the last one below the limit the add jumps
    # past it (and must be clamped); further down it just counts.
    below = limit - limit % step
    spec = _spec(
        name,
        "jsr",
        *(
            Scenario(
                f"counter = {h2(before)}",
                flags=SHORT,
                memory={counter.address: _byte(before)},
                expect_memory={counter.address: _byte(min(before + step, limit))},
                properties=RETURNS,
            )
            for before in (below, below - step, below - 2 * step)
        ),
    )
    return Case(
        "comparison_logic",
        d.pick(["equality test on a counter that steps past it", "BNE where BCC is needed", "cap never triggers"]),
        d.pick(
            [
                f"The counter at {counter.long} should stop at {limit}, but it keeps climbing and wraps.",
                f"My cap of {h2(limit)} in {name} never kicks in.",
                f"{name} lets the value run past {limit} and back round to zero.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The counter moves by {step}, and {limit} is not a multiple of {step}, so it never equals "
                f"{h2(limit)}: CMP #{h2(limit)} never sets the zero flag and BNE always branches past the cap. The "
                "test needs the carry flag (at least the limit), not the zero flag.",
                f"CMP sets the flags for A - {h2(limit)}; BNE only looks at the zero flag, which is set only on an "
                f"exact match. Stepping by {step}, {name} jumps from below {limit} to above it, so the cap is "
                "skipped. BCC (carry clear: still below) is the right branch.",
            ]
        ),
        (
            f"Each call adds {step} to the counter.",
            d.pick(
                [
                    f"The values step over {limit}: no call leaves exactly {h2(limit)} in A.",
                    f"CMP #{h2(limit)} never produces zero, so Z stays clear.",
                ]
            ),
            "BNE is always taken and the cap code never runs; the counter wraps at 256.",
        ),
        d.pick(
            [
                f"BCC {ok} skips the cap only while A is below {h2(limit)}; once it reaches or passes the limit the "
                "carry is set and the value is clamped.",
                "An unsigned 'greater or equal' test uses the carry: CMP then BCC (below) / BCS (at or above).",
            ]
        ),
        culprit=f"BNE {ok}",
        spec=spec,
    )


def inverted_carry_branch(d: Draw) -> Case:
    """``CMP max : BCS refill`` - refills when health is already at or above max."""
    name = d.routine()
    health, max_health = Ram(0x7EF36D, "the current health"), Ram(0x7EF36C, "the maximum health")
    amount = d.pick([0x08, 0x10, 0x18, 0x20])
    refill, done = d.pick([".refill", ".heal", ".top_up"]), d.exit_label()
    head = [f"{name}:", "SEP #$20", f"LDA {health.long}", f"CMP {max_health.long}"]
    tail = [f"BRA {done}", refill, "CLC", f"ADC #{h2(amount)}", f"STA {health.long}", done, "RTL"]
    buggy = d.asm([*head, f"BCS {refill}", *tail])
    fixed = d.asm([*head, f"BCC {refill}", *tail])
    # Ten hearts of capacity (8 units a heart): a hurt Link gets the refill, a full one nothing.
    top = 0x50
    spec = _spec(
        name,
        "jsl",
        *(
            Scenario(
                what,
                flags=SHORT,
                memory={max_health.address: _byte(top), health.address: _byte(now)},
                expect_memory={health.address: _byte(after), max_health.address: _byte(top)},
                properties=RETURNS,
            )
            for what, now, after in (("hurt Link", 0x18, 0x18 + amount), ("full health", top, top))
        ),
    )
    return Case(
        "comparison_logic",
        d.pick(["inverted carry test after CMP", "BCS where BCC was meant", "refill condition backwards"]),
        d.pick(
            [
                "My fairy heals Link past his maximum health, but never when he's actually hurt.",
                f"{name} adds health only when Link is already full.",
                "Hearts overflow the meter, and damaged Link gets nothing.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"CMP {max_health.long} sets the carry flag when the health is at least the maximum. BCS "
                f"{refill} therefore branches exactly when Link is full; a hurt Link (carry clear) falls through to "
                "BRA and gets nothing. The comparison is right, the branch is inverted.",
                f"After CMP the carry means 'A >= operand'. {name} uses BCS to reach {refill}, so the flags send "
                "full health into the refill and skip it when Link is damaged; BCC is the branch for 'below'.",
            ]
        ),
        (
            f"LDA {health.long} / CMP {max_health.long} compares health with the maximum.",
            "The carry is set when health >= maximum, clear when below.",
            f"BCS {refill} heals only in the full case and pushes the value past the maximum.",
        ),
        d.pick(
            [
                f"BCC {refill} branches when the carry is clear, i.e. health below the maximum.",
                "Branching on carry clear heals only a damaged Link.",
            ]
        ),
        culprit=f"BCS {refill}",
        spec=spec,
    )


def unsigned_clamp_on_signed(d: Draw) -> Case:
    """A speed cap with BCC/BCS that turns every negative speed into the positive maximum."""
    name = d.routine()
    speed = d.pick([Ram(0x7E0D50, "the sprite X speed table"), Ram(0x7E0D40, "the sprite Y speed table")])
    limit = d.pick([0x10, 0x18, 0x20, 0x28, 0x30])
    ok = d.exit_label()
    tail = [f"CMP #{h2(limit)}", f"BCC {ok}", f"LDA #{h2(limit)}", f"STA {speed.absolute},X", ok, "RTS"]
    buggy = d.asm([f"{name}:", f"LDA {speed.absolute},X", *tail])
    fixed = d.asm([f"{name}:", f"LDA {speed.absolute},X", f"BMI {ok}", *tail])
    slot = d.int(0, 15)
    # A negative speed passes untouched, a positive one above the limit is capped, a slow one is kept.
    spec = _spec(
        name,
        "jsr",
        *(
            Scenario(
                f"slot {slot} speed {h2(before)}",
                registers={"x": slot},
                flags=SHORT,
                memory={speed.address + slot: _byte(before)},
                expect_memory={speed.address + slot: _byte(after)},
                properties=RETURNS,
            )
            for before, after in (
                (0xF8, 0xF8),
                (0x100 - limit, 0x100 - limit),
                (limit + 8, limit),
                (limit - 4, limit - 4),
            )
        ),
    )
    axis = "left" if "X" in speed.what else "up"
    opposite = "right" if axis == "left" else "down"
    return Case(
        "signed_arithmetic",
        d.pick(
            ["unsigned compare on a signed speed", "negative speeds clamped to the maximum", "sign ignored in a cap"]
        ),
        d.pick(
            [
                f"My sprite can't move {axis}: the moment it tries, it shoots off {opposite} at full speed.",
                f"{name} caps the speed fine in one direction and breaks the other.",
                f"Negative values in {speed.what} turn into {h2(limit)}.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The speed in {speed.absolute},X is a signed byte: $80-$FF are negative (moving {axis}). CMP "
                f"#{h2(limit)} with BCC is an unsigned comparison, so every negative speed ($F0 = -16) compares "
                f"as larger than {h2(limit)} and is clamped to +{limit}.",
                f"{name} treats the sign bit of a signed speed as part of the magnitude. For the comparison a "
                "negative speed such as "
                f"$E8 is 232, above {h2(limit)}, so the cap replaces it with the positive maximum; the negative "
                "case has to branch away first (BMI).",
            ]
        ),
        (
            f"A sprite moving {axis} has a negative speed, e.g. $F8 (-8).",
            f"CMP #{h2(limit)} sees $F8 as 248 and sets the carry: not below the limit.",
            f"BCC is not taken and the speed becomes {h2(limit)}, full speed {opposite}.",
        ),
        d.pick(
            [
                f"BMI {ok} lets negative speeds through before the unsigned compare, so only positive speeds are "
                "capped; a separate check can clamp the negative side.",
                "Testing the sign bit first (N flag, BMI) keeps the compare for positive values only.",
            ]
        ),
        observe=f"the speed byte flips from a negative value to {h2(limit)} on the frame after the cap.",
        culprit=f"BCC {ok}",
        spec=spec,
    )


def missing_sign_extension(d: Draw) -> Case:
    """An 8-bit signed speed added to a 16-bit position without sign extension."""
    name = d.routine()
    speed = d.pick([Ram(0x7E0D50, "the sprite X speed table"), Ram(0x7E0D40, "the sprite Y speed table")])
    pos = d.free_ram(wide=True)
    head = [f"{name}:", "REP #$20", f"LDA {speed.absolute},X", "AND #$00FF"]
    tail = ["CLC", f"ADC {pos.long}", f"STA {pos.long}", "SEP #$20", "RTS"]
    extend = ["CMP #$0080", "BCC +", "ORA #$FF00", "+"]
    buggy = d.asm([*head, *tail])
    fixed = d.asm([*head, *extend, *tail])
    slot = d.int(0, 14)
    # The 16-bit load also picks up the next slot's speed (masked off); the position must move by the signed
    # speed: back 16 for $F0, forward 16 for $10.
    spec = _spec(
        name,
        "jsr",
        *(
            Scenario(
                f"slot {slot} speed {h2(byte)}",
                registers={"x": slot},
                flags=SHORT,
                memory={speed.address + slot: bytes([byte, 0x0C]), pos.address: (0x0180).to_bytes(2, "little")},
                expect_memory={pos.address: ((0x0180 + delta) & 0xFFFF).to_bytes(2, "little")},
                properties=(*RETURNS, "widths_kept"),
            )
            for byte, delta in ((0xF0, -0x10), (0x10, 0x10), (0x80, -0x80))
        ),
    )
    return Case(
        "signed_arithmetic",
        d.pick(["8-bit signed value not sign-extended", "negative speed added as positive", "missing sign extension"]),
        d.pick(
            [
                f"Moving forward works, but with a negative speed the position at {pos.long} jumps ahead by ~240.",
                f"{name} teleports the sprite when it should move backwards.",
                "Negative speeds make the object warp instead of moving slowly back.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} masks the 8-bit signed speed to $00xx and adds it to a 16-bit position. A negative speed "
                "like $F0 (-16) becomes $00F0 (+240) instead of $FFF0: the sign is lost because the high byte is "
                "zero, not $FF. Compare against $0080 and OR in $FF00 for negative values.",
                "The speed byte is signed, the addition is 16-bit. AND #$00FF zero-extends it, so every negative "
                "speed turns into a large positive one; the position needs a sign-extended value (high byte $FF "
                "when bit 7 is set).",
            ]
        ),
        (
            "AND #$00FF keeps the speed byte and clears the high byte, whatever bit 7 (the sign BMI tests) says.",
            "For $F0 (-16) that gives $00F0 = +240.",
            f"ADC {pos.long} moves the position 240 pixels forward instead of 16 back.",
        ),
        d.pick(
            [
                "CMP #$0080 / BCC skips positive values; ORA #$FF00 makes negative ones $FFxx, so the 16-bit add "
                "moves backwards by the right amount.",
                "With the sign extended, the word $FFF0 adds as -16.",
            ]
        ),
        culprit="AND #$00FF",
        spec=spec,
    )


def clear_with_wrong_mask(d: Draw) -> Case:
    """Clearing one flag bit with AND #bit (keeps only that bit) instead of AND #~bit."""
    name = d.routine()
    flags = d.pick([d.save_ram(wide=False), d.free_ram(), d.low_ram()])
    bit = d.int(0, 7)
    mask = 1 << bit
    buggy = d.asm([f"{name}:", "SEP #$20", f"LDA {flags.long}", f"AND #{h2(mask)}", f"STA {flags.long}", "RTS"])
    use_trb = d.chance(0.4) and flags.address < 0x7E2000
    if use_trb:
        fixed = d.asm([f"{name}:", "SEP #$20", f"LDA #{h2(mask)}", f"TRB {flags.absolute}", "RTS"])
    else:
        fixed = d.asm([f"{name}:", "SEP #$20", f"LDA {flags.long}", f"AND #{h2(~mask)}", f"STA {flags.long}", "RTS"])
    # The other flags in the byte must survive; bit {bit} must end clear whether it was set or not.
    others = 0xBD & ~mask
    spec = _spec(
        name,
        "jsr",
        *(
            Scenario(
                f"flags {h2(before)}",
                flags=SHORT,
                memory={flags.address: _byte(before)},
                expect_memory={flags.address: _byte(before & ~mask)},
                properties=RETURNS,
            )
            for before in (others | mask, others)
        ),
    )
    return Case(
        "bit_manipulation",
        d.pick(
            ["AND with the bit instead of its inverse", "wrong mask when clearing a flag", "clear wipes the other bits"]
        ),
        d.pick(
            [
                f"Clearing bit {bit} of {flags.long} also clears all the other flags in that byte.",
                f"After {name}, every other flag at {flags.long} is reset too.",
                f"{name} should only reset one flag, but other events stop working.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"AND #{h2(mask)} keeps bit {bit} and clears the other seven bits, the opposite of what {name} "
                f"wants. To clear one bit the mask must have that bit at 0 and all others at 1: AND #{h2(~mask)}.",
                f"The mask is inverted. AND clears every bit that is 0 in the operand, and #{h2(mask)} has only bit "
                f"{bit} set, so all other flags at {flags.long} are cleared and bit {bit} is left as it was.",
            ]
        ),
        (
            f"{flags.long} holds eight independent flag bits.",
            f"AND #{h2(mask)} clears every bit except bit {bit}.",
            f"Bit {bit} itself survives if it was set, so the one flag meant to be cleared stays set.",
        ),
        d.pick(
            [
                f"TRB with A = {h2(mask)} clears exactly the bits set in A, leaving the rest alone."
                if use_trb
                else f"AND #{h2(~mask)} clears bit {bit} and keeps the other bits set or clear as they were.",
                f"The inverted mask {h2(~mask)} touches only bit {bit}."
                if not use_trb
                else f"TRB {flags.absolute} is the read-modify-write form of 'clear these bits'.",
            ]
        ),
        culprit=f"AND #{h2(mask)}",
        spec=spec,
    )


def toggle_instead_of_set(d: Draw) -> Case:
    """EOR used to set a flag: every second visit clears it again."""
    name = d.routine()
    flags = d.save_ram(wide=False) if d.chance(0.5) else d.free_ram()
    bit = d.int(0, 7)
    mask = 1 << bit
    head = [f"{name}:", "SEP #$20", f"LDA {flags.long}"]
    buggy = d.asm([*head, f"EOR #{h2(mask)}", f"STA {flags.long}", "RTL"])
    fixed = d.asm([*head, f"ORA #{h2(mask)}", f"STA {flags.long}", "RTL"])
    # First visit (bit clear) and a later one (bit already set): the bit must be set after both, the other
    # flags untouched.
    others = 0x42 & ~mask
    spec = _spec(
        name,
        "jsl",
        *(
            Scenario(
                visit,
                flags=SHORT,
                memory={flags.address: _byte(before)},
                expect_memory={flags.address: _byte(others | mask)},
                properties=RETURNS,
            )
            for visit, before in (("first visit", others), ("second visit", others | mask))
        ),
    )
    return Case(
        "bit_manipulation",
        d.pick(["EOR toggles the flag instead of setting it", "flag flips on every visit", "set done with EOR"]),
        d.pick(
            [
                "The chest event works the first time; the second time I enter, it resets.",
                f"The flag at {flags.long} bit {bit} turns on and off every time {name} runs.",
                "Every other visit the door is locked again.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"EOR #{h2(mask)} toggles bit {bit}: it sets the bit when it is clear and clears it when it is set. "
                f"{name} runs on every visit, so the flag alternates. Setting a bit is ORA with the mask.",
                f"{name} uses exclusive OR to set a flag, but EOR flips the bit in the mask, so a second call clears "
                "it again. ORA sets the bit and leaves it set however often it runs.",
            ]
        ),
        (
            f"The first call: bit {bit} is 0, EOR sets it.",
            f"The second call: bit {bit} is 1, EOR clears it.",
            "The state flips each time the routine runs instead of staying set.",
        ),
        d.pick(
            [
                f"ORA #{h2(mask)} sets bit {bit} and is idempotent: running it twice changes nothing.",
                "OR-ing the mask in sets the flag for good; the other bits are untouched.",
            ]
        ),
        culprit=f"EOR #{h2(mask)}",
        spec=spec,
    )


# Where this family's templates stand in the generator's list: proposals depend on the order (seeded draws).
FAMILY_ORDER = 60
TEMPLATES = (
    adc_without_clc,
    sbc_without_sec,
    equality_check_skipped,
    inverted_carry_branch,
    unsigned_clamp_on_signed,
    missing_sign_extension,
    clear_with_wrong_mask,
    toggle_instead_of_set,
)
