"""Game-state bugs in an ALTTP hack: SRAM saves, state nobody initialises, and the two families the
field's Oracle of Secrets samples name - water collision and palette dispatch."""

from __future__ import annotations

from curation.asm.behaviour import BehaviourSpec, Scenario
from generators.bug_injection.case import Case
from generators.draw import Draw, h2, h4, h6

FORMS = ("Deku", "Zora", "Wolf", "Goron", "Minish", "Bunny", "FierceDeity")
CGDATA = 0x2122


def _palette_stub(colour: int) -> str:
    """A palette routine reduced to what the spec can see: the first colour byte it writes to CGRAM, so a
    scenario tells which routine ran by the last value written to CGDATA."""
    return f"PHP\nSEP #$20\nLDA #{h2(colour)}\nSTA $00{CGDATA:04X}\nPLP\nRTL"


def _words(values: list[int]) -> bytes:
    return b"".join((v & 0xFFFF).to_bytes(2, "little") for v in values)


def checksum_before_write(d: Draw) -> Case:
    """The SRAM block's checksum is computed before the last value is written into the block."""
    name = d.routine()
    size = d.pick([0x10, 0x20, 0x40, 0x08])
    base = 0x700000 + d.rng.randrange(0x1C00, 0x1F00, 0x40)
    chk = base + size
    src = d.free_ram(wide=True)
    loop = d.loop_label()
    write = [f"LDA {src.long}", f"STA {h6(base)}"]
    summing = ["LDA #$0000", f"LDX #{h4(size - 2)}", loop, "CLC", f"ADC {h6(base)},X", "DEX", "DEX", f"BPL {loop}"]
    summing.append(f"STA {h6(chk)}")
    buggy = d.asm([f"{name}:", "PHP", "REP #$30", *summing, *write, "PLP", "RTL"])
    fixed = d.asm([f"{name}:", "PHP", "REP #$30", *write, *summing, "PLP", "RTL"])
    # The block as the last save left it (with its matching checksum), and the value this save stores.
    old = [d.int(0, 0xFFFF) for _ in range(size // 2)]
    new = (old[0] + d.int(1, 0xFFFE)) & 0xFFFF
    saved = [new, *old[1:]]

    def saving(title: str, value: int, block: list[int]) -> Scenario:
        return Scenario(
            title,
            flags={"m8": True, "x8": True},
            memory={base: _words(old) + _words([sum(old)]), src.address: _words([value])},
            expect_memory={base: _words(block), chk: _words([sum(block)])},
            properties=("returns", "widths_kept"),
        )

    spec = BehaviourSpec(
        name,
        "jsl",
        (saving("saving a changed value", new, saved), saving("saving an unchanged value", old[0], old)),
    )
    return Case(
        "save_corruption",
        d.pick(["checksum computed before the last write", "stale SRAM checksum", "save block verified wrong"]),
        d.pick(
            [
                "Every time I reload, my hack says the extra save data is corrupt and resets it.",
                f"The checksum at {h6(chk)} never matches when the game loads.",
                f"After saving, the data at {h6(base)} is right but the load code rejects it.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} sums the block at {h6(base)} and stores the checksum, and only then writes {src.long} into "
                "the block. The checksum describes the old contents, so on load the verify step sees a mismatch "
                "and treats the save as corrupt.",
                f"The order of the SRAM writes is wrong: the checksum at {h6(chk)} is computed from the block before "
                f"the new value is stored at {h6(base)}. The saved data and its checksum disagree, which is exactly "
                "what corruption looks like to the loader.",
            ]
        ),
        (
            f"The loop adds the {size // 2} words of the block into A and stores the sum at {h6(chk)}.",
            f"LDA {src.long} / STA {h6(base)} then changes the first word of the block.",
            "On load, the sum of the block no longer equals the stored checksum, and the data is discarded.",
        ),
        d.pick(
            [
                "Writing every value first and computing the checksum last makes the checksum match what is in SRAM.",
                f"The checksum has to be the final write of the save: with the store to {h6(base)} moved before the "
                "loop, the verify passes.",
            ]
        ),
        culprit=f"STA {h6(base)}",
        spec=spec,
    )


def wide_store_crosses_slot(d: Draw) -> Case:
    """A one-byte field at the end of a save slot stored with a 16-bit accumulator: the next slot's first
    byte is overwritten."""
    name = d.routine()
    slot = d.int(0, 1)
    word_src, byte_src = d.free_ram(wide=True), d.save_ram(wide=False)
    word_off = d.pick([0x4F8, 0x4FA, 0x4FC])
    head = [f"{name}:", "REP #$30", f"LDX #{h4(slot * 0x500)}", f"LDA {word_src.long}", f"STA $70{word_off:04X},X"]
    store = [f"LDA {byte_src.long}", "STA $7004FF,X"]
    buggy = d.asm([*head, *store, "SEP #$30", "RTL"])
    fixed = d.asm([*head, "SEP #$20", *store, "SEP #$30", "RTL"])
    # The next slot's first byte, and the save field after the byte (what a 16-bit load drags along).
    x = slot * 0x500
    word, byte, next_first = d.int(0, 0xFFFF), d.int(0, 0xFF), d.int(0, 0xFF)
    spill = next_first ^ d.int(1, 0xFF)
    spec = BehaviourSpec(
        name,
        "jsl",
        (
            Scenario(
                f"saving file {slot + 1} next to a valid file {slot + 2}",
                flags={"m8": True, "x8": True},
                memory={
                    word_src.address: _words([word]),
                    byte_src.address: bytes([byte, spill]),
                    0x700500 + x: bytes([next_first]),
                },
                expect_memory={
                    0x700000 + word_off + x: _words([word]),
                    0x7004FF + x: bytes([byte]),
                    0x700500 + x: bytes([next_first]),
                },
            ),
        ),
    )
    return Case(
        "save_corruption",
        d.pick(["16-bit write past the end of a save slot", "byte field saved as a word", "slot overflow in SRAM"]),
        d.pick(
            [
                f"Saving file {slot + 1} corrupts file {slot + 2}: it fails its check on the file select screen.",
                f"After {name} runs, the next save slot is reported as corrupt.",
                "Whenever I save on one file, the file after it gets erased.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The last field of the slot is one byte at offset $4FF, but {name} stores it with the accumulator "
                f"still 16-bit. STA $7004FF,X writes two bytes, and the second lands at offset $500: the first byte "
                "of the next save slot, whose checksum then fails and the game treats it as corrupt.",
                f"Save slots are $500 bytes apart in SRAM. {name} writes {byte_src.what} to the slot's last byte "
                "with a 16-bit store, so its high byte spills into the following slot and corrupts it.",
            ]
        ),
        (
            f"REP #$30 makes A 16-bit for the word at offset ${word_off:03X}.",
            f"LDA {byte_src.long} then loads two bytes, and STA $7004FF,X writes offsets $4FF and $500.",
            "Offset $500 belongs to the next slot, so its data and checksum no longer agree.",
        ),
        d.pick(
            [
                "SEP #$20 before the byte field makes the last write one byte, so the slot stays within its $500 "
                "bytes.",
                "An 8-bit accumulator for the final field keeps the SRAM write inside this slot.",
            ]
        ),
        culprit="STA $7004FF,X",
        spec=spec,
    )


def spawn_without_clearing(d: Draw) -> Case:
    """A custom sprite spawned into a free slot without initialising the tables the previous occupant used.

    Most tables start from zero, but health must not: a dead sprite left 0 in $0E50,X, so a spawn that
    skips it dies from the first hit - and a "fix" that zeroes it would keep exactly that bug.
    """
    name = d.routine()
    kind = d.int(0x40, 0xF0)
    stale = d.shuffled(["$0DF0", "$0D80", "$0E50", "$0EB0", "$0D90", "$0DA0", "$0E80"])[: d.int(2, 4)]
    find, free = d.loop_label(), d.pick([".free", ".found", ".use_slot", ".empty"])
    slots = d.pick(["$0F", "$0B", "$07", "$0E"])
    head = [f"{name}:", "SEP #$30", f"LDX #{slots}", find, "LDA $0DD0,X", f"BEQ {free}", "DEX", f"BPL {find}", "RTL"]
    head += [free, "LDA #$09", "STA $0DD0,X", f"LDA #{h2(kind)}", "STA $0E20,X"]
    written = ["$0DD0,X", "$0E20,X"]
    on_link = d.chance(0.6)
    if on_link:  # place it on Link
        head += ["LDA $22", "STA $0D10,X", "LDA $20", "STA $0D00,X"]
        written += ["$0D10,X", "$0D00,X"]
    stale = [t for t in stale if t != "$0E50"] if d.chance(0.5) else stale
    health = d.int(2, 0x20)
    no_health = "$0E50" in stale  # the spawn never gives the sprite its health
    if not no_health and d.chance(0.7):
        head += [f"LDA #{h2(health)}", "STA $0E50,X"]
        written.append("$0E50,X")
    zeroed = [t for t in stale if t != "$0E50"]
    init = [f"STZ {t},X" for t in zeroed] + ([f"LDA #{h2(health)}", "STA $0E50,X"] if no_health else [])
    buggy = d.asm([*head, "RTL"])
    fixed = d.asm([*head, *init, "RTL"])
    tables = ", ".join(f"{t},X" for t in stale)
    cleared = ", ".join(f"{t},X" for t in zeroed)
    if no_health:
        symptom = [
            f"My custom sprite {h2(kind)} sometimes starts mid-attack, and one hit always kills it.",
            f"The sprite {name} spawns dies from a single hit, whatever health I planned for it.",
            "The spawned sprite acts strangely and goes down to the first sword hit.",
        ]
        health_note = (
            " One of them is its health at $0E50,X: the slot's last occupant died with 0 there, so the new "
            f"sprite dies from the first hit. The spawn has to clear {cleared} and load its health ({h2(health)})."
        )
    else:
        symptom = [
            f"My custom sprite {h2(kind)} sometimes starts mid-attack.",
            f"{name} works in an empty room; after other enemies died there, the new sprite acts strangely.",
            "The spawned sprite skips its first AI steps now and then.",
        ]
        health_note = ""

    # Every other slot is taken, so the search ends on slot `k`; in the reused case the dead sprite's
    # values are still in its tables (health 0, a timer and an AI step mid-attack).
    last = int(slots[1:], 16)
    k = d.int(0, last)
    y, x = d.int(0x0100, 0x0FFF), d.int(0x0100, 0x0FFF)
    leftovers = {t: d.int(1, 0xFF) for t in stale}
    leftovers["$0E50"] = 0

    def spawning(title: str, previous: dict[str, int]) -> Scenario:
        memory = {0x7E0DD0: bytes(0 if i == k else 0x09 for i in range(last + 1)), 0x7E0020: _words([y, x])}
        memory |= {0x7E0000 + int(t[1:], 16) + k: bytes([v]) for t, v in previous.items()}
        expect = {0x7E0DD0 + k: b"\x09", 0x7E0E20 + k: bytes([kind])}
        expect |= {0x7E0000 + int(t[1:], 16) + k: b"\x00" for t in zeroed}
        if on_link:
            expect |= {0x7E0D10 + k: bytes([x & 0xFF]), 0x7E0D00 + k: bytes([y & 0xFF])}
        if "$0E50,X" in written or no_health:
            expect[0x7E0E50 + k] = bytes([health])
        return Scenario(title, flags={"m8": True, "x8": True}, memory=memory, expect_memory=expect)

    spec = BehaviourSpec(
        name,
        "jsl",
        (
            spawning(f"slot {k} free in a fresh room", {}),
            spawning(f"slot {k} free after an enemy died in it", leftovers),
        ),
    )
    return Case(
        "initialization",
        d.pick(["sprite slot not initialised", "leftover state in a reused slot", "missing STZ on spawn"]),
        d.pick(symptom),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} takes the first free slot and sets only {', '.join(written)}. The other per-slot RAM "
                f"tables ({tables}) still hold the values of the sprite that used the slot before, so the new "
                f"sprite starts with an uninitialized timer and AI state.",
                f"A free slot is not a clean slot: the RAM tables of a dead sprite keep their last values. {name} "
                f"does no initialization of {tables}, so whatever the previous occupant left there is the new sprite's "
                "starting state.",
            ]
        )
        + (health_note or " Spawning has to clear them."),
        (
            "The search finds a slot whose state ($0DD0,X) is 0.",
            f"Only {', '.join(written)} are written; {tables} are left alone.",
            "The new sprite's AI reads those stale values on its first frame"
            + (", and its health is the 0 the dead sprite left." if no_health else "."),
        ),
        d.pick(
            [
                f"STZ on {cleared} resets the slot's memory"
                + (f" and LDA #{h2(health)} / STA $0E50,X gives the sprite its health" if no_health else "")
                + ", so every spawn starts the same way.",
                "Clearing every table the sprite's AI reads"
                + (" (and setting its health rather than trusting the slot's)" if no_health else "")
                + " makes the spawn independent of the slot's history.",
            ]
        ),
        culprit="STA $0E20,X",
        spec=spec,
    )


