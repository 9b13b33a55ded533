"""Rigid (optionally then affine) registration of a functional image to an anatomical one with SimpleITK.

Mattes mutual information, 3 resolution levels, a few percent of the voxels sampled at random with a fixed seed (the
same inputs give the same transform, to ~1e-5 deg: ITK's threaded sums are not bit-repeatable), the anatomical
background masked out. The start is the better of the world geometry and the centres of mass; a coarse exhaustive
search over rotations (2-D: angle and translations) at the coarsest level follows, then regular-step gradient descent
(2-D: from the 4 best distinct grid points, the best final metric wins). Why each number: docs/registration.md.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..io.errors import GeometryError, MedFuseError
from ..io.volume import Volume
from ..pipeline import Cancelled
from .images import plane_images, thin_field_caution, volume_image
from .transform import Transform

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]

SEED = 20240617


class RegistrationCancelled(Cancelled, MedFuseError):
    """The user cancelled a registration: nothing changed, the previous alignment stays."""

    def __init__(self) -> None:
        super().__init__("registration cancelled: the previous alignment is kept")


class RegistrationError(MedFuseError):
    """Registration could not run or did not produce a usable transform."""


@dataclass(frozen=True)
class Settings:
    """Knobs of :func:`register` (defaults: docs/registration.md)."""

    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas_mm: tuple[float, ...] = (4.0, 2.0, 1.0)
    samples_per_level: int = 20_000      # random samples of the fixed image per level (3-D)
    sampling_fraction_max: float = 0.5   # never more than this fraction of a level's voxels
    histogram_bins: int = 50
    search_step_deg: float = 10.0        # coarse rotation grid: -n..n steps about each axis
    search_steps: int = 2
    iterations: int = 200
    affine_iterations: int = 100
    min_step: float = 1e-4
    fine_voxel_mm: float = 2.0           # the anatomical is registered at no finer than this (3-D)
    min_level_voxels: int = 24           # a pyramid level keeps at least this many voxels along the middle axis
    sample_smaller_field: bool = True    # sample the functional when its field of view is the smaller
    seed: int = SEED
    # 2-D slices are small (65k pixels), so they get every pixel, a pose search over rotation *and* translation, and
    # fewer bins: a rotation-only search then gradient descent landed 3-50 px apart from two starts 6 px apart
    plane_histogram_bins: int = 32
    plane_search_shrink: int = 4
    plane_search_step_deg: float = 5.0
    plane_search_rotation_steps: int = 4      # -20..20 deg
    plane_search_step_px: float = 3.0
    plane_search_translation_steps: int = 7   # -21..21 px along each axis
    plane_shrink_factors: tuple[int, ...] = (2, 1)
    # the best few distinct grid points of the pose search are each refined and the best final metric wins: two
    # basins of similar MI otherwise make the result depend on which one the coarse grid happened to favour
    plane_refine_candidates: int = 4


DEFAULT = Settings()


def register(anatomical: Volume, functional: Volume, affine: bool = False, progress: ProgressCallback | None = None,
             cancelled: CancelCheck | None = None, settings: Settings = DEFAULT,
             initial: Transform | None = None) -> Transform:
    """Find the transform mapping anatomical (fixed) physical points to functional (moving) ones; see the module.

    2-D images (one slice each) get a 3-degree-of-freedom Euler2D transform in the anatomical pixel frame; volumes a
    6-degree-of-freedom Euler3D one in LPS mm, then a 12-parameter affine one if ``affine``. ``progress(done, total)``
    is called from the optimiser's iterations (``total`` is the iteration budget, so it may jump to the end);
    ``cancelled()`` is polled there too and makes this raise :class:`RegistrationCancelled`.

    ``initial`` (the alignment shown now: a manual nudge, an earlier result) is where the search starts instead of the
    files' world geometry, as 3D Slicer's initial transform; its rotation and translation are used (an affine
    one's nearest rotation). The centres-of-mass start is tried as well; the better metric wins.
    """
    import SimpleITK as sitk

    from ..io.geometry import functional_placement

    start = time.perf_counter()
    d2 = anatomical.n_slices == 1 or functional.n_slices == 1
    if d2 and anatomical.n_slices != functional.n_slices:
        raise GeometryError("cannot register a single 2-D image with a volume: open two images or two volumes")
    placement, _method = functional_placement(functional, anatomical)
    if d2:
        fixed, moving = plane_images(anatomical, functional, placement)
    else:
        fixed, moving = volume_image(anatomical), volume_image(functional, placement)
        fixed = _coarsen(fixed, settings.fine_voxel_mm)
    _check_content(fixed, "anatomical")
    _check_content(moving, "functional")
    # ITK samples the fixed image and drops samples that fall outside the moving one, so the metric of a small
    # moving field of view can improve by sliding off the anatomy. The image with the smaller field of view is
    # therefore the one sampled; the transform is inverted at the end.
    swapped = settings.sample_smaller_field and _extent(moving) < _extent(fixed)
    if swapped:
        fixed, moving = moving, fixed
    # The pyramid shrinks by 4 and ITK's smoothing needs 4 voxels: a few thick slices are resampled thinner.
    fixed, moving = _thicken(fixed, 4 * max(settings.shrink_factors)), _thicken(moving, 4 * max(settings.shrink_factors))
    mask = _foreground_mask(fixed)
    if d2:
        settings = _plane_settings(settings, fixed)
    settings = _fit_pyramid(settings, fixed)

    budget = _search_budget(settings, d2)
    refinements = settings.plane_refine_candidates if d2 else 1
    total = 2 * budget + refinements * settings.iterations * len(settings.shrink_factors) + (
        settings.affine_iterations * 2 if affine and not d2 else 0)
    watch = _Watch(progress, cancelled, total)

    rigid = sitk.Euler2DTransform() if d2 else sitk.Euler3DTransform()
    starts = _starts(fixed, moving, rigid, initial, swapped)
    search = _pose_search_2d if d2 else _rotation_search
    found = [point for points in _in_lanes(lambda start, threads: search(fixed, moving, mask, start, settings, watch,
                                                                         threads), starts) for point in points]
    method = _method_for(settings, d2, affine)
    refined = _in_lanes(lambda make, threads: _optimise(
        fixed, moving, mask, make(), settings, watch, settings.iterations, settings.shrink_factors,
        settings.smoothing_sigmas_mm, threads), _distinct_best(found, refinements))
    reg, rigid = min(refined, key=lambda r: float(r[0].GetMetricValue()))
    result, kind = rigid, "rigid"
    if affine and not d2:
        stage = sitk.AffineTransform(3)
        stage.SetCenter(rigid.GetCenter())
        stage.SetMatrix(rigid.GetMatrix())
        stage.SetTranslation(rigid.GetTranslation())
        reg, result = _optimise(fixed, moving, mask, stage, settings, watch, settings.affine_iterations,
                                settings.shrink_factors[-2:], settings.smoothing_sigmas_mm[-2:])
        kind = "affine"
    watch.finish()
    value = float(reg.GetMetricValue())
    if not np.isfinite(value):
        raise RegistrationError("the registration found no overlap between the two images (no usable metric)")
    if swapped:
        result = result.GetInverse()
        method += ", functional sampled (the smaller field of view)"
    return Transform.from_sitk(result, kind=kind, metric_value=value, iterations=watch.optimiser_iterations,
                               stop_reason=reg.GetOptimizerStopConditionDescription(),
                               seconds=time.perf_counter() - start, method=method,
                               caution="" if d2 else thin_field_caution(anatomical, functional))


# --- stages -----------------------------------------------------------------------------------------------------

def _starts(fixed, moving, rigid, initial: Transform | None = None, swapped: bool = False) -> list:
    """The current alignment — ``initial``, else the world geometry as it is (an aligned pair must stay aligned) —
    and the centres of mass superimposed."""
    import SimpleITK as sitk

    geometry = sitk.CenteredTransformInitializer(fixed, moving, type(rigid)(),
                                                 sitk.CenteredTransformInitializerFilter.GEOMETRY)
    centre = geometry.GetCenter()
    as_is = type(rigid)()
    as_is.SetCenter(centre)
    if initial is not None:
        if initial.dimension != fixed.GetDimension():
            raise GeometryError(f"a {initial.dimension}-D starting transform cannot start a "
                                f"{fixed.GetDimension()}-D registration")
        as_is = _rigid_start(initial, swapped, np.asarray(centre, dtype=float), type(rigid))
    moments = sitk.CenteredTransformInitializer(_clamped(fixed), _clamped(moving), type(rigid)(),
                                                sitk.CenteredTransformInitializerFilter.MOMENTS)
    return [as_is, moments]


def _rigid_start(initial: Transform, swapped: bool, centre: np.ndarray, kind):
    """``initial`` (fixed = anatomical -> moving = functional) as a rigid transform of the registration's own
    fixed -> moving direction, re-centred on ``centre`` (same mapping: y = R (x - c') + c' + t')."""
    from .transform import _nearest_rotation

    m4 = np.linalg.inv(initial.matrix4()) if swapped else initial.matrix4()
    d = initial.dimension
    rotation = _nearest_rotation(m4[:d, :d])
    translation = rotation @ centre + m4[:d, 3] - centre
    out = kind()
    out.SetCenter(tuple(centre))
    out.SetMatrix(tuple(rotation.ravel()))
    out.SetTranslation(tuple(translation))
    return out


def _plane_settings(settings: Settings, fixed) -> Settings:
    """The 2-D schedule: every pixel sampled, ``plane_histogram_bins``, the plane pyramid (sigmas one pixel per
    shrink step, in the image's own pixel size)."""
    from dataclasses import replace

    pixel = float(min(fixed.GetSpacing()))
    return replace(settings, histogram_bins=settings.plane_histogram_bins, sampling_fraction_max=1.0,
                   samples_per_level=10 ** 9, shrink_factors=settings.plane_shrink_factors,
                   smoothing_sigmas_mm=tuple(f * pixel for f in settings.plane_shrink_factors))


def _search_budget(settings: Settings, d2: bool) -> int:
    """Metric evaluations of one start's exhaustive search (the progress bar's share)."""
    if d2:
        return (2 * settings.plane_search_rotation_steps + 1) * (2 * settings.plane_search_translation_steps + 1) ** 2
    return settings.search_steps and (2 * settings.search_steps + 1) ** 3


def _rotation_search(fixed, moving, mask, start, settings: Settings, watch: "_Watch", threads: int | None = None):
    """Exhaustive grid over the rotation angles at the coarsest level, translation held; every point (_run_search)."""
    transform = type(start)(start)
    if not settings.search_steps:
        return [(lambda: transform, np.inf, np.zeros(6))]
    reg = _method(fixed, mask, settings, (settings.shrink_factors[0],), (settings.smoothing_sigmas_mm[0],), threads)
    n = settings.search_steps
    reg.SetOptimizerAsExhaustive(numberOfSteps=[n, n, n, 0, 0, 0], stepLength=np.radians(settings.search_step_deg))
    reg.SetOptimizerScales([1.0] * 6)
    step_mm = float(min(fixed.GetSpacing()))   # translations are held: any unit
    return _run_search(reg, fixed, moving, transform, [np.radians(settings.search_step_deg)] * 3 + [step_mm] * 3,
                       watch)


def _pose_search_2d(fixed, moving, mask, start, settings: Settings, watch: "_Watch", threads: int | None = None):
    """Exhaustive grid over angle and both translations of a slice at ``plane_search_shrink``; every point.
    ITK's exhaustive optimiser steps parameter i by ``stepLength * scale[i]``."""
    transform = type(start)(start)
    pixel = float(min(fixed.GetSpacing()))
    shrink = settings.plane_search_shrink
    reg = _method(fixed, mask, settings, (shrink,), (shrink * pixel,), threads)
    n, m = settings.plane_search_rotation_steps, settings.plane_search_translation_steps
    reg.SetOptimizerAsExhaustive(numberOfSteps=[n, m, m], stepLength=1.0)
    step = settings.plane_search_step_px * pixel
    units = [np.radians(settings.plane_search_step_deg), step, step]
    reg.SetOptimizerScales(units)
    return _run_search(reg, fixed, moving, transform, units, watch)


def _run_search(reg, fixed, moving, transform, units, watch: "_Watch"):
    """Runs an exhaustive search; returns every grid point visited as (make_transform, metric, pose in grid steps).

    The pose is the rotation angles and the translation of the image centre, each in units of its grid step
    (``units``), so points of searches from different starts compare. Transforms are made only for the points that
    are refined (a 2-D search visits 2,025 points: a transform copied for each cost 57 ms, the scratch one 11 ms)."""
    import SimpleITK as sitk

    visited = []
    reg.SetInitialTransform(transform, inPlace=True)
    watch.attach(reg, counts_as_optimiser=False)
    reg.AddCommand(sitk.sitkIterationEvent,
                   lambda: visited.append((tuple(reg.GetOptimizerPosition()), reg.GetMetricValue())))
    reg.Execute(sitk.Cast(fixed, sitk.sitkFloat32), sitk.Cast(moving, sitk.sitkFloat32))
    watch.raise_if_cancelled()
    centre = fixed.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in fixed.GetSize()])
    d = fixed.GetDimension()
    scratch = type(transform)(transform)

    def maker(position):
        def make():
            made = type(transform)(transform)
            made.SetParameters(position)
            return made
        return make

    points = []
    for position, value in visited:
        scratch.SetParameters(position)
        angles = np.asarray(position[:1] if d == 2 else position[:3], dtype=float)
        shift = np.asarray(scratch.TransformPoint(centre), dtype=float) - np.asarray(centre, dtype=float)
        points.append((maker(position), float(value), np.r_[angles, shift] / np.asarray(units, dtype=float)))
    return points


def _distinct_best(points: list, count: int) -> list:
    """The ``count`` lowest-metric grid points no two of which are grid neighbours (two basins, not one basin's
    shoulder), best first. Without a finite metric (no search ran) the first point, the current alignment."""
    chosen: list = []
    for transform, value, pose in sorted((p for p in points if np.isfinite(p[1])), key=lambda p: p[1]):
        if len(chosen) == count:
            break
        if all(np.abs(pose - other).max() > 1.01 for _, other in chosen):
            chosen.append((transform, pose))
    return [transform for transform, _ in chosen] or [points[0][0]]


def _in_lanes(function, items: list) -> list:
    """``function(item, threads)`` for every item, in order; several at once on threads of one ITK thread each (ITK
    releases the GIL, and a 65k-pixel metric gains little from a second thread: the 4 refinements of a PET-MRI slice
    took 6.7 s one after the other, 3.9 s two at a time on 2 cores)."""
    lanes = min(len(items), os.cpu_count() or 1)
    if lanes <= 1:
        return [function(item, None) for item in items]
    with ThreadPoolExecutor(lanes, thread_name_prefix="registration") as pool:
        return list(pool.map(lambda item: function(item, 1), items))


def _optimise(fixed, moving, mask, transform, settings: Settings, watch: "_Watch", iterations: int, shrink, sigmas,
              threads: int | None = None):
    import SimpleITK as sitk

    reg = _method(fixed, mask, settings, shrink, sigmas, threads)
    reg.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=settings.min_step,
                                                 numberOfIterations=iterations, relaxationFactor=0.5,
                                                 gradientMagnitudeTolerance=1e-8)
    reg.SetOptimizerScalesFromPhysicalShift()
    reg.SetInitialTransform(transform, inPlace=True)
    watch.attach(reg, counts_as_optimiser=True)
    reg.Execute(sitk.Cast(fixed, sitk.sitkFloat32), sitk.Cast(moving, sitk.sitkFloat32))
    watch.raise_if_cancelled()
    return reg, transform


