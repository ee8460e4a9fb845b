"""The environment: domain (mesh), time, options, substrates (fields), the time steps.

Contract:
    * ``<domain>`` → ``[mesh]`` (PhysiCell's centred box is invasim's ``[0, L]``); ``<overall>``
      and ``<save><full_data>`` → ``[time]``; ``<options>``: seed and the settings invasim
      cannot follow (named); each ``<variable>`` → ``[params.fields.<name>]`` with BioFVM's
      Dirichlet semantics (the per-face ``<Dirichlet_options>`` override the main flag and
      value; outer Dirichlet nodes exist only if some substrate enables its main flag).
    * ``<microenvironment_setup><options><track_internalized_substrates_in_each_agent>`` is
      kept in :attr:`Environment.track_internalized` (a :class:`V`, or None when absent); the
      secretion table writes it (``[params.secretion] track_internalized``) when the scenario
      lists the secretion process.
    * :meth:`Environment.time_steps`: ``dt_mechanics`` and ``dt_diffusion`` as close to
      PhysiCell's as invasim's limits allow (the mechanics stability limit of the stiffest
      type, rules that raise repulsion included; ``lod-be``'s accuracy limit), each a divisor
      of the step above it.
"""

from __future__ import annotations

import math
import re

from invasim.errors import InvasimError
from invasim.io.physicell.base import (
    SETTINGS,
    Base,
)
from invasim.io.physicell.document import fmt
from invasim.io.physicell.files import (
    name_map,
)
from invasim.io.physicell.xml import (
    Node,
    V,
    as_bool,
    as_double,
)


