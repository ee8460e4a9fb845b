"""Immune readouts: killer cells' states (the cytotoxicity process's columns).

Contract:
    * ``exhausted_<type>``: live cells of each type whose exhaustion is 1 (they kill no more);
      ``engaged_<type>``: live cells of each type that are partly exhausted (0 < X < 1);
      ``kills_by_<type>``: the kills the live cells of each type have made (a daughter starts at
      0; cells gone take theirs with them: ``kills_total``, the process's metric, counts all).
      They apply where the cell table has the ``exhaustion`` / ``kills`` columns (the
      cytotoxicity process runs); the same functions read a live run and a stored one.
    * ``tumour_pdl1_mean``: the mean of the trait column ``pdl1`` (:data:`PDL1_TRAIT`, the
      relative PD-L1 expression a scenario declares as a heritable trait) over the live tumour
      cells (:func:`~invasim.analysis.pathology.tumour_mask`); NaN without tumour cells. Its rise
      under immune pressure is immunoediting.
    * Macrophage polarisation by type name (case-insensitive prefixes): *M1* types start with
      ``macrophage_m1`` or ``m1_``, *M2* (tumour-associated, TAM) types with ``macrophage_m2``,
      ``m2_`` or ``tam``. ``m1_m2_ratio``: live M1 / live M2 (NaN without live M2 cells);
      ``frac_m2``: live M2 / (live M1 + live M2) (NaN without macrophages). They apply when the
      snapshot has both an M1 and an M2 type.
    * Counts by type are ``n_<type>`` (:mod:`invasim.analysis.readouts`); kills per hour are the
      cytotoxicity process's ``kills_per_hour``.
"""

from __future__ import annotations

import numpy as np

from invasim.analysis.pathology import tumour_mask
from invasim.analysis.readouts import ALIVE, TYPE, has_column, readout
from invasim.analysis.snapshot import Snapshot

#: the trait column of heritable PD-L1 expression that ``tumour_pdl1_mean`` reads
PDL1_TRAIT = "pdl1"


def _per_type(s: Snapshot, prefix: str, values: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    types = s.cells["type"].to_numpy()
    alive = (s.cells["dead"].to_numpy() == ALIVE) & mask
    sums = np.bincount(types[alive], weights=values[alive], minlength=len(s.type_names))
    return {f"{prefix}{t}": float(sums[i]) for i, t in enumerate(s.type_names)}


@readout(f"exhausted_{TYPE}", "cells", "live cells of each type that are exhausted "
         "(exhaustion 1: they kill no more)", has_column("exhaustion"))  # fmt: skip
def exhausted(s: Snapshot) -> dict[str, float]:
    """Live exhausted cells per type."""
    x = s.cells["exhaustion"].to_numpy(np.float64)
    return _per_type(s, "exhausted_", np.ones_like(x), x >= 1.0)


@readout(f"engaged_{TYPE}", "cells", "live cells of each type partly exhausted (0 < "
         "exhaustion < 1: they have killed or met PD-L1)", has_column("exhaustion"))  # fmt: skip
def engaged(s: Snapshot) -> dict[str, float]:
    """Live partly exhausted cells per type."""
    x = s.cells["exhaustion"].to_numpy(np.float64)
    return _per_type(s, "engaged_", np.ones_like(x), (x > 0.0) & (x < 1.0))


@readout(f"kills_by_{TYPE}", "cells", "kills made by the live cells of each type",
         has_column("kills"))  # fmt: skip
def kills_by(s: Snapshot) -> dict[str, float]:
    """Kills of the live cells per type."""
    k = s.cells["kills"].to_numpy(np.float64)
    return _per_type(s, "kills_by_", k, np.ones(k.shape, dtype=bool))


@readout("tumour_pdl1_mean", "", "mean heritable PD-L1 trait (relative expression) of the live "
         "tumour cells (NaN without them)", has_column(PDL1_TRAIT))  # fmt: skip
def tumour_pdl1_mean(s: Snapshot) -> float:
    """Mean ``pdl1`` trait of the live tumour cells."""
    m = tumour_mask(s)
    return float(s.cells[PDL1_TRAIT].to_numpy(np.float64)[m].mean()) if m.any() else float("nan")


#: name prefixes of the M1 and M2 (TAM) macrophage types
M1_PREFIXES = ("macrophage_m1", "m1_")
M2_PREFIXES = ("macrophage_m2", "m2_", "tam")


def _polarised(s: Snapshot) -> tuple[int, int]:
    """Live M1 and M2 macrophages."""
    names = [t.lower() for t in s.type_names]
    m1 = [k for k, t in enumerate(names) if t.startswith(M1_PREFIXES)]
    m2 = [k for k, t in enumerate(names) if t.startswith(M2_PREFIXES)]
    types = s.cells["type"].to_numpy()
    alive = s.cells["dead"].to_numpy() == ALIVE
    return (int(np.count_nonzero(alive & np.isin(types, m1))),
            int(np.count_nonzero(alive & np.isin(types, m2))))  # fmt: skip


def _has_macrophages(s: Snapshot) -> bool:
    names = [t.lower() for t in s.type_names]
    return (s.cells is not None and any(t.startswith(M1_PREFIXES) for t in names)
            and any(t.startswith(M2_PREFIXES) for t in names))  # fmt: skip


@readout("m1_m2_ratio", "", "live M1 over live M2 (tumour-associated) macrophages (NaN "
         "without M2)", _has_macrophages)  # fmt: skip
def m1_m2_ratio(s: Snapshot) -> float:
    """M1 / M2 among the live macrophages."""
    m1, m2 = _polarised(s)
    return m1 / m2 if m2 else float("nan")


@readout("frac_m2", "", "share of the live macrophages that are M2 (tumour-associated; NaN "
         "without macrophages)", _has_macrophages)  # fmt: skip
def frac_m2(s: Snapshot) -> float:
    """M2 / (M1 + M2) among the live macrophages."""
    m1, m2 = _polarised(s)
    return m2 / (m1 + m2) if m1 + m2 else float("nan")
