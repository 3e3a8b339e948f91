"""``oracle.precision=auto``: run T the fastest way whose predictions agree with fp32, measured once per machine kind.

The candidates (see :mod:`.models.engines`) are torch fp32 and bf16 autocast, each with and without
channels_last, and ONNX Runtime (fp32) where T exports. Their speed is measured on a probe of D
distorted by a few levels; their predictions on that probe are compared with torch fp32's.

Agreement required (why it cannot move a label beyond the noise of f). A candidate changes f(c) at a
level c by at most the fraction of D's images whose predicted class it flips there: every flip moves
``n_correct`` by at most one. f is itself a binomial estimate from N images, with standard deviation
``sd_c = sqrt(f_c (1 - f_c) / N)``; a level whose f lies within ``sd_c`` of h has a label that the draw
of D already decides by chance. We accept a candidate when its flips on the probe, summed over the
probe levels, are at most half the sum of ``sd_c`` over them::

    flips  <=  1/2 * sum_c  m * sqrt(f_c (1 - f_c) / N)       (m probe images per level)

so, on average over the probe, it moves f by at most half a standard deviation of f: any label it
changes belongs to a level within half an sd of h, a label within the noise of f. Flips in both
directions mostly cancel, so the net change is far smaller (bf16 on LeNet-5, 24 levels, N = 6,000:
flips 0.08 % of predictions, at most 0.65 sd at the worst level, net |change of f| <= 0.15 sd).
Larger N shrinks the sd and tightens the rule; fp32 references and ONNX Runtime flip nothing.

The measurement (speeds, flips, the probe's fp32 accuracy per level) is stored under
``<cache_dir>/precision/`` keyed by T's fingerprint, the device, the input shape and the machine
kind (:func:`machine_kind`), and the rule is re-applied with each oracle's N: :func:`choose` is a pure
function of those numbers.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .artifacts import atomic_write_bytes, canonical_json, read_verified_bytes, stable_hash

log = logging.getLogger(__name__)

#: Accepted values of ``oracle.precision``: auto (measured), or any engine auto can choose, pinned
#: (measured nothing): a study whose numbers came from one engine reruns in it on another machine kind.
PRECISIONS = ("auto", "fp32", "bf16", "fp32-nchw", "bf16-nchw", "onnxruntime")
#: The reference every candidate is compared with.
REFERENCE = "fp32"
#: Bump when the measurement changes meaning (it keys the stored measurements).
MEASUREMENT_VERSION = 1
#: CPU features that decide which candidate is fast (native bf16, AMX, AVX-512, AVX2).
_CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "avx_vnni")


@dataclass(frozen=True)
class Measurement:
    """One candidate on the probe: its throughput and how many probe predictions differ from fp32's.

    ``flips`` is None for a candidate screened out as much slower than the best (not worth probing).
    """

    img_per_s: float
    flips: int | None


@dataclass(frozen=True)
class Probe:
    """What the agreement rule needs of the probe: fp32 accuracy per probe level, images per level."""

    accuracy: tuple[float, ...]
    images_per_level: int

    def allowed_flips(self, n: int) -> float:
        """Half the summed binomial sd of f at N over the probe levels, in probe predictions."""
        return 0.5 * sum(self.images_per_level * math.sqrt(f * (1.0 - f) / n) for f in self.accuracy)


@dataclass(frozen=True)
class Decision:
    """The chosen candidate and the numbers it was chosen from."""

    choice: str
    measurements: Mapping[str, Measurement]
    allowed_flips: float
    probe_pairs: int
    cached: bool = False
    bf16_native: bool | None = None   # from the machine kind; None: not known (a GPU, another OS)

    def agrees(self, name: str) -> bool:
        flips = self.measurements[name].flips
        return flips is not None and flips <= self.allowed_flips

    def describe(self) -> str:
        """One line: ``oracle: precision auto -> fp32 (bf16 is emulated here, 9.4x slower)``."""
        rates = {k: m.img_per_s for k, m in self.measurements.items()}
        best, ref = rates[self.choice], rates.get(REFERENCE)
        notes = [f"{best:,.0f} img/s"]
        if ref and self.choice != REFERENCE:
            notes.append(f"{best / ref:.1f}x torch fp32")
        bf16 = rates.get("bf16")
        if bf16 and ref and self.choice != "bf16":
            if bf16 * 2 < ref and self.bf16_native is not True:  # emulated bf16 is 5-10x slower
                notes.append(f"bf16 is emulated here, {ref / bf16:.1f}x slower")
            elif bf16 < ref:  # native bf16 can be slower too (ResNet-20's small convolutions: 8.8x)
                notes.append(f"bf16 {ref / bf16:.1f}x slower")
            elif not self.agrees("bf16"):
                flips = self.measurements["bf16"].flips
                notes.append(f"bf16 {bf16 / ref:.1f}x faster but flips {flips} of {self.probe_pairs} probe "
                             f"predictions, > {self.allowed_flips:.1f} allowed")
        return f"oracle: precision auto -> {self.choice} ({'; '.join(notes)}){' [measured earlier]' if self.cached else ''}"


def choose(measurements: Mapping[str, Measurement], allowed_flips: float, probe_pairs: int = 0) -> Decision:
    """The fastest candidate whose flips are within ``allowed_flips`` (fp32 itself always qualifies)."""
    agreeing = [name for name, m in measurements.items()
                if name == REFERENCE or (m.flips is not None and m.flips <= allowed_flips)]
    choice = max(agreeing, key=lambda name: measurements[name].img_per_s)
    return Decision(choice, dict(measurements), allowed_flips, probe_pairs)


# ----------------------------------------------------------------------------- machine kind and storage


def cpu_flags() -> list[str]:
    """The decisive CPU features this machine reports (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    present = set(line.split(":", 1)[-1].split())
    return [f for f in _CPU_FLAGS if f in present]


def machine_kind(device: Any) -> dict[str, Any]:
    """What makes candidates fast or slow here: the GPU's name, or the CPU's kind and the ISA torch uses.

    ``torch.backends.cpu.get_cpu_capability()`` honours ``ATEN_CPU_CAPABILITY``; oneDNN's own ceiling
    ``ONEDNN_MAX_CPU_ISA`` (which turns native bf16 into emulation) is read from the environment.
    """
    import torch

    kind: dict[str, Any] = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    if torch.device(device).type == "cuda":
        kind["gpu"] = torch.cuda.get_device_name(torch.device(device))
        return kind
    kind.update(cpu=platform.processor() or platform.machine(), flags=cpu_flags(),
                capability=torch.backends.cpu.get_cpu_capability(),
                onednn_max_isa=os.environ.get("ONEDNN_MAX_CPU_ISA", ""))
    return kind


class DecisionStore:
    """Measurements on disk (``<root>/precision/<key>.json``) and in this process, one per key."""

    _memory: dict[tuple[str, str], tuple[dict[str, Measurement], Probe]] = {}

    def __init__(self, root: str | Path | None):
        self.dir = None if root is None else Path(root) / "precision"

    def get(self, key: str) -> tuple[dict[str, Measurement], Probe] | None:
        if (str(self.dir), key) in self._memory:
            return self._memory[str(self.dir), key]
        payload = read_verified_bytes(self.dir / f"{key}.json") if self.dir is not None else None
        if payload is None:
            return None
        try:
            entry = json.loads(payload)
            found = ({k: Measurement(float(v["img_per_s"]), v["flips"]) for k, v in entry["measurements"].items()},
                     Probe(tuple(float(f) for f in entry["probe_accuracy"]), int(entry["images_per_level"])))
        except (KeyError, TypeError, ValueError):
            return None
        self._memory[str(self.dir), key] = found
        return found

    def put(self, key: str, measurements: dict[str, Measurement], probe: Probe, about: Mapping[str, Any]) -> None:
        self._memory[str(self.dir), key] = (measurements, probe)
        if self.dir is not None:
            entry = {"measurements": {k: asdict(m) for k, m in measurements.items()},
                     "probe_accuracy": list(probe.accuracy), "images_per_level": probe.images_per_level,
                     "about": dict(about)}
            atomic_write_bytes(self.dir / f"{key}.json", canonical_json(entry).encode())


def decide(about: Mapping[str, Any], n: int, cache_dir: str | Path | None,
           measure: Callable[[], tuple[dict[str, Measurement], Probe]]) -> Decision:
    """The decision for ``about`` (model, device, input shape, machine kind) at N images.

    ``measure`` runs only when nothing is stored for ``about``; the rule is then re-applied with N.
    """
    key = stable_hash({"about": dict(about), "version": MEASUREMENT_VERSION}, length=24)
    store = DecisionStore(cache_dir)
    found = store.get(key)
    cached = found is not None
    if found is None:
        found = measure()
        store.put(key, *found, about=about)
    measurements, probe = found
    decision = choose(measurements, probe.allowed_flips(n), probe.images_per_level * len(probe.accuracy))
    return Decision(decision.choice, decision.measurements, decision.allowed_flips, decision.probe_pairs, cached,
                    bf16_native(about.get("machine", {})))


#: oneDNN ISA ceilings that leave out native bf16 (``ONEDNN_MAX_CPU_ISA``; AVX512_CORE_BF16 and up keep it).
_NO_BF16_ISAS = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}


def bf16_native(kind: Mapping[str, Any]) -> bool | None:
    """Whether this CPU runs bf16 natively (AVX-512-BF16 or AMX, not capped by ``ONEDNN_MAX_CPU_ISA``).

    None where the machine kind does not say (a GPU, or no ``/proc/cpuinfo``).
    """
    if "gpu" in kind or not kind.get("flags"):
        return None
    has = bool({"avx512_bf16", "amx_bf16"} & set(kind["flags"]))
    return has and str(kind.get("onednn_max_isa", "")).upper() not in _NO_BF16_ISAS


def summarise(names: Sequence[str], decision: Decision) -> str:
    """Speeds and flips of every candidate, for a benchmark's log."""
    parts = []
    for name in names:
        m = decision.measurements.get(name)
        if m is not None:
            flips = "not probed" if m.flips is None else f"{m.flips} flips"
            parts.append(f"{name} {m.img_per_s:,.0f} img/s ({flips})")
    return "; ".join(parts)
