"""The cell types: one sub-table per process from each ``<cell_definition>``'s phenotype.

Contract:
    * ``<volume>``, ``<cycle>``, ``<death>``, ``<mechanics>``, ``<motility>``, ``<secretion>``,
      ``<cell_transformations>``, ``<cell_interactions>``, ``<cell_integrity>`` and
      ``<custom_data>`` → ``[params.cell_types.<type>.<process>]`` with the processes' key names.
    * PhysiCell's rates without oxygen dependence (its template) are written with
      ``oxygen_dependent = false`` (cycle) and ``necrosis_oxygen_dependent = false`` (death):
      constant rates; ``update_cell_and_death_parameters_O2_based`` in the custom C++ maps to
      invasim's oxygen model with PhysiCell's default thresholds.
    * ``<cycle>``: every standard model (PhysiCell's codes 0, 1, 2, 5, 6, 7) as it is, with its
      rates (as durations ``1/rate``), per-phase ``fixed_duration`` flags and durations.
    * What a process cannot express is named in the notes (intracellular models, vector
      custom data, ...).
"""

from __future__ import annotations

import math
import re
from typing import Any

from invasim.errors import InvasimError
from invasim.io.physicell.base import (
    SETTINGS,
    Base,
)
from invasim.io.physicell.definitions import (
    APOPTOSIS,
    CYCLE_MODELS,
    NECROSIS,
    CellDef,
    read_cell_definitions,
)
from invasim.io.physicell.document import fmt
from invasim.io.physicell.files import (
    identifier,
    name_map,
)
from invasim.io.physicell.xml import (
    V,
    num,
)

#: the PhysiCell element behind each interaction key
_INTERACTION_TAGS = {
    ("phagocytosis", "apoptotic_rate_per_min"): "apoptotic_phagocytosis_rate",
    ("phagocytosis", "necrotic_rate_per_min"): "necrotic_phagocytosis_rate",
    ("phagocytosis", "other_dead_rate_per_min"): "other_dead_phagocytosis_rate",
    ("phagocytosis", "live_rates_per_min"): "live_phagocytosis_rates",
    ("attack", "rates_per_min"): "attack_rates",
    ("attack", "damage_rate_per_min"): "attack_damage_rate",
    ("attack", "duration_min"): "attack_duration",
    ("fusion", "rates_per_min"): "fusion_rates",
    ("damage", "rate_per_min"): "damage_rate",
    ("damage", "repair_rate_per_min"): "damage_repair_rate",
}
_ELEMENT = {"phagocytosis": "cell_interactions", "attack": "cell_interactions",
            "fusion": "cell_interactions", "damage": "cell_integrity"}  # fmt: skip
#: custom variable names the custom_data process takes as they are
_CUSTOM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .\-]*")


