"""Contact sheet (Figure 5): levels, the PNG, and the command line on the composed config (digits)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from distortion_reliability.distortions import DistortionSpace
from distortion_reliability.errors import ConfigError
from distortion_reliability.pipeline import compose_config
from distortion_reliability.reporting.contact_sheet import (
    build_from_config,
    contact_sheet,
    contact_sheet_levels,
    load_image,
    main,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def space() -> DistortionSpace:
    return DistortionSpace.from_config(OmegaConf.to_container(compose_config().distortion, resolve=True))


def test_contact_sheet_levels_and_png(space, tmp_path):
    levels = contact_sheet_levels(space, 3)
    assert levels.shape == (6, 3, 6)
    np.testing.assert_allclose(levels[1, :, 1], [0, 45, 90])  # rotation row spans its domain
    np.testing.assert_array_equal(levels[1][:, [0, 2, 3, 4, 5]], np.tile(space.identity[[0, 2, 3, 4, 5]], (3, 1)))
    images = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    path = contact_sheet(images, space, levels_per_op=3, path=tmp_path / "sub" / "sheet.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["sheet.png"]  # no temp file left
    with pytest.raises(ConfigError, match="levels_per_op"):
        contact_sheet_levels(space, 0)


def test_overrides_reach_the_sheet_through_the_composed_config():
    dataset, space, label = build_from_config(["dataset=digits", "distortion.ops.1.domain=[0,45]"])
    assert label == "digits" and dataset.name == "digits"
    assert space.box.upper[1] == 45.0 and contact_sheet_levels(space, 4)[1, -1, 1] == 45.0
    image = load_image(dataset, 3)
    assert image.shape == (1, 1, 8, 8)
    assert torch.equal(image[0], dataset.load("test").images[3])  # default split: the one D comes from
    with pytest.raises(ConfigError, match="index"):
        load_image(dataset, 10_000)


def test_command_line_writes_the_sheet_of_a_digit(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    path = main(["--dataset", "digits", "--out", str(out), "--levels-per-op", "2", "distortion.ops.5.domain=[0,0.5]"])
    assert path == out and f"wrote {out}" in capsys.readouterr().out
    with Image.open(out) as img:
        assert img.size[0] > 200 and img.size[1] > 500  # 3 columns, 6 rows of panels


def test_command_line_bad_input_is_one_error_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["--dataset", "mnist", "--data-dir", str(tmp_path / "absent"), "--out", str(tmp_path / "x.png")])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: dataset 'mnist' not found")
    with pytest.raises(SystemExit) as info:
        main(["--dataset", "nope", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1 and "dataset/nope" in err[0]
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "x.png"), "distortion.ops.1.domain=[90,0]"])
    assert "rotation.domain" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_no_import_cycle_between_distortions_and_reports():
    code = ("import sys, distortion_reliability.distortions; "
            "assert not any(m.startswith('distortion_reliability.reporting') for m in sys.modules); "
            "import distortion_reliability.reporting.contact_sheet; "
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
