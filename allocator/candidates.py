"""Candidate arcs: who may own each customer, and what each choice costs, part by part.

Turns validated customers and reps into the engine's sparse :class:`~allocator.engine.ArcProblem`:
the nearest eligible reps per customer by static cost, every rep with a recent relationship, and
today's owner (when still eligible). Each cost part stays in its own column so ``explain`` can
report it. Does not import OR-Tools' CP-SAT; the max-flow staffing check uses OR-Tools' graph
solver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from ortools.graph.python import max_flow

from .engine import ArcProblem, BalanceTerm
from .errors import PolicyError
from .policy import Policy

COST_SCALE = 1000  # cost points -> integer cost units
AMOUNT_UNITS_PER_MEAN = 20  # balance amounts: an average customer's value (or workload) = 20 units
FAR_BALANCE_FACTOR = 4  # extra slope beyond rules.balance_far_tolerance (5x in all)
LOAD_SCALE = 10  # workload hours -> tenths of an hour
CHUNK = 2048  # customers per block when scoring against every rep
COST_PARTS = ("continuity", "skill", "distance", "region", "tier", "relationship")
KIND_WEIGHT = {"deal_won": 3.0, "meeting": 1.5, "visit": 1.5, "call": 1.0, "contact": 1.0, "email": 0.5}
RELATIONSHIP_CAP = 3.0

# Why a customer cannot stay with today's owner; these moves are forced and never use the budget.
FORCED_INACTIVE = "owner inactive"
FORCED_RECLAIMED = "reclaimed"
FORCED_INELIGIBLE = "owner not eligible"
FORCED_UNKNOWN = "owner unknown"


@dataclass(frozen=True, slots=True)
class Book:
    """The allocation problem in both languages: domain tables and the engine's arcs.

    customers: validated customers sorted by customer_id, plus ``workload`` filled from the tier,
        ``owner`` (rep position or -1), ``status`` (locked / owned / forced / pool) and
        ``forced_reason``.
    reps: validated reps sorted by rep_id.
    arcs: one row per candidate arc: ``customer`` and ``rep`` positions, each cost part in points,
        ``cost_total`` and ``distance_km``. Locked customers have their owner arc only.
    problem: the engine problem over the free (not locked) customers; ``free`` maps its customer
        positions to rows of ``customers``, and arc i of the problem is row ``free_arcs[i]`` of arcs.
    """

    customers: pd.DataFrame
    reps: pd.DataFrame
    arcs: pd.DataFrame
    problem: ArcProblem
    free: npt.NDArray[np.int64]
    free_arcs: npt.NDArray[np.int64]
    pool_cost_points: npt.NDArray[np.float64]
    value_target: npt.NDArray[np.float64]
    workload_target: npt.NDArray[np.float64]
    widened: int
    capacity_moves: int
    warnings: tuple[str, ...]
    as_of: dt.date | None = None
    relationship_window_days: int = 365


# ---------------------------------------------------------------------------------------------


def relationship_strength(
    activities: pd.DataFrame, customer_ids: pd.Index, rep_ids: pd.Index, policy: Policy, as_of: dt.date
) -> pd.DataFrame:
    """Recency-weighted contacts per (customer, rep): columns customer, rep, strength, contacts.

    Each activity weighs its kind's weight (won deals count most) halved every
    ``relationship_half_life_days``; activities older than the window, or in the future, are ignored.
    """
    cols = ["customer", "rep", "strength", "contacts"]
    if activities is None or activities.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c != "strength" else "float64") for c in cols})
    rules = policy.rules
    as_of_ts = pd.Timestamp(as_of)
    age = (as_of_ts - pd.to_datetime(activities["date"])).dt.days.to_numpy(dtype=np.float64)
    keep = (age >= 0) & (age <= rules.relationship_window_days)
    act = activities.loc[keep]
    age = age[keep]
    kind_w = act["kind"].map(KIND_WEIGHT).fillna(1.0).to_numpy(dtype=np.float64)
    w = kind_w * np.power(0.5, age / rules.relationship_half_life_days)
    c = customer_ids.get_indexer(act["customer_id"])
    r = rep_ids.get_indexer(act["rep_id"])
    ok = (c >= 0) & (r >= 0)
    df = pd.DataFrame({"customer": c[ok], "rep": r[ok], "strength": w[ok], "contacts": 1})
    return df.groupby(["customer", "rep"], as_index=False, sort=True).sum()


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km (broadcasting); NaN where a location is unknown."""
    la1, lo1, la2, lo2 = (np.radians(v) for v in (lat1, lon1, lat2, lon2))
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


def _distance_block_km(c_lat: np.ndarray, c_lon: np.ndarray, rep_xyz: np.ndarray) -> np.ndarray:
    """Customers × reps great-circle distances via one matrix product (chord length → arc)."""
    dot = _unit_vectors(c_lat, c_lon) @ rep_xyz.T
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(2.0 - 2.0 * dot, 0.0, 4.0)) / 2)


def _vocab_matrix(lists: pd.Series, vocab: dict[str, int]) -> np.ndarray:
    """Rows × vocabulary boolean matrix of list membership."""
    out = np.zeros((len(lists), max(1, len(vocab))), dtype=bool)
    for i, items in enumerate(lists):
        for it in items:
            j = vocab.get(it)
            if j is not None:
                out[i, j] = True
    return out


