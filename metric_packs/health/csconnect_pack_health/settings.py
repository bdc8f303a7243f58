"""`[packs.health]`: the parameters, and their validation into groups, weights, rules, bands and profiles.

Every mistake is a SettingError naming the key under `packs.health` (the pack turns it into the
one-line ConfigError `csconnect.toml: packs.health.<key>: <message>`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from csconnect import Option

from .catalogue import BY_NAME, DEFAULT_CAPS, DEFAULT_GROUPS, INPUTS
from .rules import Rule, SettingError, number, parse_rule

PARAMETERS = (
    Option("weights", dict, {},
           "group weights, e.g. { usage = 40, support = 30, business = 30 } (the defaults); groups not "
           "named keep their weight; 0 leaves a group out"),
    Option("bands", dict, {}, "band thresholds: { green = 80, yellow = 50 } (the defaults): green ≥ green, "
                              "yellow ≥ yellow, red below"),
    Option("groups", dict, {},
           "your own groups, replacing the default ones: groups.<name> = { weight = …, inputs = { <input> = "
           "<weight> or { weight = …, bad = …, good = … } } }"),
    Option("rules", dict, {}, "scoring-rule overrides per input: rules.<input> = { bad = …, good = … } (linear) "
                              "or { bands = [[limit, score], …], otherwise = … }"),
    Option("caps", dict, {},
           "caps per input: caps.<input> = <score>: while the input scores 0, the account scores at most this "
           "(100 removes a default cap)"),
    Option("profiles", dict, {},
           "per-segment overrides: profiles.<segment> = { weights, bands, groups, rules, caps } "
           "(matched to accounts.segment, case-insensitively)"),
    Option("drivers", int, 3, "how many reasons `account_health.drivers` lists", min=0, max=len(INPUTS)),
    Option("trend_days", int, 30, "trend = score now − score this many days earlier", min=1, max=366),
    Option("window_days", int, 90, "window of the ticket volume and reopen rate inputs", min=7, max=366),
    Option("csat_months", int, 3, "months of monthly CSAT the csat input averages", min=1, max=24),
    Option("mrr_trend_months", int, 3, "month ends between the two MRR values of the MRR trend", min=1, max=24),
    Option("payment_due_days", int, 30, "an unpaid invoice is past due this many days after it was created",
           min=0, max=365),
    Option("nps_max_age_days", int, 365, "NPS answers older than this do not count", min=1, max=3650),
    Option("peer_min_accounts", int, 5,
           "ticket volume compares an account with its segment when the segment has this many accounts "
           "with seats, else with every account", min=1),
    Option("touch_kinds", list, ["meeting", "call", "email", "qbr"],
           "activity kinds that count as a touch (meeting call email qbr note other)"),
    Option("population", str, "auto",
           "accounts scored at an instant: customers (MRR > 0 per the revenue pack), all (every account), "
           "auto (customers when the revenue pack has written MRR, else all)",
           choices=("auto", "customers", "all")),
    Option("history_weeks", int, None, "weeks of history to compute (unset: back to the first month with data)",
           min=1),
)
DEFAULTS = {o.name: o.default for o in PARAMETERS}
BANDS = {"green": 80.0, "yellow": 50.0}
TOUCH_KINDS = ("meeting", "call", "email", "qbr", "note", "other")
PROFILE_KEYS = ("weights", "bands", "groups", "rules", "caps")


@dataclass(frozen=True)
class Group:
    name: str
    weight: float
    inputs: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Profile:
    name: str
    groups: tuple[Group, ...]
    rules: dict[str, Rule]
    green: float
    yellow: float
    caps: dict[str, float] = field(default_factory=dict)      # input -> the most the account scores at its 0

    def active_caps(self) -> list[tuple[str, float]]:
        """(input, cap) for the caps that can bite: below 100 and on an input with weight in this profile."""
        weighted = {name for g in self.groups if g.weight > 0 for name, w in g.inputs if w > 0}
        return [(n, c) for n, c in self.caps.items() if c < 100 and n in weighted]

    def band(self, score: float | None) -> str | None:
        if score is None:
            return None
        return "green" if score >= self.green else "yellow" if score >= self.yellow else "red"

    def group_of(self) -> dict[str, str]:
        return {name: g.name for g in self.groups for name, _ in g.inputs}


@dataclass(frozen=True)
class Settings:
    default: Profile
    profiles: dict[str, Profile] = field(default_factory=dict)    # keyed by lower-case segment
    params: dict[str, Any] = field(default_factory=dict)

    def profile_for(self, segment: str | None) -> Profile:
        return self.profiles.get((segment or "").strip().lower(), self.default)

    @property
    def all_profiles(self) -> list[Profile]:
        return [self.default, *self.profiles.values()]


def _table(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SettingError(key, f"must be a table, got {value!r}")
    return value


def parse(params: Mapping[str, Any]) -> Settings:
    """Validate the pack's parameters (already type-checked by the core) into Settings."""
    p = {**DEFAULTS, **params}
    for i, kind in enumerate(p["touch_kinds"]):
        if kind not in TOUCH_KINDS:
            raise SettingError(f"touch_kinds[{i}]", f"unknown activity kind {kind!r} (kinds: {', '.join(TOUCH_KINDS)})")
    base_rules = {i.name: i.rule for i in INPUTS}
    base_rules = _rules("rules", p["rules"], base_rules)
    default = _profile("default", "", {"weights": p["weights"], "bands": p["bands"], "groups": p["groups"],
                                       "caps": p["caps"]}, None, base_rules)
    profiles: dict[str, Profile] = {}
    for name, spec in _table("profiles", p["profiles"]).items():
        key = f"profiles.{name}"
        spec = _table(key, spec)
        for k in spec:
            if k not in PROFILE_KEYS:
                raise SettingError(f"{key}.{k}", f"unknown key (a profile takes: {', '.join(PROFILE_KEYS)})")
        folded = name.strip().lower()
        if folded in profiles:
            raise SettingError(key, f"two profiles match the segment {folded!r} (profile names ignore case)")
        rules = _rules(f"{key}.rules", spec.get("rules", {}), default.rules)
        profiles[folded] = _profile(name, f"{key}.", spec, default, rules)
    return Settings(default, profiles, p)


