"""``medfuse info``: the header summary of an image, volume or DICOM series folder (as the study panel shows it),
and with ``--at`` the value at a world point in its unit and, for PET, in SUV."""

from __future__ import annotations

import json

from ..io.errors import MedFuseError


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "info", help="header summary of a file or series folder; --at: the value at a world point",
        description="Patient, study, series, grid, orientation, frame of reference, unit and SUV factor of one "
                    "source. With --at X Y Z (world RAS mm, as NIfTI and MedFuse use; DICOM's LPS has x and y "
                    "negated) the nearest voxel's value in its unit and, for PET with a valid SUV factor, in SUV.")
    parser.add_argument("path", help="PNG/JPEG/TIFF/BMP, DICOM file or series folder, NIfTI")
    parser.add_argument("--at", nargs=3, type=float, metavar=("X", "Y", "Z"), help="world point, RAS mm")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def _readout(volume, point) -> dict:
    from ..io.readout import read_value

    reading = read_value(volume, point)
    if not reading.inside:
        z, y, x = volume.grid_shape
        raise MedFuseError(f"the point ({point[0]:g}, {point[1]:g}, {point[2]:g}) RAS mm is outside {volume.name} "
                           f"(nearest voxel {reading.index}, grid {x} × {y} × {z})")
    out = reading.as_dict()
    out["text"] = reading.value_text()
    if volume.suv_factor is not None:
        out["suv_factor"] = volume.suv_factor.as_dict()
    return out


def run(args) -> int:
    from .. import io
    from ..io.headers import header_summary, value_range
    from ..io.units import format_value

    volume = io.load(args.path)
    summary = header_summary(volume)
    values = value_range(volume)
    at = _readout(volume, args.at) if args.at is not None else None
    if args.json:
        document = {"header": summary.as_dict(),
                    "value_range": None if values is None else {"min": values[0], "max": values[1],
                                                                 "unit": volume.unit}}
        if at is not None:
            document["at"] = at
        print(json.dumps(document, indent=2, ensure_ascii=False, default=str))
        return 0
    rows = summary.rows()
    if values is not None:
        rows.append(("Values", f"{format_value(values[0], volume.unit)} .. {format_value(values[1], volume.unit)}"))
    width = max(len(label) for label, _ in rows)
    print(summary.title)
    for label, text in rows:
        print(f"  {label:<{width}}  {text}")
    if at is not None:
        ras, lps = at["world_ras"], at["world_lps"]
        if at["geometry_known"]:
            print(f"At RAS ({ras[0]:g}, {ras[1]:g}, {ras[2]:g}) mm = LPS ({lps[0]:g}, {lps[1]:g}, {lps[2]:g}) mm")
        else:
            print(f"At ({ras[0]:g}, {ras[1]:g}, {ras[2]:g}): no world geometry, read as (col, row, slice) pixels")
        index, file_index = at["index"], at["file_index"]
        voxel = f"{index[0]}, {index[1]}, {index[2]}"
        if file_index != index:
            voxel += f" (in the file: {file_index[0]}, {file_index[1]}, {file_index[2]})"
        print(f"  voxel (col, row, slice)  {voxel}  [nearest neighbour]")
        print(f"  value                    {at['text']}")
        if at.get("suv_factor") is not None:
            print(f"  SUV factor               {volume.suv_factor.describe()}")
        elif at.get("suv_reason"):
            print(f"  SUV                      none: {at['suv_reason']}")
    return 0
