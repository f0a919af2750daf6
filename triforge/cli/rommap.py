"""``triforge rom-map``: build the ROM map from the user's disassembly checkout, and ask it about an address."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from curation.errors import Invalid, NotFound
from curation.rommap import build_rom_map, load_rom_map
from curation.rommap.hack import parse_address
from curation.validators import context_validators
from curation.workspace import WorkspacePaths
from triforge.cli.common import console, current_home, open_workspace, print_json, user_errors

app = typer.Typer(
    help="The ROM map: vanilla code, data and RAM use from your disassembly checkout, plus your hack's claims.",
    no_args_is_help=True,
)


@app.command("build")
@user_errors
def build_command(
    disassembly: Annotated[Path, typer.Option(help="A usdasm-style checkout (every line prefixed #_BBAAAA:)")],
    hack: Annotated[Path | None, typer.Option(help="Your hack's claims: free space, save bytes, hooks")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Read the checkout (and hack file) into the workspace; the map-aware validators re-judge on next validate."""

    rom_map = build_rom_map(disassembly, hack)
    path = WorkspacePaths(current_home()).rom_map
    rom_map.save(path)
    with open_workspace() as ws:
        forgotten = ws.validations.forget(context_validators())
    code = sum(rom_map.code)
    summary = {
        "path": str(path),
        "instructions": code,
        "data_items": len(rom_map.code) - code,
        "labels": len(rom_map.labels),
        "ram_bytes_named": len(rom_map.references),
        "save_bytes_used_by_vanilla": len(rom_map.save_use),
        "free_save_bytes": len(rom_map.free_save_bytes()),
        "hack": rom_map.hack.name or None,
        "results_to_rejudge": forgotten,
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"ROM map: {code:,} instructions, {summary['data_items']:,} data items, {summary['labels']:,} labels; "
        f"{summary['ram_bytes_named']:,} RAM/register bytes named by vanilla code; "
        f"{summary['save_bytes_used_by_vanilla']} of the save file's 1,280 bytes used by vanilla, "
        f"{summary['free_save_bytes']} free in $7EF400-$7EF4FD"
        + (f"; hack: {rom_map.hack.name}" if rom_map.hack.name else "")
    )
    console.print(f"saved to {path}; {forgotten} map-aware result(s) will be re-judged by the next `triforge validate`")


@app.command("show")
@user_errors
def show_command(
    address: Annotated[str, typer.Argument(help="$BBAAAA, $BB:AAAA, 0x..., a WRAM address ($7EF3D9) or a label")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What is at an address: the instruction or data, its routine, who reads and writes it, who owns it."""

    rom_map = load_rom_map(WorkspacePaths(current_home()).rom_map)
    if rom_map is None:
        raise NotFound("no ROM map in this workspace: run `triforge rom-map build --disassembly DIR` first")
    value = rom_map.address_of(address)
    if value is None:
        try:
            value = parse_address(address, "address")
        except Invalid:
            raise Invalid(f"{address!r} is neither an address nor a label the map knows") from None
        if value <= 0xFFFF:
            value |= 0x7E0000  # a bare $1CF0 names the WRAM byte, as the disassembly's .w operands do
    lines = rom_map.describe(value)
    if as_json:
        print_json({"address": f"${value:06X}", "facts": lines})
        return
    console.print(f"[bold]${value >> 16:02X}:{value & 0xFFFF:04X}[/]", highlight=False)
    for line in lines:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
