"""The compute service: keeps what the model shows computed, off the GUI thread. Qt-free.

It listens to the model; when the fused image or metrics for what is on screen are missing, it submits jobs to a
``Runner`` (Qt worker threads in the application, a queue drained by hand in tests) and hands results back to the
model with the key they were computed for. Jobs that the user has moved past are superseded by kind.

Lanes: "fusion" (fusion for the views and the loupe), "aux" (loading, pairing, metrics), "export" (volume export,
its own thread so the views keep fusing while it runs), "preload" (torch's import and the networks' warm-up, so
that a classic method never waits for torch: preload.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from .. import pipeline
from .events import EmitterGroup
from .keys import FusionKey, LRUCache
from .model import PendingPair, ViewerModel
from .preload import NetworkPreloader, fusion_threads

JobFn = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]
FUSED_CACHE_SIZE = 64
FUSION_EVENTS = ("sources", "orientation", "cursor", "method", "colormap")
WINDOW_EVENTS = ("anat_window", "func_window")   # dragged continuously: re-fused once the drag pauses (debounce)


class Runner(Protocol):
    def submit(self, lane: str, kind: str, fn: JobFn, *, on_result: Callable[[Any], None],
               on_error: Callable[[str], None] | None = None, on_progress: Callable[[int, int], None] | None = None,
               on_cancel: Callable[[], None] | None = None, droppable: bool = True) -> int: ...

    def cancel(self, lane: str, kind: str) -> None: ...


class ComputeService:
    def __init__(self, model: ViewerModel, runner: Runner, get_model: Callable[[str], Any] | None = None) -> None:
        self.model = model
        self.runner = runner
        self.fused_cache: LRUCache[FusionKey, Any] = LRUCache(FUSED_CACHE_SIZE)
        self.events = EmitterGroup("result", "error", "exported", "opened", "networks_ready")
        self._inflight: dict[FusionKey, int] = {}
        self._fusers: dict[str, dict[str, Any]] = {"fusion": {}, "export": {}}   # touched only inside their lane
        self._get_model = get_model
        self._threads_set: set[str] = set()   # lanes that have set their torch thread count
        self.seconds_per_pixel: dict[str, float] = {}   # last measured cost of each method (orders the loupe)
        self.preloader = NetworkPreloader(model, runner, self.build_fuser)
        self.preloader.events.finished.connect(lambda event: self._adopt_preloaded())
        self.export_token: int | None = None
        self.debounce: Callable[[], None] | None = None   # set by the GUI: calls request_fusion a little later
        for name in FUSION_EVENTS:
            model.events[name].connect(lambda event: self.request_fusion())
        for name in WINDOW_EVENTS:
            model.events[name].connect(lambda event: (self.debounce or self.request_fusion)())
        model.events.boxes.connect(lambda event: event.value[1] and self.request_metrics())
        model.events.preset.connect(lambda event: self.request_metrics())

    # --- errors -----------------------------------------------------------------------------------------------------
    def report(self, title: str, message: str) -> None:
        self.model.notify(f"{title}: {message}", "error")
        self.events.error.emit((title, message))

    # --- device and networks ----------------------------------------------------------------------------------
    def init_device(self) -> None:
        """Import torch, choose the device and preload the networks in the preload lane (after the first paint)."""
        self.preloader.start()

    # --- fusion ---------------------------------------------------------------------------------------------------
    def build_fuser(self, method: str):
        if self._get_model is not None:
            return self._get_model(method)
        from ..fusion import get_model

        return get_model(method)

    def _fuser(self, lane: str, method: str):
        fusers = self._fusers[lane]
        if method not in fusers:
            from ..fusion import get_model_info

            if get_model_info(method).kind != "classic":
                self._set_lane_threads(lane)
            fuser = self.preloader.take(method) if lane == "fusion" else None
            fusers[method] = fuser if fuser is not None else self.build_fuser(method)
        return fusers[method]

    def _set_lane_threads(self, lane: str) -> None:
        """torch's thread count is per thread once a thread has used torch: each lane sets its own, once."""
        if lane not in self._threads_set:
            import torch

            torch.set_num_threads(fusion_threads())
            self._threads_set.add(lane)

    def _adopt_preloaded(self) -> None:
        """Hand the warmed networks to the fusion lane, with one tiny pass of each in that thread (its own
        thread-local state; the kernels for the slice size were made by the preload)."""
        def adopt(progress, cancelled):
            from ..fusion.runtime import warm

            for name in list(self.preloader.ready):
                fuser = self.preloader.take(name)
                if fuser is not None and name not in self._fusers["fusion"]:
                    self._set_lane_threads("fusion")
                    self._fusers["fusion"][name] = warm(fuser)
            return tuple(self.preloader.loaded)

        def failed(message):
            self.events.networks_ready.emit(())

        self.runner.submit("fusion", "adopt", adopt, on_result=self.events.networks_ready.emit, on_error=failed,
                           on_cancel=lambda: self.events.networks_ready.emit(()), droppable=False)

    def fuse_job(self, key: FusionKey, lane: str = "fusion") -> JobFn:
        """A job fusing the slice of ``key`` (everything it needs captured now, run in the lane's thread)."""
        from ..fusion import get_model_info

        pair = self.model.pair
        colour_space = get_model_info(key.method).colour_space

        def fuse(progress, cancelled):
            inputs = pipeline.slice_inputs(pair, key.index, key.anat_window, key.func_window, key.colormap,
                                           colour_space, key.orientation)
            if cancelled():
                raise pipeline.Cancelled()
            fused = pipeline.fuse_inputs(inputs, self._fuser(lane, key.method), key.index)
            fused.params = key
            return fused

        return fuse

    def request_fusion(self, method: str | None = None, kind: str = "fuse") -> None:
        """Make sure the fused slice of the current parameters (for ``method``) is, or will be, available."""
        key = self.model.fusion_key(method)
        if key is None:
            return
        cached = self.fused_cache.get(key)
        if cached is not None:
            self._deliver(key, cached)
            return
        if key in self._inflight or key in self.model.failures:   # a failed fusion is not retried by itself
            return

        def done(result, key=key):
            self._inflight.pop(key, None)
            self.seconds_per_pixel[key.method] = result.seconds / max(1, result.fused_luma.size)
            self.fused_cache.put(key, result)
            self._deliver(key, result)

        def failed(message, key=key):
            self._inflight.pop(key, None)
            self.model.set_failed(key, message)
            if key == self.model.fusion_key():
                from ..fusion import get_model_info

                self.report("Fusion failed", f"{get_model_info(key.method).title}: {message}")

        self._inflight[key] = self.runner.submit(
            "fusion", kind, self.fuse_job(key), on_result=done, on_error=failed,
            on_cancel=lambda key=key: self._inflight.pop(key, None))

    def _deliver(self, key: FusionKey, fused) -> None:
        self.events.result.emit(key)
        if key == self.model.fusion_key() and self.model.fused is not fused:
            self.model.set_fused(fused)
        if key == self.model.fusion_key(key.method):
            self.request_metrics(key.method)

    def cached(self, method: str | None = None):
        key = self.model.fusion_key(method)
        return None if key is None else self.fused_cache.get(key)

    # --- metrics --------------------------------------------------------------------------------------------------
    def request_metrics(self, method: str | None = None) -> None:
        method = method or self.model.method
        fused = self.cached(method)
        missing = self.model.missing_metrics(method)
        if fused is None or not missing:
            return
        regions = {region: key.region for region, key in missing.items()}
        preset = self.model.preset
        a, b, f = fused.metric_arrays()

        def compute(progress, cancelled):
            from .. import metrics

            return metrics.compute_regions(a, b, f, regions, preset=preset)

        def done(values):
            self.model.add_metrics({missing[region]: values[region] for region in regions})

        self.runner.submit("aux", f"metrics:{method}", compute, on_result=done,
                           on_error=lambda message: self.report("Metrics failed", message))

    # --- opening files ------------------------------------------------------------------------------------------
    def open_pair(self, anatomical: str | Path, functional: str | Path) -> None:
        """Open two files as one pair; the screen changes only once both are loaded and put on one grid."""
        def load(progress, cancelled):
            from .. import io

            anat, func = io.load(anatomical), io.load(functional)
            return anat, func, pipeline.make_pair(anat, func)

        self._open(load, f"Opening {Path(anatomical).name} and {Path(functional).name}…", "Cannot open these images",
                   together=True)

    def open_source(self, role: str, path: str | Path) -> None:
        """Open one file in place of one side; it is paired with the other side's image when there is one."""
        other = self.model.functional if role == "anatomical" else self.model.anatomical

        def load(progress, cancelled):
            from .. import io

            volume = io.load(path)
            if other is None:
                return (volume, None, None) if role == "anatomical" else (None, volume, None)
            anat, func = (volume, other) if role == "anatomical" else (other, volume)
            return anat, func, pipeline.make_pair(anat, func)

        title = "Cannot open the anatomical image" if role == "anatomical" else "Cannot open the functional image"
        self._open(load, f"Opening {Path(path).name}…", title, together=False)

    def _open(self, load: JobFn, text: str, error_title: str, together: bool) -> None:
        model = self.model

        def done(result):
            model.end_job(token)
            self._offer(*result, together=together)

        def failed(message):
            model.end_job(token)
            self.report(error_title, message)

        token = self.runner.submit("aux", "open", load, on_result=done, on_error=failed,
                                   on_cancel=lambda: model.end_job(token))
        model.start_job(token, text)

    def _offer(self, anatomical, functional, pair, together: bool) -> None:
        """Show a newly opened pair, unless its sources disagree on identity: then the user chooses first."""
        mismatches, known = identity_check(anatomical, functional)
        if mismatches:
            self.model.set_pending(PendingPair(anatomical, functional, pair, mismatches))
            return
        # opened together (a pair, a session, a recent entry) or known to be one study: may be remembered
        self.model.set_sources(anatomical, functional, pair, confirmed=pair is not None and (together or known))
        self._after_open(together)

    def accept_pending(self) -> None:
        pending = self.model.pending
        if pending is not None:
            self.model.set_sources(pending.anatomical, pending.functional, pending.pair, confirmed=True)
            self._after_open(True)

    def reject_pending(self) -> None:
        if self.model.pending is not None:
            self.model.set_pending(None)
            self.model.notify("Not fused: the previous images stay open.")

    def _after_open(self, together: bool) -> None:
        model = self.model
        for volume in (model.anatomical, model.functional):
            if volume is not None and volume.meta.get("warning"):
                model.notify(f"{volume.name}: {volume.meta['warning']}", "warning", scope=("pair", model.pair_id))
        if model.pair is not None:
            for warning in model.pair.warnings:
                model.notify(f"Geometry: {warning}", "warning", scope=("pair", model.pair_id))
            if not together and not model.confirmed:
                model.notify("Paired with the image already open on the other side (no patient identity to "
                             "compare): check that they belong together.", "warning", scope=("pair", model.pair_id))
        self.events.opened.emit(model.pair_id)

    # --- volume export --------------------------------------------------------------------------------------------
    def export_volume(self, path: str | Path, fmt: str, provenance: str = "") -> int | None:
        """Fuse every slice with the current method and settings in the export lane, then write the volume."""
        from ..fusion import get_model_info

        model = self.model
        if model.pair is None or self.export_token is not None:
            return None
        pair, method, path = model.pair, model.method, Path(path)
        info = get_model_info(method)
        window, func_window, cmap = model.anat_window, model.func_window, model.colormap

        def fuse_and_write(progress, cancelled):
            from ..io.export import export_volume

            fuser = self._fuser("export", method)
            volume = pipeline.fuse_volume(pair, fuser, window, func_window, cmap, info.colour_space,
                                          progress=progress, cancelled=cancelled)
            return export_volume(path, volume, pair.anatomical, info.title, fmt, force=True,
                                 registration=pair.transform)

        def finish():
            model.end_job(token)
            self.export_token = None

        def done(written):
            finish()
            where = written[0] if len(written) == 1 else f"{written[0].parent}/ ({len(written)} files)"
            model.notify(f"Exported {where}")
            self.events.exported.emit(written)

        def failed(message):
            finish()
            self.report("Export failed", message)

        def cancelled():
            finish()
            model.notify("Volume export cancelled: nothing was written.")

        token = self.runner.submit("export", "fuse-volume", fuse_and_write, on_result=done, on_error=failed,
                                   on_cancel=cancelled,
                                   on_progress=lambda d, t: model.progress_job(token, d, t), droppable=False)
        self.export_token = token
        model.start_job(token, f"Fusing the volume with {info.title} for export", pair.n_slices, cancellable=True)
        return token

    def cancel_export(self) -> None:
        if self.export_token is not None:
            self.runner.cancel("export", "fuse-volume")


def identity_check(anatomical, functional) -> tuple[list[str], bool]:
    """(reasons the two sources may not belong together, whether their identity is known and agrees)."""
    if anatomical is None or functional is None:
        return [], False
    from ..io.identity import identity_known, pair_mismatches

    mismatches = pair_mismatches(anatomical, functional)
    return mismatches, identity_known(anatomical, functional) and not mismatches
