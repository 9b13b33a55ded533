"""``medfuse bench TARGET``: measure how fast a part of MedFuse runs on this machine.

Targets live in TARGETS (name -> (help, function(args) -> int)); add one by writing a function and an entry.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

DEFAULT_PAIR = ("SPECT-MRI", "11017.png")


def add_parser(sub) -> None:
    parser = sub.add_parser("bench", help="time the fusion methods and the metrics on this machine")
    parser.add_argument("target", choices=sorted(TARGETS), help="; ".join(f"{k}: {v[0]}" for k, v in TARGETS.items()))
    parser.add_argument("--repeat", type=int, default=7, help="runs per measurement (median reported)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--preset", default=None, help="metrics: conventions preset (default: default)")
    parser.add_argument("--anat", metavar="FILE", help="metrics: anatomical image (default: a Harvard SPECT-MRI pair)")
    parser.add_argument("--func", metavar="FILE", help="metrics: functional image")
    parser.add_argument("--methods", default="all", help="models: comma-separated names or all")
    parser.add_argument("--sizes", default="256,512", help="models: square sizes to time (default 256,512)")
    parser.add_argument("--threads", type=int, default=0, help="models: torch CPU threads (default: torch's)")
    parser.add_argument("--device", default=None, help="models: cpu, cuda (default: CUDA when available)")
    parser.add_argument("--busy", type=int, default=0,
                        help="busy: spinning processes to start (default: one per core)")
    parser.set_defaults(run=run)


def run(args) -> int:
    return TARGETS[args.target][1](args)


def _shared_dir() -> Path:
    root = Path(__file__).resolve().parents[2]
    return Path(os.environ.get("MEDFUSE_SHARED", root.parent / "shared"))


def _metrics_pair(args):
    """A (anatomical gray, functional luminance, fused) triple on 0..255, 256x256 unless files say otherwise."""
    import numpy as np

    from ..io.errors import MedFuseError
    from ..metrics import read_gray

    if bool(args.anat) != bool(args.func):
        raise MedFuseError("give both --anat and --func, or neither")
    if args.anat:
        anat_path, func_path = Path(args.anat), Path(args.func)
    else:
        task, name = DEFAULT_PAIR
        base = _shared_dir() / "data" / "harvard" / task
        anat_path, func_path = base / "MRI" / name, base / task.split("-")[0] / name
        if not anat_path.exists():
            raise MedFuseError(f"the default pair {anat_path} is missing: pass --anat and --func")
    a = read_gray(anat_path)
    b = read_gray(func_path)
    from ..fusion import get_model

    fused = get_model("average").fuse((a / 255.0).astype(np.float32), (b / 255.0).astype(np.float32))
    f = np.clip(np.asarray(fused, dtype=np.float64) * 255.0, 0.0, 255.0)
    return (anat_path, func_path), a, b, f


def bench_metrics(args) -> int:
    from ..metrics import DEFAULT_PRESET, METRICS, time_metrics

    paths, a, b, f = _metrics_pair(args)
    result = time_metrics(a, b, f, preset=args.preset or DEFAULT_PRESET, repeat=max(1, args.repeat))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result.update(anat=str(paths[0]), func=str(paths[1]), fused="average of the two", load_average_1min=load,
                  cpu_count=os.cpu_count())
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    alone = result["alone"]
    width = max(map(len, alone))
    print(f"metrics of one {a.shape[0]}x{a.shape[1]} pair ({paths[0].parent.name}/{paths[0].name}), preset "
          f"{result['preset']}, median of {result['repeat']} runs; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"{'metric':<{width}}  {'wall ms':>8}  {'cpu ms':>8}   (alone: pays for everything it needs)")
    for name, t in alone.items():
        print(f"{name:<{width}}  {t['wall'] * 1e3:8.1f}  {t['cpu'] * 1e3:8.1f}   {METRICS[name].title}")
    total = result["total"]
    print(f"{'sum':<{width}}  {sum(t['wall'] for t in alone.values()) * 1e3:8.1f}  "
          f"{sum(t['cpu'] for t in alone.values()) * 1e3:8.1f}   (no sharing)")
    print(f"{'TOTAL':<{width}}  {total['wall'] * 1e3:8.1f}  {total['cpu'] * 1e3:8.1f}   (the whole set with shared "
          f"intermediates, as compute() runs it; best wall {total['wall_min'] * 1e3:.1f} ms)")
    return 0


def matmul_gflops(device, size: int = 2048, repeat: int = 5) -> float:
    """The machine's float32 matrix-multiply rate: the ceiling a convolution network can approach."""
    import time

    import torch

    a = torch.rand(size, size, device=device)
    b = torch.rand(size, size, device=device)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def bench_models(args) -> int:
    import statistics
    import time

    import numpy as np
    import torch

    from ..fusion import get_model, get_model_info, list_models
    from ..fusion.runtime import count_parameters, device_label, measure_flops, select_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    names = list_models() if args.methods == "all" else [get_model_info(m).name for m in args.methods.split(",")]
    sizes = [int(v) for v in args.sizes.split(",")]
    tuned = os.environ.get("MALLOC_MMAP_THRESHOLD_") == "1000000000"
    peak = matmul_gflops(device)
    rng = np.random.default_rng(0)
    rows = []
    for name in names:
        info = get_model_info(name)
        available = info.availability()[0]
        fuser = get_model(name, weights="default" if available else None, device=args.device) if info.kind == \
            "network" else get_model(name)
        row = {"method": name, "kind": info.kind,
               "weights": "-" if info.kind == "classic" else "trained" if available else "random (timing only)"}
        if info.kind == "network":
            module = fuser.module
            row["params"] = count_parameters(module)
            row["gflops_256"] = measure_flops(module.cpu(), 256) / 1e9
            module.to(device)
            if device.type == "cpu":
                module.to(memory_format=torch.channels_last)
        for size in sizes:
            a = rng.random((size, size), dtype=np.float32)
            b = rng.random((size, size), dtype=np.float32)
            fuser.fuse(a, b)  # warm-up: allocator, kernels, caches
            times = []
            for _ in range(max(1, args.repeat if size <= 256 else max(1, args.repeat // 2))):
                start = time.perf_counter()
                fuser.fuse(a, b)
                times.append(time.perf_counter() - start)
            row[f"ms_{size}"] = 1000 * statistics.median(times)
        if "gflops_256" in row and "ms_256" in row:
            row["achieved_gflops_s"] = row["gflops_256"] / (row["ms_256"] / 1000)
        rows.append(row)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result = {"device": device_label(device), "matmul_gflops_s": peak, "malloc_tuned": tuned, "load_average_1min": load,
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
              "torch_threads": torch.get_num_threads(), "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"fusion speed on {result['device']}, matrix multiply {peak:.0f} GFLOP/s, glibc malloc "
          f"{'tuned' if tuned else 'default (slower: run through the medfuse launcher)'}, load average {load:.1f}")
    head = f"{'method':<15} {'params':>9} {'GFLOP@256':>10} " + " ".join(f"{'ms@' + str(s):>9}" for s in sizes)
    print(head + f" {'GFLOP/s':>8}  weights")
    for r in rows:
        params = f"{r['params']:,}" if "params" in r else "-"
        gflop = f"{r['gflops_256']:.2f}" if "gflops_256" in r else "-"
        rate = f"{r['achieved_gflops_s']:.0f}" if "achieved_gflops_s" in r else "-"
        print(f"{r['method']:<15} {params:>9} {gflop:>10} " + " ".join(f"{r[f'ms_{s}']:9.1f}" for s in sizes)
              + f" {rate:>8}  {r['weights']}")
    return 0


def _spinners(count: int, seconds: float = 600.0):
    """Start ``count`` processes that each keep one core busy; each stops by itself after ``seconds`` at most."""
    import subprocess
    import sys

    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL) for _ in range(count)]


def _stop(processes) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=5)
        except Exception:
            process.kill()


