"""Field kinds (diffusing substrates, matrices), the container of a run's fields, reactions.

Contract:
    * A field is a table with ``kind`` one of :data:`FIELD_KINDS` (no ``kind``: diffusing, so
      today's ``[params.substrates.<name>]`` tables carry over unchanged):

      - ``diffusing`` (:class:`DiffusingField`): the agent model's ``Substrate`` (same keys,
        defaults and units); stepped by a :class:`~invasim.physics.diffusion.Diffusion`
        solver on the diffusion clock, every diffusion step or on its own ``dt_min`` (a whole
        number of diffusion steps). Its values must stay >= 0.
      - ``matrix`` (:class:`MatrixField`): ECM density, a basement membrane, deposited
        laminin: no diffusion and no solver, never touched on the diffusion clock. Optional
        relaxation ``dm/dt = -λ (m - target)`` (``target`` a number, 0 being plain decay, or
        the field's own initial values) integrated exactly on the phenotype clock or on its
        own ``dt_min``. Its values lie in ``[lower, upper]``.

    * ``initial`` is a number or a generator table (:mod:`invasim.agents.generators`); the
      random ones are keyed by the run's seed and the field's name.
    * :class:`FieldSet` holds a run's arrays by name (float64, ``mesh.array_shape``, each in
      its field's unit) with their specs; :meth:`FieldSet.diffusing` and
      :meth:`FieldSet.diffusion_solvers` give only the diffusing ones to the solver, so a
      matrix costs nothing per diffusion step; :meth:`FieldSet.step_matrices` relaxes the
      matrices in place (vectorised, no allocation).
    * Reactions between fields are pure Numba kernels on whole arrays, in place, exact per
      voxel for the step: :func:`degrade` (``dm/dt = -k e m``, ``m ← m exp(-k e dt)``) and
      :func:`cleave` (the same, the lost amount times ``stoichiometry`` added to a product).
      They are thread-count independent (serial, voxel by voxel).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

import numpy as np
from numba import njit
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from invasim.agents.generators import InitialValue, TableProblem, Uniform, validate_table
from invasim.core.mesh import Mesh
from invasim.errors import ConfigError
from invasim.physics.diffusion import FACES, Boundary, Diffusion

FIELD_KINDS = ("diffusing", "matrix")


class DiffusingField(BaseModel):
    """A diffusing substrate with linear decay (oxygen, MMPs, TGF-beta, ...)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["diffusing"] = Field("diffusing", description="field kind")
    unit: str = Field("mmHg", description="unit of the substrate's values")
    diffusion_um2_per_min: float = Field(
        1.0e5, ge=0, description="diffusion coefficient [µm²/min]; oxygen 1e5 (PhysiCell)"
    )
    decay_per_min: float = Field(
        0.1, ge=0, description="linear decay rate [1/min]; oxygen 0.1 (PhysiCell)"
    )
    boundary: Literal["dirichlet", "no-flux", "dirichlet-voxels"] = Field(
        "dirichlet", description="wall condition: far-field value held at the walls, closed, "
        "or held in the outermost voxels as BioFVM does (dirichlet-voxels, to reproduce "
        "PhysiCell)"
    )
    boundary_value: float = Field(
        38.0, ge=0, description="Dirichlet value at the walls [unit]; oxygen 38 mmHg (PhysiCell)"
    )
    boundary_faces: dict[str, float] | None = Field(
        None,
        description="dirichlet-voxels only: the walls (xmin, xmax, ymin, ymax, zmin, zmax) "
        "that hold their own value [unit], the others closed (BioFVM's per-face Dirichlet "
        "options); unset: every wall at boundary_value",
    )
    initial: InitialValue = Field(
        default_factory=lambda: Uniform(value=38.0),
        description="initial values [unit]: a number or a generator table (>= 0)",
    )
    dt_min: float | None = Field(
        None, gt=0,
        description="its own diffusion step [min]; None: params.dt_diffusion_min. A whole "
        "multiple of dt_diffusion_min that divides dt_mechanics_min: the field (and its cells' "
        "secretion and uptake) is stepped once every dt_min / dt_diffusion_min diffusion steps, "
        "e.g. a slowly diffusing MMP (D ~ 600 µm²/min) beside oxygen (1e5); the scheme's "
        "accuracy limit is checked at dt_min",
    )

    @model_validator(mode="after")
    def _non_negative(self) -> DiffusingField:
        _check_initial(self.initial, *self.allowed(), "a substrate must stay >= 0")
        if self.boundary_faces is not None:
            if self.boundary != "dirichlet-voxels":
                raise ValueError("boundary_faces needs boundary = 'dirichlet-voxels'")
            bad = [f for f in self.boundary_faces if f not in FACES]
            if bad:
                raise ValueError(f"boundary_faces names {bad}; walls: {', '.join(FACES)}")
            if any(not (v >= 0 and math.isfinite(v)) for v in self.boundary_faces.values()):
                raise ValueError("boundary_faces values must be finite and >= 0")
        return self

    def wall(self, value: float | None = None) -> Boundary:
        """The solver's :class:`~invasim.physics.diffusion.Boundary`.

        ``value``: the current boundary value, after interventions (default: the table's).
        """
        faces = tuple(self.boundary_faces.items()) if self.boundary_faces is not None else None
        v = self.boundary_value if value is None else value
        return Boundary(self.boundary, v, faces)

    def allowed(self) -> tuple[float, float]:
        """The interval the field's values must lie in, in its unit."""
        return 0.0, math.inf


