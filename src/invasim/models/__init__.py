"""Built-in models. Each model is one module that registers itself in ``REGISTRY``."""

from __future__ import annotations

from invasim.models.base import REGISTRY, FieldSpec, Model, get_model, register

__all__ = ["REGISTRY", "FieldSpec", "Model", "get_model", "register"]


def _load_builtin() -> None:
    # imported for their registration side effect
    import importlib

    for mod in ("fisher_kpp", "gatenby_gawlinski", "anderson_chaplain", "agents", "ishigami",
                "kuznetsov", "iwata"):
        importlib.import_module(f"invasim.models.{mod}")


_load_builtin()