def _method(fixed, mask, settings: Settings, shrink, sigmas, threads: int | None = None):
    import SimpleITK as sitk

    reg = sitk.ImageRegistrationMethod()
    if threads is not None:
        reg.SetNumberOfThreads(threads)
    reg.SetMetricAsMattesMutualInformation(numberOfHistogramBins=settings.histogram_bins)
    fractions = _sampling(fixed, settings, shrink)
    if min(fractions) >= 1.0:
        reg.SetMetricSamplingStrategy(reg.NONE)   # every voxel (a random 100% would repeat some and miss others)
    else:
        reg.SetMetricSamplingStrategy(reg.RANDOM)
        reg.SetMetricSamplingPercentagePerLevel(fractions, settings.seed)
    if mask is not None:
        reg.SetMetricFixedMask(mask)
    reg.SetInterpolator(sitk.sitkLinear)
    reg.SetShrinkFactorsPerLevel(list(shrink))
    reg.SetSmoothingSigmasPerLevel(list(sigmas))
    reg.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    return reg


def _fit_pyramid(settings: Settings, fixed) -> Settings:
    """Drop the coarse levels at which the sampled image would have fewer than ``min_level_voxels`` voxels along
    its middle axis (a 17x21-voxel functional registers at full resolution only: shrunk, nothing is left)."""
    from dataclasses import replace

    middle = sorted(fixed.GetSize())[fixed.GetDimension() // 2] if fixed.GetDimension() == 3 else min(fixed.GetSize())
    levels = [(f, s) for f, s in zip(settings.shrink_factors, settings.smoothing_sigmas_mm)
              if f == 1 or middle / f >= settings.min_level_voxels]
    if not any(f == 1 for f, _ in levels):
        levels.append((1, settings.smoothing_sigmas_mm[-1]))
    return replace(settings, shrink_factors=tuple(f for f, _ in levels), smoothing_sigmas_mm=tuple(s for _, s in levels))


def _sampling(fixed, settings: Settings, shrink) -> list[float]:
    """Fraction of each level's voxels that gives about ``samples_per_level`` samples (capped). An image smaller
    than that budget is used whole at every level: a random half of a 3-slice slab made the result depend on the
    seed (nibabel's BOLD slab: 4.5 or 10-13 mm from the truth; every voxel: 4.5 mm, and repeatable)."""
    voxels = float(np.prod(fixed.GetSize()))
    if voxels <= settings.samples_per_level:
        return [1.0] * len(shrink)
    out = []
    for factor in shrink:
        level = voxels / factor ** fixed.GetDimension()
        out.append(float(min(settings.sampling_fraction_max, settings.samples_per_level / max(level, 1.0))))
    return out


# --- image preparation ------------------------------------------------------------------------------------------

def _coarsen(image, voxel_mm: float):
    """Resample to ``voxel_mm`` (no finer) when the image is finer: MI of a PET cannot use 1 mm detail, and the
    pyramid and sampling then cost a quarter to an eighth."""
    import SimpleITK as sitk

    spacing = np.asarray(image.GetSpacing())
    if np.all(spacing >= voxel_mm * 0.9):
        return image
    new_spacing = np.maximum(spacing, voxel_mm)
    size = np.maximum(1, np.round(np.asarray(image.GetSize()) * spacing / new_spacing)).astype(int)
    sigma = np.sqrt(np.maximum(new_spacing ** 2 - spacing ** 2, 0.0)) / 2.355  # anti-alias to the new voxel
    smoothed = sitk.SmoothingRecursiveGaussian(sitk.Cast(image, sitk.sitkFloat32), sigma.tolist())
    # Keep the first voxel centre's half-voxel corner where it was.
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    origin = np.asarray(image.GetOrigin()) + direction @ ((new_spacing - spacing) / 2.0)
    return sitk.Resample(smoothed, [int(v) for v in size], sitk.Transform(), sitk.sitkLinear, origin.tolist(),
                         new_spacing.tolist(), image.GetDirection(), 0.0, sitk.sitkFloat32)


def _extent(image) -> float:
    """Physical volume (area in 2-D) of the image's field of view."""
    return float(np.prod(np.asarray(image.GetSize()) * np.asarray(image.GetSpacing())))


def _thicken(image, minimum: int):
    """Resample (linearly) each axis with fewer than ``minimum`` voxels to ``minimum`` thinner ones over the same
    extent (a 3-slice functional: the information is unchanged, the pyramid and smoothing can run)."""
    import SimpleITK as sitk

    size = np.asarray(image.GetSize())
    if np.all(size >= minimum):
        return image
    spacing = np.asarray(image.GetSpacing())
    new_size = np.maximum(size, minimum)
    new_spacing = spacing * size / new_size
    direction = np.asarray(image.GetDirection()).reshape(image.GetDimension(), -1)
    origin = np.asarray(image.GetOrigin()) + direction @ ((new_spacing - spacing) / 2.0)
    return sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), [int(v) for v in new_size], sitk.Transform(),
                         sitk.sitkLinear, origin.tolist(), new_spacing.tolist(), image.GetDirection(), 0.0,
                         sitk.sitkFloat32)


