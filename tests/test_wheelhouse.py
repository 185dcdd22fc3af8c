"""``make wheelhouse`` builds every wheel dqm needs; dqm installs from it and runs with no network at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _offline() -> list[str]:
    """A command prefix that runs without any network (a new, empty network namespace)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) to cut the network off")
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a network namespace here: {probe.stderr.decode().strip()}")
    return [unshare, "-n"]


@pytest.mark.slow
def test_dqm_installs_from_the_wheelhouse_with_no_network(tmp_path: Path) -> None:
    offline = _offline()
    wheels = tmp_path / "wheelhouse"
    venv = Path(sys.prefix)
    build = subprocess.run(
        # -o: the running environment is already set up; without it, a checkout whose pyproject.toml is
        # newer than that environment's stamp (a second worktree sharing one venv) re-ran `pip install -e`
        # and left the environment's dqm pointing into the checkout the test ran from.
        ["make", "-s", "-o", str(venv / ".installed"), "wheelhouse", f"WHEELHOUSE={wheels}", f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    names = [p.name for p in wheels.glob("*.whl")]
    assert any(n.startswith("dqm-") for n in names)
    assert any(n.startswith("torch-") and "+cpu" in n for n in names)  # the CPU build, not CUDA

    target = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_NO_INDEX": "1"}
    pip = [
        str(target / "bin" / "pip"),
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(wheels),
        "dqm",
    ]
    install = subprocess.run([*offline, *pip], capture_output=True, text=True, env=env)
    assert install.returncode == 0, install.stdout + install.stderr

    batch, out = tmp_path / "batch", tmp_path / "out"
    dqm = str(target / "bin" / "dqm")
    run = subprocess.run(
        [*offline, "sh", "-c", f"{dqm} synth {batch} -n 4 --max-size 256 && {dqm} audit {batch} --out {out}"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode in (0, 1), run.stdout + run.stderr  # a verdict, not a crash
    assert (out / "results.json").is_file() and (out / "report.html").is_file()
