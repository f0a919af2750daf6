"""The machine figures were measured on: machines of one kind differ (some lack int8 VNNI), so a timing,
or a choice made by timing, travels with the CPU it came from."""

from __future__ import annotations

import platform
from pathlib import Path


def _cpuinfo() -> str | None:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return None


def cpu_model() -> str:
    """The CPU the figures were measured on: machines of one kind differ, so figures travel with it."""
    text = _cpuinfo()
    if text is None:
        return platform.processor() or "unknown"
    return next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), "?")


# The instruction-set features int8 inference speed depends on: with AVX-512 VNNI or AMX an int8 model runs
# several times faster than float; with AVX2 alone (some machines of the same kind) barely faster.
ISA_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_features() -> str:
    """The ISA features that decide the embedding backends' speed, as present/absent on this CPU."""
    text = _cpuinfo()
    if text is None:
        return "ISA features unknown"
    flags = set(next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []))
    return ", ".join(f"{name} {'yes' if name in flags else 'NO'}" for name in ISA_FEATURES)
