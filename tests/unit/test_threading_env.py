"""invasim sets libgomp's spin count for its parallel kernels unless the user chose one."""

from __future__ import annotations

import os
import subprocess
import sys


def _spincount(env: dict[str, str]) -> str:
    code = "import invasim, os; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.strip()


def test_default_spincount_is_set_on_import():
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    import invasim

    assert _spincount(env) == invasim.GOMP_SPINCOUNT == "2000"


def test_user_spincount_is_kept():
    env = {**os.environ, "GOMP_SPINCOUNT": "123"}
    assert _spincount(env) == "123"