@dataclass(frozen=True, slots=True)
class _RepSide:
    lat: np.ndarray
    lon: np.ndarray
    xyz: np.ndarray
    region: np.ndarray
    level: np.ndarray
    eligible_base: np.ndarray  # active and with some capacity
    industry: np.ndarray  # vocab × reps
    has_industries: np.ndarray
    products: np.ndarray  # vocab × reps (float for matmul)
    language: np.ndarray  # vocab × reps


def _region_codes(regions: pd.Series, vocab_region: dict[str, int]) -> np.ndarray:
    """Regions as integer codes (-1 = no region) so block comparisons stay numeric."""
    return regions.map(vocab_region).fillna(-1).to_numpy(dtype=np.int64)


def _rep_side(reps: pd.DataFrame, vocab_ind: dict, vocab_prod: dict, vocab_lang: dict,
              vocab_region: dict) -> _RepSide:
    cap_ok = ~(reps["max_accounts"].fillna(1) <= 0) & ~(reps["max_workload"].fillna(1) <= 0)
    return _RepSide(
        lat=reps["lat"].to_numpy(dtype=np.float64),
        lon=reps["lon"].to_numpy(dtype=np.float64),
        xyz=_unit_vectors(reps["lat"].to_numpy(dtype=np.float64), reps["lon"].to_numpy(dtype=np.float64)),
        region=_region_codes(reps["region"], vocab_region),
        level=reps["level"].to_numpy(dtype=np.int64),
        eligible_base=(reps["active"].to_numpy(dtype=bool) & cap_ok.to_numpy(dtype=bool)),
        industry=_vocab_matrix(reps["industries"], vocab_ind).T,
        has_industries=reps["industries"].map(len).to_numpy() > 0,
        products=_vocab_matrix(reps["products"], vocab_prod).T.astype(np.float32),
        language=_vocab_matrix(reps["languages"], vocab_lang).T,
    )


def _score_block(cust: pd.DataFrame, rs: _RepSide, policy: Policy, vocab: tuple[dict, dict, dict]):
    """Static cost parts and eligibility of a block of customers against every rep.

    Returns (eligible, parts dict of B×R float arrays, distance_km B×R).
    """
    w, rules = policy.weights, policy.rules
    vocab_ind, vocab_prod, vocab_lang, vocab_region = vocab
    b = len(cust)
    dist = _distance_block_km(cust["lat"].to_numpy(dtype=np.float64), cust["lon"].to_numpy(dtype=np.float64), rs.xyz)

    eligible = np.repeat(rs.eligible_base[None, :], b, axis=0)
    c_region = _region_codes(cust["region"], vocab_region)
    region_diff = (c_region[:, None] != rs.region[None, :]) & (c_region[:, None] >= 0) & (rs.region[None, :] >= 0)
    if rules.region_mode == "hard":
        eligible &= ~region_diff
    min_lvl = cust["tier"].map(rules.min_level).fillna(0).to_numpy(dtype=np.int64)
    eligible &= rs.level[None, :] >= min_lvl[:, None]

    lang_idx = cust["language"].map(vocab_lang).fillna(-1).to_numpy(dtype=np.int64)
    has_lang = lang_idx >= 0
    speaks = np.ones((b, len(rs.lat)), dtype=bool)
    speaks[has_lang] = rs.language[lang_idx[has_lang]]
    if rules.require_language:
        eligible &= speaks

    ind_idx = cust["industry"].map(vocab_ind).fillna(-1).to_numpy(dtype=np.int64)
    ind_miss = np.zeros((b, len(rs.lat)), dtype=np.float64)
    has_ind = ind_idx >= 0
    ind_miss[has_ind] = (~rs.industry[ind_idx[has_ind]] & rs.has_industries[None, :]).astype(np.float64)
    cprod = _vocab_matrix(cust["products"], vocab_prod).astype(np.float32)
    n_prod = cprod.sum(axis=1)
    covered = cprod @ rs.products
    prod_miss = np.where(n_prod[:, None] > 0, 1.0 - covered / np.maximum(n_prod[:, None], 1), 0.0)
    lang_miss = (~speaks).astype(np.float64)

    pref = cust["tier"].map(rules.preferred_level).fillna(0).to_numpy(dtype=np.int64)
    tier_short = np.maximum(0, pref[:, None] - rs.level[None, :]).astype(np.float64)

    parts = {
        "skill": w.skill * (ind_miss + prod_miss + lang_miss),
        "distance": w.distance * np.nan_to_num(dist, nan=0.0) / 100.0,
        "region": (w.region * region_diff) if rules.region_mode == "soft" else np.zeros((b, len(rs.lat))),
        "tier": w.tier * tier_short,
    }
    return eligible, parts, dist


def _forced_reasons(customers: pd.DataFrame, reps: pd.DataFrame, policy: Policy, as_of: dt.date) -> np.ndarray:
    """Why each owned, unlocked customer must leave its owner ('' = it may stay)."""
    reason = np.full(len(customers), "", dtype=object)
    owner = customers["owner"].to_numpy()
    owned = owner >= 0
    locked = customers["locked"].to_numpy(dtype=bool)
    active = reps["active"].to_numpy(dtype=bool)
    inactive_owner = owned & ~active[np.maximum(owner, 0)]
    reason[inactive_owner & ~locked] = FORCED_INACTIVE
    n = policy.rules.reclaim_after_days
    if n > 0:
        last = pd.to_datetime(customers["last_activity"])
        idle_days = (pd.Timestamp(as_of) - last).dt.days.to_numpy(dtype=np.float64)
        # no follow-up for N days (exactly N counts); a customer with no recorded follow-up is idle too
        idle = np.where(np.isnan(idle_days), True, idle_days >= n)
        reason[owned & ~locked & idle & (reason == "")] = FORCED_RECLAIMED
    return reason