def timer_not_reset_on_entry(d: Draw) -> Case:
    """A room countdown kept in free RAM is never initialised when the room is entered."""
    init, tick = d.routines(2)
    state, timer = d.free_ram(), d.free_ram()
    while timer.address == state.address:
        timer = d.free_ram()
    start = d.int(0x20, 0xF0)
    expired = d.pick([".expired", ".time_up", ".out_of_time"])
    init_head = [f"{init}:", "SEP #$20", "LDA #$01", f"STA {state.long}"]
    tick_code = [f"{tick}:", "SEP #$20", f"LDA {timer.long}", f"BEQ {expired}", "DEC A", f"STA {timer.long}", "RTL"]
    tick_code += [expired, "LDA #$00", f"STA {state.long}", "RTL"]
    buggy = d.asm([*init_head, "RTL", *tick_code])
    fixed = d.asm([*init_head, f"LDA #{h2(start)}", f"STA {timer.long}", "RTL", *tick_code])
    # Entering the room must arm the challenge with a full countdown, whatever the timer held before.
    garbage = d.int(1, 0xFF)

    def entering(title: str, left: int) -> Scenario:
        return Scenario(
            title,
            flags={"m8": True, "x8": True},
            memory={state.address: b"\x00", timer.address: bytes([left])},
            expect_memory={state.address: b"\x01", timer.address: bytes([start])},
        )

    spec = BehaviourSpec(
        init,
        "jsl",
        (
            entering("entering again after the last attempt ran out", 0),
            entering("entering on a fresh boot", garbage),
            Scenario(  # the countdown itself is right: one tick from a full timer keeps the challenge on
                "the first tick after entry",
                flags={"m8": True, "x8": True},
                memory={state.address: b"\x01", timer.address: bytes([start])},
                expect_memory={state.address: b"\x01", timer.address: bytes([start - 1])},
                entry=tick,
            ),
        ),
    )
    return Case(
        "initialization",
        d.pick(["countdown never initialised", "timer not reset on room entry", "stale RAM at start"]),
        d.pick(
            [
                "The timed challenge ends immediately the second time I enter the room.",
                f"On a fresh boot the countdown at {timer.long} is random, and after a retry it's already 0.",
                f"{tick} sometimes ends the challenge on the first frame.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{init} arms the challenge but does not initialize the timer at {timer.long}. The countdown starts "
                "from whatever is in that RAM: zero after the last attempt (so it expires at once) or garbage after "
                "power-on. Entering the room has to reset it.",
                f"Nothing will clear free RAM for the hack: {timer.long} keeps its last value between attempts, and on "
                f"hardware it starts uninitialized. {init} must set the timer to {h2(start)} when it sets the state.",
            ]
        ),
        (
            f"{init} stores $01 to {state.long} and returns.",
            f"{tick} counts {timer.long} down from its current value.",
            "After a finished attempt that value is 0, so the challenge expires on the first tick.",
        ),
        d.pick(
            [
                f"Loading {h2(start)} into {timer.long} in {init} resets the countdown for every attempt.",
                "Initialising the timer together with the state makes each entry start the same way.",
            ]
        ),
        culprit=f"STA {state.long}",
        spec=spec,
    )