def _clamped(image):
    """Intensities from the 1st..99.5th percentile (of the positive part), so a few hot voxels or a bright
    background corner do not decide the centre of mass."""
    import SimpleITK as sitk

    values = sitk.GetArrayViewFromImage(image)
    positive = values[values > 0]
    if positive.size < 16:
        return image
    lo, hi = np.percentile(positive, [1.0, 99.5])
    return sitk.Clamp(sitk.Cast(image, sitk.sitkFloat32) - float(lo), sitk.sitkFloat32, 0.0, float(hi - lo))


def _foreground_mask(image):
    """The anatomical's foreground: above a tenth of its robust range (air, the scanner's background), dilated by 2
    voxels, holes filled; None when nearly everything is foreground (a crop inside the head)."""
    import SimpleITK as sitk

    values = sitk.GetArrayViewFromImage(image)
    lo, hi = np.percentile(values, [1.0, 99.0])
    if hi <= lo:
        return None
    mask = sitk.BinaryThreshold(sitk.Cast(image, sitk.sitkFloat32), float(lo + 0.1 * (hi - lo)), 1e30, 1, 0)
    mask = sitk.BinaryFillhole(mask)
    fraction = float(sitk.GetArrayViewFromImage(mask).mean())
    if not 0.02 < fraction < 0.9:
        return None
    return sitk.Cast(mask, sitk.sitkUInt8)


