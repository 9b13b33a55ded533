"""The status bar, rendered from the model: the current message (only while it still applies), sticky notices, a
progress bar and Cancel for running jobs, the fusion time of what is on screen, and the device."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar, QPushButton

from ..fusion import get_model_info
from ..viewer.model import ViewerModel

LEVEL_STYLES = {"info": "", "warning": "color: #9a5b00;", "error": "color: #b00020;"}
IDLE_TEXT = "Open an anatomical and a functional image (File menu or drag and drop)."


class StatusBar(QObject):
    def __init__(self, window: QMainWindow, model: ViewerModel, cancel):
        super().__init__(window)
        self.model = model
        bar = window.statusBar()
        self.message_label = QLabel(IDLE_TEXT)
        self.message_label.setMinimumWidth(50)
        bar.addWidget(self.message_label, 1)
        self.probe_label = QLabel("")   # the data probe under the mouse, on one line (the read-out dock has it all)
        self.probe_label.setMinimumWidth(50)
        self.probe_label.setVisible(False)
        bar.addWidget(self.probe_label, 2)
        self.notice_label = QLabel("")
        self.notice_label.setStyleSheet("color: #b35c00; font-weight: 600;")
        bar.addWidget(self.notice_label)
        self.job_label = QLabel("")   # what the bar measures: a long job name would be clipped inside the bar
        self.job_label.setVisible(False)
        bar.addPermanentWidget(self.job_label)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        bar.addPermanentWidget(self.progress)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(cancel)
        bar.addPermanentWidget(self.cancel_button)
        self.time_label = QLabel("")
        bar.addPermanentWidget(self.time_label)
        self.device_label = QLabel("Device: starting…")
        bar.addPermanentWidget(self.device_label)
        model.events.any.connect(lambda event: self.render())
        self.render()

    def render(self) -> None:
        model = self.model
        message = model.current_message()
        if message is None:
            text = IDLE_TEXT if model.grid is None else ""
            self.message_label.setText(text)
            self.message_label.setStyleSheet("")
        else:
            self.message_label.setText(message.text)
            self.message_label.setStyleSheet(LEVEL_STYLES.get(message.level, ""))
        self.message_label.setToolTip(self.message_label.text())
        self.notice_label.setText("  ".join(m.text for m in model.notices()))
        self._render_jobs()
        fused = model.current_fused()
        self.time_label.setText(f"{get_model_info(fused.method).title}: {fused.seconds * 1000:.0f} ms"
                                if fused is not None else "")
        self.device_label.setText(f"Device: {model.device}" if model.device else "Device: starting…")

    def show_probe(self, text: str) -> None:
        self.probe_label.setText(text)
        self.probe_label.setToolTip(text)
        self.probe_label.setVisible(bool(text))

    def _render_jobs(self) -> None:
        model = self.model
        jobs = list(model.jobs.values())
        fusing = model.pair is not None and model.current_fused() is None and model.current_failure() is None
        if jobs:
            job = jobs[-1]
            self.progress.setRange(0, job.total)
            self.progress.setValue(job.done)
            self.progress.setFormat(f"{job.done} / {job.total}" if job.total else "")
            self.progress.setToolTip(job.text)
            self.job_label.setText(job.text)
        elif fusing:
            self.progress.setRange(0, 0)   # a slice through a network takes up to seconds on a CPU: busy indicator
            self.progress.setToolTip("fusing the slice on screen")
        self.progress.setVisible(bool(jobs) or fusing)
        self.job_label.setVisible(bool(jobs))
        self.cancel_button.setVisible(any(j.cancellable for j in jobs))
