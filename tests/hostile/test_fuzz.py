"""Property-based fuzzing (Hypothesis) of real files: byte flips, truncations and header mutations of pydicom's
CT_small/MR_small, nibabel's examples and a Harvard PNG. Every mutant loads as a finite volume or raises MedFuse's
own error with a one-line message. Bounded and derandomised for CI."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medfuse_gui import io
from medfuse_gui.io import guard

from .corpus import CT_SMALL, MR_SMALL, NIBABEL_DATA, harvard_png, set_raw
from .test_corpus import PYTHON_TEXT

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SOURCES = {"ct.dcm": CT_SMALL, "mr.dcm": MR_SMALL, "anatomical.nii": NIBABEL_DATA / "anatomical.nii",
           "example4d.nii.gz": NIBABEL_DATA / "example4d.nii.gz"}
if harvard_png() is not None:
    SOURCES["harvard.png"] = harvard_png()


@pytest.fixture(autouse=True, scope="module")
def small_pixel_limit():
    io.set_max_pixel_bytes(64 * 1024 ** 2)  # a mutated dimension must be refused, not allocated
    yield
    io.set_max_pixel_bytes(None)


def _check(path: Path) -> None:
    try:
        volume = io.load(path)
    except io.MedFuseError as exc:
        text = str(exc)
        assert "\n" not in text and not PYTHON_TEXT.search(text), text
        return
    assert np.isfinite(volume.pixels).all()


def _body(name: str) -> bytes:
    data = SOURCES[name].read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(gzip.compress(data, 1) if name.endswith(".gz") else data)
    return path


mutation = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8)


@FUZZ
@given(name=st.sampled_from(sorted(SOURCES)), flips=mutation, header_only=st.booleans())
def test_byte_flips(tmp_path, name, flips, header_only):
    data = bytearray(_body(name))
    span = min(len(data), 1500) if header_only else len(data)
    for where, value in flips:
        data[int(where * span)] = value
    _check(_write(tmp_path, name, bytes(data)))


@FUZZ
@given(name=st.sampled_from(sorted(SOURCES)), keep=st.floats(0, 1))
def test_truncations(tmp_path, name, keep):
    data = _body(name)
    _check(_write(tmp_path, name, data[: int(keep * len(data))]))


DICOM_KEYWORDS = ["Rows", "Columns", "NumberOfFrames", "SamplesPerPixel", "BitsAllocated", "BitsStored",
                  "PixelRepresentation", "PhotometricInterpretation", "PixelSpacing", "ImageOrientationPatient",
                  "ImagePositionPatient", "RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth",
                  "SliceThickness", "StudyDate", "Modality", "PatientWeight", "Units"]
VRS = {"Rows": "US", "Columns": "US", "SamplesPerPixel": "US", "BitsAllocated": "US", "BitsStored": "US",
       "PixelRepresentation": "US", "NumberOfFrames": "IS", "PhotometricInterpretation": "CS", "StudyDate": "DA",
       "Modality": "CS", "Units": "CS"}


@FUZZ
@given(source=st.sampled_from([CT_SMALL, MR_SMALL]),
       edits=st.lists(st.tuples(st.sampled_from(DICOM_KEYWORDS),
                                st.one_of(st.binary(max_size=12),
                                          st.sampled_from([b"nan", b"-inf", b"0", b"-1", b"1e308", b"abc", b"1\\2",
                                                           b"65535", b"\xff\xff", b"\x00\x00", b"PALETTE COLOR",
                                                           b"MONOCHROME1", b"PT", b"BQML"]))),
                      min_size=1, max_size=4))
def test_dicom_header_mutations(tmp_path, source, edits):
    ds = pydicom.dcmread(source)
    for keyword, value in edits:
        set_raw(ds, keyword, VRS.get(keyword, "DS"), value)
    path = tmp_path / "mutant.dcm"
    ds.save_as(path, enforce_file_format=False)
    _check(path)


def test_the_fuzz_sources_are_real_files():
    assert {"ct.dcm", "mr.dcm", "anatomical.nii", "example4d.nii.gz"} <= set(SOURCES)
    assert guard.max_pixel_bytes() == 64 * 1024 ** 2
    for name in SOURCES:
        assert np.isfinite(io.load(SOURCES[name]).pixels).all()
