"""Exports follow the umask, appear whole or not at all (kill -9, SIGTERM, SIGINT at a chosen moment), leave no
temporary behind (a killed run's are cleaned on the next write), and never replace an input."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from medfuse_gui import cli
from medfuse_gui.io import Volume
from medfuse_gui.io.atomic import TEMP_PREFIX
from medfuse_gui.io.export import export_volume

ROOT = Path(__file__).resolve().parents[2]

# A child that exports a 12-slice volume and stops, after the 5th file of a folder export (or inside the NIfTI
# write), printing "ready" and waiting on stdin: the parent then sends the signal at that exact moment.
CHILD = r"""
import signal, sys, numpy as np
# A parent started in the background (nohup, &) hands SIGINT down ignored, and Python keeps that: restore Ctrl+C.
signal.signal(signal.SIGINT, signal.default_int_handler)
from pathlib import Path
fmt, target = sys.argv[1], sys.argv[2]

def pause():
    print("ready", flush=True)
    sys.stdin.readline()

count = [0]
if fmt == "dicom":
    import pydicom.dataset
    original = pydicom.dataset.Dataset.save_as
    def save_as(self, *a, **k):
        original(self, *a, **k)
        count[0] += 1
        if count[0] == 5:
            pause()
    pydicom.dataset.Dataset.save_as = save_as
elif fmt == "png-stack":
    import medfuse_gui.io.export as export
    original = export.encode_png
    def encode_png(*a, **k):
        out = original(*a, **k)
        count[0] += 1
        if count[0] == 5:
            pause()
        return out
    export.encode_png = encode_png
else:
    import nibabel
    original = nibabel.save
    def save(image, name):
        original(image, name)
        pause()
    nibabel.save = save
from medfuse_gui.cli import main
sys.exit(main(["fuse", "--anat", sys.argv[3], "--func", sys.argv[4], "-o", target, "--format", fmt,
               "--method", "average", "--quiet"]))
"""


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    rng = np.random.default_rng(0)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    nib.save(nib.Nifti1Image(rng.integers(0, 1000, (20, 24, 12)).astype(np.int16), affine), folder / "t1.nii")
    nib.save(nib.Nifti1Image(rng.random((20, 24, 12)).astype(np.float32), affine), folder / "pet.nii")
    return folder / "t1.nii", folder / "pet.nii"


def _child(fmt: str, target: Path, pair) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", CHILD, fmt, str(target), str(pair[0]), str(pair[1])],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    return child


@pytest.mark.parametrize("fmt,name", [("dicom", "series"), ("png-stack", "stack"), ("nifti", "fused.nii.gz")])
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_an_interrupted_export_leaves_no_file_at_the_final_path(tmp_path, pair, fmt, name, how):
    target = tmp_path / name
    child = _child(fmt, target, pair)
    child.send_signal(getattr(signal, how))
    child.stdin.close()
    rc = child.wait(timeout=30)
    stderr = child.stderr.read()
    assert not target.exists()
    left = [p.name for p in tmp_path.iterdir()]
    if how == "SIGKILL":
        assert rc == -signal.SIGKILL
        assert all(n.startswith(TEMP_PREFIX) for n in left)  # hidden, and only until the next write
    else:
        assert left == [], left
        assert rc == (143 if how == "SIGTERM" else 130)
        assert stderr.strip() in ("medfuse: terminated", "medfuse: interrupted"), stderr
    # The next export into the same folder succeeds and removes what the killed one left.
    assert cli.main(["fuse", "--anat", str(pair[0]), "--func", str(pair[1]), "-o", str(target), "--format", fmt,
                     "--method", "average", "--quiet"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == [name]


def _volume() -> tuple[np.ndarray, Volume]:
    rgb = np.zeros((3, 8, 8, 3), np.uint8)
    return rgb, Volume(np.zeros((3, 8, 8), np.float32), affine=np.diag([1.0, 1.0, 2.0, 1.0]), geometry_known=True)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_exports_follow_the_umask(tmp_path, mask):
    rgb, reference = _volume()
    old = os.umask(mask)
    try:
        files = [*export_volume(tmp_path / "a.nii.gz", rgb, reference, "m"),
                 *export_volume(tmp_path / "b.png", rgb[:1], reference.with_pixels(reference.pixels[:1]), "m"),
                 *export_volume(tmp_path / "series", rgb, reference, "m", "dicom"),
                 *export_volume(tmp_path / "stack", rgb, reference, "m", "png-stack")]
    finally:
        os.umask(old)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path
    for folder in (tmp_path / "series", tmp_path / "stack"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask


def test_a_forced_folder_export_replaces_an_earlier_export_but_never_other_files(tmp_path):
    rgb, reference = _volume()
    export_volume(tmp_path / "series", rgb, reference, "m", "dicom")
    export_volume(tmp_path / "series", rgb[:2], reference.with_pixels(reference.pixels[:2]), "m", "dicom", force=True)
    assert sorted(p.name for p in (tmp_path / "series").iterdir()) == ["IM00001.dcm", "IM00002.dcm"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("precious")
    with pytest.raises(cli_error(), match="holds other files"):
        export_volume(tmp_path / "mine", rgb, reference, "m", "dicom", force=True)
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "precious"


def cli_error():
    from medfuse_gui.io.errors import WriteError

    return WriteError


@pytest.mark.parametrize("output", ["anat", "func", "anat_folder"])
def test_an_output_equal_to_an_input_is_refused_even_with_force(tmp_path, pair, capsys, output):
    from tests.io.dicom_helpers import write_series

    series = tmp_path / "mr"
    write_series(series, np.random.default_rng(1).integers(0, 900, (4, 16, 16)).astype(np.uint16))
    anat = series if output == "anat_folder" else pair[0]
    target = {"anat": pair[0], "func": pair[1], "anat_folder": series}[output]
    before = sorted((p.name, p.stat().st_size) for p in (series.iterdir() if target.is_dir() else [target]))
    rc = cli.main(["fuse", "--anat", str(anat), "--func", str(pair[1]), "-o", str(target), "--force",
                   "--method", "average", "--quiet"] + (["--format", "dicom"] if target.is_dir() else []))
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "choose another output" in err and len(err.splitlines()) == 1, err
    assert sorted((p.name, p.stat().st_size) for p in (series.iterdir() if target.is_dir() else [target])) == before
