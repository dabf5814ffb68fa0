"""Policy, weights and solver settings: typed, documented, read from and written to TOML.

Every key is optional; the defaults below are the documented defaults and live nowhere else.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import InputError, Issue

REGION_MODES = ("hard", "soft", "ignore")


def _default_pool_tier() -> dict[str, float]:
    return {"strategic": 3.0, "key": 2.0, "standard": 1.0}


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the soft terms, in cost points (one point ~ one average customer's move).

    continuity: cost of moving a customer away from a valid owner, times (1 + value / mean value),
        so moving big accounts costs more.
    skill: per missing skill (industry not covered; share of products not covered; language).
    distance: per 100 km between customer and rep home base.
    region: for region_mode = "soft", cost of a rep outside the customer's region.
    value_balance: per average customer's value that a rep's book lies outside its balance band.
    workload_balance: per average customer's workload outside the band.
    tier: per seniority level the rep lies below the tier's preferred level.
    relationship: bonus (negative cost) per unit of relationship strength from recent activities.
    pool: cost of leaving a customer in the pool, times (1 + value / mean value) and times the
        tier's pool_tier factor; when capacity is short the cheapest stay in the pool, so
        higher-value and higher-tier customers are placed first.
    pool_tier: factor on the pool cost per tier (an unlisted tier counts 1.0).
    """

    continuity: float = 2.0
    skill: float = 1.0
    distance: float = 1.0
    region: float = 2.0
    value_balance: float = 0.5
    workload_balance: float = 0.5
    tier: float = 0.5
    relationship: float = 1.0
    pool: float = 50.0
    pool_tier: dict[str, float] = field(default_factory=_default_pool_tier)

    def __post_init__(self) -> None:
        for tier, v in self.pool_tier.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"weights.pool_tier.{tier} must be a number >= 0, got {v!r}")
        for f in fields(self):
            if f.name == "pool_tier":
                continue
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"weights.{f.name} must be a number >= 0, got {v!r}")


def _default_min_level() -> dict[str, int]:
    return {"strategic": 3}


def _default_preferred_level() -> dict[str, int]:
    return {"strategic": 4, "key": 3, "standard": 1}


def _default_approval_tiers() -> list[str]:
    return ["strategic"]


def _default_tier_workload() -> dict[str, float]:
    return {"strategic": 20.0, "key": 8.0, "standard": 3.0}