def bench_busy(args) -> int:
    """Each network at one size on an idle machine, then with ``--busy`` other processes spinning (default: one per
    core), median of --repeat runs each; the ratio busy / idle is what a user feels on a loaded machine."""
    import statistics
    import time

    import numpy as np
    import torch

    from ..fusion import get_model, get_model_info, list_models
    from ..fusion.runtime import select_device
    from ..fusion.threads import POLICY, usable_cores

    if args.threads:
        torch.set_num_threads(args.threads)
    names = list_models(kind="network") if args.methods == "all" else \
        [get_model_info(m).name for m in args.methods.split(",")]
    size = int(args.sizes.split(",")[0])
    busy = args.busy or usable_cores()
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size), dtype=np.float32), rng.random((size, size), dtype=np.float32)
    device = select_device(args.device)

    def timed(fuser) -> tuple[float, int]:
        fuser.fuse(a, b)  # warm-up, and a decision of the thread policy under the current load
        times = []
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            fuser.fuse(a, b)
            times.append(time.perf_counter() - start)
        return 1000 * statistics.median(times), torch.get_num_threads()

    rows = []
    for name in names:
        info = get_model_info(name)
        fuser = get_model(name, weights="default" if info.availability()[0] else None, device=args.device)
        idle_ms, idle_threads = timed(fuser)
        spinners = _spinners(busy)
        try:
            time.sleep(1.0)  # let the spinners start and the load show in the policy's next sample
            busy_ms, busy_threads = timed(fuser)
        finally:
            _stop(spinners)
        time.sleep(0.5)
        rows.append({"method": name, "idle_ms": idle_ms, "idle_threads": idle_threads, "busy_ms": busy_ms,
                     "busy_threads": busy_threads, "ratio": busy_ms / idle_ms})
    result = {"device": str(device), "size": size, "busy_processes": busy, "cores": usable_cores(),
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default: active spinning)"),
              "adaptive_threads": POLICY.enabled, "load_average_1min_at_end": os.getloadavg()[0], "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{size}x{size} on {device}, idle vs {busy} spinning processes on {result['cores']} cores; "
          f"OMP_WAIT_POLICY {result['omp_wait_policy']}, adaptive threads {'on' if POLICY.enabled else 'off'}; "
          f"median of {max(1, args.repeat)} runs")
    print(f"{'method':<15} {'idle ms':>9} {'thr':>4} {'busy ms':>9} {'thr':>4} {'busy/idle':>10}")
    for r in rows:
        print(f"{r['method']:<15} {r['idle_ms']:9.1f} {r['idle_threads']:4d} {r['busy_ms']:9.1f} "
              f"{r['busy_threads']:4d} {r['ratio']:10.2f}")
    return 0


