"""The headless ``medfuse`` command: fusion to PNG/NIfTI, clear one-line failures, no silent overwrite."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import cv2
import nibabel as nib
import numpy as np
import pytest

from medfuse_gui import colour, io, pipeline
from medfuse_gui.cli import main
from medfuse_gui.fusion import get_model, registry


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medfuse_gui.cli", *args], capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "MEDFUSE_NO_REEXEC": "1"})


def test_methods_lists_registry():
    result = run_cli("methods")
    assert result.returncode == 0
    for name in ("average", "maximum", "laplacian", "dwt", "gff", "dilran"):
        assert name in result.stdout
    rows = {r["name"]: r for r in json.loads(run_cli("methods", "--json").stdout)}
    records = json.loads((Path(registry.WEIGHTS_DIR) / "manifest.json").read_text())["models"]
    for name, row in rows.items():  # a caveat recorded with the weights is shown with the method, and only then
        assert row["caveat"] == records.get(name, {}).get("caveat", "")
        if row["caveat"]:
            assert f"caveat: {row['caveat']}" in result.stdout


def test_fuse_png_equals_the_pipeline_and_refuses_overwrite(tmp_path, spect_pair):
    out = tmp_path / "fused.png"
    assert main(["fuse", "--anat", str(spect_pair[0]), "--func", str(spect_pair[1]), "--method", "dwt",
                 "-o", str(out), "--quiet"]) == 0
    written = cv2.imread(str(out), cv2.IMREAD_COLOR)[..., ::-1]
    pair = pipeline.make_pair(io.load(spect_pair[0]), io.load(spect_pair[1]))
    expected = pipeline.fuse_inputs(pipeline.slice_inputs(pair, 0), get_model("dwt")).fused_rgb_uint8()
    np.testing.assert_array_equal(written, expected)
    # The fused image keeps the SPECT colour: its chroma equals the functional chroma where not clipped.
    spect = io.load(spect_pair[1]).pixels[0]
    _, fused_chroma = colour.rgb_to_luma_chroma(written)
    _, spect_chroma = colour.rgb_to_luma_chroma(spect)
    assert np.median(np.abs(fused_chroma - spect_chroma)) < 0.01

    before = out.read_bytes()
    result = run_cli("fuse", "--anat", str(spect_pair[0]), "--func", str(spect_pair[1]), "-o", str(out))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "exists (use --force" in result.stderr
    assert out.read_bytes() == before
    assert run_cli("fuse", "--anat", str(spect_pair[0]), "--func", str(spect_pair[1]), "--method", "average",
                   "-o", str(out), "--force", "--quiet").returncode == 0
    assert out.read_bytes() != before


@pytest.mark.parametrize("case, message", [
    ("cuda", "CUDA is not available"),
    ("missing", "no such file"),
    ("text", "unknown format"),
    ("method", "unknown fusion method"),
    ("suffix", "cannot tell the output format"),
])
def test_bad_input_exits_nonzero_with_one_line(tmp_path, spect_pair, case, message):
    anat, func, method, out = str(spect_pair[0]), str(spect_pair[1]), "average", str(tmp_path / "o.png")
    extra = []
    if case == "cuda":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        method, extra = "mask-pa", ["--device", "cuda"]
    elif case == "missing":
        anat = str(tmp_path / "nope.png")
    elif case == "text":
        (tmp_path / "notes.txt").write_text("x")
        func = str(tmp_path / "notes.txt")
    elif case == "method":
        method = "magic"
    elif case == "suffix":
        out = str(tmp_path / "o.gif")
    result = run_cli("fuse", "--anat", anat, "--func", func, "--method", method, "-o", out, *extra)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_fuse_volume_to_nifti_keeps_the_anatomical_affine(tmp_path):
    affine = np.array([[-1.0, 0, 0, 90], [0, 1.2, 0, -120], [0, 0, 2.0, -60], [0, 0, 0, 1]])
    rng = np.random.default_rng(0)
    anat = rng.integers(0, 200, (12, 10, 6)).astype(np.int16)
    func = np.zeros((12, 10, 6), np.float32)
    func[4:8, 3:7, 2:4] = 50.0
    nib.save(nib.Nifti1Image(anat, affine), tmp_path / "t1.nii.gz")
    nib.save(nib.Nifti1Image(func, affine), tmp_path / "pet.nii.gz")
    out = tmp_path / "fused.nii.gz"
    assert main(["fuse", "--anat", str(tmp_path / "t1.nii.gz"), "--func", str(tmp_path / "pet.nii.gz"),
                 "--method", "maximum", "-o", str(out), "--quiet"]) == 0
    fused = io.load(out)
    reference = io.load(tmp_path / "t1.nii.gz")
    assert fused.is_rgb and fused.grid_shape == reference.grid_shape
    np.testing.assert_allclose(fused.affine, reference.affine)


def test_evaluate_writes_a_paper_style_results_page(tmp_path, shared):
    out = tmp_path / "results.md"
    assert main(["evaluate", "--limit", "2", "--methods", "average,maximum,mask-pa", "--out", str(out),
                 "--quiet"]) == 0
    text = out.read_text()
    for task in ("CT-MRI", "PET-MRI", "SPECT-MRI"):
        assert f"## {task} (2 pairs)" in text
        assert (tmp_path / "results" / f"{task}.png").stat().st_size > 10_000
    assert "| Average |" in text and "| Maximum |" in text and "**" in text and "<u>" in text
    # the quality bar: one row per network, 9 cells (3 tasks x Qabf/VIF/MI), each mark agreeing with its numbers
    bar_section = text.split("## Networks against plain averaging")[1].split("\n## ")[0]
    bar_row = [line for line in bar_section.splitlines() if line.startswith("| ") and ("✓" in line or "✗" in line)]
    assert len(bar_row) == 1
    cells = [c.strip() for c in bar_row[0].strip("|").split("|")][1:]
    assert len(cells) == 9
    for cell in cells:
        mark, ours, average = cell.replace("/", " ").split()
        assert (mark == "✓") == (float(ours) > float(average))
    steps = json.loads((Path(registry.WEIGHTS_DIR) / "manifest.json").read_text())["models"]["mask-pa"]["steps"]
    assert "## How the networks were trained" in text and f"| {steps} |" in text
    assert main(["evaluate", "--limit", "1", "--methods", "average", "--out", str(out), "--quiet"]) == 1  # no --force


def test_train_command_smoke(tmp_path, shared):
    run = tmp_path / "run"
    assert main(["train", "--model", "mask-pa", "--task", "SPECT-MRI", "--epochs", "1", "--steps-per-epoch", "1",
                 "--batch-size", "2", "--patch-size", "32", "--out", str(run), "--quiet"]) == 0
    assert (run / "mask-pa.safetensors").is_file() and (run / "checkpoint.pt").is_file()
    assert main(["train", "--model", "average", "--out", str(tmp_path / "x"), "--quiet"]) == 1  # not trainable
    # --freeze-bn on a network without BatchNorm: one line, status 1, nothing trained
    assert main(["train", "--model", "mask-pa", "--freeze-bn", "--epochs", "1", "--steps-per-epoch", "1",
                 "--batch-size", "2", "--patch-size", "32", "--out", str(tmp_path / "y"), "--quiet"]) == 1
    assert not (tmp_path / "y" / "checkpoint.pt").exists()