def water_collision_not_updated(d: Draw) -> Case:
    """After a water fill the graphics change, but the collision map at $7F2000 still says 'floor'."""
    name, redraw = d.routines(2)
    flag = d.save_ram(wide=False) if d.chance(0.5) else d.free_ram()
    start, count = d.rng.randrange(0x0200, 0x0E00, 0x40) + d.int(0, 0x20), d.int(4, 16)
    loop = d.loop_label()
    head = [f"{name}:", "SEP #$30", f"LDA {flag.long}", "ORA #$01", f"STA {flag.long}", f"JSL {redraw}"]
    collision = ["REP #$10", f"LDX #{h4(start)}", f"LDY #{h4(count)}", "LDA #$08", loop, "STA $7F2000,X", "INX"]
    collision += ["DEY", f"BNE {loop}", "SEP #$10"]
    buggy = d.asm([*head, "RTL"])
    fixed = d.asm([*head, *collision, "RTL"])
    # Before the fill the pool's tiles (and the ones around it) are floor ($00) in the tile type map.
    pool = 0x7F2000 + start
    spec = BehaviourSpec(
        name,
        "jsl",
        (
            Scenario(
                "filling the pool",
                flags={"m8": True, "x8": True},
                memory={flag.address: b"\x00", pool - 1: bytes(count + 2)},
                expect_memory={
                    flag.address: b"\x01",
                    pool - 1: b"\x00",
                    pool: b"\x08" * count,
                    pool + count: b"\x00",
                },
                properties=("returns", "widths_kept"),
            ),
        ),
    )
    return Case(
        "oracle_water_collision",
        d.pick(["collision map not updated after the water fill", "water drawn but not solid", "stale tile types"]),
        d.pick(
            [
                "After the water gate fills the pool, Link can still walk across the water.",
                f"{redraw} shows the water, but the player walks on it like floor.",
                "The flooded room looks right, yet Link never starts swimming.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} sets the fill flag and redraws the tiles, but never writes the collision map at $7F2000. "
                "Link's movement code does its collision check on the tile type there, not the graphics, so the "
                "flooded tiles still "
                "have the floor type and the player walks over the water.",
                f"Water has to be in two places: the tilemap the PPU draws and the tile type map at $7F2000 that "
                f"collision check reads. {name} updates only the first; without $08 (deep water) in the collision "
                "map, Link never compares as being in water.",
            ]
        ),
        (
            f"The flag in {flag.long} and the JSL to {redraw} update what the room looks like.",
            "Link's collision reads the tile type bytes at $7F2000, one per tile.",
            d.pick(
                [
                    "Those bytes still hold the floor type, so the check for water fails.",
                    "No tile type changes, so the player never enters the swim state.",
                ]
            ),
        ),
        d.pick(
            [
                f"The loop writes $08 (deep water) to the {count} tile types from offset {h4(start)}, so the "
                "collision check sees water where the graphics show it.",
                "Updating the tile type map along with the graphics makes the collision match the room.",
            ]
        ),
        culprit=f"JSL {redraw}",
        spec=spec,
    )


