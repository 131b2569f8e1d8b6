"""Device peaks: a cited data table of accelerators, lookup by name, and measured profiles.

Every figure lives in ``hardware.json`` beside this file, each device with the datasheet it
comes from. Peaks are **dense** (no 2:4 structured sparsity): vendors often print the sparse
figure, twice the dense one, with an asterisk; the table stores the dense one and its notes
say which row it came from. Units in the table carry their scale in the key
(``peak_tflops``, ``memory_bandwidth_gbs``, ``memory_gb``); a `Hardware` holds SI values
(FLOP/s, bytes/s, bytes). A profile written by ``flopcount hw measure`` uses the same schema,
one device per file, and loads with ``get_hardware(path)``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from flopcount.errors import HardwareError

__all__ = [
    "DTYPE_KEYS",
    "Hardware",
    "dtype_key",
    "get_hardware",
    "hardware_from_dict",
    "hardware_to_dict",
    "list_hardware",
    "load_profile",
    "save_profile",
]

_TABLE = Path(__file__).with_name("hardware.json")
SCHEMA = "flopcount-hardware/1"
TERA = 1e12  # peak_tflops -> FLOP/s
GIGA = 1e9  # memory_bandwidth_gbs -> bytes/s, memory_gb -> bytes

DTYPE_KEYS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8")
"""The peak keys a device may carry, widest first."""

# IR dtype names (NumPy spelling, see flopcount.ir.graph.DTYPE_BYTES) and common spellings -> key.
_DTYPE_ALIASES: dict[str, str] = {
    "float64": "fp64", "double": "fp64", "float32": "fp32", "float": "fp32",
    "tfloat32": "tf32", "bfloat16": "bf16", "float16": "fp16", "half": "fp16",
    "float8": "fp8", "int8": "int8", "uint8": "int8",
}  # fmt: skip


def dtype_key(dtype: str) -> str:
    """The peak-table key (``fp32``, ``bf16``...) for an IR dtype or a key itself.

    ``float8_e4m3fn`` and every other ``float8*`` map to ``fp8``; ``uint8`` to ``int8``.
    Unknown names raise `HardwareError`.
    """
    name = dtype.strip().lower()
    if name in DTYPE_KEYS:
        return name
    if name.startswith("float8"):
        return "fp8"
    if name in _DTYPE_ALIASES:
        return _DTYPE_ALIASES[name]
    raise HardwareError(
        f"no peak-table key for dtype {dtype!r}; use one of {', '.join(DTYPE_KEYS)} "
        f"or an IR dtype such as float32, bfloat16, float16, int8"
    )


@dataclass(frozen=True)
class Hardware:
    """One device: dense peaks per dtype key in FLOP/s, bandwidth in bytes/s, memory in bytes.

    ``source`` cites the datasheet (or says where and when a profile was measured); ``notes``
    says which datasheet row each figure came from and what was left out.
    """

    name: str
    vendor: str
    peak_flops: dict[str, float]
    memory_bandwidth: float
    memory_bytes: float
    source: str
    notes: str = ""
    aliases: tuple[str, ...] = ()
    cores: int | None = None
    measured: Mapping[str, float] = field(default_factory=dict)

    def peak_for(self, dtype: str) -> float:
        """Dense peak FLOP/s for ``dtype`` (IR name or key); `HardwareError` when absent."""
        key = dtype_key(dtype)
        if key not in self.peak_flops:
            have = ", ".join(k for k in DTYPE_KEYS if k in self.peak_flops)
            raise HardwareError(
                f"{self.name} has no {key} peak in its datasheet (it has {have}); "
                f"pick one of those with --dtype"
            )
        return self.peak_flops[key]

    def ridge_point(self, dtype: str) -> float:
        """Machine balance in FLOP/byte: peak(dtype) / bandwidth (Williams et al. 2009)."""
        return self.peak_for(dtype) / self.memory_bandwidth


def _positive(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise HardwareError(f"{where}: {what} must be a positive number, got {value!r}")
    return float(value)


def hardware_from_dict(entry: Mapping[str, Any], where: str = "profile") -> Hardware:
    """Build a `Hardware` from one table/profile entry (units in the key names)."""
    if not isinstance(entry, Mapping):
        raise HardwareError(f"{where}: a device entry must be a JSON object")
    missing = [k for k in ("name", "peak_tflops", "memory_bandwidth_gbs") if k not in entry]
    if missing:
        raise HardwareError(f"{where}: device entry lacks {', '.join(missing)}")
    name = str(entry["name"])
    where = f"{where} ({name})"
    peaks = entry["peak_tflops"]
    if not isinstance(peaks, Mapping) or not peaks:
        raise HardwareError(f"{where}: peak_tflops must be a non-empty object of dtype: TFLOP/s")
    unknown = sorted(set(peaks) - set(DTYPE_KEYS))
    if unknown:
        raise HardwareError(f"{where}: unknown dtype keys {unknown}; use {', '.join(DTYPE_KEYS)}")
    cores = entry.get("cores")
    return Hardware(
        name=name,
        vendor=str(entry.get("vendor", "")),
        peak_flops={k: _positive(v, f"peak_tflops.{k}", where) * TERA for k, v in peaks.items()},
        memory_bandwidth=_positive(entry["memory_bandwidth_gbs"], "memory_bandwidth_gbs", where)
        * GIGA,
        memory_bytes=float(entry.get("memory_gb", 0.0)) * GIGA,
        source=str(entry.get("source", "")),
        notes=str(entry.get("notes", "")),
        aliases=tuple(str(a) for a in entry.get("aliases", ())),
        cores=int(cores) if cores is not None else None,
        measured={str(k): float(v) for k, v in dict(entry.get("measured", {})).items()},
    )


def hardware_to_dict(hw: Hardware) -> dict[str, Any]:
    """The table/profile JSON form of ``hw`` (the inverse of `hardware_from_dict`)."""
    entry: dict[str, Any] = {
        "name": hw.name,
        "vendor": hw.vendor,
        "aliases": list(hw.aliases),
        "peak_tflops": {k: v / TERA for k, v in hw.peak_flops.items()},
        "memory_bandwidth_gbs": hw.memory_bandwidth / GIGA,
        "memory_gb": hw.memory_bytes / GIGA,
        "source": hw.source,
        "notes": hw.notes,
    }
    if hw.cores is not None:
        entry["cores"] = hw.cores
    if hw.measured:
        entry["measured"] = dict(hw.measured)
    return entry


@lru_cache(maxsize=1)
def _table() -> tuple[Hardware, ...]:
    data = json.loads(_TABLE.read_text(encoding="utf-8"))
    return tuple(hardware_from_dict(e, where=_TABLE.name) for e in data["devices"])


def list_hardware() -> list[Hardware]:
    """Every device of the built-in table, in table order."""
    return list(_table())


def _norm(name: str) -> str:
    """Lower-case with spaces, dashes, underscores and dots dropped: 'H100 SXM' -> 'h100sxm'."""
    return re.sub(r"[\s\-_.]+", "", name.lower())


def _index() -> dict[str, Hardware]:
    index: dict[str, Hardware] = {}
    for hw in _table():
        keys = [hw.name, *hw.aliases]
        if hw.vendor and hw.name.lower().startswith(hw.vendor.lower()):
            keys.append(hw.name[len(hw.vendor) :])  # 'H100 SXM' without 'NVIDIA'
        for key in keys:
            index.setdefault(_norm(key), hw)
    return index


def _looks_like_path(name: str) -> bool:
    return name.lower().endswith(".json") or os.sep in name or os.path.isfile(name)


def get_hardware(name_or_path: str | os.PathLike[str]) -> Hardware:
    """A device by name or alias (case, spaces and dashes ignored), or a profile JSON path.

    Unknown names raise `HardwareError` listing the known names and the closest matches.
    """
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        return load_profile(name_or_path)
    name = str(name_or_path)
    index = _index()
    found = index.get(_norm(name))
    if found is not None:
        return found
    close = difflib.get_close_matches(_norm(name), list(index), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(index[c].name for c in close)}?" if close else ""
    known = "; ".join(hw.name for hw in _table())
    raise HardwareError(
        f"unknown hardware {name!r}.{hint} Known devices: {known}. "
        "Or give the path of a profile made by `flopcount hw measure`."
    )


def load_profile(path: str | os.PathLike[str]) -> Hardware:
    """Load a one-device profile JSON (as written by `save_profile`)."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HardwareError(f"hardware profile {where} does not exist") from None
    except (OSError, ValueError) as exc:
        raise HardwareError(f"cannot read hardware profile {where}: {exc}") from None
    if isinstance(data, Mapping) and "devices" in data:
        devices = data["devices"]
        if not isinstance(devices, list) or len(devices) != 1:
            raise HardwareError(f"{where}: a profile holds exactly one device")
        data = devices[0]
    return hardware_from_dict(data, where=where)


def save_profile(hw: Hardware, path: str | os.PathLike[str]) -> Path:
    """Write ``hw`` as a one-device profile JSON that `get_hardware(path)` loads back."""
    target = Path(path)
    entry = {"schema": SCHEMA, **hardware_to_dict(hw)}
    target.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    return target
