"""Every file of the generated corpus (tests/hostile/corpus.py), as the anatomical and as the functional input,
gives a valid volume or MedFuse's own error in one line: no exception text, no hang, no memory blow-up."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .corpus import harvard_png, special_files, write_corpus

ROOT = Path(__file__).resolve().parents[2]
PIXEL_LIMIT = 256 * 1024 ** 2          # MEDFUSE_MAX_PIXEL_BYTES in the child
ADDRESS_SPACE = 6 * 1024 ** 3          # RLIMIT_AS of the child: a blow-up fails there instead of swapping
PYTHON_TEXT = re.compile(r"Traceback|Error:|Exception|Warning:|unexpected internal error|\bFile \"|line \d+, in")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    cases = write_corpus(folder / "files")
    cases.update(special_files(folder / "files"))
    return folder, cases


@pytest.fixture(scope="module")
def records(corpus):
    folder, cases = corpus
    partner = harvard_png() or cases["ok_gray.png"]
    listing = folder / "cases.json"
    listing.write_text(json.dumps({name: str(path) for name, path in cases.items()}))
    (folder / "out").mkdir()
    env = dict(os.environ, MEDFUSE_MAX_PIXEL_BYTES=str(PIXEL_LIMIT), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "tests.hostile.driver", str(listing), str(partner),
                             str(folder / "out"), str(ADDRESS_SPACE)], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {r["name"]: r for r in lines if "name" in r}, lines[-1]


def test_the_corpus_is_large_and_varied(corpus):
    _, cases = corpus
    assert len(cases) >= 100
    names = " ".join(cases)
    for kind in (".png", ".tif", ".bmp", ".jpg", ".dcm", "series_", ".nii", ".nii.gz", "pipe.", "zero."):
        assert kind in names


def test_every_file_loads_or_gives_one_line(records, corpus):
    by_name, _ = records
    _, cases = corpus
    assert set(by_name) == set(cases)
    for name, record in by_name.items():
        assert record["load"] in ("volume", "error"), (name, record["load"])
        if record["load"] == "volume":
            assert record["finite"], name
        else:
            message = record["message"]
            assert "\n" not in message and not PYTHON_TEXT.search(message), (name, message)
            assert message.startswith("cannot open "), (name, message)
        assert record["load_s"] < 5.0, (name, record["load_s"])


def test_every_file_fuses_or_fails_in_one_line_in_both_roles(records):
    by_name, _ = records
    for name, record in by_name.items():
        for role in ("anat", "func"):
            run = record[role]
            lines = run["stderr"].splitlines()
            assert run["rc"] in (0, 1), (name, role, run)
            assert not PYTHON_TEXT.search(run["stderr"]), (name, role, run["stderr"])
            assert all(line.startswith("medfuse fuse: ") for line in lines), (name, role, lines)
            errors = [line for line in lines if not line.startswith("medfuse fuse: warning: ")]
            if run["rc"] == 0:
                assert run["output"] and not errors, (name, role, lines)
            else:
                assert len(errors) == 1 and not run["output"], (name, role, lines)
            assert run["seconds"] < 10.0, (name, role, run["seconds"])


def test_memory_stays_bounded(records):
    _, summary = records
    assert summary["maxrss_mb"] < 1500, summary


def test_known_cases_say_what_is_wrong(records):
    by_name, _ = records
    expected = {
        "text.dcm": "not a DICOM file (no DICM prefix and no valid data set)",
        "pipe.dcm": "a named pipe (FIFO), not a regular file",
        "zero.png": "a character device, not a regular file",
        "bomb_100000x100000.png": "declares a 100000 x 100000 image",
        "bomb_65535x65535x1000.dcm": "declares a 65535 x 65535 image",
        "deflate_bomb_16384.dcm": "inflates past",
        "bomb_dims.nii": "declares a 30000 x 30000 image",
        "gzip_bomb.nii.gz": "512.0 MiB of pixels, more than the limit of 256.0 MiB",
        "float_all_nan.dcm": "no finite pixel value",
        "all_nan.nii": "no finite pixel value",
        "long_name": "file name too long",
        "pydicom_rtplan.dcm": "a DICOM RT Plan object, which holds no image pixels",
        "frames_text.dcm": "NumberOfFrames 'many' is not a positive integer",
    }
    for name, text in expected.items():
        assert text in by_name[name].get("message", ""), (name, by_name[name])
    for name, tag in (("spacing_text.dcm", "PixelSpacing"), ("iop_parallel.dcm", "ImageOrientationPatient"),
                      ("slope_nan.dcm", "RescaleSlope"), ("zero_affine.nii", "affine"),
                      ("nan_voxels.nii", "non-finite"), ("float_nan_rows.dcm", "non-finite")):
        assert by_name[name]["load"] == "volume", name
        warnings = [line for line in by_name[name]["anat"]["stderr"].splitlines() if "warning" in line]
        assert any(tag in line for line in warnings), (name, by_name[name]["anat"]["stderr"])
