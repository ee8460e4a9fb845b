"""Built-in models. Each model is one module that registers itself in ``REGISTRY``."""

from __future__ import annotations

from invasim.models.base import REGISTRY, FieldSpec, Model, get_model, register

__all__ = ["REGISTRY", "FieldSpec", "Model", "get_model", "register"]


def _load_builtin() -> None:
    # Imported for their registration side effect; a model missing here is simply not offered.
    import importlib

    for mod in ("fisher_kpp", "gatenby_gawlinski", "anderson_chaplain", "spheroid"):
        try:
            importlib.import_module(f"invasim.models.{mod}")
        except ModuleNotFoundError as exc:  # pragma: no cover - only while a model is in progress
            if exc.name != f"invasim.models.{mod}":
                raise


_load_builtin()
