"""Initial conditions of fields: small schemas that each make one array on a mesh.

Contract:
    * A generator is a table with ``kind`` one of :data:`KINDS` (or a plain number, read as
      ``uniform``); :meth:`generate` ``(mesh, seed, name)`` returns a new float64,
      C-contiguous array of shape ``mesh.array_shape`` = ``(nz, ny, nx)`` in the field's own
      unit. Lengths are in µm, positions in the mesh's frame (voxel ``[k, j, i]`` centred at
      ``((i + ½) h, (j + ½) h, (k + ½) h)``).
    * ``uniform``: ``value`` everywhere.
    * ``layer`` (or ``slab``): ``value`` in ``lo_um <= axis <= hi_um``, ``background``
      elsewhere. Sharp (``edge_um = 0``): each voxel gets the fraction of its width inside the
      slab, so a basement membrane thinner than a voxel keeps its amount. Smooth: the C¹
      smoothstep ``3t² - 2t³`` of ``t = ½ + d / edge_um`` (``d`` the signed distance into the
      slab) on each face: half-way at the face, flat ``edge_um / 2`` either side of it.
    * ``ball`` (or ``disc``): ``inside`` within ``radius_um`` of ``centre_um`` (one
      coordinate per mesh axis), ``outside`` beyond; sharp by voxel centre, or the same
      smoothstep across the sphere.
    * ``gaussian_random_field``: stationary Gaussian field with ``mean``, standard deviation
      ``std`` and covariance ``C(r) = std² exp(-r² / (2 ℓ²))``, ``ℓ = correlation_um``: the
      correlation at lag ``ℓ`` is ``e^-½ = 0.607`` (ℓ is the standard deviation of the
      Gaussian correlation function, not its 1/e length, which is ``√2 ℓ``). White noise
      from ``np.random.default_rng(SeedSequence([seed, blake2b(name), stream]))`` (so fields
      of one run differ and one field is the same on every run with that seed) is filtered
      by ``exp(-|k|² ℓ² / 4)``, the square root of the covariance's spectrum, with a real
      FFT. The periodic FFT would correlate opposite walls, so the field is made on a grid
      padded by ``ceil(PAD_CORRELATIONS ℓ / h)`` voxels per axis (wrapped images at least
      ``4 ℓ`` apart: covariance error <= ``e^-8 = 3.4e-4`` std²) and cropped. The variance is
      normalised exactly on the discrete grid; the band limit of the mesh bends ``C`` by
      about ``exp(-π² ℓ² / (2 h²))`` (0.7 % at ``ℓ = h``), so ``correlation_um >= voxel_um``
      is required. Optional ``lower``/``upper`` clip the values (which changes the moments).
      ``within_axis`` with ``within_lo_um``/``within_hi_um`` confines it to a slab (voxel
      centres inside; ``outside`` elsewhere): a stroma under a basement membrane. The values
      inside do not depend on the slab.
    * ``file``: a ``.npy``, ``.npz`` (``key`` names the array unless there is one), Zarr
      (a ``.zarr`` path; ``key`` names the array in a group) or image (PNG, TIFF, JPEG, BMP)
      file. No resampling: the array must have the mesh's shape, ``mesh.shape`` (``(ny,
      nx)`` in 2-D) or ``mesh.array_shape``. Arrays are taken verbatim (the field's unit);
      images are grey levels (RGB by Rec. 601 luma, alpha dropped) scaled so that 0 maps to
      ``lower`` and full scale (255, 65535, or 1.0 for float images) to ``upper``, and
      flipped top to bottom (image row 0 is the top, mesh row 0 is ``y = h / 2``), so a plot
      with ``origin="lower"`` shows the picture upright. Relative paths are taken from the
      scenario's folder (validation context ``base_dir``).
    * Bad input raises :class:`~invasim.errors.ConfigError` (or, inside a pydantic schema, a
      :class:`TableProblem`), one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from scipy import fft

from invasim.core.mesh import AXIS_NAMES, Mesh
from invasim.errors import ConfigError

KINDS = ("uniform", "layer", "slab", "ball", "disc", "gaussian_random_field", "file")
#: padding of the random field's FFT grid, in correlation lengths
PAD_CORRELATIONS = 4.0
#: random stream of initial fields (a word of the seed sequence; other uses take others)
STREAM_INITIAL = 1
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
_LUMA = np.array([0.299, 0.587, 0.114])
_NO_VALUE = object()


class TableProblem(ValueError):
    """A bad table: the relative ``key`` (``""`` for the table itself), the value, what is wrong.

    A ``ValueError``, so pydantic reports it at the table's location; ``str()`` is one line.
    """

    def __init__(self, key: str, what: str, value: Any = _NO_VALUE) -> None:
        self.key, self.what, self.value = key, what, value
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = "" if self.value is _NO_VALUE else f" = {json.dumps(self.value, default=str)}"
        if not self.key:
            return f"{self.what} (got{shown[2:]})" if shown else self.what
        return f"{self.key}{shown}: {self.what}"

    def under(self, prefix: str) -> TableProblem:
        """The same problem seen from the table that holds this one under ``prefix``."""
        return TableProblem(f"{prefix}.{self.key}" if self.key else prefix, self.what, self.value)


def validate_table(model: type[BaseModel], data: dict, context: dict | None = None) -> Any:
    """``model.model_validate(data)`` (strict), a failure raised as one :class:`TableProblem`."""
    try:
        return model.model_validate(data, strict=True, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        # an unknown key (a misspelt "std") explains the missing one: report it first
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = ".".join(str(p) for p in err["loc"])
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, TableProblem):
            problem = inner.under(loc) if loc else inner
        elif err["type"] == "extra_forbidden":
            allowed = sorted(model.model_fields)
            hint = difflib.get_close_matches(loc, allowed, n=1)
            hint = hint or [a for a in allowed if a.startswith(loc)][:1]  # "dt" for "dt_min"
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            problem = TableProblem("", f"unknown key {loc!r}{did}; allowed: {', '.join(allowed)}")
        elif err["type"] == "missing":
            problem = TableProblem("", f"missing required key {loc!r}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            problem = TableProblem(loc, msg, err.get("input", _NO_VALUE))
        raise problem from None


def seed_sequence(seed: int, name: str, stream: int = STREAM_INITIAL) -> np.random.SeedSequence:
    """Seed sequence keyed by the run ``seed``, a stable hash of ``name`` and ``stream``."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return np.random.SeedSequence([int(seed) % 2**64, int.from_bytes(digest, "little"), stream])


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class _Generator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def check(self, mesh: Mesh) -> list[str]:
        """Problems that stop this generator on ``mesh`` (one line each; none: ``[]``)."""
        return self._problems(mesh)

    def generate(self, mesh: Mesh, seed: int = 0, name: str = "") -> np.ndarray:
        """The initial array, float64 ``mesh.array_shape``; ``name`` keys the random stream.

        Raises:
            ConfigError: the generator does not fit ``mesh``, or its file does not (one line).
        """
        out = np.empty(mesh.array_shape, dtype=np.float64)
        try:
            problems = self._problems(mesh)
            if problems:
                raise TableProblem("", problems[0])
            out[...] = self._values(mesh, seed, name)
        except TableProblem as p:
            where = f"field {name!r}: initial" if name else "initial"
            raise ConfigError(f"{where}: {p}") from None
        return out

    def _problems(self, mesh: Mesh) -> list[str]:
        return []

    def bounds(self) -> tuple[float | None, float | None]:
        """Smallest and largest value it can produce (±inf: unbounded; None: not known)."""
        return None, None

    def _values(self, mesh: Mesh, seed: int, name: str) -> np.ndarray | float:
        raise NotImplementedError