def water_check_reads_two_tiles(d: Draw) -> Case:
    """The deep-water check reads a collision byte with a 16-bit accumulator and compares a word."""
    name = d.routine()
    index = d.free_ram(wide=True)
    swim = d.pick([".swim", ".in_water", ".deep", ".wet"])
    water = d.pick([("$0008", "deep water"), ("$0009", "shallow water")])
    row, column = d.int(0, 0x3F), d.int(0, 0x3E)  # the tile under Link; the one to its right is column + 1
    tile = row * 64 + column
    if d.chance(0.5):  # the tile index computed from Link's coordinates: (Y / 8) * 64 + X / 8
        where = ["LDA $20", "AND #$01F8", "ASL A", "ASL A", "ASL A", f"STA {h2(d.scratch(even=True))}"]
        where += ["LDA $22", "AND #$01F8", "LSR A", "LSR A", "LSR A", f"ORA {where[-1].split()[1]}"]
        source = "Link's coordinates ($20/$22)"
        link_y = d.pick([0x0000, 0x0200, 0x0400, 0x0600]) + row * 8 + d.int(0, 7)
        link_x = d.pick([0x0000, 0x0200, 0x0400, 0x0600]) + column * 8 + d.int(0, 7)
        position = {0x7E0020: _words([link_y, link_x])}
    else:
        where = [f"LDA {index.long}"]
        source = index.long
        position = {index.address: _words([tile])}
    head = [f"{name}:", "REP #$30", *where, "TAX", "LDA $7F2000,X"]
    if d.chance(0.5):
        result = (["SEP #$30", "CLC", "RTL"], ["SEP #$30", "SEC", "RTL"])
        answer = "c"
    else:
        result = (["SEP #$30", "LDA #$00", "RTL"], ["SEP #$30", "LDA #$01", "RTL"])
        answer = "a"
    tail = [f"CMP #{water[0]}", f"BEQ {swim}", *result[0], swim, *result[1]]
    buggy = d.asm([*head, *tail])
    fixed = d.asm([*head, "AND #$00FF", *tail])
    kind = int(water[0][1:], 16)

    def standing(title: str, here: int, right: int, in_water: bool) -> Scenario:
        return Scenario(
            title,
            flags={"m8": True, "x8": True},
            memory={**position, 0x7F2000 + tile: bytes([here, right])},
            expect_registers={answer: int(in_water)},
        )

    spec = BehaviourSpec(
        name,
        "jsl",
        (
            standing(f"in the middle of the {water[1]}", kind, kind, True),
            standing(f"at the {water[1]}'s right edge", kind, 0x00, True),
            standing(f"on the floor left of the {water[1]}", 0x00, kind, False),
        ),
    )
    return Case(
        "oracle_water_collision",
        d.pick(
            ["16-bit read of an 8-bit tile type", "water check compares two tiles", "collision byte read as a word"]
        ),
        d.pick(
            [
                f"Link is only treated as in {water[1]} in some spots of it, not others.",
                f"{name} returns 'in water' only on the rightmost column of the pool.",
                f"The {water[1]} check works along one edge of the lake but not in the middle.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"Tile types at $7F2000 are one byte per tile, but {name} reads with a 16-bit accumulator, so A "
                "holds this tile's type in the low byte and the neighbouring tile's type in the high byte. CMP "
                f"#{water[0]} ({water[1]}) only matches when the next tile's type is 0, so the water check fails "
                "for Link wherever the neighbour is water too.",
                "The collision check compares a word: LDA $7F2000,X with A 16-bit loads two tile types. Only when "
                f"the tile to the right is a floor tile ($00) is the word {water[0]}, so the player is seen as in "
                "water only at the edge.",
            ]
        ),
        (
            f"X is the index of the tile under Link, from {source}.",
            "LDA $7F2000,X in 16-bit mode reads this tile type and the next one.",
            f"CMP #{water[0]} fails unless the high byte (the neighbour) is zero.",
        ),
        d.pick(
            [
                "AND #$00FF keeps only this tile's type, so the compare checks exactly one tile.",
                "Masking the high byte leaves the byte the check is about.",
            ]
        ),
        culprit="LDA $7F2000,X",
        spec=spec,
    )