class _ArcScorer:
    """Scores blocks of customers against every rep and keeps each customer's candidate arcs.

    The one place candidate arcs are chosen, for the nightly book (``build_book``) and for new
    customers between nights (``build_new_book``): the ``k`` cheapest eligible reps by static
    cost, today's owner when eligible, and every eligible rep with a relationship. Customers in
    ``exclude_owner`` (reclaimed) may not go back to today's owner; ``forbidden`` (customer
    position → rep positions) are pairs a manager rejected in review.
    """

    def __init__(self, cust: pd.DataFrame, rs: _RepSide, policy: Policy, vocab: tuple, owner: np.ndarray,
                 exclude_owner: np.ndarray, rel: pd.DataFrame,
                 forbidden: dict[int, list[int]] | None = None) -> None:
        self.cust, self.rs, self.policy, self.vocab = cust, rs, policy, vocab
        self.owner, self.exclude_owner = owner, exclude_owner
        self.forbidden = forbidden or {}
        self.n_c, self.n_r = len(cust), len(rs.lat)
        self.rel_by_c: dict[int, list[int]] = {}
        for c_, r_ in zip(rel["customer"].to_numpy(), rel["rep"].to_numpy()):
            self.rel_by_c.setdefault(int(c_), []).append(int(r_))
        self.owner_eligible = np.zeros(self.n_c, dtype=bool)
        self.eligible_count = np.zeros(self.n_c, dtype=np.int64)
        self.reset(None)

    def reset(self, arcs: pd.DataFrame | None) -> None:
        """Start the arc lists afresh, from ``arcs`` (or empty)."""
        parts = ("skill", "distance", "region", "tier")
        if arcs is None:
            self.arc_c, self.arc_r, self.arc_dist = [], [], []
            self.arc_parts: dict[str, list[np.ndarray]] = {p: [] for p in parts}
        else:
            self.arc_c, self.arc_r = [arcs["customer"].to_numpy()], [arcs["rep"].to_numpy()]
            self.arc_dist = [arcs["distance_km"].to_numpy()]
            self.arc_parts = {p: [arcs[p].to_numpy()] for p in parts}

    def arcs(self) -> pd.DataFrame:
        """The candidate arcs scored so far: customer, rep, static cost parts, distance_km."""
        return _assemble(self.arc_c, self.arc_r, self.arc_parts, self.arc_dist)

    def score(self, rows: np.ndarray, k_: int | None) -> None:
        """Add the candidate arcs of customers ``rows`` (positions in ``cust``); ``k_=None`` = every rep."""
        n_r, owner = self.n_r, self.owner
        elig, parts, dist = _score_block(self.cust.iloc[rows], self.rs, self.policy, self.vocab)
        static = parts["skill"] + parts["distance"] + parts["region"] + parts["tier"]
        static = np.where(elig, static, np.inf)
        own = owner[rows]
        # reclaimed customers must not go straight back to the owner that let them lapse
        excluded = self.exclude_owner[rows] & (own >= 0)
        if excluded.any():
            rr = np.flatnonzero(excluded)
            static[rr, own[rr]] = np.inf
            elig[rr, own[rr]] = False
        for j, c_ in enumerate(rows):
            for r_ in self.forbidden.get(int(c_), ()):
                static[j, r_] = np.inf
                elig[j, r_] = False
        has_own = own >= 0
        self.owner_eligible[rows[has_own]] = elig[np.flatnonzero(has_own), own[has_own]]
        self.eligible_count[rows] = elig.sum(axis=1)
        kk = n_r if k_ is None else min(k_, n_r)
        if kk < n_r:
            top = np.argpartition(static, kk - 1, axis=1)[:, :kk]
        else:
            top = np.tile(np.arange(n_r), (len(rows), 1))
        pick = np.zeros_like(elig)
        np.put_along_axis(pick, top, True, axis=1)
        pick &= elig
        # today's owner and every rep with a relationship stay candidates when eligible
        if has_own.any():
            hr = np.flatnonzero(has_own)
            pick[hr, own[has_own]] |= elig[hr, own[has_own]]
        for j, c_ in enumerate(rows):
            for r_ in self.rel_by_c.get(int(c_), ()):
                if elig[j, r_]:
                    pick[j, r_] = True
        bi, ri = np.nonzero(pick)
        self.arc_c.append(rows[bi])
        self.arc_r.append(ri.astype(np.int64))
        for p in self.arc_parts:
            self.arc_parts[p].append(parts[p][bi, ri])
        self.arc_dist.append(dist[bi, ri])


