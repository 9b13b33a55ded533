"""The bundled demo cases (resources/demo): a Harvard SPECT-MRI slice pair and the MNI152 T1 with a SIMULATED PET."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
DEMO_CASE = RESOURCES / "demo" / "spect-mri"
VOLUME_DEMO = RESOURCES / "demo" / "mni-pet"
SIMULATED_NOTICE = "Demo volume: MNI152 T1 with a SIMULATED FDG-PET (not patient data)."


def demo_paths() -> tuple[Path, Path]:
    names = sorted(p.name for p in (DEMO_CASE / "MRI").glob("*.png"))
    if not names:
        raise FileNotFoundError(f"demo case missing in {DEMO_CASE}")
    return DEMO_CASE / "MRI" / names[0], DEMO_CASE / "SPECT" / names[0]


def volume_demo_paths() -> tuple[Path, Path]:
    """MNI152 T1 (1 mm) and a SIMULATED FDG-PET on a 3 mm LAS grid with another origin (resources/demo/mni-pet)."""
    return VOLUME_DEMO / "mni152_t1.nii.gz", VOLUME_DEMO / "simulated_fdg_pet.nii.gz"
