"""A corpus of malformed and edge-case input files, generated (never committed): PNG/TIFF/BMP/JPEG, DICOM (single,
multi-frame, series folders), NIfTI (.nii, .nii.gz). ``write_corpus(folder)`` returns {name: path}.

Each case is small on disk; the oversize ones *declare* huge pixel counts (decompression bombs), so that a loader
that trusts the header before checking it would run out of memory or time.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import Callable

import cv2
import nibabel as nib
import numpy as np
import pydicom
import tifffile
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.datadict import tag_for_keyword
from pydicom.tag import Tag

HARVARD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "harvard"
CT_SMALL = Path(get_testdata_file("CT_small.dcm"))
MR_SMALL = Path(get_testdata_file("MR_small.dcm"))
NIBABEL_DATA = Path(nib.__file__).parent / "tests" / "data"


def harvard_png() -> Path | None:
    found = sorted((HARVARD / "SPECT-MRI" / "MRI").glob("*.png"))
    return found[0] if found else None


# --- helpers ------------------------------------------------------------------------------------------------------

def set_raw(ds: pydicom.Dataset, keyword: str, vr: str, value: bytes) -> None:
    """Store ``value`` verbatim (no validation), as a malformed file would hold it."""
    if len(value) % 2:
        value += b" " if vr not in ("OB", "OW", "UN", "US", "UL", "FL", "FD") else b"\0"
    tag = Tag(tag_for_keyword(keyword))
    ds[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, colour: int = 0, depth: int = 8, rows: int = 1) -> bytes:
    """A PNG whose IHDR declares width x height, with only ``rows`` rows of (zero) data compressed."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    row_bytes = 1 + width * {0: 1, 2: 3, 4: 2, 6: 4}.get(colour, 1) * max(depth // 8, 1)
    data = zlib.compress(b"\0" * (row_bytes * rows), 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def _ct() -> pydicom.Dataset:
    return pydicom.dcmread(CT_SMALL)


def _float_dicom(values: np.ndarray) -> pydicom.Dataset:
    """A parametric-map-like single frame with 32-bit FloatPixelData."""
    ds = _ct()
    del ds.PixelData
    ds.Rows, ds.Columns = values.shape
    ds.BitsAllocated = 32
    for kw in ("BitsStored", "HighBit", "PixelRepresentation", "RescaleSlope", "RescaleIntercept"):
        if kw in ds:
            delattr(ds, kw)
    ds.FloatPixelData = values.astype("<f4").tobytes()
    return ds


def _save(ds: pydicom.Dataset, path: Path) -> None:
    ds.save_as(path, enforce_file_format=False)


# --- the corpus ---------------------------------------------------------------------------------------------------

def _raster_cases(out: Path, cases: dict[str, Path]) -> None:
    rng = np.random.default_rng(7)
    gray = rng.integers(0, 255, (32, 40), dtype=np.uint8)

    def add(name: str, data: bytes) -> None:
        cases[name] = out / name
        cases[name].write_bytes(data)

    def enc(ext: str, image: np.ndarray) -> bytes:
        return cv2.imencode(ext, image)[1].tobytes()

    good_png = enc(".png", gray)
    add("ok_gray.png", good_png)
    add("ok_16bit.png", enc(".png", (gray.astype(np.uint16) * 257)))
    add("ok_rgb.png", enc(".png", np.dstack([gray, gray[::-1], gray[:, ::-1]])))
    add("ok_rgba.png", enc(".png", np.dstack([gray] * 4)))
    add("one_pixel.png", enc(".png", gray[:1, :1]))
    add("one_row.png", enc(".png", gray[:1]))
    add("empty.png", b"")
    add("text.png", b"this is not an image\n" * 10)
    add("random.png", rng.bytes(4096))
    add("signature_only.png", b"\x89PNG\r\n\x1a\n")
    for cut in (16, 40, len(good_png) // 2, len(good_png) - 12):
        add(f"truncated_{cut}.png", good_png[:cut])
    flipped = bytearray(good_png)
    flipped[60] ^= 0xFF
    add("bad_crc.png", bytes(flipped))
    add("bomb_100000x100000.png", png_declaring(100_000, 100_000))
    add("bomb_65535x65535_rgba16.png", png_declaring(65535, 65535, colour=6, depth=16))
    add("bad_colour_type.png", png_declaring(10, 10, colour=5))
    add("zero_width.png", png_declaring(0, 10))
    add("png_named.tif", good_png)
    add("ok.bmp", enc(".bmp", gray))
    bmp = bytearray(enc(".bmp", gray))
    add("truncated.bmp", bytes(bmp[:70]))
    bmp[18:26] = struct.pack("<ii", 60000, 60000)
    add("bomb_60000x60000.bmp", bytes(bmp))
    add("random.bmp", rng.bytes(2000))
    jpeg = enc(".jpg", gray)
    add("ok.jpg", jpeg)
    add("truncated.jpg", jpeg[: len(jpeg) // 3])
    add("random.jpeg", b"\xff\xd8\xff" + rng.bytes(500))
    floats = rng.random((24, 24)).astype(np.float32)
    for name, data in (("ok_float.tif", floats), ("nan_rows.tif", np.where(np.arange(24)[:, None] < 6, np.nan, floats)),
                       ("all_nan.tif", np.full((24, 24), np.nan, np.float32)),
                       ("inf.tif", np.where(floats > 0.9, np.inf, floats).astype(np.float32)),
                       ("multipage.tif", np.stack([gray, gray])), ("ok_16bit.tif", gray.astype(np.uint16) * 100),
                       ("float64.tif", rng.random((16, 16)) * 1e300)):
        cases[name] = out / name
        tifffile.imwrite(cases[name], data)
    tif = (out / "ok_float.tif").read_bytes()
    add("truncated.tif", tif[: len(tif) // 2])
    add("header_only.tif", b"II*\0\x08\0\0\0")
    add("random.tif", b"II*\0" + rng.bytes(300))
    big = out / "bomb_declared.tif"
    tifffile.imwrite(big, np.zeros((8, 8), np.uint8))
    raw = bytearray(big.read_bytes())
    # ImageWidth (256) and ImageLength (257) entries, SHORT or LONG: patch their values to 60000 x 60000.
    for tag in (256, 257):
        for kind in (3, 4):
            at = raw.find(struct.pack("<HHI", tag, kind, 1))
            if at >= 0:
                raw[at + 8:at + 12] = struct.pack("<I" if kind == 4 else "<HH", *((60000,) if kind == 4 else (60000, 0)))
    add("bomb_declared.tif", bytes(raw))


def _dicom_cases(out: Path, cases: dict[str, Path]) -> None:
    rng = np.random.default_rng(11)

    def variant(name: str, change: Callable[[pydicom.Dataset], None], base: Path = CT_SMALL) -> None:
        ds = pydicom.dcmread(base)
        change(ds)
        cases[name] = out / name
        _save(ds, cases[name])

    def add(name: str, data: bytes) -> None:
        cases[name] = out / name
        cases[name].write_bytes(data)

    ct = CT_SMALL.read_bytes()
    add("ok_ct.dcm", ct)
    add("ok_mr.dcm", MR_SMALL.read_bytes())
    local = CT_SMALL.parent  # only files shipped in the wheel: get_testdata_file would download the others
    for extra in ("MR_small_RLE.dcm", "JPEG2000.dcm", "rtdose.dcm", "examples_palette.dcm", "examples_ybr_color.dcm",
                  "image_dfl.dcm", "no_meta.dcm", "MR_truncated.dcm", "rtplan.dcm", "reportsi.dcm", "badVR.dcm",
                  "SC_rgb_rle_32bit.dcm", "J2K_pixelrep_mismatch.dcm", "ExplVR_BigEndNoMeta.dcm"):
        if (local / extra).is_file():
            add(f"pydicom_{extra}", (local / extra).read_bytes())
    add("text.dcm", b"patient notes, not DICOM\n" * 20)
    add("random.dcm", rng.bytes(3000))
    add("empty.dcm", b"")
    add("preamble_only.dcm", b"\0" * 128 + b"DICM")
    for cut in (140, 400, 1200, len(ct) - 100):
        add(f"truncated_{cut}.dcm", ct[:cut])
    add("random_after_prefix.dcm", b"\0" * 128 + b"DICM" + rng.bytes(600))
    add("text_named.dicom", b"x" * 300)
    variant("spacing_text.dcm", lambda ds: set_raw(ds, "PixelSpacing", "DS", b"abc\\def"))
    variant("spacing_one_value.dcm", lambda ds: set_raw(ds, "PixelSpacing", "DS", b"0.5"))
    variant("spacing_zero.dcm", lambda ds: set_raw(ds, "PixelSpacing", "DS", b"0\\0"))
    variant("spacing_nan.dcm", lambda ds: set_raw(ds, "PixelSpacing", "DS", b"nan\\inf"))
    variant("iop_parallel.dcm", lambda ds: set_raw(ds, "ImageOrientationPatient", "DS", b"1\\0\\0\\1\\0\\0"))
    variant("iop_five.dcm", lambda ds: set_raw(ds, "ImageOrientationPatient", "DS", b"1\\0\\0\\0\\1"))
    variant("iop_text.dcm", lambda ds: set_raw(ds, "ImageOrientationPatient", "DS", b"a\\b\\c\\d\\e\\f"))
    variant("iop_zero.dcm", lambda ds: set_raw(ds, "ImageOrientationPatient", "DS", b"0\\0\\0\\0\\0\\0"))
    variant("ipp_text.dcm", lambda ds: set_raw(ds, "ImagePositionPatient", "DS", b"x\\y\\z"))
    variant("ipp_nan.dcm", lambda ds: set_raw(ds, "ImagePositionPatient", "DS", b"nan\\0\\0"))
    variant("slope_nan.dcm", lambda ds: set_raw(ds, "RescaleSlope", "DS", b"nan"))
    variant("slope_zero.dcm", lambda ds: set_raw(ds, "RescaleSlope", "DS", b"0"))
    variant("slope_text.dcm", lambda ds: set_raw(ds, "RescaleSlope", "DS", b"steep"))
    variant("intercept_inf.dcm", lambda ds: set_raw(ds, "RescaleIntercept", "DS", b"-inf"))
    variant("window_text.dcm", lambda ds: (set_raw(ds, "WindowCenter", "DS", b"mid"),
                                           set_raw(ds, "WindowWidth", "DS", b"wide")))
    variant("window_zero.dcm", lambda ds: (set_raw(ds, "WindowCenter", "DS", b"40"),
                                           set_raw(ds, "WindowWidth", "DS", b"0")))
    variant("thickness_text.dcm", lambda ds: set_raw(ds, "SliceThickness", "DS", b"thin"))
    variant("dates_bad.dcm", lambda ds: (set_raw(ds, "StudyDate", "DA", b"20XX1399"),
                                         set_raw(ds, "StudyTime", "TM", b"99:99"),
                                         set_raw(ds, "PatientBirthDate", "DA", b"yesterday")))
    variant("rows_zero.dcm", lambda ds: setattr(ds, "Rows", 0))
    variant("rows_text.dcm", lambda ds: set_raw(ds, "Rows", "US", b"\xff"))
    variant("frames_text.dcm", lambda ds: set_raw(ds, "NumberOfFrames", "IS", b"many"))
    variant("frames_negative.dcm", lambda ds: set_raw(ds, "NumberOfFrames", "IS", b"-3"))
    variant("frames_two_short_data.dcm", lambda ds: set_raw(ds, "NumberOfFrames", "IS", b"2"))
    variant("samples_seven.dcm", lambda ds: setattr(ds, "SamplesPerPixel", 7))
    variant("bits_twelve.dcm", lambda ds: setattr(ds, "BitsAllocated", 12))
    variant("bits_zero.dcm", lambda ds: setattr(ds, "BitsAllocated", 0))
    variant("pixeldata_short.dcm", lambda ds: setattr(ds, "PixelData", ds.PixelData[:1000]))
    variant("no_pixels.dcm", lambda ds: delattr(ds, "PixelData"))
    variant("monochrome1.dcm", lambda ds: setattr(ds, "PhotometricInterpretation", "MONOCHROME1"))
    variant("photometric_bogus.dcm", lambda ds: setattr(ds, "PhotometricInterpretation", "PURPLE"))
    variant("palette_without_lut.dcm", lambda ds: setattr(ds, "PhotometricInterpretation", "PALETTE COLOR"))
    variant("weight_text_pet.dcm", lambda ds: (setattr(ds, "Modality", "PT"), setattr(ds, "Units", "BQML"),
                                               set_raw(ds, "PatientWeight", "DS", b"heavy")))
    variant("bomb_65535x65535x1000.dcm", lambda ds: (setattr(ds, "Rows", 65535), setattr(ds, "Columns", 65535),
                                                      set_raw(ds, "NumberOfFrames", "IS", b"1000")))
    variant("bomb_40000x40000.dcm", lambda ds: (setattr(ds, "Rows", 40000), setattr(ds, "Columns", 40000)))
    variant("multiframe_ok.dcm", lambda ds: (set_raw(ds, "NumberOfFrames", "IS", b"2"),
                                             setattr(ds, "PixelData", ds.PixelData * 2)))
    variant("multiframe_bad_offsets.dcm", lambda ds: (set_raw(ds, "NumberOfFrames", "IS", b"2"),
                                                      setattr(ds, "PixelData", ds.PixelData * 2),
                                                      set_raw(ds, "GridFrameOffsetVector", "DS", b"0\\zz"),
                                                      set_raw(ds, "SpacingBetweenSlices", "DS", b"-1")))
    nan_rows = rng.random((32, 32)).astype(np.float32) * 100
    nan_rows[:8] = np.nan
    for name, values in (("float_nan_rows.dcm", nan_rows), ("float_all_nan.dcm", np.full((16, 16), np.nan)),
                         ("float_inf.dcm", np.where(nan_rows > 90, np.inf, 1.0))):
        cases[name] = out / name
        _save(_float_dicom(np.asarray(values, np.float32)), cases[name])
    _deflated_cases(out, cases)


def _deflated_cases(out: Path, cases: dict[str, Path]) -> None:
    """Deflated Explicit VR Little Endian: a small file that declares a 16384 x 16384 image of zeros (512 MiB once
    inflated: a deflate bomb), written by streaming the deflate so that the generator itself stays small; and a
    stream corrupted in the middle."""
    import io as _io

    from pydicom.filewriter import write_dataset, write_file_meta_info
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    ds = _ct()
    del ds.PixelData
    ds.Rows, ds.Columns = 16384, 16384
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    head = _io.BytesIO()
    head.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(pydicom.filebase.DicomFileLike(head), ds.file_meta, enforce_standard=True)
    body = pydicom.filebase.DicomBytesIO()
    body.is_little_endian, body.is_implicit_VR = True, False
    write_dataset(body, ds)
    pixel_bytes = 16384 * 16384 * 2
    body.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, pixel_bytes))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunks = [head.getvalue(), deflater.compress(body.getvalue())]
    zero = bytes(1 << 22)
    for _ in range(pixel_bytes // len(zero)):
        chunks.append(deflater.compress(zero))
    chunks.append(deflater.flush())
    blob = b"".join(chunks)
    (out / "deflate_bomb_16384.dcm").write_bytes(blob)
    cases["deflate_bomb_16384.dcm"] = out / "deflate_bomb_16384.dcm"
    middle = len(head.getvalue()) + 40
    corrupt = blob[:middle] + b"\xff" * 64 + blob[middle + 64:]
    (out / "deflate_corrupt.dcm").write_bytes(corrupt)
    cases["deflate_corrupt.dcm"] = out / "deflate_corrupt.dcm"


def _series_cases(out: Path, cases: dict[str, Path]) -> None:
    from tests.io.dicom_helpers import write_series

    rng = np.random.default_rng(3)
    volume = rng.integers(0, 1000, (4, 24, 20)).astype(np.uint16)
    write_series(out / "series_ok", volume)
    cases["series_ok"] = out / "series_ok"
    paths = write_series(out / "series_duplicate_positions", volume)
    ds = pydicom.dcmread(paths[1])
    ds.ImagePositionPatient = pydicom.dcmread(paths[0]).ImagePositionPatient
    ds.save_as(paths[1])
    cases["series_duplicate_positions"] = out / "series_duplicate_positions"
    paths = write_series(out / "series_parallel_iop", volume, row_dir=(1.0, 0.0, 0.0), col_dir=(1.0, 0.0, 0.0))
    cases["series_parallel_iop"] = out / "series_parallel_iop"
    paths = write_series(out / "series_text_spacing", volume)
    for p in paths:
        ds = pydicom.dcmread(p)
        set_raw(ds, "PixelSpacing", "DS", b"wide\\tall")
        ds.save_as(p)
    cases["series_text_spacing"] = out / "series_text_spacing"
    write_series(out / "series_two", volume)
    write_series(out / "series_two" / "other", volume, seed=2)
    cases["series_two"] = out / "series_two"
    paths = write_series(out / "series_mixed_sizes", volume)
    ds = pydicom.dcmread(paths[0])
    ds.Rows, ds.Columns = 10, 10
    ds.PixelData = bytes(200)
    ds.save_as(paths[0])
    cases["series_mixed_sizes"] = out / "series_mixed_sizes"
    paths = write_series(out / "series_one_truncated", volume)
    paths[2].write_bytes(paths[2].read_bytes()[:-300])
    cases["series_one_truncated"] = out / "series_one_truncated"
    paths = write_series(out / "series_with_junk", volume)
    (out / "series_with_junk" / "notes.dcm").write_text("not dicom")
    (out / "series_with_junk" / "README").write_text("readme")
    cases["series_with_junk"] = out / "series_with_junk"
    (out / "series_empty").mkdir()
    cases["series_empty"] = out / "series_empty"
    (out / "series_only_text").mkdir()
    (out / "series_only_text" / "a.dcm").write_text("a")
    cases["series_only_text"] = out / "series_only_text"
    paths = write_series(out / "series_huge_rows", volume[:2])
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.Rows, ds.Columns = 60000, 60000
        ds.save_as(p)
    cases["series_huge_rows"] = out / "series_huge_rows"


def _nifti_cases(out: Path, cases: dict[str, Path]) -> None:
    rng = np.random.default_rng(5)
    data = rng.random((12, 14, 10)).astype(np.float32)
    affine = np.diag([2.0, 2.0, 3.0, 1.0])

    def save(name: str, array: np.ndarray, aff=affine, edit: Callable | None = None) -> Path:
        image = nib.Nifti1Image(array, aff, dtype=array.dtype)
        if edit:
            edit(image.header)
        cases[name] = out / name
        nib.save(image, cases[name])
        return cases[name]

    save("ok.nii", data)
    save("ok.nii.gz", data)
    save("ok_int16.nii.gz", (data * 1000).astype(np.int16))
    save("nan_voxels.nii", np.where(data > 0.8, np.nan, data).astype(np.float32))
    save("all_nan.nii", np.full((6, 6, 6), np.nan, np.float32))
    save("inf_voxels.nii", np.where(data > 0.9, np.inf, data).astype(np.float32))
    save("float64_overflow.nii", (data.astype(np.float64) * 1e300))
    def with_sform(name: str, rows) -> None:
        """ok.nii with its sform rows patched in the file (nibabel would recompute them from the affine on save)."""
        raw = bytearray((out / "ok.nii").read_bytes())
        struct.pack_into("<hh", raw, 252, 0, 1)  # qform_code 0, sform_code 1
        struct.pack_into("<12f", raw, 280, *np.asarray(rows, np.float32).ravel())
        (out / name).write_bytes(bytes(raw))
        cases[name] = out / name

    with_sform("zero_affine.nii", np.zeros((3, 4)))
    with_sform("singular_affine.nii", [[2, 2, 0, 0], [0, 0, 0, 0], [0, 0, 3, 0]])
    with_sform("nan_affine.nii", [[np.nan, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0]])
    save("pixdim_zero.nii", data, edit=lambda h: h.__setitem__("pixdim", [1, 0, 0, 0, 1, 1, 1, 1]))
    save("pixdim_nan.nii", data, edit=lambda h: h.__setitem__("pixdim", [1, np.nan, np.inf, -2, 1, 1, 1, 1]))
    save("four_d.nii.gz", rng.random((6, 6, 4, 3)).astype(np.float32))
    save("five_d.nii", rng.random((4, 4, 3, 2, 2)).astype(np.float32))
    save("one_voxel.nii", np.ones((1, 1, 1), np.float32))
    save("complex.nii", (data + 1j * data).astype(np.complex64))
    save("int64.nii", (data * 10).astype(np.int64))
    save("rgb24.nii", rng.integers(0, 255, (6, 6, 3, 3), dtype=np.uint8).view(
        np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])).reshape(6, 6, 3))
    save("units_micron.nii", data, edit=lambda h: h.set_xyzt_units("micron"))
    save("scl_nan.nii", (data * 100).astype(np.int16), edit=lambda h: h.__setitem__("scl_slope", np.nan))
    raw = (out / "ok.nii").read_bytes()
    for name, blob in (("truncated_header.nii", raw[:200]), ("truncated_data.nii", raw[: len(raw) - 2000]),
                       ("random.nii", np.random.default_rng(1).bytes(2000)), ("text.nii.gz", b"hello\n" * 50),
                       ("empty.nii", b""), ("truncated.nii.gz", gzip.compress(raw)[:400]),
                       ("not_gzip.nii.gz", raw)):
        (out / name).write_bytes(blob)
        cases[name] = out / name
    header = bytearray(raw[:352])
    struct.pack_into("<8h", header, 40, 3, 30000, 30000, 30000, 1, 1, 1, 1)  # dim: 30000^3 float32 = 100 TB
    (out / "bomb_dims.nii").write_bytes(bytes(header) + b"\0" * 4096)
    cases["bomb_dims.nii"] = out / "bomb_dims.nii"
    gz = out / "gzip_bomb.nii.gz"  # declares 512^3 float32 (512 MiB) of zeros, compressed to ~0.5 MB
    struct.pack_into("<8h", header, 40, 3, 512, 512, 512, 1, 1, 1, 1)
    with gzip.open(gz, "wb", compresslevel=9) as handle:
        handle.write(bytes(header))
        zero = bytes(1 << 24)
        for _ in range(32):
            handle.write(zero)
    cases[gz.name] = gz
    dims_neg = bytearray(raw)
    struct.pack_into("<8h", dims_neg, 40, 3, -5, 14, 10, 1, 1, 1, 1)
    (out / "negative_dim.nii").write_bytes(bytes(dims_neg))
    cases["negative_dim.nii"] = out / "negative_dim.nii"
    bad_type = bytearray(raw)
    struct.pack_into("<h", bad_type, 70, 999)  # datatype
    (out / "bad_datatype.nii").write_bytes(bytes(bad_type))
    cases["bad_datatype.nii"] = out / "bad_datatype.nii"
    for name in ("example4d.nii.gz", "anatomical.nii", "example_nifti2.nii.gz", "standard.nii.gz"):
        if (NIBABEL_DATA / name).is_file():
            (out / f"nibabel_{name}").write_bytes((NIBABEL_DATA / name).read_bytes())
            cases[f"nibabel_{name}"] = out / f"nibabel_{name}"


def _odd_paths(out: Path, cases: dict[str, Path]) -> None:
    (out / "folder.png").mkdir()
    cases["folder.png"] = out / "folder.png"
    cases["missing.dcm"] = out / "missing.dcm"
    cases["long_name"] = out / ("x" * 300 + ".png")
    cases["unknown.xyz"] = out / "unknown.xyz"
    cases["unknown.xyz"].write_bytes(b"data")
    source = harvard_png()
    if source is not None:
        cases["harvard.png"] = out / "harvard.png"
        cases["harvard.png"].write_bytes(source.read_bytes())


def write_corpus(out: Path) -> dict[str, Path]:
    """Write every case under ``out``; returns {case name: path} (a path may be a folder, or may not exist)."""
    out.mkdir(parents=True, exist_ok=True)
    cases: dict[str, Path] = {}
    for part in (_raster_cases, _dicom_cases, _series_cases, _nifti_cases, _odd_paths):
        part(out, cases)
    return cases


def special_files(out: Path) -> dict[str, Path]:
    """FIFOs and devices named as images (POSIX only): opening one blocks or never ends."""
    import os

    cases = {}
    for name in ("pipe.dcm", "pipe.png", "pipe.nii"):
        os.mkfifo(out / name)
        cases[name] = out / name
    for name, device in (("zero.dcm", "/dev/zero"), ("zero.png", "/dev/zero"), ("urandom.nii.gz", "/dev/urandom")):
        if os.path.exists(device):
            (out / name).symlink_to(device)
            cases[name] = out / name
    return cases