class Environment(Base):
    """Environment part of the conversion (see the module contract)."""

    def domain(self) -> None:
        """``<domain>`` → ``[mesh]``."""
        d = self.node("domain")
        if d is None:
            raise InvasimError(f"{SETTINGS}: no <domain> element (PhysiCell needs one)")
        d.use()
        self.use_2d = (d.child("use_2D") is not None) and d.child("use_2D").flag()
        self.dim = 2 if self.use_2d else 3
        lo = [self.value("domain", f"{a}_min").value for a in "xyz"]
        hi = [self.value("domain", f"{a}_max").value for a in "xyz"]
        h = [self.value("domain", f"d{a}").value for a in "xyz"]
        self.lo = lo[: self.dim]
        extent = [hi[i] - lo[i] for i in range(self.dim)]
        if any(not e > 0 for e in extent) or not h[0] > 0:
            raise InvasimError(f"{SETTINGS} <domain> (line {d.line}): the domain needs x_max > "
                               f"x_min (and y, z) and dx > 0; got {extent}, dx = {h[0]:g}")
        self.h = h[0]
        if any(abs(x - h[0]) > 1e-9 * h[0] for x in h[1 : self.dim]):
            self.notes.add(f"<domain> dx, dy, dz = {', '.join(fmt(x) for x in h[: self.dim])} µm "
                           f"differ: invasim's voxels are cubes; used dx = {fmt(h[0])} µm")
        if self.dim == 2 and abs(h[2] - h[0]) > 1e-9 * h[0]:
            self.notes.add(f"<domain> dz = {fmt(h[2])} µm in 2-D: BioFVM's voxels are dx·dy·dz "
                           f"deep; invasim's 2-D voxels are dx deep, so secretion and uptake per "
                           f"voxel differ by dz/dx = {fmt(h[2] / h[0])}")  # fmt: skip
        fixed = []
        self.box = list(extent)  # PhysiCell's, before any whole-voxel extension
        for i, e in enumerate(extent):
            n = max(1, math.ceil(e / self.h - 1e-9))
            if abs(n * self.h - e) > 1e-6 * e:
                fixed.append(f"{'xyz'[i]}: {fmt(e)} -> {fmt(n * self.h)}")
                extent[i] = n * self.h
        if fixed:
            self.notes.add(f"<domain> extent is not a whole number of {fmt(self.h)} µm voxels; "
                           f"extended ({'; '.join(fixed)} µm)")  # fmt: skip
        self.extent = extent
        self.centred = all(abs(lo[i] + hi[i]) <= 1e-9 * extent[i] for i in range(self.dim))
        self.doc.table("mesh", f"from <domain> (line {d.line}); PhysiCell's box [x_min, x_max] "
                               f"is invasim's [0, x_max - x_min] (positions shifted by -x_min)")
        self.put("mesh", "dim", V(self.dim, d.child("use_2D").where() if d.child("use_2D")
                                  else "element absent: use_2D false"), "use_2D")  # fmt: skip
        self.doc.put("mesh", "extent_um", extent, "x_max - x_min, y_max - y_min"
                     + (", z_max - z_min" if self.dim == 3 else ""),
                     f"{SETTINGS} line {d.line} <domain>")  # fmt: skip
        self.put("mesh", "voxel_um", self.value("domain", "dx"), "dx")

    def substrates(self) -> None:
        """``<microenvironment_setup>`` → ``[params.fields]``."""
        env = self.node("microenvironment_setup")
        self.variables = env.all("variable") if env is not None else []
        names = [v.attr("name") for v in self.variables]
        self.physicell_subs = names
        self.sub = name_map(names, "substrate", self.avoid)
        self.track_internalized: V | None = None
        if env is None:
            self.notes.add("no <microenvironment_setup>: PhysiCell then builds the substrates in "
                           "custom C++ (not imported); the scenario has no fields")  # fmt: skip
            self.doc.put("params", "fields", {}, "no substrates in the XML")
            return
        env.use()
        for var in self.variables:
            self.field(var)
        opts = env.child("options")
        if opts is None:
            return
        opts.use()
        for tag in ("calculate_gradients",):
            c = opts.child(tag)
            if c is not None and not c.flag():
                self.notes.add(f"<microenvironment_setup><options><calculate_gradients> false "
                               f"(line {c.line}): invasim computes the gradients motility uses "
                               f"anyway")  # fmt: skip
        c = opts.child("track_internalized_substrates_in_each_agent")
        if c is not None:
            self.track_internalized = V(c.flag(), c.where())
        for tag in ("initial_condition", "dirichlet_nodes"):
            c = opts.child(tag)
            if c is not None:
                c.use_all()
                if as_bool(c.attr("enabled")):
                    self.notes.add(f"<microenvironment_setup><options><{tag}> enabled (line "
                                   f"{c.line}): {tag.replace('_', ' ')} from a file are not "
                                   f"imported")  # fmt: skip

    def field(self, var: Node) -> None:
        """One ``<variable>`` → ``[params.fields.<name>]`` (BioFVM's Dirichlet semantics)."""
        var.use()
        pc, name = var.attr("name"), self.sub[var.attr("name")]
        t = f"params.fields.{name}"
        self.doc.table(t, f"<variable name={pc!r}> (line {var.line})")
        self.doc.put(t, "kind", "diffusing")
        self.put(t, "unit", V(var.attr("units") or "1", var.where()), "units")
        pset = var.child("physical_parameter_set")
        for tag, key in (("diffusion_coefficient", "diffusion_um2_per_min"),
                         ("decay_rate", "decay_per_min")):  # fmt: skip
            c = pset.child(tag) if pset is not None else None
            v = V(c.double(), c.where()) if c is not None else V(0.0, "absent: 0")
            self.put(t, key, v, tag)
            self.units(c, "micron^2/min" if tag[0] == "d" else "1/min")
        dirichlet = var.child("Dirichlet_boundary_condition")
        on = dirichlet is not None and as_bool(dirichlet.attr("enabled"))
        value = dirichlet.double() if dirichlet is not None else 0.0
        faces = ["xmin", "xmax", "ymin", "ymax", "zmin", "zmax"][: 2 * self.dim]
        state = {f: (on, value) for f in faces}
        opts = var.child("Dirichlet_options")
        for b in opts.all("boundary_value") if opts is not None else ():
            b.use()
            for f in faces:
                if f in b.attr("ID"):
                    state[f] = (as_bool(b.attr("enabled")), b.double())
        active = {f: v for f, (e, v) in state.items() if e}
        where = dirichlet.where() if dirichlet is not None else var.where()
        if not self.any_dirichlet_possible():
            active = {}
        if not active:
            self.doc.put(t, "boundary", "no-flux", f"Dirichlet off, {where}",
                         f"{SETTINGS} {where} <Dirichlet_boundary_condition>")  # fmt: skip
        else:
            values = sorted(set(active.values()))
            common = max(values, key=lambda v: list(active.values()).count(v))
            if len(active) == len(faces) and len(values) == 1:
                comment = (f"every wall at {fmt(common)}, {where}; held in the outermost "
                           f"voxels, BioFVM's Dirichlet nodes")
                self.doc.put(t, "boundary", "dirichlet-voxels", comment,
                             f"{SETTINGS} {where} <Dirichlet_boundary_condition>, "
                             f"<Dirichlet_options>")  # fmt: skip
            else:  # BioFVM's per-face options: those walls hold their values, the rest closed
                desc = ", ".join(f"{f} {fmt(v)}" for f, v in active.items())
                self.doc.put(t, "boundary", "dirichlet-voxels", f"per-face walls ({desc}; the "
                             f"others closed), {where}", f"{SETTINGS} {where} "
                             f"<Dirichlet_options>")  # fmt: skip
                held = {f: max(v, 0.0) for f, v in active.items()}
                if any(v < 0 for v in active.values()):
                    self.notes.add(f"<variable name={pc!r}>: a Dirichlet value < 0; invasim's "
                                   f"substrates stay >= 0; used 0 there")  # fmt: skip
                self.doc.put(t, "boundary_faces", held, "BioFVM's Dirichlet nodes on these "
                             "walls only")  # fmt: skip
            if common < 0:
                self.notes.add(f"<variable name={pc!r}>: Dirichlet value {fmt(common)} < 0; "
                               f"invasim's substrates stay >= 0; used 0")  # fmt: skip
                common = 0.0
            self.doc.put(t, "boundary_value", float(common), where)
        init = var.child("initial_condition")
        v = V(init.double(), init.where()) if init is not None else V(0.0, "absent: 0")
        if v.value < 0:
            self.notes.add(f"<variable name={pc!r}> initial_condition {fmt(v.value)} < 0: used 0")
            v = V(0.0, v.where)
        self.put(t, "initial", v, "initial_condition")

    def any_dirichlet_possible(self) -> bool:
        """Whether BioFVM adds outer Dirichlet nodes (some main flag enabled)."""
        # BioFVM applies outer Dirichlet nodes only if some substrate enables its main flag
        return any(
            (d := v.child("Dirichlet_boundary_condition")) is not None
            and as_bool(d.attr("enabled"))
            for v in self.variables
        )

    def units(self, node: Node | None, expected: str) -> None:
        """Name a units attribute that is not PhysiCell's unit (PhysiCell ignores it)."""
        if node is None:
            return
        u = node.attr("units").replace(" ", "").lower()
        if re.search(r"hour|\bhr|day|sec|/s$|^s$|mm\^|cm|meter|\bmm/", u):
            self.notes.add(f"<{node.tag}> units={node.attr('units')!r} (line {node.line}): "
                           f"PhysiCell ignores units attributes and reads {expected}; so does "
                           f"the import")  # fmt: skip

    # -- time and options -----------------------------------------------------------------
    def time(self) -> None:
        """``<overall>`` and ``<save><full_data>`` → ``[time]``."""
        o = self.node("overall")
        if o is None:
            raise InvasimError(f"{SETTINGS}: no <overall> element (PhysiCell needs one)")
        o.use()
        end = self.value("overall", "max_time")
        self.dt = self.value("overall", "dt_phenotype", default=6.0)
        self.dt_mech = self.value("overall", "dt_mechanics", default=0.1)
        self.dt_diff = self.value("overall", "dt_diffusion", default=0.01)
        for tag in ("max_time", "dt_phenotype", "dt_mechanics", "dt_diffusion"):
            self.units(self.node("overall", tag), "min")
        for tag in ("time_units", "space_units"):
            c = o.child(tag)
            if c is not None:
                c.use()
                if c.text and c.text.lower() not in ("min", "micron", "um", "µm"):
                    self.notes.add(f"<overall><{tag}> {c.text!r} (line {c.line}): a label only; "
                                   f"PhysiCell's units are min and micron (so are invasim's)")
        c = o.child("dt_intracellular")
        if c is not None:
            c.use()
            self.notes.add(f"<overall><dt_intracellular> (line {c.line}): intracellular models "
                           f"are not imported")  # fmt: skip
        dt = self.dt.value
        if not (dt > 0 and end.value > 0 and self.dt_mech.value > 0 and self.dt_diff.value > 0):
            raise InvasimError(f"{SETTINGS} <overall> (line {o.line}): max_time and the three "
                               f"time steps must be > 0")  # fmt: skip
        t = "time"
        self.doc.table(t, f"from <overall> (line {o.line}) and <save><full_data>")
        self.put(t, "end_min", end, "max_time")
        if end.value < dt:
            self.notes.add(f"<max_time> {fmt(end.value)} min is shorter than dt_phenotype "
                           f"{fmt(dt)} min: the run has no phenotype step")  # fmt: skip
        self.put(t, "dt_min", self.dt, "dt_phenotype")
        save = self.node("save", "full_data")
        interval = self.value("save", "full_data", "interval", default=60.0)
        if save is not None:
            save.use_all()
            if not as_bool(save.child("enable").text if save.child("enable") else ""):
                self.notes.add(f"<save><full_data><enable> false (line {save.line}): invasim "
                               f"records every {fmt(interval.value)} min anyway")  # fmt: skip
        k = max(1, round(interval.value / dt))
        if abs(k * dt - interval.value) > 1e-9 * dt:
            self.notes.add(f"<full_data><interval> {fmt(interval.value)} min is not a multiple of "
                           f"dt_phenotype {fmt(dt)}: used {fmt(k * dt)}")  # fmt: skip
            interval = V(k * dt, interval.where)
        self.put(t, "output_interval_min", interval, "<save><full_data><interval>")
        ck = k * max(1, int(1440.0 // (k * dt)))
        self.doc.put(t, "checkpoint_interval_min", ck * dt, "invasim's (PhysiCell has none): "
                     "about one a day")  # fmt: skip

    def options(self) -> None:
        """``<options>``: the seed; the settings invasim cannot follow are named."""
        opts = self.node("options")
        self.seed = 0
        seed_where = "element absent"
        if opts is not None:
            opts.use()
            rs = opts.child("random_seed")
            if rs is not None:
                rs.use()
                seed_where = rs.where()
                if re.fullmatch(r"\s*\d+\s*", rs.text):
                    self.seed = int(rs.text)
                else:
                    self.notes.add(f"<options><random_seed> {rs.text!r} (line {rs.line}): "
                                   f"PhysiCell seeds from the clock; seed 0 used (any run can "
                                   f"take --seed)")  # fmt: skip
            for tag, bad, msg in (
                ("virtual_wall_at_domain_edge", False, "PhysiCell has no wall force then (cells "
                 "can leave the domain); invasim's walls always repel (100 µm/min)"),
                ("legacy_random_points_on_sphere_in_divide", True, "PhysiCell's legacy division "
                 "directions; invasim draws them uniformly"),
                ("legacy_cell_defaults_copy", True, "PhysiCell's pre-2022 copies of "
                 "cell_defaults (zeroes not applied) are not reproduced; the import applies "
                 "the fix"),
                ("disable_automated_spring_adhesions", None, ""),  # no springs in invasim
            ):  # fmt: skip
                c = opts.child(tag)
                value = c.flag() if c is not None else False  # absent reads false
                where = f"line {c.line}" if c is not None else "absent"
                if value == bad:
                    self.notes.add(f"<options><{tag}> {str(value).lower()} ({where}): {msg}")
        else:
            self.notes.add("no <options>: <virtual_wall_at_domain_edge> reads false, so PhysiCell "
                           "has no wall force; invasim's walls always repel (100 µm/min)")
        self.seed_where = seed_where

    def time_steps(self) -> None:
        """dt_mechanics and dt_diffusion that invasim accepts, as close to PhysiCell's."""
        from invasim.core.cells import sphere_radius
        from invasim.physics.mechanics import MechanicsParams, max_stable_dt

        dt = self.dt.value
        dm = self.dt_mech.value
        p = "params"
        k = max(1, math.ceil(dt / dm - 1e-9))
        if abs(k * dm - dt) > 1e-9 * dt:
            self.notes.add(f"dt_phenotype {fmt(dt)} is not a multiple of dt_mechanics "
                           f"{fmt(dm)}: used dt_mechanics = {fmt(dt / k)}")  # fmt: skip
            dm = dt / k
        limit = math.inf
        for cd in self.defs:
            tname = self.type[cd.name]
            rep = self.doc.get(f"params.cell_types.{tname}.mechanics", "repulsion_um_per_min")
            for f in self.rules.rules() if self.rules else ():
                if (f[0] == tname and " ".join(f[3].lower().split()).startswith(
                        "cell-cell repulsion") and f[2].strip().lower().startswith("increase")):
                    rep = max(rep, as_double(f[4]))
            mp = MechanicsParams.single_type(
                rep, self.doc.get(f"params.cell_types.{tname}.mechanics", "adhesion_um_per_min"),
                self.doc.get(f"params.cell_types.{tname}.mechanics",
                             "relative_max_adhesion_distance"), 100.0)  # fmt: skip
            r = float(sphere_radius(cd.get("volume.total")))
            limit = min(limit, max_stable_dt(mp, r, self.dim, "ab2"))
        if dm > limit:
            k = math.ceil(dt / limit)
            while dt / k > limit:
                k += 1
            self.notes.add(f"dt_mechanics {fmt(dm)} min exceeds invasim's mechanics stability "
                           f"limit {fmt(limit)} min (the stiffest cell type); used "
                           f"{fmt(dt / k)} = dt_phenotype/{k}")  # fmt: skip
            dm = dt / k
        # BioFVM's LOD backward Euler is stable at any step: keep PhysiCell's dt_diffusion (the
        # scenario turns invasim's accuracy check off, [params.diffusion] accuracy_check), so
        # the imported model has PhysiCell's numerics; it must divide dt_mechanics
        dd = self.dt_diff.value
        k = max(1, math.ceil(dm / dd - 1e-9))
        if abs(k * dd - dm) > 1e-9 * dm:
            dd = dm / k
        if dd != self.dt_diff.value:
            self.notes.add(f"dt_diffusion {fmt(self.dt_diff.value)} min must divide dt_mechanics: "
                           f"used {fmt(dd)} = dt_mechanics/{round(dm / dd)}")  # fmt: skip
        self.doc.rows[p].insert(1, ("dt_diffusion_min", dd, f"dt_diffusion {self.dt_diff.where}"
                                    + ("" if dd == self.dt_diff.value else
                                       f" was {fmt(self.dt_diff.value)}; see the list"),
                                    f"{SETTINGS} {self.dt_diff.where} <dt_diffusion>"))
        self.doc.rows[p].insert(2, ("dt_mechanics_min", dm, f"dt_mechanics {self.dt_mech.where}"
                                    + ("" if dm == self.dt_mech.value else
                                       f" was {fmt(self.dt_mech.value)}; see the list"),
                                    f"{SETTINGS} {self.dt_mech.where} <dt_mechanics>"))
        self.doc.rows[p].insert(3, ("mechanics_scheme", "ab2", "PhysiCell's Adams-Bashforth 2",
                                    None))

