"""The thread policy for a busy machine and the launcher's environment."""

from __future__ import annotations

import pytest
import torch

from medfuse_gui import _launch
from medfuse_gui.fusion import threads
from medfuse_gui.fusion.threads import LoadSample, ThreadPolicy, others_busy_cores, threads_for


def test_others_busy_cores_subtracts_this_process():
    # 2 s of wall time; all cores together were busy 3.2 s, 1.2 s of it this process: others kept 1 core busy
    before, after = LoadSample(10.0, 100.0, 5.0), LoadSample(12.0, 103.2, 6.2)
    assert others_busy_cores(before, after) == pytest.approx(1.0)
    assert others_busy_cores(before, LoadSample(12.0, 100.5, 6.2)) == 0.0      # never negative


@pytest.mark.parametrize("others, cores, ceiling, expected", [
    (0.0, 2, 2, 2), (0.4, 2, 2, 2), (0.6, 2, 2, 1), (2.0, 2, 2, 1), (5.0, 16, 16, 11), (0.0, 16, 4, 4),
    (0.0, 2, 1, 1)])
def test_threads_for(others, cores, ceiling, expected):
    assert threads_for(others, cores, ceiling) == expected


def test_policy_lowers_under_load_and_never_exceeds_the_callers_count(monkeypatch):
    samples = iter([LoadSample(0.0, 0.0, 0.0), LoadSample(1.0, 2.0, 0.1),        # others: 1.9 cores busy
                    LoadSample(2.0, 2.2, 0.2)])                                     # then idle
    monkeypatch.setattr(threads, "take_sample", lambda: next(samples))
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        policy = ThreadPolicy()
        policy.enabled, policy.cores = True, 2
        policy.prime()
        assert policy.apply() == 1 and torch.get_num_threads() == 1
        assert policy.apply() == 2 and torch.get_num_threads() == 2
        torch.set_num_threads(1)           # the caller chooses 1 (the viewer's fusion lane on 2 cores)
        monkeypatch.setattr(threads, "take_sample", lambda: LoadSample(9.0, 2.2, 0.2))
        assert policy.apply() == 1 and policy.ceiling == 1
    finally:
        torch.set_num_threads(previous)


def test_real_samples_are_readable_here():
    sample = threads.take_sample()
    assert sample is not None and sample.system_busy > 0 and sample.own_cpu > 0
    assert 1 <= threads.usable_cores()


def test_launch_environment_adds_defaults_and_keeps_the_users_values():
    env = _launch.launch_environment({"OMP_WAIT_POLICY": "ACTIVE", "PATH": "/bin"})
    assert env["OMP_WAIT_POLICY"] == "ACTIVE" and env["PATH"] == "/bin"
    assert env["MALLOC_MMAP_THRESHOLD_"] == "1000000000"
    assert _launch.launch_environment({})["OMP_WAIT_POLICY"] == "PASSIVE"


def test_the_console_script_reexecutes_with_one_malloc_arena(tmp_path):
    """The fusion lane's first slice reuses the memory the preload lane's warm-up touched only with one arena."""
    import os
    import subprocess
    import sys

    # a stand-in program: re-executed as `python -m medfuse_gui_probe`, it prints what the launcher set
    (tmp_path / "medfuse_gui_probe.py").write_text(
        "import os; print(os.environ.get('MALLOC_ARENA_MAX'), os.environ.get('OMP_WAIT_POLICY'))\n")
    env = {k: v for k, v in os.environ.items() if k not in _launch.TUNED and k != "MEDFUSE_NO_REEXEC"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    code = "import sys; from medfuse_gui._launch import reexec_with_tuned_malloc as r; r('medfuse_gui_probe', [])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["1", "PASSIVE"], out.stderr


def test_the_relaunch_does_not_import_from_the_current_directory(tmp_path):
    """`medfuse` run in a folder holding a module named like one it imports must still import the installed one."""
    import os
    import subprocess
    import sys

    if sys.version_info < (3, 11):
        pytest.skip("python -P needs 3.11")
    installed, shadow = tmp_path / "installed", tmp_path / "work"
    installed.mkdir()
    shadow.mkdir()
    (installed / "medfuse_gui_probe.py").write_text("import probe_dependency; print(probe_dependency.WHERE)\n")
    (installed / "probe_dependency.py").write_text("WHERE = 'installed'\n")
    (shadow / "probe_dependency.py").write_text("WHERE = 'current directory'\n")
    env = {k: v for k, v in os.environ.items() if k not in _launch.TUNED and k != "MEDFUSE_NO_REEXEC"}
    env["PYTHONPATH"] = os.pathsep.join([str(installed), *[p for p in sys.path if p]])
    code = "from medfuse_gui._launch import reexec_with_tuned_malloc as r; r('medfuse_gui_probe', [])"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=shadow, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split() == ["installed"], out.stderr