def _widen(scorer: _ArcScorer, free_rows: np.ndarray, remaining_acc: np.ndarray, remaining_wl: np.ndarray,
           load_int: np.ndarray, k: int) -> tuple[pd.DataFrame, int]:
    """Staffing check by max flow: widen the candidates of customers the nearest reps cannot take.

    Returns the arcs and how many customers were widened.
    """
    n_c, n_r = scorer.n_c, scorer.n_r
    arcs = scorer.arcs()
    widened = 0
    for _ in range(3):
        unmatched = np.union1d(
            _unplaceable(arcs, free_rows, remaining_acc, n_c, n_r),
            _unplaceable(arcs, free_rows, remaining_wl, n_c, n_r, demand=load_int),
        )
        counts = np.bincount(arcs["customer"], minlength=n_c)
        need = unmatched[scorer.eligible_count[unmatched] > counts[unmatched]]
        if len(need) == 0:
            break
        k = k * 4
        widened += len(need)
        scorer.reset(arcs.loc[~np.isin(arcs["customer"].to_numpy(), need)])
        for s in range(0, len(need), CHUNK):
            scorer.score(np.sort(need[s:s + CHUNK]), k if k < n_r else None)
        arcs = scorer.arcs()
    return arcs, widened


ARC_COLUMNS = ["customer", "rep", *COST_PARTS, "cost_total", "distance_km", "relationship_strength",
               "relationship_contacts"]


def relationship_bonus(strength: np.ndarray, weight: float) -> np.ndarray:
    """The relationship part of an arc's cost (<= 0): ``-weight * CAP * (1 - exp(-strength / CAP))``.

    Grows with every contact (so, in a dispute, the stronger relationship always weighs more)
    but never beyond ``weight * RELATIONSHIP_CAP``, so contacts alone cannot outweigh every rule.
    """
    s = np.maximum(np.asarray(strength, dtype=np.float64), 0.0)
    return -weight * RELATIONSHIP_CAP * -np.expm1(-s / RELATIONSHIP_CAP)


def _add_relationship(arcs: pd.DataFrame, rel: pd.DataFrame, weight: float) -> pd.DataFrame:
    """Add the columns relationship (bonus), relationship_strength and relationship_contacts to arcs."""
    ac = arcs["customer"].to_numpy(dtype=np.int64)
    ar = arcs["rep"].to_numpy(dtype=np.int64)
    if len(rel):
        rel_key = pd.MultiIndex.from_arrays([rel["customer"], rel["rep"]])
        pos = rel_key.get_indexer(pd.MultiIndex.from_arrays([ac, ar]))
        strength = np.where(pos >= 0, rel["strength"].to_numpy()[np.maximum(pos, 0)], 0.0)
        contacts = np.where(pos >= 0, rel["contacts"].to_numpy()[np.maximum(pos, 0)], 0)
    else:
        strength, contacts = np.zeros(len(arcs)), np.zeros(len(arcs), dtype=np.int64)
    arcs = arcs.copy()
    arcs["relationship"] = relationship_bonus(strength, weight)
    arcs["relationship_strength"] = strength
    arcs["relationship_contacts"] = contacts.astype(np.int64)
    return arcs


def customer_size(value: np.ndarray, mean_value: float) -> np.ndarray:
    """1 + value / mean value (at most 21): bigger accounts cost more to move or to leave in the pool."""
    return 1.0 + np.minimum(np.asarray(value, dtype=np.float64) / max(mean_value, 1e-9), 20.0)


def pool_cost_points(tier: pd.Series, size: np.ndarray, policy: Policy) -> np.ndarray:
    """Cost of leaving each customer in the pool: ``weights.pool * size * weights.pool_tier[tier]``.

    When capacity is short the engine leaves the cheapest customers in the pool, so higher-value
    and higher-tier customers are placed first.
    """
    mult = tier.map(policy.weights.pool_tier).astype("float64").fillna(1.0).to_numpy()
    return policy.weights.pool * size * mult


def _balance_targets(reps: pd.DataFrame, total_value: float, total_workload: float) -> tuple[np.ndarray, np.ndarray]:
    """Each active rep's share of the book's value and workload, proportional to its account capacity."""
    cap_acc = reps["max_accounts"].to_numpy(dtype=np.float64)
    active = reps["active"].to_numpy(dtype=bool)
    capw = np.where(np.isnan(cap_acc), np.nan, cap_acc)
    fill = np.nanmean(capw[active]) if np.isfinite(capw[active]).any() else 1.0
    capw = np.where(np.isnan(capw), fill, capw) * active
    share = capw / capw.sum() if capw.sum() > 0 else active / max(1, active.sum())
    return share * total_value, share * total_workload


