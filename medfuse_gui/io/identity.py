"""Do two sources belong to one patient and one frame of reference? Qt-free.

The DICOM identifiers are compared as the viewers clinicians use do before fusing (Horos, Slicer's PET/CT module):
different PatientID means two patients; different StudyInstanceUID means two sessions (registration is needed, and the
user should know); different FrameOfReferenceUID means the scanner coordinates are not shared, so world-coordinate
alignment is not to be trusted. An identifier missing on either side is not a mismatch: it is unknown.
"""

from __future__ import annotations

from .volume import Volume

# (meta key, what a difference means to the user)
CHECKED_IDENTIFIERS = (
    ("PatientID", "different patients (Patient ID {a} vs {b})"),
    ("StudyInstanceUID", "different studies (two sessions: the scans may need registration)"),
    ("FrameOfReferenceUID", "different frames of reference (scanner coordinates are not shared)"),
)


def identifier(volume: Volume, key: str) -> str | None:
    """The identifier as read from the header, or None when the source does not carry it."""
    if key == "FrameOfReferenceUID" and volume.frame_of_reference:
        return str(volume.frame_of_reference).strip() or None
    value = volume.meta.get(key)
    value = str(value).strip() if value is not None else ""
    return value or None


def pair_mismatches(anatomical: Volume, functional: Volume) -> list[str]:
    """One sentence per identifier that both sources carry and that differs; empty when nothing disagrees."""
    reasons = []
    for key, sentence in CHECKED_IDENTIFIERS:
        a, b = identifier(anatomical, key), identifier(functional, key)
        if a is not None and b is not None and a != b:
            reasons.append(sentence.format(a=a, b=b))
    return reasons


def identity_known(anatomical: Volume, functional: Volume) -> bool:
    """Both sources name their patient, so agreement means something."""
    return identifier(anatomical, "PatientID") is not None and identifier(functional, "PatientID") is not None
