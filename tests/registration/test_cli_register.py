"""``medfuse register`` and ``medfuse fuse --register / --transform`` end to end on nibabel's small real pair."""

from __future__ import annotations

import os

import nibabel
import numpy as np
import pydicom
import pytest

from medfuse_gui.cli import main
from medfuse_gui.registration import Transform

DATA = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data")
ANAT, FUNC = os.path.join(DATA, "anatomical.nii"), os.path.join(DATA, "functional.nii")


def test_register_writes_a_transform_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "reg.tfm"
    assert main(["register", "--anat", ANAT, "--func", FUNC, "-o", str(out), "--quiet"]) == 0
    transform = Transform.read(out)
    assert transform.dimension == 3 and transform.iterations > 0 and "Mattes MI" in transform.method
    # functional.nii is a 3-slice, 24 mm slab: the result is doubtful and says so, even with --quiet
    assert transform.caution.startswith("the functional covers only 24 mm (3 voxels) along one axis")
    assert capsys.readouterr().err.strip() == f"medfuse register: warning: {transform.caution}"
    assert main(["register", "--anat", ANAT, "--func", FUNC, "-o", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"medfuse register: cannot write {out}: the file exists (use --force to overwrite)"
    assert main(["register", "--anat", ANAT, "--func", FUNC, "-o", str(tmp_path / "r.json")]) == 1
    assert "must end in .tfm or .txt" in capsys.readouterr().err


def test_fuse_through_a_transform_says_so_in_the_nifti(tmp_path):
    shift = Transform.identity(3).nudged(translation_mm=(4.0, 0.0, 0.0))
    tfm = shift.write(tmp_path / "shift.tfm")
    plain, moved = tmp_path / "plain.nii.gz", tmp_path / "moved.nii.gz"
    assert main(["fuse", "--anat", ANAT, "--func", FUNC, "--method", "average", "-o", str(plain), "--quiet"]) == 0
    assert main(["fuse", "--anat", ANAT, "--func", FUNC, "--method", "average", "-o", str(moved), "--quiet",
                 "--transform", str(tfm)]) == 0
    described = nibabel.load(moved).header["descrip"].item().decode()
    assert described.startswith("MedFuse Average; reg 3D rigid") and "+nudged" in described
    assert "reg" not in nibabel.load(plain).header["descrip"].item().decode()
    a, b = np.asarray(nibabel.load(plain).dataobj), np.asarray(nibabel.load(moved).dataobj)
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_fuse_register_writes_the_derivation_description(tmp_path, capsys):
    folder = tmp_path / "dicom"
    assert main(["fuse", "--anat", ANAT, "--func", FUNC, "--method", "average", "-o", str(folder) + "/",
                 "--register", "--quiet"]) == 0
    first = sorted(folder.glob("*.dcm"))[0]
    text = pydicom.dcmread(first).DerivationDescription
    assert "functional registered to anatomical: 3-D rigid" in text and "Mattes MI" in text
    # the slab's caution is part of the provenance and is printed, even with --quiet
    assert "caution: the functional covers only 24 mm (3 voxels)" in text
    assert "medfuse fuse: warning: the functional covers only 24 mm" in capsys.readouterr().err


def test_register_and_transform_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        main(["fuse", "--anat", ANAT, "--func", FUNC, "-o", "x.nii", "--register", "--transform", "t.tfm"])
    assert "not allowed with" in capsys.readouterr().err


def test_bench_registration_reports_the_three_cases(capsys, shared):
    import json

    assert main(["bench", "registration", "--repeat", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["case"][:3] for r in rows] == ["3-D", "3-D", "2-D"]
    assert all(r["seconds"] > 0 and r["iterations"] > 0 for r in rows)
    # each case names its own schedule: the 3-D pyramid has 3 levels, a 256x256 slice 2
    assert ["3 levels" in r["method"] for r in rows] == [True, True, False]
    assert "2 levels, pose search" in rows[2]["method"]


def test_register_starts_from_an_initial_transform_file(tmp_path, spect_pair):
    """`--initial` starts the search from a rough alignment: a slice turned 60 degrees (beyond the search) comes back
    when the start is 50 degrees."""
    import numpy as np

    from medfuse_gui import io
    from medfuse_gui.io.writers import write_png

    from .test_register_slices import CENTRE, head_points, moved_slice

    anatomical = io.load(spect_pair[0])
    moved, truth = moved_slice(anatomical, (4.0, -3.0), 60.0)
    func = write_png(tmp_path / "turned.png", moved.pixels[0])
    Transform.rigid((50.0,), (0.0, 0.0), center=CENTRE).write(tmp_path / "start.tfm")
    out = tmp_path / "t.tfm"
    assert main(["register", "--anat", str(spect_pair[0]), "--func", str(func), "-o", str(out), "--quiet",
                 "--initial", str(tmp_path / "start.tfm")]) == 0
    points = head_points(anatomical)
    assert np.abs(Transform.read(out).transform_points(points) - truth(points)).max() < 0.3
    assert main(["register", "--anat", str(spect_pair[0]), "--func", str(func), "-o", str(tmp_path / "u.tfm"),
                 "--quiet", "--initial", str(tmp_path / "missing.tfm")]) != 0