def palette_chain_without_default(d: Draw) -> Case:
    """A compare chain on the mask id with no default case: 'no mask' falls into the first handler."""
    name = d.routine()
    mask_var = d.free_ram()
    forms = d.shuffled(FORMS)[: d.int(2, 3)]
    labels = [f".{f.lower()}" for f in forms]
    chain = [f"{name}:", "SEP #$20", f"LDA {mask_var.long}"]
    for i, label in enumerate(labels, 1):
        chain += [f"CMP #{h2(i)}", f"BEQ {label}"]
    handlers = []
    for form, label in zip(forms, labels, strict=True):
        handlers += [label, f"JSL Update{form}Palette", "RTL"]
    default = d.pick(["JSL UpdateLinkPalette", "JSL Palette_ArmorAndGloves"])
    buggy = d.asm([*chain, *handlers])
    fixed = d.asm([*chain, default, "RTL", *handlers])
    first = forms[0]
    # Each palette routine's first CGRAM colour byte tells which one ran: the normal palette's is $10.
    routines = [default.split()[1], *(f"Update{form}Palette" for form in forms)]
    colours = dict(zip(routines, range(0x10, 0x10 + len(routines)), strict=True))

    def wearing(title: str, mask: int, routine: str) -> Scenario:
        return Scenario(
            title,
            flags={"m8": True, "x8": True},
            memory={mask_var.address: bytes([mask])},
            expect_io={CGDATA: colours[routine]},
        )

    spec = BehaviourSpec(
        name,
        "jsl",
        (
            wearing("no mask (id 0)", 0, routines[0]),
            *(wearing(f"the {form} mask (id {i})", i, f"Update{form}Palette") for i, form in enumerate(forms, 1)),
        ),
        stubs={routine: _palette_stub(colour) for routine, colour in colours.items()},
    )
    return Case(
        "oracle_palette_dispatch",
        d.pick(["palette dispatch without a default case", "fall-through into the first mask", "missing fallback"]),
        d.pick(
            [
                f"Without a mask on, Link gets the {first} palette.",
                f"Taking the mask off leaves Link coloured like the {first} form.",
                f"Link's colours are wrong whenever the mask id in {mask_var.long} is 0.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"{name} does its dispatch on the mask index in {mask_var.long} with a CMP/BEQ chain, but has no "
                "default "
                f"case. For index 0 (no mask) every compare fails and execution falls through into {labels[0]}, "
                f"so the {first} palette colours are written to CGRAM.",
                f"The dispatch table is a chain of compares with nothing after the last BEQ. An index that matches "
                f"no entry - 0, Link's normal form - runs straight into the {first} handler and loads its palette "
                "colours.",
            ]
        ),
        (
            f"The chain compares the mask index with 1..{len(forms)}.",
            "Index 0 matches none of them, and the last BEQ falls through.",
            f"The next instruction is the {first} handler, which loads its colour set into CGRAM.",
        ),
        d.pick(
            [
                f"A default case after the chain ({default.split()[1]}, then RTL) gives every unmatched index the "
                "normal palette.",
                "With a fallback before the handlers, no index can reach a handler it did not select.",
            ]
        ),
        culprit=f"BEQ {labels[-1]}",
        spec=spec,
    )