class Uniform(_Generator):
    """The same value in every voxel."""

    kind: Literal["uniform"] = "uniform"
    value: float = Field(description="the value everywhere [field unit]", allow_inf_nan=False)

    def bounds(self) -> tuple[float | None, float | None]:  # noqa: D102
        return self.value, self.value

    def _values(self, mesh: Mesh, seed: int, name: str) -> float:
        return self.value


class Layer(_Generator):
    """An axis-aligned slab (a basement membrane, a stroma layer) over a background."""

    kind: Literal["layer", "slab"] = "layer"
    axis: Literal["x", "y", "z"] = Field(description="the axis across the slab")
    lo_um: float = Field(description="lower face of the slab along axis [µm]")
    hi_um: float = Field(description="upper face of the slab along axis [µm]")
    value: float = Field(description="value inside the slab [field unit]", allow_inf_nan=False)
    background: float = Field(0.0, description="value outside [field unit]", allow_inf_nan=False)
    edge_um: float = Field(
        0.0, ge=0, description="width of the smooth edge, centred on each face [µm]; 0: sharp"
    )

    @model_validator(mode="after")
    def _order(self) -> Layer:
        if not self.hi_um > self.lo_um:
            raise TableProblem("hi_um", f"must exceed lo_um = {self.lo_um:g}", self.hi_um)
        return self

    def _problems(self, mesh: Mesh) -> list[str]:
        if AXIS_NAMES.index(self.axis) >= mesh.dim:
            return [f"axis = {self.axis!r}: a {mesh.dim}-D mesh has axes {AXIS_NAMES[: mesh.dim]}"]
        return []

    def bounds(self) -> tuple[float | None, float | None]:  # noqa: D102
        return min(self.value, self.background), max(self.value, self.background)

    def _values(self, mesh: Mesh, seed: int, name: str) -> np.ndarray:
        c, h = mesh.grids()[AXIS_NAMES.index(self.axis)], mesh.h
        if self.edge_um == 0.0:
            overlap = np.minimum(c + h / 2, self.hi_um) - np.maximum(c - h / 2, self.lo_um)
            f = np.clip(overlap / h, 0.0, 1.0)
        else:
            w = self.edge_um
            f = _smoothstep(0.5 + (c - self.lo_um) / w) * _smoothstep(0.5 + (self.hi_um - c) / w)
        return self.background + (self.value - self.background) * f