class MatrixField(BaseModel):
    """A non-diffusing field: static, or relaxing towards a target on a slow clock."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["matrix"] = Field("matrix", description="field kind")
    unit: str = Field("1", description="unit of the values ('1': a dimensionless density)")
    initial: InitialValue = Field(
        default_factory=lambda: Uniform(value=0.0),
        description="initial values [unit]: a number or a generator table",
    )
    lower: float = Field(0.0, description="smallest allowed value [unit]", allow_inf_nan=False)
    upper: float | None = Field(None, description="largest allowed value [unit]; None: no limit")
    relaxation_per_min: float = Field(
        0.0, ge=0, description="rate λ of dm/dt = -λ (m - target) [1/min]; 0: static"
    )
    relaxation_target: float | Literal["initial"] = Field(
        0.0, description="target of the relaxation [unit] (0: plain decay), or 'initial'"
    )
    dt_min: float | None = Field(
        None, gt=0, description="its own clock [min]; None: relaxed every phenotype step"
    )

    @model_validator(mode="after")
    def _within(self) -> MatrixField:
        lo, hi = self.allowed()
        if not hi > lo:
            raise TableProblem("upper", f"must exceed lower = {lo:g}", self.upper)
        _check_initial(self.initial, lo, hi, f"the matrix's bounds are [{lo:g}, {hi:g}]")
        target = self.relaxation_target
        if isinstance(target, float) and not lo <= target <= hi:
            raise TableProblem("relaxation_target", f"must lie in [{lo:g}, {hi:g}]", target)
        return self

    def allowed(self) -> tuple[float, float]:
        """The interval the field's values must lie in, in its unit."""
        return self.lower, math.inf if self.upper is None else self.upper


def _check_initial(initial: Any, lo: float, hi: float, why: str) -> None:
    """Raise if the generator's known range leaves ``[lo, hi]`` (files are checked on reading)."""
    glo, ghi = initial.bounds()
    for side, value in (("lower", glo), ("upper", ghi)):
        if value is None or (lo <= value if side == "lower" else value <= hi):
            continue
        if math.isinf(value):  # an unclipped random field
            raise TableProblem(f"initial.{side}", f"unset, so values are unbounded; {why}")
        raise TableProblem("initial", f"values reach {value:g}; {why}")


FieldKind = DiffusingField | MatrixField
_MODELS: dict[str, type[BaseModel]] = {"diffusing": DiffusingField, "matrix": MatrixField}


def _parse(value: Any, context: dict | None = None) -> FieldKind:
    if isinstance(value, FieldKind):
        return value
    if not isinstance(value, dict):
        raise TableProblem("", "expected a field table", value)
    kind = value.get("kind", "diffusing")
    if kind not in _MODELS:
        raise TableProblem("kind", f"known: {', '.join(FIELD_KINDS)}", kind)
    return validate_table(_MODELS[kind], value, context)


def matrix_field_problems(params: Any, key: str, name: str) -> list[str]:
    """Problems of a key that must name a matrix field: one line, or none.

    For a process's ``check``: ``key`` is the config key, ``name`` its value, looked up in
    ``params.fields``.
    """
    fields = params.fields
    if name not in fields:
        return [f"{key} = {name!r} is not a field; fields: {', '.join(fields) or 'none'}"]
    if fields[name].kind != "matrix":
        return [f"{key} = {name!r} is a {fields[name].kind} field; it must be a matrix field "
                "(kind = 'matrix')"]  # fmt: skip
    return []


