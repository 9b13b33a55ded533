"""`medfuse metrics` (one triple, JSON, a folder to CSV) and `medfuse bench metrics`, run in-process."""

from __future__ import annotations

import csv
import json
import shutil

import cv2
import numpy as np
import pytest

from medfuse_gui.cli import build_parser, main
from tests.conftest import harvard_pair

NAMES = ("11017.png", "11012.png", "11013.png")


def _write_fused(path, anat, func):
    a = cv2.imread(str(anat), cv2.IMREAD_GRAYSCALE).astype(np.float64)
    b = cv2.imread(str(func), cv2.IMREAD_GRAYSCALE).astype(np.float64)
    cv2.imwrite(str(path), np.maximum(a, b).astype(np.uint8))


@pytest.fixture(scope="module")
def results(tmp_path_factory, shared):
    """A results layout: MRI/, SPECT/ (copies of Harvard pairs) and fused/ (max rule), paired by file name."""
    root = tmp_path_factory.mktemp("results")
    for sub in ("MRI", "SPECT", "fused"):
        (root / sub).mkdir()
    for name in NAMES:
        anat, func = harvard_pair("SPECT-MRI", name)
        shutil.copy(anat, root / "MRI" / name)
        shutil.copy(func, root / "SPECT" / name)
        _write_fused(root / "fused" / name, anat, func)
    return root


def test_one_triple_prints_every_metric_of_the_preset(results, capsys):
    args = ["metrics", "--anat", str(results / "MRI" / NAMES[0]), "--func", str(results / "SPECT" / NAMES[0]),
            "--fused", str(results / "fused" / NAMES[0]), "--preset", "cddfuse"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "preset cddfuse" in out
    for name in ("EN", "MI", "VIF", "Qabf", "SSIM", "PSNR", "MSE"):
        assert f"\n{name} " in out
    assert "printed as VIFF" in out and "nats" in out


def test_json_output_with_a_region_and_a_subset(results, capsys):
    args = ["metrics", "--anat", str(results / "MRI" / NAMES[0]), "--func", str(results / "SPECT" / NAMES[0]),
            "--fused", str(results / "MRI" / NAMES[0]), "--json", "--metrics", "EN,PSNR,SSIM",
            "--region", "100,100,140,150"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["preset"] == "default" and data["region"] == [100, 100, 140, 150]
    assert list(data["values"]) == ["EN", "PSNR", "SSIM"]
    assert data["values"]["PSNR"] == "inf"  # F equals A: documented +inf, written as a string in JSON
    assert isinstance(data["values"]["EN"], float)


def test_folder_mode_writes_a_table_and_refuses_to_overwrite(results, tmp_path, capsys):
    out = tmp_path / "table.csv"
    args = ["metrics", "--anat-dir", str(results / "MRI"), "--func-dir", str(results / "SPECT"),
            "--fused-dir", str(results / "fused"), "--out", str(out), "--metrics", "EN,MI,Qabf,SSIM"]
    assert main(args) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["pair", "EN", "MI", "Qabf", "SSIM"]
    assert [r[0] for r in rows[1:]] == ["11012", "11013", "11017", "mean", "std"]
    values = np.array([[float(x) for x in r[1:]] for r in rows[1:4]])
    np.testing.assert_allclose([float(x) for x in rows[4][1:]], values.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose([float(x) for x in rows[5][1:]], values.std(axis=0, ddof=1), rtol=1e-9)
    before = out.read_bytes()
    capsys.readouterr()
    assert main(args) == 1
    assert "exists" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(args + ["--force", "--preset", "cddfuse"]) == 0
    assert out.read_bytes() != before
    assert not [p for p in tmp_path.iterdir() if p.name != "table.csv"]  # no temporary file left behind


def test_folder_mode_names_missing_sources(results, tmp_path, capsys):
    fused = tmp_path / "fused"
    fused.mkdir()
    shutil.copy(results / "fused" / NAMES[0], fused / "99999.png")
    assert main(["metrics", "--anat-dir", str(results / "MRI"), "--func-dir", str(results / "SPECT"),
                 "--fused-dir", str(fused), "--out", str(tmp_path / "t.csv")]) == 1
    assert "99999" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()


def test_usage_errors(results, capsys):
    assert main(["metrics", "--anat", "x.png"]) == 1
    assert main(["metrics", "--anat-dir", str(results)]) == 1
    assert main(["metrics", "--preset", "nope", "--anat", "a", "--func", "b", "--fused", "c"]) == 1
    err = capsys.readouterr().err
    assert "--fused" in err and "unknown preset" in err


def test_bench_metrics_reports_each_metric_and_the_total(shared, capsys):
    # via the parser, not main(): main() re-executes the process for `bench` to tune malloc
    args = build_parser().parse_args(["bench", "metrics", "--repeat", "1", "--preset", "cddfuse"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    for name in ("EN", "VIF", "Qabf", "TOTAL"):
        assert f"\n{name} " in out
    args = build_parser().parse_args(["bench", "metrics", "--repeat", "1", "--json"])
    assert args.run(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["alone"]) >= {"FSIM", "AFM", "FMI_pixel"} and data["total"]["wall"] > 0