class Ball(_Generator):
    """A ball (a disc in 2-D): a spheroid's matrix, a lesion, a wound."""

    kind: Literal["ball", "disc"] = "ball"
    centre_um: list[float] = Field(description="centre, one coordinate per mesh axis [µm]")
    radius_um: float = Field(gt=0, description="radius [µm]")
    inside: float = Field(description="value inside [field unit]", allow_inf_nan=False)
    outside: float = Field(0.0, description="value outside [field unit]", allow_inf_nan=False)
    edge_um: float = Field(
        0.0,
        ge=0,
        description="width of the smooth edge, centred on the sphere [µm]; 0: sharp "
        "(voxel centres within radius_um are inside)",
    )

    def _problems(self, mesh: Mesh) -> list[str]:
        if len(self.centre_um) != mesh.dim:
            axes = ", ".join(AXIS_NAMES[: mesh.dim])
            return [f"centre_um = {self.centre_um}: give {mesh.dim} coordinates ({axes})"]
        return []

    def bounds(self) -> tuple[float | None, float | None]:  # noqa: D102
        return min(self.inside, self.outside), max(self.inside, self.outside)

    def _values(self, mesh: Mesh, seed: int, name: str) -> np.ndarray:
        grids = mesh.grids()[: mesh.dim]
        r = np.sqrt(sum((g - c) ** 2 for g, c in zip(grids, self.centre_um, strict=True)))
        d = self.radius_um - r
        f = (d >= 0.0).astype(float) if self.edge_um == 0.0 else _smoothstep(0.5 + d / self.edge_um)
        return self.outside + (self.inside - self.outside) * f