def _balance_terms(policy: Policy, reps: pd.DataFrame, value: np.ndarray, workload: np.ndarray,
                   fixed_owner: np.ndarray, arc_customer: np.ndarray, value_target: np.ndarray,
                   workload_target: np.ndarray) -> tuple[BalanceTerm, ...]:
    """Soft balance bands on value and workload per rep.

    ``value``/``workload`` cover every customer; ``fixed_owner`` is the rep of customers outside the
    model (locked ones; in ``assign-new`` the whole book), -1 otherwise; ``arc_customer`` is the
    customer of each model arc.
    """
    w, tol = policy.weights, policy.rules.balance_tolerance
    far_tol = policy.rules.balance_far_tolerance
    n_r = len(reps)
    active = reps["active"].to_numpy(dtype=bool)
    fixed_mask = fixed_owner >= 0
    out = []
    for name, amount, target, weight in (
        ("value_balance", value, value_target, w.value_balance),
        ("workload_balance", workload, workload_target, w.workload_balance),
    ):
        if weight <= 0:
            continue
        unit = max(float(amount.mean()), 1e-9) / AMOUNT_UNITS_PER_MEAN
        amt_int = _to_int(amount / unit)
        fixed = np.bincount(fixed_owner[fixed_mask], weights=amt_int[fixed_mask], minlength=n_r).astype(np.int64)
        per_unit = weight * COST_SCALE / AMOUNT_UNITS_PER_MEAN
        # two nested bands make the penalty convex: mild near the target, steep far from it
        for suffix, band, factor in (("", tol, 1), ("_far", far_tol, FAR_BALANCE_FACTOR)):
            out.append(BalanceTerm(
                name=name + suffix,
                arc_amount=amt_int[arc_customer],
                fixed_amount=fixed,
                lower=_to_int(np.floor(target * (1 - band) / unit)),
                upper=_to_int(np.ceil(target * (1 + band) / unit)),
                weight=np.where(active, round(per_unit * factor), 0).astype(np.int64),
            ))
    return tuple(out)


