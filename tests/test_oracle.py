"""Oracle: exact early stopping, caching (hits, corruption, resumption), batching invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distortion_reliability.errors import ConfigError
from distortion_reliability.oracle import Count, Oracle
from distortion_reliability.box import Box


class ToySpace:
    """Two ops a tiny model is sensitive to: additive noise strength and a brightness gain.

    Stands in for DistortionSpace (same protocol) so these tests pin the oracle alone.
    """

    box = Box(["noise", "gain"], [0.0, 0.5], [1.0, 1.5])

    def spec(self):
        return {"toy": 1}

    def make_noise(self, num_images, height, width, seed, device):
        g = torch.Generator().manual_seed(seed)
        return torch.randn(num_images, 1, height, width, generator=g).to(device)

    def apply(self, images, levels, noise=None):
        levels = torch.as_tensor(levels, dtype=images.dtype)
        a = levels[:, 0].view(-1, 1, 1, 1, 1)
        gain = levels[:, 1].view(-1, 1, 1, 1, 1)
        return (images.unsqueeze(0) * gain + a * 3 * noise.unsqueeze(0)).clamp(0, 1)


class MeanModel(torch.nn.Module):
    """Class 1 iff the image mean exceeds 0.5: accuracy falls smoothly with noise and gain."""

    def forward(self, x):
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([0.5 - m, m - 0.5], dim=1)


def make_oracle(tmp_path=None, n=400, **kw):
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 2, (n,), generator=g)
    base = torch.where(labels.bool(), 0.62, 0.38).view(-1, 1, 1, 1)
    images = (base + 0.15 * torch.randn(n, 1, 6, 6, generator=g)).clamp(0, 1)
    kw.setdefault("progress", False)
    kw.setdefault("precision", "fp32")
    model = kw.pop("model", None) or MeanModel()
    return Oracle(model, images, labels, ToySpace(), cache_dir=tmp_path, context={"t": "toy"}, **kw)


def random_levels(n, seed=0):
    return ToySpace.box.sample_uniform(n, seed)


def test_accuracy_matches_direct_computation():
    o = make_oracle()
    lv = random_levels(5)
    f = o.accuracy(lv)
    for level, value in zip(lv, f):
        x = ToySpace().apply(o.images, level[None], o.noise)[0]
        direct = (MeanModel()(x).argmax(1) == o.labels).sum().item() / o.n
        assert value == pytest.approx(direct, abs=1e-12)
    assert len(set(np.round(f, 6))) > 1  # the toy ops really move accuracy


@pytest.mark.parametrize("h", [0.3, 0.6, 0.8, 0.95])
def test_early_stopped_labels_equal_full_labels(h):
    lv = random_levels(60, seed=3)
    full = make_oracle().accuracy(lv) >= h
    fast_oracle = make_oracle(chunk_size=25)
    fast = fast_oracle.label(lv, h)
    np.testing.assert_array_equal(fast, full)
    assert 0 < full.sum() < len(full) or h in (0.3, 0.95)  # the case is not trivial for middle h


def test_early_stopping_saves_work_far_from_threshold():
    lv = random_levels(60, seed=3)
    o = make_oracle(chunk_size=25)
    o.label(lv, 0.99)  # nearly every level is far below 0.99
    assert o.images_evaluated < 0.5 * len(lv) * o.n


def test_level_batching_does_not_change_results():
    lv = random_levels(9, seed=4)
    one_at_a_time = np.concatenate([make_oracle(batch_size=400).accuracy(l[None]) for l in lv])
    batched = make_oracle(batch_size=4000).accuracy(lv)
    np.testing.assert_array_equal(one_at_a_time, batched)


def test_cache_hit_returns_same_value_without_evaluating(tmp_path):
    lv = random_levels(7, seed=5)
    first = make_oracle(tmp_path).accuracy(lv)
    again = make_oracle(tmp_path)
    np.testing.assert_array_equal(again.accuracy(lv), first)
    assert again.images_evaluated == 0


def test_early_stopped_entry_is_resumed_not_redone(tmp_path):
    lv = random_levels(20, seed=6)
    o1 = make_oracle(tmp_path, chunk_size=25)
    o1.label(lv, 0.9)
    spent = o1.images_evaluated
    o2 = make_oracle(tmp_path, chunk_size=25)
    f = o2.accuracy(lv)
    assert o2.images_evaluated == len(lv) * o2.n - spent  # only the images not seen before
    np.testing.assert_array_equal(f, make_oracle().accuracy(lv))


def test_corrupted_cache_entry_is_recomputed(tmp_path):
    lv = random_levels(3, seed=7)
    expected = make_oracle(tmp_path).accuracy(lv)
    files = sorted(p for p in tmp_path.rglob("*.json") if p.name != "context.json")
    assert len(files) == 3
    files[0].write_bytes(files[0].read_bytes()[:-5])  # truncated
    files[1].write_bytes(files[1].read_bytes().replace(b'"n_correct":', b'"n_correct":1'))  # bit rot
    o = make_oracle(tmp_path)
    np.testing.assert_array_equal(o.accuracy(lv), expected)
    assert o.levels_evaluated == 2


def test_cache_is_keyed_by_precision_and_context(tmp_path):
    lv = random_levels(2, seed=8)
    make_oracle(tmp_path).accuracy(lv)
    other = make_oracle(tmp_path, precision="bf16")
    other.accuracy(lv)
    assert other.images_evaluated == 2 * other.n


def test_count_decision_bounds():
    assert Count(90, 90).decided(100, 0.9) is True
    assert Count(11, 0).decided(100, 0.9) is False  # 11 errors > 10 allowed
    assert Count(10, 0).decided(100, 0.9) is None  # exactly 10 errors: still reachable
    assert Count(100, 89).decided(100, 0.9) is False


def test_bad_levels_are_named():
    # h, precision and batch size are checked once, by the config schema (tests/test_config.py BAD)
    with pytest.raises(ConfigError, match="level\\[gain\\]"):
        make_oracle().accuracy([[0.5, 2.0]])


def _hammer(args):
    root, seed = args
    from distortion_reliability.oracle import Count, EvalCache

    cache = EvalCache(root, {"t": "concurrent"})
    levels = np.linspace(0, 1, 40).reshape(20, 2)
    seen_bad = 0
    for rep in range(30):
        for i, lv in enumerate(levels):
            cache.put(lv, 100, Count(100, i))
            got = cache.get(levels[(i + seed) % 20], 100)
            if got is not None and got.n_correct != (i + seed) % 20:
                seen_bad += 1
    return seen_bad


def test_concurrent_writers_never_expose_half_entries(tmp_path):
    import multiprocessing as mp

    with mp.get_context("fork").Pool(3) as pool:
        bad = pool.map(_hammer, [(str(tmp_path), s) for s in range(3)])
    assert bad == [0, 0, 0]
    assert not list(tmp_path.rglob("*.tmp"))


def test_real_oracle_matches_a_plain_evaluation(shared_data):
    """LeNet-5 on MNIST: the oracle's batched, channels_last path gives the accuracy that a plain
    NCHW loop over the same distorted images gives (fp32: identical up to float rounding)."""
    from distortion_reliability import models
    from distortion_reliability.build import build
    from distortion_reliability.config import compose_config

    cfg = compose_config(["dataset=mnist", "dataset.verification_size=1000"])
    vset = build("dataset", cfg.dataset, data_dir=shared_data).verification_set(0)
    net = models.load_model("lenet5", dataset="mnist", data_dir=shared_data, progress=False).module
    space = build("distortion", cfg.distortion)
    o = Oracle(net, vset.images, vset.labels, space, precision="fp32", progress=False)
    levels = space.box.sample_uniform(4, np.random.default_rng(3))
    f = o.accuracy(levels)
    reference = models.LeNet5()
    reference.load_state_dict({k: v.contiguous() for k, v in net.net.state_dict().items()})  # NCHW weights
    reference.eval()
    with torch.inference_mode():
        for level, value in zip(levels, f):
            x = space.apply(vset.images, torch.as_tensor(level[None], dtype=torch.float32), o.noise)[0]
            direct = (reference(x.contiguous()).argmax(1) == vset.labels).float().mean().item()
            assert abs(value - direct) <= 1 / o.n  # at most one borderline image may flip
    assert o.clean_accuracy() == pytest.approx(0.989, abs=0.01)
    assert len(set(np.round(f, 3))) > 1


# ------------------------------------------------------------------ crash safety and shared work
class StopAfter:
    """Wraps ``Oracle._correct_counts``: raises ``exc`` at the n-th batch (a Ctrl-C mid-call)."""

    def __init__(self, oracle, n, exc=KeyboardInterrupt):
        self.real, self.n, self.exc, self.calls = oracle._correct_counts, n, exc, 0
        oracle._correct_counts = self

    def __call__(self, *args):
        self.calls += 1
        if self.calls == self.n:
            raise self.exc()
        return self.real(*args)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_interrupted_call_resumes_exactly_where_it_stopped(tmp_path, exc):
    lv = random_levels(40, seed=11)
    reference = make_oracle(chunk_size=25, batch_size=100)
    expected = reference.label(lv, 0.7)
    o1 = make_oracle(tmp_path, chunk_size=25, batch_size=100, flush_seconds=1000)
    StopAfter(o1, 30, exc)
    with pytest.raises(exc):
        o1.label(lv, 0.7)
    assert list(tmp_path.rglob("partial/*.npz"))  # the in-flight counts were journalled on the way out
    o2 = make_oracle(tmp_path, chunk_size=25, batch_size=100)
    np.testing.assert_array_equal(o2.label(lv, 0.7), expected)
    assert o1.images_evaluated + o2.images_evaluated == reference.images_evaluated  # nothing redone
    assert not list(tmp_path.rglob("partial/*.npz"))  # the finished block's journal is gone
    assert not list(tmp_path.rglob("*.lock")) and not list(tmp_path.rglob("*.tmp"))


def test_journal_is_flushed_while_running(tmp_path, monkeypatch):
    """flush_seconds=0: the counts in flight reach the disk after every batch (what a SIGKILL keeps)."""
    from distortion_reliability.oracle import EvalCache

    flushes = []
    real = EvalCache.put_partial

    def spy(self, key, levels, n_total, counts):
        flushes.append(sum(c.n_evaluated for c in counts))
        return real(self, key, levels, n_total, counts)

    monkeypatch.setattr(EvalCache, "put_partial", spy)
    o = make_oracle(tmp_path, chunk_size=50, batch_size=100, flush_seconds=0)
    o.accuracy(random_levels(6, seed=12))
    assert len(flushes) >= o.images_evaluated // 100 - 1 and flushes == sorted(flushes)
    flushes.clear()
    make_oracle(tmp_path, chunk_size=50, batch_size=100, flush_seconds=3600).accuracy(random_levels(6, seed=13))
    assert flushes == []  # rarer than the interval: no journal writes


def test_corrupted_journal_is_ignored(tmp_path):
    lv = random_levels(10, seed=14)
    o1 = make_oracle(tmp_path, chunk_size=25, batch_size=100, flush_seconds=1000)
    StopAfter(o1, 8)
    with pytest.raises(KeyboardInterrupt):
        o1.accuracy(lv)
    (journal,) = tmp_path.rglob("partial/*.npz")
    raw = bytearray(journal.read_bytes())
    raw[-20] ^= 0xFF
    journal.write_bytes(bytes(raw))
    o2 = make_oracle(tmp_path, chunk_size=25, batch_size=100)
    np.testing.assert_array_equal(o2.accuracy(lv), make_oracle().accuracy(lv))


def test_blocks_claimed_by_a_live_job_are_waited_for_not_recomputed(tmp_path):
    """Another (live) job holds the claim on the first block: this job evaluates the other blocks,
    waits, then reads the first block's counts from the cache once the claim is released."""
    import threading

    from distortion_reliability.oracle import EvalCache

    lv = random_levels(30, seed=15)
    expected = make_oracle().accuracy(lv)
    helper = make_oracle(tmp_path, block_levels=10)
    cache: EvalCache = helper.cache
    first = cache.block_key([cache.level_key(level) for level in lv[:10]], helper.n)
    claim = cache.claim(first)
    assert claim.try_acquire()

    def other_job():  # evaluates block 0 under its claim, stores the counts, then lets go
        for level, f in zip(lv[:10], make_oracle().accuracy(lv[:10])):
            cache.put(level, helper.n, Count(helper.n, round(f * helper.n)))
        claim.release()

    o = make_oracle(tmp_path, block_levels=10)
    timer = threading.Timer(0.5, other_job)
    timer.start()
    try:
        np.testing.assert_array_equal(o.accuracy(lv), expected)
    finally:
        timer.join()
    assert o.images_evaluated == 20 * o.n  # blocks 1 and 2 only


