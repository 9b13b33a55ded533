"""``medfuse bench gui``: how smooth the window stays while a network fuses, with torch at 1 thread and at all cores.

A 5 ms timer pans the view (a user dragging) while the fusion thread fuses the demo slice again and again; the
longest gap between timer ticks is the worst stall the user would feel.
"""

from __future__ import annotations

import os
import statistics
import time


def run(method: str | None, repeats: int = 4) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from ..fusion import list_models
    from .main_window import MainWindow, demo_paths
    from .worker import Job

    QCoreApplication.setOrganizationName("MedFuseBench")
    app = QApplication.instance() or QApplication([])
    method = method or next(iter(list_models(kind="network", available_only=True)), "gff")
    window = MainWindow()
    window.modal_errors = False
    window.resize(1500, 820)
    window.show()

    def wait(signal, timeout_ms=300_000):
        loop = QEventLoop()
        signal.connect(loop.quit)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        signal.disconnect(loop.quit)

    window.open_pair(*demo_paths(), "average")
    wait(window.pipelineIdle)
    results = {}
    cores = os.cpu_count() or 1
    for threads in sorted({1, cores}):
        def set_threads(progress, cancelled, n=threads):
            import torch

            torch.set_num_threads(n)
            return n

        window.fusion_thread.submit(Job("threads", set_threads, droppable=False))
        gaps, seconds = [], []
        clock = QElapsedTimer()
        ticker = QTimer()
        ticker.setInterval(5)
        view = window.panels["anatomical"].view
        ticker.timeout.connect(lambda: (gaps.append(clock.restart()), view.translateBy(x=0.3 if len(gaps) % 2 else -0.3)))
        for _ in range(repeats):
            window._cache.clear()
            window.method = None  # force a new request for the same method
            started = time.perf_counter()
            clock.start()
            ticker.start()
            window.select_method(method)
            wait(window.fusedShown)
            ticker.stop()
            seconds.append(time.perf_counter() - started)
            if window.current is not None:
                seconds[-1] = window.current.seconds
        results[threads] = {"fusion_ms": 1000 * statistics.median(seconds), "max_stall_ms": max(gaps[1:] or [0]),
                            "p99_stall_ms": sorted(gaps)[int(0.99 * (len(gaps) - 1))] if gaps else 0}
    window.close()
    app.processEvents()
    return {"method": method, "results": results}