def _prepare(customers: pd.DataFrame, reps: pd.DataFrame, policy: Policy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers and reps sorted by id; customers get ``workload`` filled from the tier and ``owner``."""
    rules = policy.rules
    cust = customers.sort_values("customer_id", kind="stable").reset_index(drop=True).copy()
    reps = reps.sort_values("rep_id", kind="stable").reset_index(drop=True).copy()
    rep_ids = pd.Index(reps["rep_id"])
    tier_wl = cust["tier"].map(rules.tier_workload).astype("float64").fillna(rules.default_workload)
    cust["workload"] = cust["workload"].astype("float64").fillna(tier_wl)
    cust["owner"] = rep_ids.get_indexer(cust["current_owner"].where(cust["current_owner"] != "", None))
    cust.loc[cust["current_owner"] == "", "owner"] = -1
    return cust, reps


def _vocabs_and_reps(cust: pd.DataFrame, reps: pd.DataFrame) -> tuple[_RepSide, tuple]:
    vocab_ind = _vocab(set(cust["industry"]), reps["industries"])
    vocab_prod = _vocab(set(), cust["products"], reps["products"])
    vocab_lang = _vocab(set(cust["language"]), reps["languages"])
    vocab_region = _vocab(set(cust["region"]) | set(reps["region"]))
    rs = _rep_side(reps, vocab_ind, vocab_prod, vocab_lang, vocab_region)
    return rs, (vocab_ind, vocab_prod, vocab_lang, vocab_region)


def build_book(
    customers: pd.DataFrame,
    reps: pd.DataFrame,
    activities: pd.DataFrame | None,
    policy: Policy,
    as_of: dt.date,
    forbidden: Iterable[tuple[str, str]] | None = None,
) -> Book:
    """Build candidate arcs, costs and the engine problem from validated tables.

    ``forbidden`` lists (customer_id, rep_id) pairs that may not be chosen (moves a manager
    rejected).

    Raises
    ------
    PolicyError
        When a customer that must be placed has no eligible rep and the policy forbids the pool.
    """
    w, rules = policy.weights, policy.rules
    warnings: list[str] = []
    cust, reps = _prepare(customers, reps, policy)
    rep_ids = pd.Index(reps["rep_id"])
    cust_ids = pd.Index(cust["customer_id"])
    n_c, n_r = len(cust), len(reps)
    owner = cust["owner"].to_numpy(dtype=np.int64)
    locked = cust["locked"].to_numpy(dtype=bool) & (owner >= 0)
    forced = _forced_reasons(cust, reps, policy, as_of)

    value = cust["value"].to_numpy(dtype=np.float64)
    size = customer_size(value, float(value.mean()))
    workload = cust["workload"].to_numpy(dtype=np.float64)

    rel = relationship_strength(activities, cust_ids, rep_ids, policy, as_of)
    rs, vocab = _vocabs_and_reps(cust, reps)

    k = policy.solver.candidates
    forbidden_pos: dict[int, list[int]] = {}
    for cid, rid in forbidden or ():
        c_, r_ = cust_ids.get_indexer([cid])[0], rep_ids.get_indexer([rid])[0]
        if c_ >= 0 and r_ >= 0:
            forbidden_pos.setdefault(int(c_), []).append(int(r_))
    scorer = _ArcScorer(cust, rs, policy, vocab, owner, forced == FORCED_RECLAIMED, rel, forbidden_pos)
    free_rows = np.flatnonzero(~locked)
    for s in range(0, n_c, CHUNK):
        blk = np.arange(s, min(s + CHUNK, n_c))
        rows = blk[~locked[blk]]
        if len(rows):
            scorer.score(rows, k)

    # staffing check: can every customer be placed on these arcs by account capacity? widen where not
    cap_acc = reps["max_accounts"].to_numpy(dtype=np.float64)
    locked_count = np.bincount(owner[locked], minlength=n_r)
    remaining_acc = np.where(np.isnan(cap_acc), n_c, cap_acc - locked_count).clip(min=0).astype(np.int64)
    # round loads up and capacities down: the integer check then implies the check in hours
    load_int = _to_int(np.ceil(cust["workload"].to_numpy(dtype=np.float64) * LOAD_SCALE - 1e-9))
    cap_wl_all = reps["max_workload"].to_numpy(dtype=np.float64)
    locked_wl = np.bincount(owner[locked], weights=load_int[locked], minlength=n_r)
    remaining_wl = np.where(np.isnan(cap_wl_all), load_int.sum() + 1,
                            np.floor(cap_wl_all * LOAD_SCALE) - locked_wl).clip(min=0).astype(np.int64)
    arcs, widened = _widen(scorer, free_rows, remaining_acc, remaining_wl, load_int, k)
    if widened:
        warnings.append(f"widened the candidate reps of {widened} customers where the nearest ones lacked capacity")

    # locked customers keep their owner: one fixed arc each, outside the engine
    if locked.any():
        lc = np.flatnonzero(locked)
        elig_l, parts_l, dist_l = _score_block(cust.iloc[lc], rs, policy, vocab)
        lo = owner[lc]
        idx = np.arange(len(lc))
        locked_arcs = pd.DataFrame({
            "customer": lc, "rep": lo,
            **{p: parts_l[p][idx, lo] for p in ("skill", "distance", "region", "tier")},
            "distance_km": dist_l[idx, lo],
        })
        arcs = pd.concat([arcs, locked_arcs], ignore_index=True)
    arcs = arcs.sort_values(["customer", "rep"], kind="stable").reset_index(drop=True)

    # relationship bonus and continuity
    arcs = _add_relationship(arcs, rel, w.relationship)
    ac = arcs["customer"].to_numpy(dtype=np.int64)
    ar = arcs["rep"].to_numpy(dtype=np.int64)
    voluntary_owner = np.where((owner >= 0) & (forced == "") & ~locked, owner, -1)
    moved = (voluntary_owner[ac] >= 0) & (ar != voluntary_owner[ac])
    arcs["continuity"] = np.where(moved, w.continuity * size[ac], 0.0)
    arcs["cost_total"] = arcs[list(COST_PARTS)].sum(axis=1)
    arcs = arcs[ARC_COLUMNS]

    # a valid owner that the rules no longer allow makes the move forced, not voluntary
    has_owner_arc = np.zeros(n_c, dtype=bool)
    has_owner_arc[ac[ar == owner[ac]]] = True
    inel = (owner >= 0) & ~locked & (forced == "") & ~has_owner_arc
    forced[inel] = FORCED_INELIGIBLE
    voluntary_owner[inel] = -1

    status = np.where(locked, "locked", np.where(owner < 0, "pool", np.where(forced != "", "forced", "owned")))
    cust["status"] = status
    cust["forced_reason"] = forced

    # ---- the engine problem over free customers
    free = np.flatnonzero(~locked).astype(np.int64)
    free_pos = np.full(n_c, -1, dtype=np.int64)
    free_pos[free] = np.arange(len(free))
    free_arc_mask = ~locked[ac]
    free_arcs = np.flatnonzero(free_arc_mask).astype(np.int64)
    fa_c = free_pos[ac[free_arcs]]
    fa_r = ar[free_arcs]

    pool_points = pool_cost_points(cust["tier"], size, policy)
    warnings += _stranded(cust, ac, ~locked, rules.allow_pool, "customers")

    cost_int = _to_int(arcs["cost_total"].to_numpy()[free_arcs] * COST_SCALE)
    locked_load = np.bincount(owner[locked], weights=load_int[locked], minlength=n_r).astype(np.int64)
    cap_wl = reps["max_workload"].to_numpy(dtype=np.float64)
    load_cap = np.where(np.isnan(cap_wl), -1, np.maximum(0, np.floor(cap_wl * LOAD_SCALE) - locked_load)).astype(np.int64)
    count_cap = np.where(np.isnan(cap_acc), -1, np.maximum(0, cap_acc - locked_count)).astype(np.int64)

    value_target, workload_target = _balance_targets(reps, value.sum(), workload.sum())
    hint = np.full(len(free), -1, dtype=np.int64)
    arc_of_owner = np.flatnonzero(ar[free_arcs] == voluntary_owner[ac[free_arcs]])
    hint[fa_c[arc_of_owner]] = arc_of_owner
    balance = _balance_terms(policy, reps, value, workload, np.where(locked, owner, -1), ac[free_arcs],
                             value_target, workload_target)

    # reps over capacity today must shed customers; those moves are not the budget's to refuse
    capacity_moves = _capacity_moves(voluntary_owner, load_int, count_cap, load_cap, n_r)
    if capacity_moves and rules.move_budget >= 0:
        warnings.append(f"{capacity_moves} moves are needed to bring reps within capacity; "
                        f"the move budget is raised by that many")
    problem = ArcProblem(
        n_customers=len(free),
        n_reps=n_r,
        arc_customer=fa_c,
        arc_rep=fa_r,
        arc_cost=cost_int,
        arc_load=load_int[ac[free_arcs]],
        load_capacity=load_cap,
        count_capacity=count_cap,
        pool_cost=_to_int(pool_points[free] * COST_SCALE) if rules.allow_pool else None,
        hint_arc=hint,
        owner=voluntary_owner[free],
        move_budget=rules.move_budget + capacity_moves if rules.move_budget >= 0 else -1,
        max_moves_per_rep=rules.max_moves_per_rep,
        balance=tuple(balance),
    )
    return Book(cust, reps, arcs, problem, free, free_arcs, pool_points, value_target, workload_target,
                widened, capacity_moves, tuple(warnings), as_of, rules.relationship_window_days)


def build_new_book(
    book: pd.DataFrame,
    reps: pd.DataFrame,
    new: pd.DataFrame,
    activities: pd.DataFrame | None,
    policy: Policy,
    as_of: dt.date,
) -> Book:
    """The problem of placing new customers into today's ownership without moving anyone else.

    Same scoring as ``build_book``: candidate arcs of the new customers only, on the cost model of
    the whole book (value sizes and balance units over book and new customers alike); each rep's
    capacities are reduced by today's book (accounts and workload), and the balance bands count
    today's book as a fixed amount.

    Parameters
    ----------
    book, reps, new
        Validated customers (today's book), reps, and new customers (no owner, ids not in the book).

    Returns
    -------
    Book
        Over the new customers only (``customers`` holds them, sorted by id, status "pool").

    Raises
    ------
    PolicyError
        When a new customer has no eligible rep and the policy forbids the pool.
    """
    w, rules = policy.weights, policy.rules
    warnings: list[str] = []
    everyone = pd.concat([book, new], ignore_index=True)
    is_new = np.r_[np.zeros(len(book), dtype=bool), np.ones(len(new), dtype=bool)]
    everyone["_new"] = is_new
    cust_all, reps = _prepare(everyone, reps, policy)
    is_new = cust_all.pop("_new").to_numpy(dtype=bool)
    n_r = len(reps)
    value_all = cust_all["value"].to_numpy(dtype=np.float64)
    workload_all = cust_all["workload"].to_numpy(dtype=np.float64)
    owner_all = cust_all["owner"].to_numpy(dtype=np.int64)
    load_all = _to_int(np.ceil(workload_all * LOAD_SCALE - 1e-9))
    size_all = customer_size(value_all, float(value_all.mean()))

    new_pos = np.flatnonzero(is_new)
    cust = cust_all.iloc[new_pos].reset_index(drop=True)
    n_c = len(cust)
    owner = np.full(n_c, -1, dtype=np.int64)
    cust["owner"] = owner
    load_int = load_all[new_pos]
    cust_ids = pd.Index(cust["customer_id"])
    rep_ids = pd.Index(reps["rep_id"])
    acts = None
    if activities is not None and len(activities):
        acts = activities.loc[activities["customer_id"].isin(cust_ids)]
    rel = relationship_strength(acts, cust_ids, rep_ids, policy, as_of)
    rs, vocab = _vocabs_and_reps(cust, reps)

    # today's book uses capacity: what is left is the room for new customers
    held = owner_all >= 0
    count_today = np.bincount(owner_all[held], minlength=n_r)
    load_today = np.bincount(owner_all[held], weights=load_all[held], minlength=n_r)
    cap_acc = reps["max_accounts"].to_numpy(dtype=np.float64)
    cap_wl = reps["max_workload"].to_numpy(dtype=np.float64)
    count_cap = np.where(np.isnan(cap_acc), -1, np.maximum(0, cap_acc - count_today)).astype(np.int64)
    load_cap = np.where(np.isnan(cap_wl), -1,
                        np.maximum(0, np.floor(cap_wl * LOAD_SCALE) - load_today)).astype(np.int64)

    k = policy.solver.candidates
    scorer = _ArcScorer(cust, rs, policy, vocab, owner, np.zeros(n_c, dtype=bool), rel)
    for s in range(0, n_c, CHUNK):
        scorer.score(np.arange(s, min(s + CHUNK, n_c)), k)
    remaining_acc = np.where(count_cap < 0, n_c, count_cap)
    remaining_wl = np.where(load_cap < 0, load_int.sum() + 1, load_cap)
    arcs, widened = _widen(scorer, np.arange(n_c), remaining_acc, remaining_wl, load_int, k)
    if widened:
        warnings.append(f"widened the candidate reps of {widened} new customers where the nearest ones lacked room")
    arcs = arcs.sort_values(["customer", "rep"], kind="stable").reset_index(drop=True)
    arcs = _add_relationship(arcs, rel, w.relationship)
    arcs["continuity"] = 0.0  # a new customer has no owner to lose
    arcs["cost_total"] = arcs[list(COST_PARTS)].sum(axis=1)
    arcs = arcs[ARC_COLUMNS]
    ac = arcs["customer"].to_numpy(dtype=np.int64)
    ar = arcs["rep"].to_numpy(dtype=np.int64)

    warnings += _stranded(cust, ac, np.ones(n_c, dtype=bool), rules.allow_pool, "new customers")

    size = size_all[new_pos]
    pool_points = pool_cost_points(cust["tier"], size, policy)
    value_target, workload_target = _balance_targets(reps, value_all.sum(), workload_all.sum())
    balance = _balance_terms(policy, reps, value_all, workload_all, np.where(is_new, -1, owner_all),
                             new_pos[ac], value_target, workload_target)
    cust["status"] = "pool"
    cust["forced_reason"] = ""
    problem = ArcProblem(
        n_customers=n_c,
        n_reps=n_r,
        arc_customer=ac,
        arc_rep=ar,
        arc_cost=_to_int(arcs["cost_total"].to_numpy() * COST_SCALE),
        arc_load=load_int[ac],
        load_capacity=load_cap,
        count_capacity=count_cap,
        pool_cost=_to_int(pool_points * COST_SCALE) if rules.allow_pool else None,
        balance=balance,
    )
    return Book(cust, reps, arcs, problem, np.arange(n_c, dtype=np.int64), np.arange(len(arcs), dtype=np.int64),
                pool_points, value_target, workload_target, widened, 0, tuple(warnings), as_of,
                rules.relationship_window_days)


def _stranded(cust: pd.DataFrame, arc_customer: np.ndarray, free: np.ndarray, allow_pool: bool,
              noun: str) -> list[str]:
    """Free customers with no candidate arc: a warning (they stay in the pool), or an error without pool."""
    no_arc = np.ones(len(cust), dtype=bool)
    no_arc[arc_customer] = False
    stranded = np.flatnonzero(no_arc & free)
    if not len(stranded):
        return []
    if not allow_pool:
        ids = ", ".join(cust["customer_id"].iloc[stranded[:5]])
        more = f" and {len(stranded) - 5} more" if len(stranded) > 5 else ""
        raise PolicyError(
            f"{len(stranded)} {noun} have no eligible rep ({ids}{more}) and rules.allow_pool is false; "
            "allow the pool, or relax region_mode, min_level or require_language"
        )
    return [f"{len(stranded)} {noun} have no eligible rep and stay in the pool"]


def _capacity_moves(owner: np.ndarray, load: np.ndarray, count_cap: np.ndarray, load_cap: np.ndarray,
                    n_r: int) -> int:
    """Fewest customers that over-capacity reps must give up (per rep, accounts or workload)."""
    has = owner >= 0
    if not has.any():
        return 0
    df = pd.DataFrame({"rep": owner[has], "load": load[has]}).sort_values(["rep", "load"], ascending=[True, False])
    count = np.bincount(df["rep"], minlength=n_r)
    acc_excess = np.where(count_cap >= 0, np.maximum(0, count - count_cap), 0)
    total = np.bincount(df["rep"], weights=df["load"], minlength=n_r)
    over = np.where(load_cap >= 0, total - load_cap, -1)[df["rep"].to_numpy()]
    shed = df.groupby("rep")["load"].cumsum().to_numpy()
    # shedding the largest first: how many until the rest fits
    need = (shed - df["load"].to_numpy() < over)
    wl_excess = np.bincount(df["rep"][need], minlength=n_r)
    return int(np.maximum(acc_excess, wl_excess).sum())


def _vocab(values: set[str], *lists: pd.Series) -> dict[str, int]:
    """Sorted vocabulary (position per word) of single values and list columns, blanks dropped."""
    words = set(values)
    for col in lists:
        for items in col:
            words.update(items)
    words.discard("")
    return {v: i for i, v in enumerate(sorted(words))}


def _assemble(arc_c, arc_r, arc_parts, arc_dist) -> pd.DataFrame:
    df = pd.DataFrame({
        "customer": np.concatenate(arc_c) if arc_c else np.zeros(0, np.int64),
        "rep": np.concatenate(arc_r) if arc_r else np.zeros(0, np.int64),
        **{p: (np.concatenate(v) if v else np.zeros(0)) for p, v in arc_parts.items()},
        "distance_km": np.concatenate(arc_dist) if arc_dist else np.zeros(0),
    })
    return df.drop_duplicates(["customer", "rep"]).reset_index(drop=True)


def _unplaceable(arcs: pd.DataFrame, free_rows: np.ndarray, rep_cap: np.ndarray, n_c: int, n_r: int,
                 demand: np.ndarray | None = None) -> np.ndarray:
    """Free customers a maximum flow over the arcs cannot fully place.

    With ``demand`` (workload units per customer) the flow is the fractional relaxation of
    workload capacity; without, each customer needs one account.
    """
    smf = max_flow.SimpleMaxFlow()
    src, snk = n_c + n_r, n_c + n_r + 1
    c = arcs["customer"].to_numpy(dtype=np.int64)
    r = arcs["rep"].to_numpy(dtype=np.int64)
    tails = np.concatenate([np.full(len(free_rows), src), c, n_c + np.arange(n_r)])
    heads = np.concatenate([free_rows, n_c + r, np.full(n_r, snk)])
    need = np.ones(n_c, np.int64) if demand is None else np.maximum(demand.astype(np.int64), 1)
    caps = np.concatenate([need[free_rows], need[c], rep_cap])
    smf.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64))
    smf.solve(src, snk)
    flows = smf.flows(np.arange(len(free_rows), dtype=np.int32))
    return free_rows[flows < need[free_rows]]


def _to_int(x: np.ndarray) -> np.ndarray:
    """Round to int64, refusing values that could overflow the solver's arithmetic."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) and np.nanmax(np.abs(x)) > 2**40:
        raise PolicyError("a cost or amount is too large to solve exactly; lower the weights or the value scale")
    return np.rint(np.nan_to_num(x)).astype(np.int64)


def distance_matrix_km(c_lat, c_lon, r_lat, r_lon) -> np.ndarray:
    """Great-circle distances (km) between customers and reps (NaN where a location is unknown)."""
    return _haversine_km(np.asarray(c_lat)[:, None], np.asarray(c_lon)[:, None], np.asarray(r_lat)[None, :],
                         np.asarray(r_lon)[None, :])


__all__ = ["Book", "build_book", "build_new_book", "relationship_strength", "COST_PARTS", "COST_SCALE"]