def test_progress_total_is_stable_and_reached(tmp_path, monkeypatch):
    from distortion_reliability import oracle as oracle_mod

    bars = []

    class Bar:
        def __init__(self, total, desc, **kw):
            self.total, self.n, self.steps = total, 0, []
            bars.append(self)

        def update(self, k):
            assert k > 0
            self.n += k
            self.steps.append(k)

        def close(self):
            pass

    monkeypatch.setattr(oracle_mod, "progress_bar", Bar)
    lv = random_levels(50, seed=16)
    make_oracle(tmp_path, chunk_size=25, batch_size=100).label(lv, 0.7)
    (bar,) = bars
    assert bar.total == 50 * 400 and bar.n == bar.total  # early-stopped images count as done


def test_levels_reach_the_distortion_as_given_in_float64():
    seen = []

    class RecordingSpace(ToySpace):
        def apply(self, images, levels, noise=None):
            seen.append(levels)
            return super().apply(images, levels, noise)

    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 2, (50,), generator=g)
    images = torch.rand(50, 1, 6, 6, generator=g)
    o = Oracle(MeanModel(), images, labels, RecordingSpace(), precision="fp32", progress=False)
    lv = random_levels(3, seed=9) + 1e-12  # not representable in float32
    o.accuracy(lv)
    assert all(isinstance(x, np.ndarray) and x.dtype == np.float64 for x in seen)
    np.testing.assert_array_equal(np.concatenate(seen), lv)  # bit-identical: no float32 round trip