class GaussianRandomField(_Generator):
    """Stationary Gaussian random field with a squared-exponential covariance."""

    kind: Literal["gaussian_random_field"] = "gaussian_random_field"
    mean: float = Field(description="mean value [field unit]", allow_inf_nan=False)
    std: float = Field(ge=0, description="standard deviation [field unit]", allow_inf_nan=False)
    correlation_um: float = Field(
        gt=0,
        description="ℓ in C(r) = std² exp(-r²/(2ℓ²)), the correlation is e^-½ at lag ℓ [µm]; "
        "at least the voxel side",
    )
    lower: float | None = Field(None, description="clip values below this [field unit]")
    upper: float | None = Field(None, description="clip values above this [field unit]")
    within_axis: Literal["x", "y", "z"] | None = Field(
        None, description="confine the field to a slab across this axis (a stroma under a "
        "basement membrane); voxels whose centre lies outside [within_lo_um, within_hi_um] "
        "get `outside`; unset: everywhere",
    )  # fmt: skip
    within_lo_um: float = Field(-math.inf, description="lower face of the slab [µm]")
    within_hi_um: float = Field(math.inf, description="upper face of the slab [µm]")
    outside: float = Field(
        0.0, description="value outside the slab [field unit]", allow_inf_nan=False
    )

    @field_validator("within_lo_um", "within_hi_um", mode="before")
    @classmethod
    def _open_face(cls, value: Any, info: ValidationInfo) -> Any:
        # JSON has no infinity: a stored run writes an open face as null
        if value is None:
            return -math.inf if info.field_name == "within_lo_um" else math.inf
        return value

    @model_validator(mode="after")
    def _order(self) -> GaussianRandomField:
        if self.lower is not None and self.upper is not None and not self.upper > self.lower:
            raise TableProblem("upper", f"must exceed lower = {self.lower:g}", self.upper)
        if not self.within_hi_um > self.within_lo_um:
            raise TableProblem("within_hi_um", f"must exceed within_lo_um = "
                               f"{self.within_lo_um:g}", self.within_hi_um)  # fmt: skip
        return self

    def _problems(self, mesh: Mesh) -> list[str]:
        if self.within_axis is not None and AXIS_NAMES.index(self.within_axis) >= mesh.dim:
            axes = AXIS_NAMES[: mesh.dim]
            return [f"within_axis = {self.within_axis!r}: a {mesh.dim}-D mesh has axes {axes}"]
        if self.correlation_um < mesh.h * (1 - 1e-12):
            return [
                f"correlation_um = {self.correlation_um:g} is below the voxel side {mesh.h:g} "
                f"µm, which cannot resolve it; use correlation_um >= {mesh.h:g}"
            ]
        return []

    def bounds(self) -> tuple[float | None, float | None]:  # noqa: D102
        lo = -math.inf if self.lower is None else self.lower
        hi = math.inf if self.upper is None else self.upper
        if self.std == 0.0:
            lo = hi = float(np.clip(self.mean, lo, hi))
        if self.within_axis is not None:
            lo, hi = min(lo, self.outside), max(hi, self.outside)
        return lo, hi

    def _confine(self, mesh: Mesh, u: np.ndarray) -> np.ndarray:
        """``u`` with the voxels outside the ``within`` slab set to ``outside``."""
        if self.within_axis is None:
            return u
        c = np.broadcast_to(mesh.grids()[AXIS_NAMES.index(self.within_axis)], u.shape)
        return np.where((c >= self.within_lo_um) & (c <= self.within_hi_um), u, self.outside)

    def _values(self, mesh: Mesh, seed: int, name: str) -> np.ndarray:
        rng = np.random.default_rng(seed_sequence(seed, name))
        ell, h = self.correlation_um, mesh.h
        pad = math.ceil(PAD_CORRELATIONS * ell / h)
        sizes, amp, norm = [], np.ones((1, 1, 1)), 1.0
        for a, n in enumerate(mesh.array_shape):  # a = 0, 1, 2: z, y, x
            exists = 2 - a < mesh.dim
            m = fft.next_fast_len(n + pad, real=True) if exists else 1
            sizes.append(m)
            k = 2.0 * np.pi * fft.fftfreq(m, d=h)
            s2 = np.exp(-0.5 * (k * ell) ** 2)  # spectrum of exp(-r²/(2ℓ²)) along this axis
            norm *= s2.mean()  # variance of the filtered unit white noise: mean of |filter|²
            if a == 2:
                k = k[: m // 2 + 1]
            shape = [1, 1, 1]
            shape[a] = k.size
            amp = amp * np.exp(-0.25 * (k * ell) ** 2).reshape(shape)
        noise = rng.standard_normal(sizes)
        crop = tuple(slice(0, n) for n in mesh.array_shape)
        u = fft.irfftn(fft.rfftn(noise) * amp, s=sizes)[crop]
        u *= self.std / math.sqrt(norm)
        u += self.mean
        if self.lower is not None or self.upper is not None:
            np.clip(u, self.lower, self.upper, out=u)
        return self._confine(mesh, u)


class FileInput(_Generator):
    """An array or a grey-level image read from a file, of the mesh's shape."""

    kind: Literal["file"] = "file"
    path: str = Field(
        description="a .npy, .npz or .zarr array or an image (.png, .tif, ...), relative to the "
        "scenario's folder"
    )
    key: str | None = Field(None, description="array name in an .npz or a Zarr group")
    lower: float = Field(0.0, description="images only: value of grey level 0 [field unit]")
    upper: float = Field(1.0, description="images only: value of full-scale grey [field unit]")

    @model_validator(mode="after")
    def _resolve(self, info: ValidationInfo) -> FileInput:
        path = Path(self.path).expanduser()
        base_dir = (info.context or {}).get("base_dir") if info is not None else None
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.exists():
            raise TableProblem("path", "no such file or directory", str(path))
        if not self.is_image and {"lower", "upper"} & self.model_fields_set:
            raise TableProblem("", "lower/upper scale images only; arrays are read verbatim")
        object.__setattr__(self, "path", str(path.absolute()))
        return self

    @property
    def is_image(self) -> bool:
        """Whether the file is read as an image (by its suffix)."""
        return Path(self.path).suffix.lower() in IMAGE_SUFFIXES

    def check(self, mesh: Mesh) -> list[str]:
        """Problems that stop this generator on ``mesh``; reads the file (one line each)."""
        try:
            self._values(mesh, 0, "")
        except TableProblem as p:
            return [str(p)]
        return []

    def bounds(self) -> tuple[float | None, float | None]:  # noqa: D102
        if self.is_image:
            return min(self.lower, self.upper), max(self.lower, self.upper)
        return None, None

    def _values(self, mesh: Mesh, seed: int, name: str) -> np.ndarray:
        try:
            arr = self._load()
        except TableProblem as p:
            raise TableProblem("path", p.what, self.path) from None
        except Exception as exc:  # every reader raises its own types for a broken file
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TableProblem("path", f"cannot read it ({reason})", self.path) from None
        if arr.shape not in (mesh.shape, mesh.array_shape):
            axes = ", ".join(mesh.dims)
            what = f"holds an array of shape {arr.shape}, the mesh needs ({axes}) = {mesh.shape}"
            raise TableProblem("path", f"{what} (no resampling; regrid the file)", self.path)
        if not np.all(np.isfinite(arr)):
            raise TableProblem("path", "holds NaN or infinite values", self.path)
        return arr.reshape(mesh.array_shape)

    def _load(self) -> np.ndarray:
        suffix = Path(self.path).suffix.lower()
        if self.is_image:
            return self._image()
        if suffix == ".npy":  # not np.load: it reads a file that is no .npy as a pickle
            with open(self.path, "rb") as f:
                arr = np.lib.format.read_array(f, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(self.path, allow_pickle=False) as data:
                arr = data[self._pick(list(data.files))]
        elif suffix == ".zarr" or Path(self.path).is_dir():
            import zarr

            node = zarr.open(self.path, mode="r")
            if isinstance(node, zarr.Group):
                node = node[self._pick(sorted(node.array_keys()))]
            arr = np.asarray(node[...])
        else:
            kinds = ", ".join((".npy", ".npz", ".zarr", *IMAGE_SUFFIXES))
            raise TableProblem("", f"unknown file type; use one of {kinds}")
        if arr.dtype.kind not in "biuf":
            raise TableProblem("", f"holds {arr.dtype} values, expected numbers")
        return np.asarray(arr, dtype=np.float64)

    def _pick(self, names: list[str]) -> str:
        if self.key is None and len(names) == 1:
            return names[0]
        if self.key in names:
            return str(self.key)
        raise TableProblem("", f"key = {self.key!r} names none of its arrays {names}")

    def _image(self) -> np.ndarray:
        import imageio.v3 as iio

        tiff = Path(self.path).suffix.lower() in (".tif", ".tiff")
        img = np.asarray(iio.imread(self.path, plugin=None if tiff else "pillow"))
        if img.dtype.kind in "ui":
            grey = img.astype(np.float64) / np.iinfo(img.dtype).max
        elif img.dtype.kind == "b":
            grey = img.astype(np.float64)
        else:
            grey = img.astype(np.float64)
            if grey.size and not (grey.min() >= 0.0 and grey.max() <= 1.0):
                raise TableProblem("", "a float image must hold grey levels in [0, 1]")
        if grey.ndim == 3 and grey.shape[-1] in (3, 4):
            grey = grey[..., :3] @ _LUMA
        if grey.ndim != 2:
            raise TableProblem("", f"image of shape {img.shape}: expected one grey or RGB(A) plane")
        return self.lower + (self.upper - self.lower) * grey[::-1]


FieldGenerator = Uniform | Layer | Ball | GaussianRandomField | FileInput
_MODELS: dict[str, type[_Generator]] = {
    kind: model
    for model in get_args(FieldGenerator)
    for kind in get_args(model.model_fields["kind"].annotation)
}
assert set(_MODELS) == set(KINDS)


def _parse(value: Any, context: dict | None = None) -> FieldGenerator:
    if isinstance(value, _Generator):
        return value  # type: ignore[return-value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise TableProblem("", "expected a finite number", value)
        return Uniform(value=float(value))
    if not isinstance(value, dict):
        raise TableProblem("", "expected a number or a generator table with kind = ...", value)
    kind = value.get("kind")
    if kind is None:
        raise TableProblem("", f"a generator table needs kind = one of: {', '.join(KINDS)}")
    if kind not in _MODELS:
        hint = difflib.get_close_matches(str(kind), KINDS, n=1)
        did = f"did you mean {hint[0]!r}? " if hint else ""
        raise TableProblem("kind", f"{did}known: {', '.join(KINDS)}", kind)
    return validate_table(_MODELS[kind], value, context)


def parse_generator(value: Any, key: str = "initial", context: dict | None = None) -> Any:
    """Validate an initial condition: a number (``uniform``) or a generator table.

    Args:
        value: the raw value.
        key: its dotted key, quoted in errors (e.g. ``"params.fields.ecm.initial"``).
        context: validation context (``base_dir``: folder of relative file paths).

    Returns:
        One of :class:`Uniform`, :class:`Layer`, :class:`Ball`, :class:`GaussianRandomField`,
        :class:`FileInput`.

    Raises:
        ConfigError: one line naming the key, the value and what is allowed.
    """
    try:
        return _parse(value, context)
    except TableProblem as p:
        raise ConfigError(str(p.under(key))) from None


def _serialise(gen: FieldGenerator, info: Any) -> Any:
    return gen.value if isinstance(gen, Uniform) else gen.model_dump(mode=info.mode)


#: an initial condition in a pydantic schema: a number or a generator table (one-line errors;
#: a uniform one is written back as the plain number)
InitialValue = Annotated[
    FieldGenerator,
    PlainValidator(lambda v, info: _parse(v, info.context)),
    PlainSerializer(_serialise),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "object"}]}),
]
