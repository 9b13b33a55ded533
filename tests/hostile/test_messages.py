"""One line, MedFuse's words, for the failures the hostile-input report listed outside the loaders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from medfuse_gui import cli, io
from medfuse_gui.io import guard
from medfuse_gui.io.errors import InputTooLargeError, SpecialFileError

from .corpus import png_declaring
from .test_corpus import PYTHON_TEXT

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys, *argv) -> tuple[int, str]:
    rc = cli.main(list(argv))
    err = capsys.readouterr().err.strip()
    assert not PYTHON_TEXT.search(err), err
    return rc, err


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(2)
    paths = {}
    for name, shape in (("a", (32, 32)), ("b", (32, 32)), ("f", (32, 32)), ("small", (16, 16))):
        paths[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(paths[name]), rng.integers(0, 255, shape, dtype=np.uint8))
    return paths


def test_metrics_errors_are_one_line(capsys, images):
    a, b, f = (str(images[k]) for k in "abf")
    rc, err = _run(capsys, "metrics", "--anat", a, "--func", b, "--fused", str(images["small"]))
    assert rc == 1 and "shape mismatch" in err and len(err.splitlines()) == 1
    rc, err = _run(capsys, "metrics", "--anat", a, "--func", b, "--fused", f, "--region", "0,0,100,100")
    assert rc == 1 and "not inside the 32x32 image" in err
    rc, err = _run(capsys, "metrics", "--anat", a, "--func", b, "--fused", f, "--metrics", "EN,Bogus")
    assert rc == 1 and "unknown metric(s) 'Bogus'" in err


def test_an_unknown_device_is_refused_before_any_work(capsys, images, tmp_path):
    rc, err = _run(capsys, "fuse", "--anat", str(images["a"]), "--func", str(images["b"]), "-o",
                   str(tmp_path / "o.png"), "--device", "bogus")
    assert rc == 1 and err == "medfuse fuse: unknown device 'bogus': use cpu, cuda or cuda:N"
    assert not (tmp_path / "o.png").exists()


def test_an_invalid_weights_manifest_is_one_line(tmp_path, monkeypatch):
    from medfuse_gui.fusion import registry

    (tmp_path / "manifest.json").write_text('{"models": {"dilran": ')
    monkeypatch.setattr(registry, "WEIGHTS_DIR", tmp_path)
    registry.manifest.cache_clear()
    try:
        with pytest.raises(registry.WeightsError, match=r"manifest.json is not valid JSON \(line 1, column 23\)"):
            registry.manifest()
        (tmp_path / "manifest.json").write_text(json.dumps({"models": {"dilran": {"file": "x"}}}))
        registry.manifest.cache_clear()
        with pytest.raises(registry.WeightsError, match="not a valid weights manifest"):
            registry.manifest()
    finally:
        registry.manifest.cache_clear()


def test_a_fifo_is_refused_at_once_without_opening_it(tmp_path):
    for name in ("pipe.dcm", "pipe.png", "pipe.nii.gz"):
        os.mkfifo(tmp_path / name)
    os.mkfifo(tmp_path / "series_pipe.dcm")
    code = ("import sys; from medfuse_gui import io\n"
            "for name in sys.argv[2:]:\n"
            "    try: io.load(sys.argv[1] + '/' + name)\n"
            "    except io.MedFuseError as e: print(e)\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path), "pipe.dcm", "pipe.png", "pipe.nii.gz"],
                            capture_output=True, text=True, timeout=30, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(line.endswith("a named pipe (FIFO), not a regular file") for line in lines), result
    with pytest.raises(SpecialFileError):
        io.load(tmp_path / "pipe.dcm")


def test_oversize_declarations_are_refused_from_the_header(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(png_declaring(6000, 6000, colour=6, depth=16))  # 288 MB declared, 100 kB on disk
    monkeypatch.setenv(guard.ENV_MAX_PIXEL_BYTES, "100M")
    with pytest.raises(InputTooLargeError, match=r"6000 columns x 6000 rows x 4 samples x 2 bytes = 274.7 MiB of "
                                                 r"pixels, more than the limit of 100.0 MiB"):
        io.load(path)
    monkeypatch.setenv(guard.ENV_MAX_PIXEL_BYTES, "lots")
    with pytest.raises(io.MedFuseError, match="MEDFUSE_MAX_PIXEL_BYTES='lots' is not a size"):
        io.load(path)
    monkeypatch.delenv(guard.ENV_MAX_PIXEL_BYTES)
    io.set_max_pixel_bytes(50 * 1024 ** 2)  # the GUI's setting wins over the environment
    try:
        assert io.max_pixel_bytes() == 50 * 1024 ** 2
        with pytest.raises(InputTooLargeError, match="limit of 50.0 MiB"):
            io.load(path)
    finally:
        io.set_max_pixel_bytes(None)
    assert io.max_pixel_bytes() == guard.DEFAULT_MAX_PIXEL_BYTES


@pytest.mark.parametrize("text,expected", [("2147483648", 2 ** 31), ("512M", 512 * 2 ** 20), ("2G", 2 ** 31),
                                           ("1.5GiB", 3 * 2 ** 29), ("64kb", 65536)])
def test_byte_sizes_parse(text, expected):
    assert guard.parse_byte_size(text) == expected


def test_a_long_path_is_one_line(capsys, images, tmp_path):
    long = tmp_path / ("y" * 300 + ".png")
    rc, err = _run(capsys, "fuse", "--anat", str(long), "--func", str(images["b"]), "-o", str(tmp_path / "o.png"))
    assert rc == 1 and err.endswith("file name too long")
    rc, err = _run(capsys, "fuse", "--anat", str(images["a"]), "--func", str(images["b"]), "-o", str(long))
    assert rc == 1 and err.endswith("file name too long")


def test_a_non_finite_anatomical_never_reaches_the_network(tmp_path):
    """A NaN region is missing data: the fused image keeps the functional there instead of going black."""
    from medfuse_gui import pipeline
    from medfuse_gui.fusion import get_model
    from medfuse_gui.io import Volume

    anat = np.full((1, 16, 16), 100.0, np.float32)
    anat[0, :8] = np.nan
    func = np.full((1, 16, 16), 50.0, np.float32)
    pair = pipeline.make_pair(Volume(anat), Volume(func, modality="PT"))
    assert "non-finite" in " ".join(pair.warnings)
    fused = pipeline.fuse_volume(pair, get_model("maximum"))
    assert np.isfinite(pair.anatomical.pixels).all() and fused[0, :8].max() > 0
    with pytest.raises(io.MedFuseError, match="no finite pixel value"):
        pipeline.make_pair(Volume(np.full((1, 8, 8), np.nan, np.float32)), Volume(func))


def test_a_network_that_outputs_nan_is_refused_for_a_slice_and_for_a_volume():
    """The volume path (batched) refuses a non-finite output as the slice path does: no exporter receives one."""
    import numpy as np
    import pytest

    from medfuse_gui import pipeline
    from medfuse_gui.io import MedFuseError, Volume

    class BrokenFuser:
        name = "broken"

        def fuse(self, anatomical, functional):
            out = (np.asarray(anatomical) + np.asarray(functional)) / 2
            out[..., 0, 0] = np.nan
            return out

    pixels = np.linspace(0, 1, 3 * 8 * 8, dtype=np.float32).reshape(3, 8, 8)
    volume = Volume(pixels=pixels, modality="MR", spacing=(1.0, 1.0, 1.0), affine=np.eye(4), source="v.nii",
                    geometry_known=True, window=(0.0, 1.0))
    pair = pipeline.make_pair(volume, volume.with_pixels(pixels[::-1].copy()))
    with pytest.raises(MedFuseError, match="non-finite values on slice 1 "):
        pipeline.fuse_inputs(pipeline.slice_inputs(pair, 0), BrokenFuser(), 0)
    with pytest.raises(MedFuseError, match="non-finite values on slice 1 "):
        pipeline.fuse_volume(pair, BrokenFuser())