class Phenotype(Base):
    """Phenotype part of the conversion (see the module contract)."""

    def definitions(self) -> None:
        """Read the cell definitions; invasim names for the types and custom data."""
        defs, shared, notes = read_cell_definitions(self.root, self.physicell_subs, self.use_2d)
        if not defs:
            raise InvasimError(f"{SETTINGS}: no <cell_definitions><cell_definition> (PhysiCell "
                               f"sets cell types in custom C++ then; nothing to import)")
        for n in notes:
            self.notes.add(n)
        self.defs, self.shared = defs, shared
        self.type = name_map([d.name for d in defs], "type", self.avoid)
        self.id_map = {d.type_id: d.name for d in defs}
        names = list(dict.fromkeys(k for d in defs for k in d.custom))
        self.custom = {k: k if _CUSTOM_NAME.fullmatch(k) else identifier(k, "custom")
                       for k in names}  # fmt: skip
        self.o2 = "oxygen" in self.sub.values()

    def definition_tables(self, processes: set[str]) -> None:
        """Every type's sub-tables of the listed ``processes``."""
        for cd in self.defs:
            t = f"params.cell_types.{self.type[cd.name]}"
            head = f"<cell_definition name={cd.name!r}> (line {cd.node.line})"
            if cd.inherits:
                head += f", a copy of {cd.inherits!r} first"
            self.doc.table(f"{t}.volume", head)
            self.volume(cd, f"{t}.volume")
            if "cycle" in processes:
                self.cycle(cd, f"{t}.cycle")
            if "death" in processes:
                self.death(cd, f"{t}.death")
            self.mechanics(cd, f"{t}.mechanics")
            if "attachments" in processes:
                self.attachments(cd, f"{t}.attachments")
            if "motility" in processes:
                self.motility(cd, f"{t}.motility")
            if "secretion" in processes:
                self.secretion(cd, f"{t}.secretion")
            if "transformation" in processes:
                rates = {self.type[k.split(".", 1)[1]]: v.value
                         for k, v in self._items(cd, "transformation.") if v.value != 0}
                self.doc.put(f"{t}.transformation", "rates_per_min", rates,
                             "<cell_transformations><transformation_rates>, non-zero")  # fmt: skip
            self.cell_notes(cd)

    def _items(self, cd: CellDef, prefix: str) -> list[tuple[str, V]]:
        return [(k, cd.values[k]) for k in cd.keys(prefix)]

    def volume(self, cd: CellDef, t: str) -> None:
        """``<volume>`` → ``volume``."""
        self.doc.put(t, "model", "physicell", "PhysiCell's standard_volume_update_function: "
                     "fluid, nuclear and cytoplasmic volumes")  # fmt: skip
        self.put(t, "volume_um3", cd.values["volume.total"], "<volume><total>")
        self.put(t, "growth_rate_per_min", cd.values["volume.cytoplasmic_biomass_change_rate"],
                 "<volume><cytoplasmic_biomass_change_rate>")  # fmt: skip
        for key, tag in (("fluid_fraction", "fluid_fraction"), ("nuclear_um3", "nuclear"),
                         ("fluid_change_rate_per_min", "fluid_change_rate"),
                         ("nuclear_biomass_change_rate_per_min", "nuclear_biomass_change_rate"),
                         ("calcified_fraction", "calcified_fraction"),
                         ("calcification_rate_per_min", "calcification_rate"),
                         ("relative_rupture_volume", "relative_rupture_volume")):  # fmt: skip
            self.put(t, key, cd.values[f"volume.{tag}"], f"<volume><{tag}>")
        # the death models' volume parameters (necrosis swelling and rupture: the death table)
        for key, code, tag in (
            ("apoptotic_fluid_change_rate_per_min", APOPTOSIS, "unlysed_fluid_change_rate"),
            ("apoptotic_cytoplasmic_biomass_change_rate_per_min", APOPTOSIS,
             "cytoplasmic_biomass_change_rate"),
            ("apoptotic_nuclear_biomass_change_rate_per_min", APOPTOSIS,
             "nuclear_biomass_change_rate"),
            ("apoptotic_calcification_rate_per_min", APOPTOSIS, "calcification_rate"),
            ("necrotic_lysed_fluid_change_rate_per_min", NECROSIS, "lysed_fluid_change_rate"),
            ("necrotic_cytoplasmic_biomass_change_rate_per_min", NECROSIS,
             "cytoplasmic_biomass_change_rate"),
            ("necrotic_nuclear_biomass_change_rate_per_min", NECROSIS,
             "nuclear_biomass_change_rate"),
            ("necrotic_calcification_rate_per_min", NECROSIS, "calcification_rate"),
        ):  # fmt: skip
            v = cd.values.get(f"death.{code}.{tag}")
            if v is not None:
                self.put(t, key, v, f"<model code=\"{code}\"><parameters><{tag}>")

    def cycle(self, cd: CellDef, t: str) -> None:
        """``<cycle>`` → ``cycle``."""
        code = cd.get("cycle.code")
        name, phases, _, _ = CYCLE_MODELS[code]
        where = cd.values["cycle.code"].where
        fixed = [self.shared.fixed.get(code, {}).get(p, V(False)) for p in range(len(phases))]
        rates = [cd.values[f"cycle.rate.{p}"] for p in range(len(phases))]
        if "cycle.substituted" in cd.values:
            self.notes.add(f"<cycle code=\"{cd.get('cycle.substituted')}\"> ({where}): PhysiCell "
                           f"substitutes the live model (death rates 0)", cd.name)  # fmt: skip
        if code == 5:
            self.doc.put(t, "model", "live", f"<cycle code=\"5\">, {where}")
            self.put(t, "rate_per_min", rates[0], "<rate start_index=\"0\">")
            self.doc.put(t, "fixed_durations", bool(fixed[0].value), f"fixed_duration, "
                         f"{fixed[0].where}")  # fmt: skip
        else:  # every other standard model, phase by phase
            self.doc.put(t, "model", name, f"<cycle code=\"{code}\"> ({', '.join(phases)}), "
                         f"{where}")  # fmt: skip
            durs = []
            for p in range(len(phases)):
                d = cd.values.get(f"cycle.duration.{p}")
                r = rates[p].value
                if d is not None:  # PhysiCell's rate is 1/(duration + 1e-16)
                    durs.append(d.value if d.value > 0 else 1e-16)
                else:
                    durs.append(1.0 / r if r > 0 else math.inf)
            lines = sorted({(cd.values.get(f"cycle.duration.{p}") or rates[p]).where
                            for p in range(len(phases))})  # fmt: skip
            self.doc.put(t, "durations_min", durs, f"1/rate of each phase; {', '.join(lines)}",
                         f"{SETTINGS} {', '.join(lines)} <phase_transition_rates> or "
                         f"<phase_durations>")  # fmt: skip
            flags = [bool(f.value) for f in fixed]
            self.fixed_flags(cd, t, flags, fixed)
        self.o2_entry(cd, t)
        if cd.asymmetric is not None:  # → the division table (written after the cycle)
            probs = {}
            for node in cd.asymmetric.all("asymmetric_division_probability"):
                name = node.attr("name")
                if name not in self.type:
                    self.notes.add(f"<asymmetric_division_probability name={name!r}> (line "
                                   f"{node.line}): not a cell type; PhysiCell stops there",
                                   cd.name)  # fmt: skip
                    continue
                if self.type[name] != self.type[cd.name] and num(node).value != 0:
                    probs[self.type[name]] = num(node).value
            div = t.rsplit(".", 1)[0] + ".division"
            self.doc.put(div, "asymmetric", probs,
                         f"<standard_asymmetric_division> (line {cd.asymmetric.line}): "
                         f"probability that daughter B becomes each type")  # fmt: skip

    def fixed_flags(self, cd: CellDef, t: str, flags: list[bool], fixed: list[V]) -> None:
        """The cycle's ``fixed_durations``: one flag, or one per phase."""
        if len(set(flags)) == 1:
            self.doc.put(t, "fixed_durations", flags[0], f"fixed_duration of every phase, "
                         f"{fixed[0].where}")  # fmt: skip
            return
        self.doc.put(t, "fixed_durations", flags, "fixed_duration per phase, "
                     + ", ".join(f.where for f in fixed))  # fmt: skip

    def o2_entry(self, cd: CellDef, t: str) -> None:
        """Cycle entry's oxygen thresholds: constant (template) or PhysiCell's O2 model."""
        if not self.o2:
            return
        if self.code.o2_phenotype:
            self.doc.put(t, "proliferation_o2_threshold_mmHg", 5.0,
                         "update_cell_and_death_parameters_O2_based: o2_proliferation_threshold "
                         "(PhysiCell default)")  # fmt: skip
            self.doc.put(t, "proliferation_o2_saturation_mmHg", 160.0,
                         "o2_proliferation_saturation (PhysiCell default)")
            return
        self.doc.put(t, "oxygen_dependent", False,
                     "PhysiCell's cycle entry does not depend on oxygen here (no O2-based "
                     "phenotype function): the constant rate; rules set any "
                     "dependence")  # fmt: skip

    def death(self, cd: CellDef, t: str) -> None:
        """``<death>`` → ``death``."""
        self.put(t, "apoptosis_rate_per_min", cd.values["death.100.rate"],
                 "<model code=\"100\"><death_rate>")  # fmt: skip
        sh = self.shared
        phases = ((APOPTOSIS, 0, "apoptosis_duration_min", "apoptosis"),
                  (NECROSIS, 1, "lysed_duration_min", "necrosis lysed"))  # fmt: skip
        for code, phase, key, tag in phases:
            d = sh.death_duration.get((code, phase))
            r = sh.death[(code, phase)]
            value = d.value if d is not None else (1.0 / r.value if r.value > 0 else math.inf)
            w = (d or r).where
            self.doc.put(t, key, value, f"{tag} phase duration ({w}; PhysiCell's death models are "
                         f"shared by all types)", f"{SETTINGS} {w}")  # fmt: skip
            fixed = sh.death_fixed.get((code, phase), V(False)).value
            if code == APOPTOSIS:  # PhysiCell's shared model: the last definition's flag
                self.doc.put(t, "apoptosis_fixed_duration", bool(fixed),
                             f"fixed_duration of the apoptosis phase ({w}; shared by all "
                             f"types)")  # fmt: skip
            else:
                self.doc.put(t, "lysed_fixed_duration", bool(fixed),
                             f"fixed_duration of the necrotic lysed phase ({w}; shared by all "
                             f"types)")  # fmt: skip
            if len(sh.written.get(("death", code, phase), ())) > 1:
                self.notes.add(f"death model {code} phase {phase}: definitions write different "
                               f"durations; PhysiCell keeps the last one written for every type "
                               f"(its death models are shared), so does the import ({w})")
        if self.code.o2_phenotype and self.o2:
            self.doc.put(t, "necrosis_max_rate_per_min", 1.0 / 360.0, "max_necrosis_rate "
                         "(PhysiCell default): update_cell_and_death_parameters_O2_based "
                         "replaces <death_rate>")  # fmt: skip
            self.doc.put(t, "necrosis_threshold_mmHg", 5.0, "o2_necrosis_threshold (PhysiCell "
                         "default)")  # fmt: skip
            self.doc.put(t, "necrosis_max_threshold_mmHg", 2.5,
                         "o2_necrosis_max (PhysiCell default)")
            return self.death_rest(cd, t)
        self.put(t, "necrosis_max_rate_per_min", cd.values["death.101.rate"],
                 "<model code=\"101\"><death_rate>")  # fmt: skip
        self.doc.put(t, "necrosis_oxygen_dependent", False,
                     "PhysiCell's necrosis <death_rate> is constant here (no O2-based phenotype "
                     "function); rules set any dependence")  # fmt: skip
        self.death_rest(cd, t)

    def death_rest(self, cd: CellDef, t: str) -> None:
        """Necrotic swelling and rupture; the death parameters invasim has no key for."""
        swell = cd.values["death.101.unlysed_fluid_change_rate"]
        if swell.value > 0:
            self.put(t, "necrotic_swell_rate_per_min", swell,
                     "<model code=\"101\"><unlysed_fluid_change_rate>")  # fmt: skip
        else:
            self.notes.add("necrosis unlysed_fluid_change_rate 0: PhysiCell's necrotic cells then "
                           "never burst; invasim needs a positive swelling rate (its default "
                           "0.67/h used)", cd.name)  # fmt: skip
        rupture = cd.values["death.101.relative_rupture_volume"]
        if rupture.value > 1:
            self.put(t, "relative_rupture_volume", rupture,
                     "<model code=\"101\"><relative_rupture_volume>")  # fmt: skip
        else:
            self.notes.add(f"necrosis relative_rupture_volume {fmt(rupture.value)} <= 1 "
                           f"({rupture.where}): invasim needs > 1 (its default 2 used)", cd.name)
        self.notes.add("apoptosis <parameters> lysed_fluid_change_rate and "
                       "relative_rupture_volume: no effect in PhysiCell (apoptotic cells never "
                       "lyse); not imported")  # fmt: skip
        if cd.get("death.autophagy"):
            self.notes.add("death model 102 (autophagy): PhysiCell skips it too", cd.name)

    def mechanics(self, cd: CellDef, t: str) -> None:
        """``<mechanics>`` → ``mechanics``."""
        self.put(t, "repulsion_um_per_min", cd.values["mechanics.cell_cell_repulsion_strength"],
                 "<cell_cell_repulsion_strength>")  # fmt: skip
        self.put(t, "adhesion_um_per_min", cd.values["mechanics.cell_cell_adhesion_strength"],
                 "<cell_cell_adhesion_strength>")  # fmt: skip
        rel = cd.values["mechanics.relative_maximum_adhesion_distance"]
        self.put(t, "relative_max_adhesion_distance", rel, "<relative_maximum_adhesion_distance>")
        self.doc.put(t, "wall_repulsion_um_per_min", 100.0,
                     "PhysiCell's virtual wall sets cell_BM_repulsion_strength = 100",
                     f"{SETTINGS}: standard_domain_edge_avoidance_interactions (PhysiCell 1.14)")
        aff = {k.split(".", 2)[2]: v for k, v in self._items(cd, "mechanics.affinity.")}
        odd = {self.type[k]: v.value for k, v in aff.items() if v.value != 1.0 and k in self.type}
        if odd:
            self.doc.put(t, "adhesive_affinity", odd,
                         "<cell_adhesion_affinities>, those other than 1")  # fmt: skip

    def attachments(self, cd: CellDef, t: str) -> None:
        """``<mechanics>`` spring attachments → ``attachments``."""
        self.put(t, "attachment_rate_per_min", cd.values["mechanics.attachment_rate"],
                 "<attachment_rate>")  # fmt: skip
        self.put(t, "detachment_rate_per_min", cd.values["mechanics.detachment_rate"],
                 "<detachment_rate>")  # fmt: skip
        most = cd.values["mechanics.maximum_number_of_attachments"]
        self.put(t, "max_attachments", V(int(most.value), most.where),
                 "<maximum_number_of_attachments>")  # fmt: skip
        self.put(t, "elastic_constant_per_min", cd.values["mechanics.attachment_elastic_constant"],
                 "<attachment_elastic_constant>")  # fmt: skip

    def motility(self, cd: CellDef, t: str) -> None:
        """``<motility>`` → ``motility`` (chemotaxis as sensitivities)."""
        enabled = cd.values["motility.enabled"]
        if enabled.value:
            self.put(t, "speed_um_per_min", cd.values["motility.speed"], "<speed>")
        else:
            self.doc.put(t, "speed_um_per_min", 0.0, f"<motility><options><enabled> false "
                         f"({enabled.where}): no motility (<speed> "
                         f"{fmt(cd.get('motility.speed'))} unused)",
                         f"{SETTINGS} {enabled.where} <enabled>")  # fmt: skip
        self.put(t, "persistence_time_min", cd.values["motility.persistence_time"],
                 "<persistence_time>")
        self.put(t, "migration_bias", cd.values["motility.migration_bias"], "<migration_bias>")
        chi: dict[str, float] = {}
        if cd.get("motility.advanced_chemotaxis"):
            for k, v in self._items(cd, "motility.sensitivity."):
                if v.value != 0:
                    chi[self.sub[k.split(".", 2)[2]]] = v.value
            how = "<advanced_chemotaxis><chemotactic_sensitivities>"
            if cd.get("motility.normalize_each_gradient"):
                self.notes.add("<advanced_chemotaxis><normalize_each_gradient> true: invasim sums "
                               "the gradients unnormalised", cd.name)  # fmt: skip
        elif cd.get("motility.chemotaxis"):
            sub = cd.get("motility.chemotaxis_substrate")
            if sub in self.sub:
                chi[self.sub[sub]] = cd.get("motility.chemotaxis_direction")
            how = "<chemotaxis> substrate and direction"
        else:
            how = "no chemotaxis enabled: no bias direction"
        if not chi and self.sub:  # an explicit 0: an empty table would mean "up the oxygen"
            chi = {next(iter(self.sub.values())): 0.0}
        self.doc.put(t, "chemotactic_sensitivity", chi, how)
        if self.dim == 3 and cd.get("motility.use_2D") and enabled.value:
            if cd.get("motility.speed") > 0:
                self.notes.add("<motility><options><use_2D> true in a 3-D domain: invasim's "
                               "motility is 3-D", cd.name)  # fmt: skip

    def secretion(self, cd: CellDef, t: str) -> None:
        """``<secretion>`` → ``secretion`` (non-zero rates and targets)."""
        tables: dict[str, dict[str, float]] = {"uptake_rate": {}, "secretion_rate": {},
                                               "secretion_target": {},
                                               "net_export_rate": {}}  # fmt: skip
        lines = set()
        for k, v in self._items(cd, "secretion."):
            _, sub, what = k.split(".", 2)
            if what == "net_export_rate":  # any sign (negative imports)
                if v.value != 0:
                    tables[what][self.sub[sub]] = v.value
                    lines.add(v.where)
                continue
            if v.value < 0:
                self.notes.add(f"<{what}> {fmt(v.value)} < 0 for {sub!r} ({v.where}): used 0",
                               cd.name)  # fmt: skip
                continue
            if v.value != 0:
                tables[what][self.sub[sub]] = v.value
                lines.add(v.where)
        src = f"{SETTINGS} <secretion> " + ", ".join(sorted(lines)) if lines else ""
        keys = (("uptake_rate", "uptake_per_min"), ("secretion_rate", "secretion_per_min"),
                ("secretion_target", "secretion_target"),
                ("net_export_rate", "net_export"))  # fmt: skip
        for what, key in keys:
            if what == "net_export_rate" and not tables[what]:
                continue  # the common case: none
            self.doc.put(t, key, tables[what], f"<{what}> per substrate, non-zero", src)
        self.track_option()

    def track_option(self) -> None:
        """``<track_internalized_substrates_in_each_agent>`` true → ``[params.secretion]``."""
        track = getattr(self, "track_internalized", None)
        if track is None or not track.value:
            return
        if self.doc.get("params.secretion", "track_internalized") is None:
            self.doc.table("params.secretion")
            self.put("params.secretion", "track_internalized", track,
                     "track_internalized_substrates_in_each_agent",
                     "PhysiCell's <molecular> fractions are its defaults: released at death "
                     "0, transferred when ingested 1")  # fmt: skip

    def cell_notes(self, cd: CellDef) -> None:
        """Name what a definition holds beyond the processes' tables."""
        if cd.intracellular is not None:
            cd.intracellular.use_all()
            self.notes.add(f"<intracellular type={cd.intracellular.attr('type')!r}> (line "
                           f"{cd.intracellular.line}): intracellular models are not imported",
                           cd.name)  # fmt: skip
        for name, node in cd.vector_custom.items():
            self.notes.add(f"<custom_data><{name}> (line {node.line}) is a vector: not imported",
                           cd.name)  # fmt: skip
        pheno = cd.node.child("phenotype")
        mol = pheno.child("molecular") if pheno is not None else None
        if mol is not None and mol.children:  # an empty one: named with the unread elements
            mol.use_all()  # PhysiCell 1.14 reads nothing in it: its fractions are C++-only
            self.notes.add(f"<molecular> (line {mol.line}): not read by PhysiCell 1.14 (its "
                           f"fraction_released_at_death and fraction_transferred_when_ingested "
                           f"are set in custom C++ only); PhysiCell's defaults apply (0 and 1), "
                           f"in the import too", cd.name)  # fmt: skip

    # -- interactions (processes the scenario lists only when invasim has them) --------------
    def interaction_tables(self) -> None:
        """The interaction tables of every type, and which processes they need."""
        self.wanted: dict[str, list[str]] = {}  # process -> why
        self.interaction_rows: dict[str, dict[str, dict[str, Any]]] = {}
        for cd in self.defs:
            tname = self.type[cd.name]
            rows = self.interaction_rows.setdefault(tname, {})
            ph = {k: cd.values[f"interactions.{k}_phagocytosis_rate"]
                  for k in ("apoptotic", "necrotic", "other_dead")}  # fmt: skip
            live = {self.type[k.split(".", 2)[2]]: v.value
                    for k, v in self._items(cd, "interactions.live_phagocytosis.") if v.value}
            rows["phagocytosis"] = {"apoptotic_rate_per_min": ph["apoptotic"],
                                    "necrotic_rate_per_min": ph["necrotic"],
                                    "other_dead_rate_per_min": ph["other_dead"],
                                    "live_rates_per_min": live}  # fmt: skip
            attack = {self.type[k.split(".", 2)[2]]: v.value
                      for k, v in self._items(cd, "interactions.attack.") if v.value}
            rows["attack"] = {"rates_per_min": attack,
                              "damage_rate_per_min": cd.values["interactions.attack_damage_rate"],
                              "duration_min": cd.values["interactions.attack_duration"]}
            fusion = {self.type[k.split(".", 2)[2]]: v.value
                      for k, v in self._items(cd, "interactions.fusion.") if v.value}
            rows["fusion"] = {"rates_per_min": fusion}
            rows["damage"] = {"rate_per_min": cd.values["integrity.damage_rate"],
                              "repair_rate_per_min": cd.values["integrity.damage_repair_rate"]}
            for proc, on in (("phagocytosis", any(v.value for v in ph.values()) or live),
                             ("attack", attack), ("fusion", fusion),
                             ("damage", cd.get("integrity.damage_rate")
                              or cd.get("integrity.damage_repair_rate"))):  # fmt: skip
                if on:
                    self.wanted.setdefault(proc, []).append(f"rates of {cd.name!r}")
            if cd.custom:
                self.wanted.setdefault("custom_data", []).append(f"<custom_data> of {cd.name!r}")

    def write_interactions(self, processes: list[str]) -> None:
        """Write the interaction and custom data tables of the listed processes."""
        for cd in self.defs:
            tname = self.type[cd.name]
            t = f"params.cell_types.{tname}"
            pheno = cd.node.child("phenotype")
            ci = pheno.child("cell_interactions") if pheno is not None else None
            integrity = pheno.child("cell_integrity") if pheno is not None else None
            for proc in ("phagocytosis", "attack", "fusion", "damage"):
                if proc not in processes:
                    continue
                el = integrity if proc == "damage" else ci
                self.doc.table(f"{t}.{proc}", f"{el.path()} (line {el.line})" if el is not None
                               else f"<cell_definition name={cd.name!r}>: no <{_ELEMENT[proc]}>, "
                               + (f"a copy of {cd.inherits!r}'s" if cd.inherits
                                  else "PhysiCell's defaults"))  # fmt: skip
                for key, value in self.interaction_rows[tname][proc].items():
                    tag = _INTERACTION_TAGS[(proc, key)]
                    if isinstance(value, V):
                        self.put(f"{t}.{proc}", key, value, tag)
                    else:
                        self.doc.put(f"{t}.{proc}", key, value, f"{tag}, non-zero",
                                     f"{SETTINGS} <{tag}>" if el is not None else "")  # fmt: skip
            if "custom_data" in processes:
                values = {self.custom[k]: v[0].value for k, v in cd.custom.items()}
                node = cd.node.child("custom_data")
                self.doc.table(f"{t}.custom_data", f"<cell_definition name={cd.name!r}>"
                               f"<custom_data>" + (f" (line {node.line})" if node else ""))
                self.doc.put(f"{t}.custom_data", "values", values,
                             "inherited or PhysiCell's" if node is None else "")  # fmt: skip
        if "custom_data" in processes:
            variables: dict[str, str] = {}
            for cd in self.defs:
                for k, (_, unit, conserved) in cd.custom.items():
                    variables.setdefault(self.custom[k], unit or "dimensionless")
                    if conserved:
                        self.notes.add(f"<custom_data><{k}> conserved=\"true\": the custom_data "
                                       f"table has no conserved flag", cd.name)  # fmt: skip
            self.doc.table("params.custom_data", "PhysiCell's <custom_data> variables and units")
            self.doc.put("params.custom_data", "variables", variables)