def bench_volume(args) -> int:
    """Seconds to fuse the whole 3-D demo (197x233x189 MRI + PET) with each network, slices batched by free memory,
    and each network's own peak memory: resident (the heap trimmed and Linux's high-water mark reset before each
    network) and, on CUDA, the device's peak allocation."""
    import time

    from .. import io, pipeline
    from ..demo import volume_demo_paths
    from ..fusion import get_model, get_model_info, list_models

    names = list_models(kind="network") if args.methods == "all" else \
        [get_model_info(m).name for m in args.methods.split(",")]
    pair = pipeline.make_pair(*(io.load(p) for p in volume_demo_paths()))
    rows_, cols_ = pair.anatomical.shape2d
    baseline = peak_rss_mb()
    rows = []
    for name in names:
        info = get_model_info(name)
        fuser = get_model(name, weights="default" if info.availability()[0] else None, device=args.device)
        batch = pipeline.volume_batch_size(fuser, rows_, cols_)
        own = reset_peak_memory(fuser.device)
        before = current_rss_mb()
        start = time.perf_counter()
        pipeline.fuse_volume(pair, fuser, colour_space=info.colour_space)
        seconds = time.perf_counter() - start
        rows.append({"method": name, "seconds": seconds, "slices": pair.n_slices, "batch": batch,
                     "device": str(fuser.device), "rss_before_mb": before, "peak_rss_mb": peak_rss_mb(),
                     "peak_is_own": own, "peak_device_mb": peak_device_mb(fuser.device)})
        del fuser
    result = {"grid": f"{cols_}x{rows_}x{pair.n_slices}", "baseline_rss_mb": baseline,
              "load_average_1min_at_end": os.getloadavg()[0], "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"fusing the {result['grid']} demo volume; RSS after loading it: {baseline:.0f} MB")
    for r in rows:
        gpu = f", device peak {r['peak_device_mb']:.0f} MB" if r["peak_device_mb"] is not None else ""
        own = "" if r["peak_is_own"] else " (peaks accumulate: no reset here)"
        print(f"{r['method']:<15} {r['seconds']:7.1f} s  {r['seconds'] / r['slices'] * 1000:6.0f} ms/slice  batch "
              f"{r['batch']:2d} on {r['device']}  peak RSS {r['peak_rss_mb']:.0f} MB (from {r['rss_before_mb']:.0f})"
              f"{gpu}{own}")
    return 0


def _proc_status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def current_rss_mb() -> float:
    rss = _proc_status_mb("VmRSS")
    return rss if rss is not None else peak_rss_mb()


def peak_rss_mb() -> float:
    """This address space's peak resident memory (VmHWM; ru_maxrss where /proc is missing)."""
    import resource

    peak = _proc_status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_memory(device) -> bool:
    """Start a fresh peak: freed heap memory back to the OS (the launcher's malloc settings keep it otherwise), then
    the kernel's high-water mark reset ("5" to /proc/self/clear_refs, Linux), and CUDA's peak statistics. False where
    the resident peak cannot be reset (it then includes what ran before)."""
    import ctypes
    import gc

    gc.collect()
    if getattr(device, "type", None) == "cuda":
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except (OSError, AttributeError):
        return False
    return True


def peak_device_mb(device) -> float | None:
    if getattr(device, "type", None) != "cuda":
        return None
    import torch

    return torch.cuda.max_memory_allocated(device) / 2 ** 20


def bench_gui(args) -> int:
    """Longest GUI stall while a network fuses, torch at 1 thread vs all cores (loads the Qt layer on demand)."""
    import importlib

    method = None if args.methods == "all" else args.methods.split(",")[0]
    report = importlib.import_module("medfuse_gui.gui.bench").run(method, repeats=max(2, args.repeat // 2))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"window: demo shown with 'average' {report['average_shown_s']:.2f} s after opening; networks preloaded "
          f"{report['preload_done_s']:.2f} s after opening")
    print(f"{'first use of':>14} {'first s':>8} {'again s':>8} {'overhead s':>11}  (target: overhead <= 0.3 s)")
    for name, r in report["first_use"].items():
        print(f"{name:>14} {r['first_s']:8.2f} {r['again_s']:8.2f} {r['first_s'] - r['again_s']:11.2f}"
              + ("" if r["preloaded"] else "  (not preloaded)"))
    print(f"GUI while fusing the demo slice with {report['method']} (a 5 ms timer pans the view):")
    print(f"{'torch threads':>14} {'fusion ms':>10} {'longest stall ms':>17} {'p99 stall ms':>13}")
    for threads, r in report["results"].items():
        print(f"{threads:>14} {r['fusion_ms']:10.0f} {r['max_stall_ms']:17.0f} {r['p99_stall_ms']:13.0f}")
    return 0


def bench_registration(args) -> int:
    """Wall time of register() on the 3-D volume demo (misaligned by 10 mm / 8 deg and by 60 mm / 20 deg) and a 2-D
    Harvard pair, median of --repeat runs (at most 3: each run is seconds)."""
    import statistics
    import time

    import numpy as np
    from scipy.spatial.transform import Rotation

    from .. import io
    from ..demo import volume_demo_paths
    from ..io.errors import MedFuseError
    from ..io.geometry import resample
    from ..registration import register

    anatomical, functional = (io.load(p) for p in volume_demo_paths())

    def moved(shift: float, angle: float):
        axis = np.array([1.0, 2.0, 0.5]) / np.linalg.norm([1.0, 2.0, 0.5])
        motion = np.eye(4)
        motion[:3, :3] = Rotation.from_rotvec(np.radians(angle) * axis).as_matrix()
        centre = np.array([0.0, -18.0, 18.0])
        motion[:3, 3] = centre - motion[:3, :3] @ centre + shift * np.array([0.6, -0.64, 0.48])
        return functional.with_pixels(resample(functional, functional, motion @ functional.affine))

    task, name = DEFAULT_PAIR
    base = _shared_dir() / "data" / "harvard" / task
    if not (base / "MRI" / name).exists():
        raise MedFuseError(f"the default pair {base / 'MRI' / name} is missing")
    cases = [("3-D demo MRI + simulated PET, 10 mm / 8 deg", anatomical, moved(10.0, 8.0)),
             ("3-D demo MRI + simulated PET, 60 mm / 20 deg", anatomical, moved(60.0, 20.0)),
             (f"2-D {task} {name}", io.load(base / "MRI" / name), io.load(base / task.split("-")[0] / name))]
    rows = []
    for title, fixed, moving in cases:
        times, result = [], None
        for _ in range(max(1, min(3, args.repeat))):
            start = time.perf_counter()
            result = register(fixed, moving)
            times.append(time.perf_counter() - start)
        rows.append({"case": title, "seconds": statistics.median(times), "iterations": result.iterations,
                     "method": result.method,
                     "grid": "x".join(str(v) for v in fixed.grid_shape[::-1]) + " / "
                             + "x".join(str(v) for v in moving.grid_shape[::-1])})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result = {"load_average_1min": load, "cpu_count": os.cpu_count(), "rows": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"registration, median of {max(1, min(3, args.repeat))} runs; load average {load:.1f} on "
          f"{os.cpu_count()} cores")
    for r in rows:
        print(f"{r['case']:<48} {r['seconds']:6.2f} s  {r['iterations']:4d} iterations  ({r['grid']} voxels)")
        print(f"    {r['method']}")
    return 0


def bench_all(args) -> int:
    bench_models(args)
    print()
    return bench_metrics(args)


TARGETS: dict[str, tuple[str, Callable[..., int]]] = {
    "metrics": ("per-metric and total time of the fusion metrics on a 256x256 real pair", bench_metrics),
    "models": ("ms per slice of every fusion method at 256x256 and 512x512, GFLOP/s vs matmul", bench_models),
    "gui": ("first use of each network in the window; longest GUI stall while a network fuses", bench_gui),
    "busy": ("ms per slice of every network idle and with other processes keeping every core busy", bench_busy),
    "volume": ("seconds to fuse the 3-D demo volume with every network, and peak memory", bench_volume),
    "registration": ("seconds to register the 3-D demo pair (two misalignments) and a 2-D pair", bench_registration),
    "all": ("models, then metrics", bench_all),
}