@dataclass(frozen=True, slots=True)
class Rules:
    """Hard rules and policy switches.

    move_budget: most voluntary moves per run (-1 = no limit). Forced moves (owner inactive,
        reclaimed, owner no longer eligible) never count.
    max_moves_per_rep: most voluntary moves into, and out of, any one rep (-1 = no limit).
    reclaim_after_days: customers (not locked) whose last_activity is this many days or more
        before the run date, or empty, lose their owner and are placed with that owner excluded
        (0 = off). A run writes last_activity = the run date for every customer it gives a new
        owner, so writing its ownership back and re-running proposes no further reclaim.
    region_mode: "hard" (only reps of the customer's region), "soft" (cost weights.region),
        or "ignore".
    min_level: minimum rep level per tier (hard).
    preferred_level: level per tier below which weights.tier applies (soft).
    require_language: a customer with a language only goes to reps who speak it.
    allow_pool: customers no rep can take stay in the pool; if false that is an error.
    balance_tolerance: half-width of the balance band around each rep's target, as a
        fraction of the target (targets are proportional to capacity).
    approval_tiers: tiers whose moves always need a manager's explicit approval (flagged
        ``needs_approval`` in moves.csv; ``allocator apply --approve-undecided`` never applies
        them without one).
    balance_far_tolerance: beyond this fraction of the target the balance weights apply five
        times over, so a book far off its target is evened out before small deviations are.
    tier_workload: default workload (hours per month) by tier when a customer has none.
    default_workload: workload of customers with no workload and an unlisted tier.
    relationship_half_life_days: an activity's weight halves every this many days.
    relationship_window_days: activities older than this are ignored.
    """

    move_budget: int = -1
    max_moves_per_rep: int = -1
    reclaim_after_days: int = 0
    region_mode: str = "soft"
    min_level: dict[str, int] = field(default_factory=_default_min_level)
    preferred_level: dict[str, int] = field(default_factory=_default_preferred_level)
    require_language: bool = True
    allow_pool: bool = True
    balance_tolerance: float = 0.10
    balance_far_tolerance: float = 0.50
    approval_tiers: list[str] = field(default_factory=_default_approval_tiers)
    tier_workload: dict[str, float] = field(default_factory=_default_tier_workload)
    default_workload: float = 3.0
    relationship_half_life_days: float = 90.0
    relationship_window_days: int = 365

    def __post_init__(self) -> None:
        if self.region_mode not in REGION_MODES:
            raise ValueError(f"rules.region_mode must be one of {', '.join(REGION_MODES)}, got {self.region_mode!r}")
        for name in ("move_budget", "max_moves_per_rep"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < -1:
                raise ValueError(f"rules.{name} must be an integer >= 0, or -1 for no limit, got {v!r}")
        if not isinstance(self.reclaim_after_days, int) or self.reclaim_after_days < 0:
            raise ValueError(f"rules.reclaim_after_days must be an integer >= 0, got {self.reclaim_after_days!r}")
        if not 0 <= self.balance_tolerance < 1:
            raise ValueError(f"rules.balance_tolerance must be in [0, 1), got {self.balance_tolerance!r}")
        if not self.balance_tolerance <= self.balance_far_tolerance:
            raise ValueError(f"rules.balance_far_tolerance must be >= balance_tolerance, got {self.balance_far_tolerance!r}")
        if not isinstance(self.approval_tiers, (list, tuple)) or not all(isinstance(t, str) for t in self.approval_tiers):
            raise ValueError(f"rules.approval_tiers must be a list of tier names, got {self.approval_tiers!r}")
        for tier, lvl in self.min_level.items():
            if not isinstance(lvl, int) or not 1 <= lvl <= 5:
                raise ValueError(f"rules.min_level.{tier} must be an integer 1..5, got {lvl!r}")


@dataclass(frozen=True, slots=True)
class SolverSettings:
    """How the engine searches.

    time_limit_seconds: wall-clock limit of the solve stage; the best plan found is returned.
    deterministic: when true, CP-SAT stops on a deterministic-time budget as well, so the
        same input and seed give the same plan whatever the machine's load.
    deterministic_time: the work budget of the search in deterministic mode: seconds of CP-SAT's
        deterministic clock, plus model building counted by model size (roughly seconds on
        a typical 2-core machine). Set time_limit_seconds above it with room to spare.
    workers: CP-SAT search workers with `deterministic = false` (deterministic mode uses one).
    seed: random seed for the search.
    candidates: candidate reps per customer (nearest eligible reps; the current owner is
        always added). Widened automatically where a max-flow check shows a shortfall.
    exact_arc_limit: models with at most this many arcs are solved by one CP-SAT model;
        larger ones by decomposition (large-neighbourhood search over groups of reps). Without
        a plan to keep (assign-new), a core model of each customer's three cheapest arcs runs
        first, and alone when the whole model is over the limit.
    gap_limit: stop searching once the plan is proven within this fraction of the bound
        (0.001 = 0.1 %; 0 = search until optimal or out of budget).
    log: print CP-SAT's search log to stderr.
    """

    time_limit_seconds: float = 60.0
    deterministic: bool = True
    deterministic_time: float = 20.0
    workers: int = 2
    seed: int = 0
    candidates: int = 10
    exact_arc_limit: int = 10_000
    gap_limit: float = 0.001
    log: bool = False

    def __post_init__(self) -> None:
        if self.time_limit_seconds <= 0:
            raise ValueError(f"solver.time_limit_seconds must be > 0, got {self.time_limit_seconds!r}")
        if self.workers < 1:
            raise ValueError(f"solver.workers must be >= 1, got {self.workers!r}")
        if self.candidates < 1:
            raise ValueError(f"solver.candidates must be >= 1, got {self.candidates!r}")


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything a run is configured by: ``weights``, ``rules`` and ``solver``."""

    weights: Weights = field(default_factory=Weights)
    rules: Rules = field(default_factory=Rules)
    solver: SolverSettings = field(default_factory=SolverSettings)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> "Policy":
        """Build a policy from nested dicts; unknown sections or keys are an ``InputError``."""
        sections = {"weights": Weights, "rules": Rules, "solver": SolverSettings}
        issues: list[Issue] = []
        parts: dict[str, Any] = {}
        for key, value in data.items():
            if key not in sections:
                issues.append(Issue(source, None, None, f"unknown section [{key}]; expected one of weights, rules, solver"))
                continue
            if not isinstance(value, dict):
                issues.append(Issue(source, None, None, f"[{key}] must be a table"))
                continue
            known = {f.name: f for f in fields(sections[key])}
            kwargs = {}
            for k, v in value.items():
                if k not in known:
                    issues.append(Issue(source, None, None, f"unknown key {key}.{k}; expected one of {', '.join(known)}"))
                    continue
                default = getattr(sections[key](), k)
                if isinstance(default, float) and isinstance(v, int) and not isinstance(v, bool):
                    v = float(v)
                kwargs[k] = v
            try:
                parts[key] = sections[key](**kwargs)
            except (ValueError, TypeError) as exc:
                issues.append(Issue(source, None, None, str(exc)))
        if issues:
            raise InputError(issues)
        return cls(**parts)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Policy":
        """Read a TOML config; every key is optional."""
        path = Path(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise InputError(Issue(path.name, None, None, f"config file not found: {path}")) from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(Issue(path.name, None, None, f"not valid TOML: {exc}")) from None
        return cls.from_dict(data, source=path.name)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_toml(self) -> str:
        """The policy as TOML text, every key written out (the config a run used)."""
        out: list[str] = []
        for section, values in self.to_dict().items():
            plain = {k: v for k, v in values.items() if not isinstance(v, dict)}
            tables = {k: v for k, v in values.items() if isinstance(v, dict)}
            out.append(f"[{section}]")
            out += [f"{k} = {_toml_value(v)}" for k, v in plain.items()]
            out.append("")
            for k, table in tables.items():
                out.append(f"[{section}.{k}]")
                out += [f"{_toml_key(tk)} = {_toml_value(tv)}" for tk, tv in table.items()]
                out.append("")
        return "\n".join(out)

    def with_weights(self, **weights: float) -> "Policy":
        """A copy with some weights changed, e.g. ``policy.with_weights(continuity=5)``."""
        return dataclasses.replace(self, weights=dataclasses.replace(self.weights, **weights))

    def with_rules(self, **rules: Any) -> "Policy":
        """A copy with some rules changed, e.g. ``policy.with_rules(move_budget=100)``."""
        return dataclasses.replace(self, rules=dataclasses.replace(self.rules, **rules))

    def with_solver(self, **solver: Any) -> "Policy":
        """A copy with some solver settings changed, e.g. ``policy.with_solver(deterministic_time=2)``."""
        return dataclasses.replace(self, solver=dataclasses.replace(self.solver, **solver))

    def save(self, path: str | Path) -> Path:
        """Write the policy as a TOML config (every key), loadable with ``from_toml``."""
        path = Path(path)
        path.write_text(self.to_toml(), encoding="utf-8")
        return path

    def with_overrides(self, *, time_limit_seconds: float | None = None, seed: int | None = None) -> "Policy":
        """A copy with CLI overrides applied (never mutates)."""
        solver = self.solver
        if time_limit_seconds is not None:
            solver = dataclasses.replace(solver, time_limit_seconds=float(time_limit_seconds))
        if seed is not None:
            solver = dataclasses.replace(solver, seed=int(seed))
        return dataclasses.replace(self, solver=solver)


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else f'"{k}"'


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} to TOML")
