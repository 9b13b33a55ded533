"""Registration in the viewer, off the GUI thread: ``register`` runs the SimpleITK registration in its own lane (the
slice on screen keeps fusing meanwhile) with progress and cancel, and any change of the alignment (a registration, a
nudge, undo, reset, a session) re-makes the pair once through the new transform. Qt-free; uses the compute
service's runner.

A re-made pair is shown with ``set_sources(..., keep_view=True)``: a new pair id, so every fused slice and metric of
the old alignment is stale by its key, while the slice, boxes and zoom stay where the user had them.
"""

from __future__ import annotations

from .. import pipeline
from .compute import ComputeService
from .events import EmitterGroup

LANE = "register"   # its own worker thread: a registration takes seconds and must not hold back metrics or opening


class RegistrationService:
    def __init__(self, compute: ComputeService) -> None:
        self.compute = compute
        self.model = compute.model
        self.runner = compute.runner
        self.events = EmitterGroup("registered", "cancelled", "aligned")
        self.register_token: int | None = None
        self._ready: tuple | None = None   # (transform, pair) the registration job already made
        self.model.events.alignment.connect(lambda event: self._follow())

    @property
    def state(self):
        return self.model.alignment

    @property
    def busy(self) -> bool:
        return self.register_token is not None

    # --- registration -------------------------------------------------------------------------------------------
    def register(self, affine: bool = False) -> int | None:
        """Register the open functional image to the anatomical one; on success the alignment becomes the result
        (undoable), on cancel or failure it stays as it was. Returns the job's token, or None when it cannot start."""
        model = self.model
        if model.pair is None or self.register_token is not None:
            return None
        anatomical, functional = model.anatomical, model.functional
        start = self.state.transform   # the alignment on screen (a nudge, an earlier result): search from there

        def run(progress, cancelled):
            from ..registration import register

            transform = register(anatomical, functional, affine=affine, progress=progress, cancelled=cancelled,
                                 initial=start)
            if cancelled():
                raise pipeline.Cancelled()
            # The pair is re-made here, in the worker, once: the GUI thread only swaps it in.
            return transform, pipeline.make_pair(anatomical, functional, transform)

        def finish():
            self.register_token = None   # before end_job: its event re-enables the controls
            model.end_job(token)

        def done(result):
            finish()
            transform, pair = result
            if not self._same_sources(anatomical, functional):
                model.notify("Registration finished for images that are no longer open: not applied.")
                return
            self._ready = (transform, pair)
            self.state.set_transform(transform)
            if transform.caution:   # first, where a long status line is not cut off
                text = f"Registered, with a caution: {transform.caution}. Nudge or undo. ({transform.describe()})"
            else:
                text = (f"Registered in {transform.seconds or 0:.1f} s — {transform.describe()}. Check it "
                        "(Registration > Check), nudge or undo.")
            model.notify(text, level="warning" if transform.caution else "info", scope=("pair", model.pair_id))
            self.events.registered.emit(transform)

        def failed(message):
            finish()
            self.compute.report("Registration failed", f"{message} (the previous alignment is kept)")

        def cancelled():
            finish()
            model.notify("Registration cancelled: the previous alignment is kept.")
            self.events.cancelled.emit(None)

        token = self.runner.submit(LANE, "register", run, on_result=done, on_error=failed, on_cancel=cancelled,
                                   on_progress=lambda d, t: model.progress_job(token, d, t), droppable=False)
        self.register_token = token
        model.start_job(token, "Registering the functional to the anatomical", 0, cancellable=True)
        return token

    def cancel_register(self) -> None:
        if self.register_token is not None:
            self.runner.cancel(LANE, "register")

    # --- applying an alignment ----------------------------------------------------------------------------------
    def apply_transform(self, transform, undoable: bool = True) -> bool:
        """Show the pair through ``transform`` (None: world alignment); the previous one can be undone."""
        return self.state.set_transform(transform, undoable)

    def _follow(self) -> None:
        """The requested alignment changed: re-make the pair through it (once), unless it is already shown."""
        model, transform = self.model, self.state.transform
        if model.pair is None or model.pair.transform is transform:
            return
        anatomical, functional = model.anatomical, model.functional
        ready, self._ready = self._ready, None
        if ready is not None and ready[0] is transform:
            self._show(ready[1])
            return

        def run(progress, cancelled):
            return pipeline.make_pair(anatomical, functional, transform)

        def done(pair):
            model.end_job(token)
            if self._same_sources(anatomical, functional) and self.state.transform is transform:
                self._show(pair)

        def failed(message):
            model.end_job(token)
            if self._same_sources(anatomical, functional) and self.state.transform is transform:
                self.state.set_transform(model.pair.transform, undoable=False)   # back to what is shown
            self.compute.report("Cannot apply the alignment", message)

        # Droppable: while nudges follow each other quickly only the last one is resampled.
        token = self.runner.submit(LANE, "align", run, on_result=done, on_error=failed,
                                   on_cancel=lambda: model.end_job(token))
        model.start_job(token, "Applying the alignment")

    def _show(self, pair) -> None:
        model = self.model
        model.set_sources(model.anatomical, model.functional, pair, confirmed=model.confirmed, keep_view=True)
        self.events.aligned.emit(pair.transform)

    def _same_sources(self, anatomical, functional) -> bool:
        return self.model.anatomical is anatomical and self.model.functional is functional
