"""The registration result: a linear transform in ITK's convention, its files, its world matrix and manual nudges.

ITK's convention (what SimpleITK, 3D Slicer and ANTs read in a ``.tfm``): the transform maps a point of the *fixed*
(anatomical) physical space to the *moving* (functional) physical space, ``y = M (x - c) + c + t``. For 3-D volumes
the physical space is ITK's LPS millimetres. A 2-D image usually has no geometry: its physical space is then the
anatomical image's pixel frame (column, row) times its pixel spacing, origin 0 (what SimpleITK sees when it reads the
PNG); :func:`registration_frame` places that frame in the project's RAS world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..io.errors import GeometryError, LoadError, MedFuseError
from ..io.volume import Volume

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])  # its own inverse
TRANSFORM_SUFFIXES = (".tfm", ".txt")
_RECORD_PREFIX = "# MedFuse "
_RECORD_KEYS = ("kind", "metric_value", "iterations", "stop_reason", "seconds", "method", "caution")


def registration_frame(anatomical: Volume | None, dimension: int) -> np.ndarray:
    """4x4 mapping the transform's physical coordinates (2-D: embedded with a third coordinate) to RAS world mm.

    3-D: ITK's LPS -> RAS. 2-D: the anatomical pixel frame ``(col * spacing, row * spacing)`` -> its world position.
    """
    if dimension == 3:
        return LPS_TO_RAS.copy()
    if anatomical is None:
        raise GeometryError("a 2-D transform needs the anatomical image to be placed in the world")
    zooms = np.sqrt((anatomical.affine[:3, :3] ** 2).sum(axis=0))
    zooms[zooms == 0] = 1.0
    return anatomical.affine @ np.diag([*(1.0 / zooms), 1.0])


def _rotation_matrix(degrees: tuple[float, float, float]) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("xyz", degrees, degrees=True).as_matrix()


@dataclass(frozen=True, eq=False)
class Transform:
    """A linear fixed->moving transform ``y = matrix @ (x - center) + center + translation`` (ITK's parameters).

    ``kind`` is "rigid" (rotation + translation: 6 degrees of freedom in 3-D, 3 in 2-D) or "affine". The record
    fields say how it was obtained; ``nudges`` lists the manual corrections composed onto it (for provenance).
    """

    matrix: np.ndarray
    translation: np.ndarray
    center: np.ndarray
    kind: str = "rigid"
    metric_value: float | None = None
    iterations: int | None = None
    stop_reason: str = ""
    seconds: float | None = None
    method: str = ""
    nudges: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    caution: str = ""   # what makes this result doubtful (a thin slab), shown with it and kept in its file

    def __post_init__(self) -> None:
        matrix = np.asarray(self.matrix, dtype=float)
        d = matrix.shape[0]
        if matrix.shape not in ((2, 2), (3, 3)):
            raise GeometryError(f"a transform matrix must be 2x2 or 3x3, got {matrix.shape}")
        object.__setattr__(self, "matrix", matrix)
        for name in ("translation", "center"):
            value = np.asarray(getattr(self, name), dtype=float).reshape(-1)
            if value.shape != (d,):
                raise GeometryError(f"a {d}-D transform needs a {d}-vector {name}, got {value.shape}")
            object.__setattr__(self, name, value)
        if self.kind not in ("rigid", "affine"):
            raise GeometryError(f"unknown transform kind {self.kind!r}")

    # --- construction -------------------------------------------------------------------------------------------
    @classmethod
    def identity(cls, dimension: int = 3, center=None) -> "Transform":
        return cls(np.eye(dimension), np.zeros(dimension), np.zeros(dimension) if center is None else center,
                   method="identity")

    @classmethod
    def rigid(cls, rotation_deg=(0.0, 0.0, 0.0), translation=(0.0, 0.0, 0.0), center=(0.0, 0.0, 0.0),
              **record) -> "Transform":
        """Rotation about x, y, z in degrees (extrinsic, in that order; 2-D: one angle) then a translation in mm."""
        rotation = np.atleast_1d(np.asarray(rotation_deg, dtype=float))
        if len(translation) == 2:
            angle = np.radians(rotation[0])
            matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        else:
            matrix = _rotation_matrix(tuple(rotation))
        return cls(matrix, translation, center, kind="rigid", **record)

    @classmethod
    def from_matrix4(cls, matrix4: np.ndarray, dimension: int = 3, center=None, **record) -> "Transform":
        """From a 4x4 in the transform's own physical space (2-D: the upper-left block and the x, y offset)."""
        matrix4 = np.asarray(matrix4, dtype=float)
        d = dimension
        if d == 2 and not (np.allclose(matrix4[2], [0, 0, 1, 0], atol=1e-9) and np.allclose(matrix4[:2, 2], 0,
                                                                                          atol=1e-9)):
            raise GeometryError("this change moves a 2-D image out of its plane (rotate only about the axis "
                                "perpendicular to the image)")
        linear = matrix4[:d, :d]
        offset = matrix4[:d, 3]
        center = np.zeros(d) if center is None else np.asarray(center, dtype=float)
        translation = offset - center + linear @ center
        kind = record.pop("kind", None) or ("rigid" if _is_rotation(linear) else "affine")
        return cls(linear, translation, center, kind=kind, **record)

    # --- geometry -----------------------------------------------------------------------------------------------
    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def offset(self) -> np.ndarray:
        """ITK's offset: ``y = matrix @ x + offset``."""
        return self.translation + self.center - self.matrix @ self.center

    def transform_points(self, points: np.ndarray) -> np.ndarray:
        """Map (N, d) fixed physical points to moving physical points (ITK's LPS mm in 3-D)."""
        points = np.asarray(points, dtype=float)
        return points @ self.matrix.T + self.offset

    def matrix4(self) -> np.ndarray:
        """4x4 homogeneous matrix in the transform's physical space (a 2-D transform leaves the third axis alone)."""
        out = np.eye(4)
        d = self.dimension
        out[:d, :d] = self.matrix
        out[:d, 3] = self.offset
        return out

    def world_matrix(self, anatomical: Volume | None = None) -> np.ndarray:
        """4x4 mapping an anatomical RAS world point to the functional RAS world point it corresponds to.

        ``anatomical`` is needed only for a 2-D transform (whose space is the anatomical pixel frame).
        """
        if self.dimension == 2 and anatomical is not None and anatomical.n_slices > 1:
            raise GeometryError("a 2-D transform cannot place a volume: register the two volumes instead")
        frame = registration_frame(anatomical, self.dimension)
        return frame @ self.matrix4() @ np.linalg.inv(frame)

    def rotation_deg(self) -> float:
        """Size of the rotation part in degrees (of the nearest rotation for an affine)."""
        u, _, vt = np.linalg.svd(self.matrix)
        rotation = u @ vt
        cos = (np.trace(rotation) - (self.dimension - 2)) / 2.0
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))

    # --- manual correction --------------------------------------------------------------------------------------
    def nudged(self, translation_mm=(0.0, 0.0, 0.0), rotation_deg=(0.0, 0.0, 0.0), centre_ras=None,
               anatomical: Volume | None = None) -> "Transform":
        """Move the functional image as shown on the anatomical: by ``translation_mm`` (RAS world mm) and a
        rotation ``rotation_deg`` (about the R, A, S axes, extrinsic x-y-z, right-handed) about ``centre_ras``
        (default: the transform's centre). Returns a new transform; this one is unchanged (undo = keep the old one).

        The functional content at world point p appears at ``R (p - c) + c + d`` afterwards. A 2-D transform accepts
        only a rotation about S (the axis perpendicular to an axial/raster image) and needs ``anatomical``.
        """
        frame = registration_frame(anatomical, self.dimension)
        translation = np.asarray(translation_mm, dtype=float).reshape(3)
        rotation = _rotation_matrix(tuple(float(v) for v in np.asarray(rotation_deg, dtype=float).reshape(3)))
        if centre_ras is None:
            centre = (frame @ np.r_[self.center, np.zeros(3 - self.dimension), 1.0])[:3]
        else:
            centre = np.asarray(centre_ras, dtype=float).reshape(3)
        motion = np.eye(4)
        motion[:3, :3] = rotation
        motion[:3, 3] = centre - rotation @ centre + translation
        # A point x of the anatomical now shows the functional content that was at motion^-1(x).
        world = self.world_matrix(anatomical) @ np.linalg.inv(motion)
        local = np.linalg.inv(frame) @ world @ frame
        nudge = {"translation_mm": [float(v) for v in translation], "rotation_deg": [float(v) for v in
                                                                                    np.ravel(rotation_deg)]}
        record = dict(metric_value=self.metric_value, iterations=self.iterations, stop_reason=self.stop_reason,
                      seconds=self.seconds, method=self.method, caution=self.caution)
        out = Transform.from_matrix4(local, self.dimension, center=self.center,
                                     kind=self.kind if self.kind == "affine" else None, **record)
        return replace(out, nudges=self.nudges + (nudge,))

    # --- SimpleITK and files ------------------------------------------------------------------------------------
    def to_sitk(self):
        """The SimpleITK transform: Euler2D/Euler3D for a rigid one, AffineTransform otherwise."""
        import SimpleITK as sitk

        d = self.dimension
        if self.kind == "rigid":
            out = sitk.Euler3DTransform() if d == 3 else sitk.Euler2DTransform()
            out.SetCenter(tuple(self.center))
            out.SetMatrix(tuple(_nearest_rotation(self.matrix).ravel()))
        else:
            out = sitk.AffineTransform(d)
            out.SetCenter(tuple(self.center))
            out.SetMatrix(tuple(self.matrix.ravel()))
        out.SetTranslation(tuple(self.translation))
        return out

    @classmethod
    def from_sitk(cls, transform, **record) -> "Transform":
        """From any linear SimpleITK transform (Euler, versor, similarity, affine, translation, a composite of them)."""
        d = int(transform.GetDimension())
        if d not in (2, 3):
            raise GeometryError(f"a {d}-D transform cannot be used (2-D or 3-D only)")
        origin = np.zeros(d)
        base = np.asarray(transform.TransformPoint(tuple(origin)), dtype=float)
        linear = np.column_stack([np.asarray(transform.TransformPoint(tuple(np.eye(d)[i])), dtype=float) - base
                                  for i in range(d)])
        probe = np.random.default_rng(0).uniform(-150.0, 150.0, size=(8, d))
        mapped = np.array([transform.TransformPoint(tuple(p)) for p in probe])
        if not np.allclose(mapped, probe @ linear.T + base, atol=1e-4):
            raise GeometryError(f"{transform.GetName()} is not linear: only rigid and affine transforms are supported")
        center = np.zeros(d)
        single = transform.Downcast()
        if hasattr(single, "GetCenter"):
            center = np.asarray(single.GetCenter(), dtype=float)
        m4 = np.eye(4)
        m4[:d, :d], m4[:d, 3] = linear, base
        return cls.from_matrix4(m4, d, center=center, **record)

    def write(self, path: str | Path, force: bool = False) -> Path:
        """Write an ITK transform file (.tfm or .txt, text: SimpleITK, 3D Slicer and ANTs read it), atomically.

        How it was obtained is kept in ``# MedFuse key=value`` comment lines, which ITK's reader skips.
        """
        import SimpleITK as sitk

        from ..io.writers import atomic_path

        path = Path(path)
        if path.suffix.lower() not in TRANSFORM_SUFFIXES:
            raise MedFuseError(f"cannot write {path.name}: a transform file must end in .tfm or .txt")
        with atomic_path(path, force) as tmp:
            sitk.WriteTransform(self.to_sitk(), str(tmp))
            with open(tmp, "a", encoding="ascii") as handle:
                for key in _RECORD_KEYS:
                    value = getattr(self, key)
                    if value not in (None, ""):
                        handle.write(f"{_RECORD_PREFIX}{key}={_one_line(value)}\n")
                for nudge in self.nudges:
                    handle.write(f"{_RECORD_PREFIX}nudge=translation_mm {nudge['translation_mm']} rotation_deg "
                                 f"{nudge['rotation_deg']}\n")
        return path

    @classmethod
    def read(cls, path: str | Path) -> "Transform":
        """Read an ITK transform file (any linear transform SimpleITK reads: .tfm, .txt, .mat, .h5)."""
        import SimpleITK as sitk

        path = Path(path)
        if not path.is_file():
            raise LoadError(path, "no such file")
        try:
            transform = sitk.ReadTransform(str(path))
        except RuntimeError as exc:
            raise LoadError(path, "not an ITK transform file SimpleITK can read") from exc
        record: dict[str, Any] = {}
        if path.suffix.lower() in TRANSFORM_SUFFIXES:
            record = _read_record(path)
        try:
            return cls.from_sitk(transform, **record)
        except GeometryError as exc:
            raise LoadError(path, str(exc)) from exc

    # --- sessions and provenance --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"matrix": self.matrix.tolist(), "translation": self.translation.tolist(),
                "center": self.center.tolist(), "kind": self.kind, "metric_value": self.metric_value,
                "iterations": self.iterations, "stop_reason": self.stop_reason, "seconds": self.seconds,
                "method": self.method, "nudges": [dict(n) for n in self.nudges], "caution": self.caution}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Transform":
        try:
            return cls(np.asarray(data["matrix"], dtype=float), data["translation"], data["center"],
                       kind=data.get("kind", "rigid"), metric_value=data.get("metric_value"),
                       iterations=data.get("iterations"), stop_reason=data.get("stop_reason", ""),
                       seconds=data.get("seconds"), method=data.get("method", ""),
                       nudges=tuple(dict(n) for n in data.get("nudges", ())), caution=str(data.get("caution", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise MedFuseError(f"the saved registration transform is incomplete or malformed ({exc})") from exc

    @property
    def by_hand(self) -> bool:
        """Made by nudges from the files' world alignment (no registration, no transform file)."""
        return self.method == "identity" and self.metric_value is None

    def describe(self) -> str:
        """One line for provenance: what was done, how well, and how large the correction is."""
        shift = float(np.linalg.norm(self.translation))  # T(c) - c
        if self.by_hand:   # nudges only: saying "registered" would claim a registration that never ran
            parts = [f"functional aligned to anatomical by hand: {self.dimension}-D {self.kind} from the files' "
                     "world alignment"]
        else:
            how = self.method or "given transform"
            parts = [f"functional registered to anatomical: {self.dimension}-D {self.kind} ({how})"]
        if self.metric_value is not None:
            parts.append(f"Mattes MI {self.metric_value:.4f}")
        if self.iterations is not None:
            parts.append(f"{self.iterations} iterations")
        parts.append(f"rotation {self.rotation_deg():.1f} deg, shift {shift:.1f} mm at the centre")
        if self.nudges:
            parts.append(f"{len(self.nudges)} manual nudge(s)")
        if self.caution:
            parts.append(f"caution: {self.caution}")
        return "; ".join(parts)

    def describe_short(self) -> str:
        """At most ~40 characters, for NIfTI's 80-byte description."""
        source = "manual" if self.method in ("", "identity") and self.metric_value is None else "MI"
        nudged = "+nudged" if self.nudges else ""
        return f"reg {self.dimension}D {self.kind} {source}{nudged} rot{self.rotation_deg():.1f}deg"


def _is_rotation(matrix: np.ndarray, tol: float = 1e-6) -> bool:
    d = matrix.shape[0]
    return bool(np.allclose(matrix.T @ matrix, np.eye(d), atol=tol) and np.linalg.det(matrix) > 0)


def _nearest_rotation(matrix: np.ndarray) -> np.ndarray:
    """Re-orthonormalise (float drift after many nudges would make ITK refuse the matrix)."""
    u, _, vt = np.linalg.svd(matrix)
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:
        raise GeometryError("a rigid transform cannot mirror the image")
    return rotation


def _one_line(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()


def _read_record(path: Path) -> dict[str, Any]:
    record: dict[str, Any] = {}
    nudges: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return record
    for line in lines:
        if not line.startswith(_RECORD_PREFIX) or "=" not in line:
            continue
        key, value = line[len(_RECORD_PREFIX):].split("=", 1)
        try:
            if key in ("metric_value", "seconds"):
                record[key] = float(value)
            elif key == "iterations":
                record[key] = int(value)
            elif key in ("stop_reason", "method", "caution"):  # "kind" is informative: the matrix decides
                record[key] = value
            elif key == "nudge":
                match = re.match(r"translation_mm \[(.*)\] rotation_deg \[(.*)\]", value)
                if match:
                    nudges.append({"translation_mm": [float(v) for v in match.group(1).split(",")],
                                   "rotation_deg": [float(v) for v in match.group(2).split(",")]})
        except ValueError:
            continue  # a hand-edited comment: the transform itself is what matters
    if nudges:
        record["nudges"] = tuple(nudges)
    return record
