"""oracle.precision=auto: the choice from injected timings and flips, its storage per machine kind, the cache key."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

import distortion_reliability.oracle as oracle_module
from distortion_reliability.precision import Measurement, Probe, choose, decide

from test_oracle import make_oracle, random_levels

M = Measurement


def test_the_faster_agreeing_candidate_is_chosen():
    timings = {"fp32": M(1000, 0), "fp32-nchw": M(900, 0), "bf16": M(3000, 0), "onnxruntime": M(2000, 0)}
    assert choose(timings, allowed_flips=1.0).choice == "bf16"
    assert choose({**timings, "bf16": M(800, 0)}, allowed_flips=1.0).choice == "onnxruntime"


def test_a_candidate_that_disagrees_with_fp32_is_refused_however_fast():
    timings = {"fp32": M(1000, 0), "bf16": M(9000, 3), "onnxruntime": M(1500, 0)}
    decision = choose(timings, allowed_flips=2.5)
    assert decision.choice == "onnxruntime" and not decision.agrees("bf16")
    assert "flips 3" in decision.describe()
    assert choose(timings, allowed_flips=3.0).choice == "bf16"  # the bound is inclusive
    # screened-out candidates (never probed) are never chosen; fp32 always qualifies
    assert choose({"fp32": M(1000, 0), "bf16": M(5000, None)}, allowed_flips=10).choice == "fp32"


def test_emulated_bf16_is_named_in_the_line():
    line = choose({"fp32": M(1734, 0), "bf16": M(184, None)}, allowed_flips=1).describe()
    assert line.startswith("oracle: precision auto -> fp32") and "bf16 is emulated here, 9.4x slower" in line


def test_slow_bf16_on_a_cpu_with_native_bf16_is_not_called_emulated(tmp_path):
    """ResNet-20 ran 8.8x slower in bf16 on an AVX-512-BF16 EPYC: slow there, but not emulated."""
    from distortion_reliability.precision import bf16_native

    native = {"flags": ["avx2", "avx512f", "avx512_bf16"], "onednn_max_isa": ""}
    capped = {**native, "onednn_max_isa": "AVX2"}
    assert bf16_native(native) is True and bf16_native(capped) is False
    assert bf16_native({"flags": ["avx2"]}) is False and bf16_native({"gpu": "H100"}) is None

    def line(kind):
        measure = lambda: ({"fp32": M(1000, 0), "bf16": M(114, None)}, Probe((0.9,), 100))  # noqa: E731
        return decide({"model": "m", "machine": kind}, 500, tmp_path, measure).describe()

    assert "bf16 8.8x slower" in line(native) and "emulated" not in line(native)
    assert "bf16 is emulated here, 8.8x slower" in line(capped)


def test_allowed_flips_is_half_the_binomial_sd_of_f_summed_over_the_probe():
    probe = Probe((0.9, 0.5, 1.0), images_per_level=128)
    expected = 0.5 * 128 * (math.sqrt(0.09 / 6000) + math.sqrt(0.25 / 6000))
    assert probe.allowed_flips(6000) == pytest.approx(expected)
    assert probe.allowed_flips(60000) < probe.allowed_flips(6000)  # more images: f less noisy, stricter


def test_the_measurement_is_stored_per_machine_kind_and_reused(tmp_path):
    calls = []

    def measure():
        calls.append(1)
        return {"fp32": M(1000, 0), "bf16": M(3000, 1)}, Probe((0.9,) * 8, 128)

    about = {"model": "m", "device": "cpu", "input": [1, 28, 28], "machine": {"capability": "AVX512"}}
    first = decide(about, 6000, tmp_path, measure)
    again = decide(about, 6000, tmp_path, measure)
    assert len(calls) == 1 and not first.cached and again.cached and again.choice == first.choice == "bf16"
    # the stored numbers are re-judged with each oracle's N: with 600,000 images bf16's flip is too many
    assert decide(about, 600_000, tmp_path, measure).choice == "fp32" and len(calls) == 1
    decide({**about, "machine": {"capability": "AVX2"}}, 6000, tmp_path, measure)  # another machine kind
    assert len(calls) == 2


def _counting_measure(monkeypatch, result=None):
    calls = []
    real = oracle_module.measure

    def counted(*args, **kw):
        calls.append(1)
        return result if result is not None else real(*args, **kw)

    monkeypatch.setattr(oracle_module, "measure", counted)
    return calls


def test_auto_measures_once_and_an_explicit_precision_measures_nothing(tmp_path, monkeypatch):
    calls = _counting_measure(monkeypatch)
    auto = make_oracle(tmp_path, precision="auto")
    assert len(calls) == 1 and auto.decision is not None
    assert auto.precision == auto.decision.choice
    assert auto.decision.agrees(auto.precision) or auto.precision == "fp32"
    assert make_oracle(tmp_path, precision="auto").decision.cached and len(calls) == 1
    for precision in ("fp32", "bf16"):
        explicit = make_oracle(tmp_path, precision=precision)
        assert explicit.precision == precision and explicit.decision is None
    assert len(calls) == 1
    lv = random_levels(6, seed=2)  # whatever engine auto chose, f agrees with fp32 within the allowed flips
    assert abs(auto.accuracy(lv) - make_oracle(precision="fp32").accuracy(lv)).max() <= 2 / auto.n


def test_the_oracle_cache_is_keyed_by_the_effective_precision(tmp_path, monkeypatch):
    probe = Probe((0.9,) * 8, 50)
    _counting_measure(monkeypatch, ({"fp32": M(1000, 0), "bf16": M(3000, 0)}, probe))
    as_bf16 = make_oracle(tmp_path / "a", precision="auto")
    _counting_measure(monkeypatch, ({"fp32": M(1000, 0), "bf16": M(3000, 50)}, probe))
    as_fp32 = make_oracle(tmp_path / "b", precision="auto")
    assert (as_bf16.precision, as_fp32.precision) == ("bf16", "fp32")
    assert as_bf16.context_key == make_oracle(precision="bf16").context_key
    assert as_fp32.context_key == make_oracle(precision="fp32").context_key
    assert as_bf16.context_key != as_fp32.context_key


def test_pinned_onnxruntime_measures_nothing_and_shares_the_cache_of_auto_that_chose_it(tmp_path, monkeypatch):
    probe = Probe((0.9,) * 8, 50)
    calls = _counting_measure(monkeypatch, ({"fp32": M(1000, 0), "onnxruntime": M(3000, 0)}, probe))
    auto = make_oracle(tmp_path, precision="auto")
    pinned = make_oracle(tmp_path, precision="onnxruntime")
    assert len(calls) == 1 and auto.precision == pinned.precision == "onnxruntime" and pinned.decision is None
    assert type(pinned.model).__name__ == "OnnxModule"  # really run by ONNX Runtime, not torch
    fp32 = make_oracle(precision="fp32")
    assert pinned.context_key == auto.context_key != fp32.context_key
    lv = random_levels(6, seed=3)
    assert abs(pinned.accuracy(lv) - fp32.accuracy(lv)).max() <= 2 / pinned.n
    for name in ("fp32-nchw", "bf16-nchw"):
        assert make_oracle(precision=name).precision == name


def test_pinned_onnxruntime_for_a_t_that_is_onnx_already_says_what_to_pin(tmp_path):
    import torch

    from distortion_reliability.errors import ConfigError
    from distortion_reliability.models.engines import onnx_engine
    from test_oracle import MeanModel

    t = onnx_engine(MeanModel(), "cpu", torch.rand(2, 1, 6, 6), tmp_path, "t").module  # an ONNX file's T
    assert type(t).__name__ == "OnnxModule"
    with pytest.raises(ConfigError) as err:
        make_oracle(precision="onnxruntime", model=t)
    assert err.value.field == "oracle.precision" and "ONNX model already" in str(err.value)


def test_the_machine_kind_honours_aten_cpu_capability():
    code = "from distortion_reliability.precision import machine_kind; print(machine_kind('cpu')['capability'])"

    def capability(**env):
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True)
        return out.stdout.strip()

    native = capability()
    if native in ("", "DEFAULT"):
        pytest.skip(f"no SIMD capability to lower here ({native!r})")
    assert capability(ATEN_CPU_CAPABILITY="default") != native