def _rules(key: str, spec: Any, base: dict[str, Rule]) -> dict[str, Rule]:
    out = dict(base)
    for name, rule in _table(key, spec).items():
        inp = _known_input(f"{key}.{name}", name)
        out[name] = parse_rule(f"{key}.{name}", _table(f"{key}.{name}", rule), base[name], inp.higher_better,
                               inp.nps)
    return out


def _known_input(key: str, name: str) -> Any:
    if name not in BY_NAME:
        raise SettingError(key, f"unknown input (inputs: {', '.join(BY_NAME)})")
    return BY_NAME[name]


def _profile(name: str, prefix: str, spec: Mapping[str, Any], base: Profile | None,
             rules: dict[str, Rule]) -> Profile:
    """Groups, weights and bands of one profile; `base` None for the top level."""
    rules = dict(rules)
    if spec.get("groups"):
        groups = _groups(f"{prefix}groups", spec["groups"], rules)
    elif base is not None:
        groups = {g.name: [g.weight, dict(g.inputs)] for g in base.groups}
    else:
        groups = {g: [w, dict(inputs)] for g, (w, inputs) in DEFAULT_GROUPS.items()}
    weights = _table(f"{prefix}weights", spec.get("weights", {}))
    for g, w in weights.items():
        if g not in groups:
            raise SettingError(f"{prefix}weights.{g}", f"unknown group (groups: {', '.join(groups)})")
        groups[g][0] = number(f"{prefix}weights.{g}", w, 0)
    for g, (w, _) in groups.items():
        if w is None:
            raise SettingError(f"{prefix}groups.{g}", f"has no weight: add weight = … to it, or {prefix}weights.{g}")
    if not any(w > 0 for w, _ in groups.values()):
        raise SettingError(f"{prefix}weights", "every group weight is 0; give at least one group a positive weight")
    bands = dict(BANDS) if base is None else {"green": base.green, "yellow": base.yellow}
    for k, v in _table(f"{prefix}bands", spec.get("bands", {})).items():
        if k not in BANDS:
            raise SettingError(f"{prefix}bands.{k}", "unknown band (bands: green, yellow)")
        bands[k] = number(f"{prefix}bands.{k}", v, 0, 100)
    if bands["yellow"] > bands["green"]:
        raise SettingError(f"{prefix}bands.yellow",
                           f"must not be above green ({bands['green']:g}), got {bands['yellow']:g}")
    caps = dict(DEFAULT_CAPS) if base is None else dict(base.caps)
    for k, v in _table(f"{prefix}caps", spec.get("caps", {})).items():
        _known_input(f"{prefix}caps.{k}", k)
        caps[k] = number(f"{prefix}caps.{k}", v, 0, 100)
    return Profile(name, tuple(Group(g, float(w), tuple(inputs.items())) for g, (w, inputs) in groups.items()),
                   rules, bands["green"], bands["yellow"], caps)


def _groups(key: str, spec: Any, rules: dict[str, Rule]) -> dict[str, list[Any]]:
    """User-defined groups: { name = { weight = …, inputs = { input = weight | { weight, rule keys } } } }."""
    out: dict[str, list[Any]] = {}
    seen: dict[str, str] = {}
    for g, table in _table(key, spec).items():
        gkey = f"{key}.{g}"
        table = _table(gkey, table)
        for k in table:
            if k not in ("weight", "inputs"):
                raise SettingError(f"{gkey}.{k}", "unknown key (a group takes: weight, inputs)")
        weight = number(f"{gkey}.weight", table["weight"], 0) if "weight" in table else None
        if "inputs" not in table:
            raise SettingError(f"{gkey}.inputs", "is required: inputs = { <input> = <weight>, … }")
        inputs: dict[str, float] = {}
        for name, value in _table(f"{gkey}.inputs", table["inputs"]).items():
            ikey = f"{gkey}.inputs.{name}"
            inp = _known_input(ikey, name)
            if name in seen:
                raise SettingError(ikey, f"already in group {seen[name]} (an input belongs to one group)")
            seen[name] = g
            if isinstance(value, dict):
                if "weight" not in value:
                    raise SettingError(f"{ikey}.weight", "is required when the input is a table")
                inputs[name] = number(f"{ikey}.weight", value["weight"], 0)
                rules[name] = parse_rule(ikey, value, rules[name], inp.higher_better, inp.nps, extra=("weight",))
            else:
                inputs[name] = number(ikey, value, 0)
        if not inputs:
            raise SettingError(f"{gkey}.inputs", "is empty: name at least one input")
        if not any(w > 0 for w in inputs.values()):
            raise SettingError(f"{gkey}.inputs", "every input weight is 0; give at least one a positive weight")
        out[g] = [weight, inputs]
    if not out:
        raise SettingError(key, "defines no group")
    return out