def jump_table_index_not_doubled(d: Draw) -> Case:
    """A ``JMP (table,X)`` palette dispatch indexed by the form id without ASL: entries are two bytes."""
    name = d.routine()
    form_var = d.free_ram()
    forms = ["Normal", *d.shuffled(FORMS)[: d.int(2, 4)]]
    labels = [f".{f.lower()}" for f in forms]
    handlers = []
    set_id = d.chance(0.5)
    palette_ids = []
    for form, label in zip(forms, labels, strict=True):
        handlers.append(label)
        if set_id:  # the field's pattern: a palette id in $BC before the update
            palette_ids.append(d.int(0x30, 0x3F))
            handlers += [f"LDA #{h2(palette_ids[-1])}", "STA $BC"]
        handlers += [f"JSL Update{form}Palette", "RTL"]
    head = [f"{name}:", "SEP #$30", f"LDA {form_var.long}"]
    bounded = d.chance(0.5)
    if bounded:  # a bound check first, to the default form
        head += [f"CMP #{h2(len(forms))}", f"BCS {labels[0]}"]
    table = d.pick([".table", ".forms", ".handlers", ".dispatch"])
    tail = ["TAX", f"JMP ({table},X)", table, f"dw {', '.join(labels)}", *handlers]
    buggy = d.asm([*head, *tail])
    fixed = d.asm([*head, "ASL A", *tail])
    # Each palette routine's first CGRAM colour byte tells which one ran (and $BC its palette id).
    colours = {form: 0x10 + i for i, form in enumerate(forms)}

    def switching(title: str, form_id: int, form: str) -> Scenario:
        index = forms.index(form)
        return Scenario(
            title,
            flags={"m8": True, "x8": True},
            memory={form_var.address: bytes([form_id]), 0x7E00BC: b"\x00"},
            expect_io={CGDATA: colours[form]},
            expect_memory={0x7E00BC: bytes([palette_ids[index]])} if set_id else {},
        )

    scenarios = [switching(f"form {i} ({form})", i, form) for i, form in enumerate(forms)]
    if bounded:
        scenarios.append(switching(f"an unknown form id {h2(len(forms))}", len(forms), "Normal"))
    spec = BehaviourSpec(
        name,
        "jsl",
        tuple(scenarios),
        stubs={f"Update{form}Palette": _palette_stub(colour) for form, colour in colours.items()},
    )
    return Case(
        "oracle_palette_dispatch",
        d.pick(["jump table index not doubled", "missing ASL before the dispatch", "word table indexed by byte"]),
        d.pick(
            [
                f"Form 0 is fine, but switching to {forms[1]} crashes the game.",
                f"{name} jumps into garbage for form 1, and form 2 gets the {forms[1]} palette.",
                "Every palette change except the default one goes wrong: some forms freeze the game, others get "
                "another form's colours.",
            ]
        ),
        buggy,
        fixed,
        d.pick(
            [
                f"The palette dispatch table holds 2-byte pointers (dw), but {name} uses the form id directly as "
                f"the index. For id 1, JMP ({table},X) reads the high byte of entry 0 and the low byte of entry 1 "
                "as its pointer and jumps into the middle of nowhere; the index has to be doubled with ASL, or no "
                "colour reaches CGRAM.",
                "Each jump table entry is a word, so entry n starts at byte 2n. Without ASL A, an odd id points X "
                "into the middle of an entry and the dispatch reads a pointer made of two halves, so no palette "
                "routine (and no CGRAM colour upload) is reached; an even id n lands on entry n/2 and runs another "
                "form's palette routine.",
                f"{name} indexes a table of words with a byte-sized id: TAX without ASL A. The {forms[1]} entry "
                f"starts at {table}+2, but X = 1 makes JMP ({table},X) take its pointer from {table}+1 - the high "
                "byte of one entry and the low byte of the next - so the dispatch jumps to an address that is no "
                "handler at all and Link's palette colours in CGRAM never change.",
            ]
        ),
        (
            f"LDA {form_var.long} loads the form id, TAX makes it the index.",
            f"JMP ({table},X) reads the word at {table}+X in the program bank.",
            "For X = 1 that word straddles two entries, so the jump target is garbage.",
        ),
        d.pick(
            [
                "ASL A doubles the id, so X addresses the start of each 2-byte pointer and the right palette "
                "routine runs.",
                "With the index doubled, every form id selects its own table entry.",
                f"ASL A turns form n into offset 2n, the start of entry n, so {forms[1]} gets its palette.",
            ]
        ),
        culprit="TAX",
        spec=spec,
    )


# Where this family's templates stand in the generator's list: proposals depend on the order (seeded draws).
FAMILY_ORDER = 80
TEMPLATES = (
    checksum_before_write,
    wide_store_crosses_slot,
    spawn_without_clearing,
    timer_not_reset_on_entry,
    water_collision_not_updated,
    water_check_reads_two_tiles,
    palette_chain_without_default,
    jump_table_index_not_doubled,
)