def _check_content(image, which: str) -> None:
    import SimpleITK as sitk

    values = sitk.GetArrayViewFromImage(image)
    if values.size < 16 or float(values.max()) <= float(values.min()):
        raise RegistrationError(f"the {which} image is blank or too small to register")


def _method_for(settings: Settings, d2: bool, affine: bool) -> str:
    stages = "rigid" + ("+affine" if affine and not d2 else "")
    if d2:
        return (f"SimpleITK Mattes MI {stages} (2-D, every pixel, {settings.histogram_bins} bins), "
                f"{len(settings.shrink_factors)} levels, pose search "
                f"+-{settings.plane_search_rotation_steps * settings.plane_search_step_deg:g} deg, "
                f"+-{settings.plane_search_translation_steps * settings.plane_search_step_px:g} px, "
                f"best {settings.plane_refine_candidates} grid points refined")
    return (f"SimpleITK Mattes MI {stages}, {len(settings.shrink_factors)} levels, rotation search "
            f"+-{settings.search_steps * settings.search_step_deg:g} deg")


class _Watch:
    """Progress and cancel through sitkIterationEvent observers (ITK calls them between iterations, from several
    threads when candidates are refined at once: the counts are kept under a lock)."""

    def __init__(self, progress: ProgressCallback | None, cancelled: CancelCheck | None, total: int):
        self.progress, self.cancelled, self.total = progress, cancelled, max(1, int(total))
        self._lock = threading.Lock()
        self.done = 0
        self.optimiser_iterations = 0
        self.was_cancelled = False

    def attach(self, reg, counts_as_optimiser: bool) -> None:
        import SimpleITK as sitk

        def on_iteration() -> None:
            with self._lock:
                self.done += 1
                if counts_as_optimiser:
                    self.optimiser_iterations += 1
            if self.cancelled is not None and self.cancelled():
                self.was_cancelled = True
                reg.StopRegistration()
            if self.progress is not None:
                self.progress(min(self.done, self.total - 1), self.total)

        reg.AddCommand(sitk.sitkIterationEvent, on_iteration)
        if self.cancelled is not None and self.cancelled():
            self.was_cancelled = True
        self.raise_if_cancelled()

    def raise_if_cancelled(self) -> None:
        if self.was_cancelled:
            raise RegistrationCancelled()

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)