def parse_fields(
    data: Mapping[str, Any], key: str = "fields", context: dict | None = None
) -> dict[str, FieldKind]:
    """Validate a table of fields by name (raw tables or parsed specs).

    Args:
        data: field name -> table (``kind`` ``"diffusing"`` by default, or ``"matrix"``).
        key: the table's dotted key, quoted in errors (e.g. ``"params.fields"``).
        context: validation context (``base_dir``: folder of relative file paths).

    Returns:
        ``dict[str, DiffusingField | MatrixField]`` in the table's order.

    Raises:
        ConfigError: one line naming the key, the value and what is allowed.
    """
    out = {}
    for name, value in data.items():
        try:
            out[str(name)] = _parse(value, context)
        except TableProblem as p:
            raise ConfigError(str(p.under(f"{key}.{name}"))) from None
    return out


#: a field table in a pydantic schema (e.g. ``dict[str, FieldTable]``), one-line errors
FieldTable = Annotated[
    FieldKind,
    PlainValidator(lambda v, info: _parse(v, info.context)),
    PlainSerializer(lambda f, info: f.model_dump(mode=info.mode)),
    WithJsonSchema({"type": "object"}),
]


class FieldSet:
    """A run's fields: named float64 arrays of ``mesh.array_shape`` with kind and unit.

    Args:
        mesh: the mesh every field lives on.
        specs: field name -> :class:`DiffusingField` or :class:`MatrixField` (order kept).
        seed: the run's seed; random initial values are keyed by it and the field's name.
        arrays: the current values (e.g. from a checkpoint), one per spec, copied; None:
            generated from each spec's ``initial``.

    Raises:
        ConfigError: an initial condition does not fit the mesh, or makes values outside
            the field's allowed interval.
        ValueError: ``arrays`` does not hold exactly the specs' names at the mesh's shape.
    """

    def __init__(
        self,
        mesh: Mesh,
        specs: Mapping[str, FieldKind],
        seed: int = 0,
        arrays: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.mesh, self.seed, self.specs = mesh, int(seed), dict(specs)
        self.arrays: dict[str, np.ndarray] = {}
        self._targets: dict[str, np.ndarray | float] = {}
        if arrays is not None and set(arrays) != set(self.specs):
            raise ValueError(f"arrays {sorted(arrays)} must match the fields {sorted(specs)}")
        for name, spec in self.specs.items():
            if arrays is None:
                self.arrays[name] = self._initial(name, spec)
            else:
                a = np.array(arrays[name], dtype=np.float64, order="C")  # a copy
                if a.shape != mesh.array_shape:
                    raise ValueError(f"field {name!r} has shape {a.shape}, not {mesh.array_shape}")
                self.arrays[name] = a
            if isinstance(spec, MatrixField) and spec.relaxation_per_min > 0:
                if spec.relaxation_target != "initial":
                    self._targets[name] = float(spec.relaxation_target)
                elif arrays is None:
                    self._targets[name] = self.arrays[name].copy()
                else:  # resumed: the initial values are made again, the same from the seed
                    self._targets[name] = self._initial(name, spec)

    def _initial(self, name: str, spec: FieldKind) -> np.ndarray:
        u = spec.initial.generate(self.mesh, self.seed, name)
        lo, hi = spec.allowed()
        if u.size and not (u.min() >= lo and u.max() <= hi):
            raise ConfigError(
                f"field {name!r}: initial values span [{u.min():g}, {u.max():g}], outside the "
                f"allowed [{lo:g}, {hi:g}] of a {spec.kind} field"
            )
        return u

    # -- access ------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __len__(self) -> int:
        return len(self.arrays)

    def kind(self, name: str) -> str:
        """The field's kind, one of :data:`FIELD_KINDS`."""
        return self.specs[name].kind

    def unit(self, name: str) -> str:
        """The unit of the field's values."""
        return self.specs[name].unit

    def diffusing(self) -> dict[str, np.ndarray]:
        """The diffusing fields' arrays by name (the arrays themselves, not copies)."""
        return {n: a for n, a in self.arrays.items() if self.specs[n].kind == "diffusing"}

    def matrices(self) -> dict[str, np.ndarray]:
        """The matrix fields' arrays by name (the arrays themselves, not copies)."""
        return {n: a for n, a in self.arrays.items() if self.specs[n].kind == "matrix"}

    def metadata(self) -> dict[str, dict[str, Any]]:
        """Plain data per field for run metadata: kind, unit and the rest of its spec."""
        return {n: s.model_dump(mode="json", exclude={"initial"}) for n, s in self.specs.items()}

    # -- dynamics ----------------------------------------------------------------------------
    def diffusion_solvers(self, dt: float, scheme: str = "lod-cn") -> dict[str, Diffusion]:
        """One :class:`~invasim.physics.diffusion.Diffusion` per diffusing field, step ``dt`` min.

        Matrices get none: step ``solvers[n].step(u)`` over :meth:`diffusing` items.
        """
        out = {}
        for name, spec in self.specs.items():
            if isinstance(spec, DiffusingField):
                bc = spec.wall()
                D, decay = spec.diffusion_um2_per_min, spec.decay_per_min
                out[name] = Diffusion(self.mesh, D, decay, dt, bc, scheme)
        return out

    def step_matrices(self, dt: float, t_min: float = 0.0) -> None:
        """Relax every relaxing matrix over ``[t_min, t_min + dt]`` (min), exactly, in place.

        A matrix with its own ``dt_min`` moves by ``dt_min`` once per multiple of ``dt_min``
        the interval crosses, so it depends on the time, not on how the caller steps: a
        resumed run matches an uninterrupted one. Static matrices are not touched.
        """
        for name, target in self._targets.items():
            spec = self.specs[name]
            assert isinstance(spec, MatrixField)
            tau = dt
            if spec.dt_min is not None:
                ticks = math.floor((t_min + dt) / spec.dt_min + 1e-9)
                tau = (ticks - math.floor(t_min / spec.dt_min + 1e-9)) * spec.dt_min
            if tau <= 0:
                continue
            u, f = self.arrays[name], math.exp(-spec.relaxation_per_min * tau)
            u -= target
            u *= f
            u += target


# -- reactions ---------------------------------------------------------------------------------
@njit(cache=True)
def _degrade(m, e, x):  # pragma: no cover - compiled
    for i in range(m.size):
        m[i] *= math.exp(-x * max(e[i], 0.0))


@njit(cache=True)
def _cleave(m, e, p, x, s):  # pragma: no cover - compiled
    for i in range(m.size):
        lost = m[i] * -math.expm1(-x * max(e[i], 0.0))
        m[i] -= lost
        p[i] += s * lost


def _flat(name: str, a: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    if a.dtype != np.float64 or not a.flags.c_contiguous or not a.flags.writeable:
        raise ValueError(f"{name} must be a writeable float64 C-contiguous array, got {a.dtype}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    return a.reshape(-1)


def degrade(matrix: np.ndarray, enzyme: np.ndarray, rate: float, dt: float) -> None:
    """Degrade ``matrix`` by ``enzyme`` over ``dt``: ``m ← m exp(-rate e dt)``, in place.

    The exact solution of ``dm/dt = -k e m`` with ``e`` held over the step, so ``m`` stays
    non-negative for any ``dt``; negative ``e`` (round-off of a diffused field) counts as 0.

    Args:
        matrix: ``m``, float64 C-contiguous, any shape, its own unit; changed in place.
        enzyme: ``e``, float64, the shape of ``matrix`` (enzyme unit).
        rate: ``k`` >= 0, 1/(enzyme unit · min).
        dt: time step >= 0, min.
    """
    if not (rate >= 0 and dt >= 0):
        raise ValueError(f"need rate >= 0 and dt >= 0, got rate={rate}, dt={dt}")
    e = _flat("enzyme", np.ascontiguousarray(enzyme, dtype=np.float64), matrix.shape)
    _degrade(_flat("matrix", matrix), e, float(rate) * float(dt))


def cleave(
    matrix: np.ndarray,
    enzyme: np.ndarray,
    product: np.ndarray,
    rate: float,
    dt: float,
    stoichiometry: float = 1.0,
) -> None:
    """:func:`degrade`, adding ``stoichiometry`` × the amount lost to ``product``, in place.

    With ``stoichiometry = 1`` (product counted in the matrix's unit) ``matrix + product`` is
    conserved voxel by voxel, to round-off (laminin-5 cleaved by MMP into its fragments).

    Args:
        matrix: ``m``, float64 C-contiguous; changed in place.
        enzyme: ``e``, float64, the shape of ``matrix``.
        product: float64 C-contiguous, the shape of ``matrix``; changed in place.
        rate: ``k`` >= 0, 1/(enzyme unit · min).
        dt: time step >= 0, min.
        stoichiometry: product made per unit of matrix lost (product unit / matrix unit).
    """
    if not (rate >= 0 and dt >= 0 and stoichiometry >= 0):
        raise ValueError(f"need rate, dt, stoichiometry >= 0, got {rate}, {dt}, {stoichiometry}")
    e = _flat("enzyme", np.ascontiguousarray(enzyme, dtype=np.float64), matrix.shape)
    p = _flat("product", product, matrix.shape)
    _cleave(_flat("matrix", matrix), e, p, float(rate) * float(dt), float(stoichiometry))
