"""How far the Harvard atlas's own SPECT-MRI alignment is from where MedFuse's 2-D registration puts the unmoved
SPECT, slice by slice (docs/registration.md, "The atlas's alignment is not a 1-px truth"), and a figure of two
slices of one case at both alignments.

Run: python docs/analysis/harvard_spect_alignment.py [--split train] [--figure out.png]   (about 15 minutes)
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from medfuse_gui import io
from medfuse_gui.registration import register
from medfuse_gui.training.data import read_split

FIGURE_SLICES = ("22008.png", "22009.png")  # train case 22: its SPECT is turned ~20 deg against the MRI


def head_points(anatomical) -> np.ndarray:
    rows, cols = np.nonzero(anatomical.pixels[0] > 20)
    return np.c_[cols, rows].astype(float)


def displacement(anatomical, functional):
    """Per-head-pixel distance between the published alignment (identity) and the registration's, and the result."""
    result = register(anatomical, functional)
    points = head_points(anatomical)
    return np.linalg.norm(result.transform_points(points) - points, axis=1), result


def sweep(split: str) -> None:
    by_case = defaultdict(list)
    means, worsts, turned = [], [], []
    for record in read_split(split=split, tasks="SPECT-MRI"):
        distance, result = displacement(io.load(record.anatomical), io.load(record.functional))
        means.append(distance.mean())
        worsts.append(distance.max())
        by_case[record.case].append(distance.mean())
        if abs(result.rotation_deg()) > 10:
            turned.append(f"{record.name} {result.rotation_deg():+.1f} deg")
        print(f"{record.name}: mean {distance.mean():.2f} px, worst {distance.max():.2f} px, "
              f"rotation {result.rotation_deg():+.2f} deg", flush=True)
    means, worsts = np.array(means), np.array(worsts)
    print(f"\n{len(means)} {split} slices; mean displacement over the head: median {np.median(means):.2f} px "
          f"(10-90 %: {np.percentile(means, 10):.2f}-{np.percentile(means, 90):.2f}); worst pixel within 1 px on "
          f"{(worsts < 1).sum()}, within 2 px on {(worsts < 2).sum()}")
    print("per case, median of the mean displacement: "
          + ", ".join(f"{case} {np.median(values):.1f} px" for case, values in sorted(by_case.items())))
    print(f"turned by more than 10 deg: {len(turned)}: " + "; ".join(turned))


def figure(path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage import color, measure

    root = read_split(split="train", tasks="SPECT-MRI")[0].anatomical.parents[1]
    fig, axes = plt.subplots(len(FIGURE_SLICES), 3, figsize=(10.5, 3.6 * len(FIGURE_SLICES)))
    for row, name in zip(axes, FIGURE_SLICES):
        anatomical, functional = io.load(root / "MRI" / name), io.load(root / "SPECT" / name)
        _, result = displacement(anatomical, functional)
        registered = io.align(functional, anatomical, result).volume.pixels[0]
        for ax, spect, title in ((row[0], functional.pixels[0], "atlas's alignment"),
                                 (row[1], registered, f"registered: {result.rotation_deg():+.1f} deg")):
            ax.imshow(anatomical.pixels[0], cmap="gray")
            for contour in measure.find_contours(color.rgb2gray(spect), 0.08):  # the SPECT's head outline
                ax.plot(contour[:, 1], contour[:, 0], "r-", lw=0.8)
            ax.set_title(f"{name}: {title}", fontsize=9)
        row[2].imshow(functional.pixels[0])
        row[2].set_title(f"{name}: SPECT", fontsize=9)
        for ax in row:
            ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=60)
    from PIL import Image

    Image.open(path).convert("RGB").quantize(128).save(path, optimize=True)  # a third of the size, for the repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="train", choices=("train", "test"))
    parser.add_argument("--figure", help="write the two-slice figure here and skip the sweep")
    args = parser.parse_args()
    if args.figure:
        figure(args.figure)
    else:
        sweep(args.split)


if __name__ == "__main__":
    main()
