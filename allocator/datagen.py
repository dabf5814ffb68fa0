"""Seeded synthetic CRM books: customers, reps and activities of any size.

The book looks like a real Chinese sales organisation: customers clustered around ~25 real
cities in six regions, Pareto-distributed value, tiers from value quantiles, reps staffed
roughly where the customers are, and today's ownership deliberately unbalanced in value
(but within every active rep's capacity), with a pool, locked accounts, leaving reps and
ownership disputes in the contact history.

Everything is drawn from one ``numpy.random.Generator`` built from ``seed`` and is
vectorised; Python loops only run over small things (regions, eligibility groups, reps of
a region), so ``generate(100_000, 1_000)`` takes about a second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .policy import Rules

__all__ = ["generate", "write_generated", "CUSTOMER_COLUMNS", "REP_COLUMNS", "ACTIVITY_COLUMNS"]

CUSTOMER_COLUMNS = (
    "customer_id", "value", "workload", "tier", "industry", "region", "lat", "lon",
    "products", "language", "current_owner", "locked", "last_activity",
)
REP_COLUMNS = (
    "rep_id", "name", "region", "lat", "lon", "industries", "products", "languages",
    "level", "max_accounts", "max_workload", "active", "team",
)
ACTIVITY_COLUMNS = ("customer_id", "rep_id", "date", "kind")

LIST_COLUMNS = ("products", "industries", "languages")
DATE_COLUMNS = ("last_activity", "date")
BOOL_COLUMNS = ("locked", "active")

# (city, region, lat, lon, relative size): size drives the share of customers.
CITIES: tuple[tuple[str, str, float, float, float], ...] = (
    ("Beijing", "华北", 39.9042, 116.4074, 10.0),
    ("Tianjin", "华北", 39.3434, 117.3616, 5.0),
    ("Shijiazhuang", "华北", 38.0428, 114.5149, 3.0),
    ("Taiyuan", "华北", 37.8706, 112.5489, 2.0),
    ("Shanghai", "华东", 31.2304, 121.4737, 12.0),
    ("Hangzhou", "华东", 30.2741, 120.1551, 6.0),
    ("Nanjing", "华东", 32.0603, 118.7969, 5.0),
    ("Suzhou", "华东", 31.2990, 120.5853, 5.0),
    ("Ningbo", "华东", 29.8683, 121.5440, 3.0),
    ("Hefei", "华东", 31.8206, 117.2272, 3.0),
    ("Jinan", "华东", 36.6512, 117.1201, 3.0),
    ("Qingdao", "华东", 36.0671, 120.3826, 3.0),
    ("Guangzhou", "华南", 23.1291, 113.2644, 8.0),
    ("Shenzhen", "华南", 22.5431, 114.0579, 9.0),
    ("Dongguan", "华南", 23.0207, 113.7518, 3.0),
    ("Xiamen", "华南", 24.4798, 118.0894, 3.0),
    ("Nanning", "华南", 22.8170, 108.3665, 2.0),
    ("Wuhan", "华中", 30.5928, 114.3055, 5.0),
    ("Changsha", "华中", 28.2282, 112.9388, 4.0),
    ("Zhengzhou", "华中", 34.7466, 113.6253, 4.0),
    ("Chengdu", "西南", 30.5728, 104.0668, 6.0),
    ("Chongqing", "西南", 29.5630, 106.5516, 5.0),
    ("Kunming", "西南", 24.8801, 102.8329, 2.0),
    ("Guiyang", "西南", 26.6470, 106.6302, 1.5),
    ("Xi'an", "西北", 34.3416, 108.9398, 4.0),
    ("Lanzhou", "西北", 36.0611, 103.8343, 1.5),
    ("Urumqi", "西北", 43.8256, 87.6168, 1.0),
)

INDUSTRIES = ("manufacturing", "retail", "technology", "healthcare", "finance", "logistics",
              "education", "energy")
INDUSTRY_WEIGHTS = (0.22, 0.16, 0.14, 0.10, 0.10, 0.10, 0.08, 0.10)
PRODUCTS = ("crm", "erp", "analytics", "cloud", "security", "payments")
PRODUCT_WEIGHTS = (0.30, 0.20, 0.15, 0.15, 0.10, 0.10)
LANGUAGES = ("zh", "en", "ja")
TIERS = ("strategic", "key", "standard")
KINDS = ("contact", "call", "meeting", "deal_won")

SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu",
            "Sun", "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo", "Zheng", "Liang", "Xie",
            "Song", "Tang", "Han", "Feng", "Deng", "Cao", "Peng")
GIVEN_NAMES = ("Fang", "Wei", "Na", "Min", "Jing", "Lei", "Yang", "Jie", "Tao", "Jun", "Yan",
               "Hui", "Qiang", "Ping", "Gang", "Xiuying", "Li", "Ming", "Hao", "Yu", "Xin",
               "Chao", "Lin", "Hong", "Bo", "Dan", "Peng", "Ying", "Yifan", "Zihan", "Haoran",
               "Xiaoming", "Lili", "Jiahui", "Wenjie", "Yuxuan")

AS_OF = date(2026, 11, 30)

# Shares and sizes of the synthetic book (fractions of customers or reps).
STRATEGIC_SHARE, KEY_SHARE = 0.03, 0.17
WORKLOAD_MISSING_SHARE = 0.10
POOL_PROBABILITY = {"strategic": 0.01, "key": 0.03, "standard": 0.095}  # ~8 % overall
CROSS_REGION_SHARE = 0.04  # legacy owners outside the customer's region
LOCKED_SHARE = 0.03
INACTIVE_REP_SHARE = 0.05
DISPUTE_SHARE = 0.10
CAPACITY_HEADROOM = 1.25  # total account capacity / customers
WORKLOAD_HEADROOM = 1.2
LAST_ACTIVITY_DAYS = 400
ACTIVITY_WINDOW_DAYS = 365
# Exponent on a rep's Zipf favouritism, per tier: big accounts concentrate on favourites.
FAVOURITISM = {"strategic": 2.0, "key": 1.5, "standard": 0.4}
ZIPF_EXPONENT = 1.0
FAVOURED_ROUNDS = 8
REASSIGN_ROUNDS = 30


def generate(
    n_customers: int,
    n_reps: int,
    seed: int = 0,
    as_of: date = AS_OF,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate a realistic, seeded synthetic book.

    Parameters
    ----------
    n_customers, n_reps
        Table sizes (at least 1 each).
    seed
        Seed of the random generator; the same seed gives identical frames.
    as_of
        The book's date: last activities and contacts lie before it.

    Returns
    -------
    (customers, reps, activities)
        Frames with exactly the columns of DESIGN.md. List columns hold Python lists of
        strings; ``last_activity`` and ``date`` are ``datetime64`` at midnight; a missing
        ``current_owner`` (pool) or ``workload`` (tier default applies) is NA.
    """
    if n_customers < 1 or n_reps < 1:
        raise ValueError(f"need at least one customer and one rep, got n_customers={n_customers}, n_reps={n_reps}")
    rng = np.random.default_rng(seed)
    rules = Rules()

    cust = _draw_customers(rng, n_customers)
    tier_default = np.array([rules.tier_workload.get(t, rules.default_workload) for t in TIERS])
    eff_workload = np.where(np.isnan(cust["workload"]), tier_default[cust["tier"]], cust["workload"])
    reps = _draw_reps(rng, n_reps, n_customers, cust["city"], float(eff_workload.mean()))

    min_level = np.array([rules.min_level.get(t, 1) for t in TIERS])
    owner = _draw_ownership(rng, cust, reps, eff_workload, min_level)
    locked = _draw_locked(rng, cust["tier"], owner, reps["active"])
    last_days = _draw_last_activity_days(rng, owner)
    acts = _draw_activities(rng, cust, reps, owner, last_days)

    customers, reps_df, activities = _build_frames(cust, reps, owner, locked, last_days, acts, as_of)
    _check_book(customers, reps_df, activities, eff_workload)
    return customers, reps_df, activities


def write_generated(
    out_dir: str | os.PathLike[str],
    customers: pd.DataFrame,
    reps: pd.DataFrame,
    activities: pd.DataFrame,
    fmt: str = "parquet",
) -> list[Path]:
    """Write the three tables as ``customers``, ``reps`` and ``activities`` files in ``out_dir``.

    Parquet keeps list columns as ``list<string>``, ``locked``/``active`` as bool and dates
    as ``date32``. CSV is UTF-8 with lists ``;``-joined, dates ISO (``2026-11-30``), bools
    ``true``/``false`` and missing values empty. Each file is written to a temporary name
    first and then renamed, so no half-written file is left behind.

    Returns the paths written, in the order customers, reps, activities.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (("customers", customers), ("reps", reps), ("activities", activities)):
        path = out / f"{name}.{fmt}"
        tmp = out / f".{name}.{fmt}.tmp"
        try:
            if fmt == "parquet":
                pq.write_table(_to_arrow(frame), tmp)
            else:
                _to_csv_frame(frame).to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------- customers


def _draw_customers(rng: np.random.Generator, n: int) -> dict[str, npt.NDArray]:
    """Customers as integer-coded arrays (city, tier, industry, language, product mask)."""
    size = np.array([c[4] for c in CITIES])
    city = rng.choice(len(CITIES), size=n, p=size / size.sum())
    # bigger cities sprawl further: 15..30 km standard deviation
    sd_km = 15.0 + 15.0 * (size - size.min()) / (size.max() - size.min())
    lat, lon = _scatter(rng, city, sd_km[city])

    value = np.minimum((rng.pareto(1.6, n) + 1.0) * 20_000.0, 5_000_000.0)
    value = np.round(value, -2)
    # tier by value rank: ties broken by position so the split is exact and seeded
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-value, kind="stable")] = np.arange(n)
    n_strategic = round(STRATEGIC_SHARE * n)
    n_key = round((STRATEGIC_SHARE + KEY_SHARE) * n) - n_strategic
    tier = np.where(rank < n_strategic, 0, np.where(rank < n_strategic + n_key, 1, 2))

    base = np.array([20.0, 8.0, 3.0])[tier]
    workload = np.round(base * rng.lognormal(0.0, 0.3, n) * 2.0) / 2.0  # half hours
    workload = np.maximum(workload, 0.5)
    workload[rng.random(n) < WORKLOAD_MISSING_SHARE] = np.nan

    industry = rng.choice(len(INDUSTRIES), size=n, p=INDUSTRY_WEIGHTS)
    products = _draw_subset_masks(rng, n, PRODUCT_WEIGHTS, (1, 2, 3), (0.5, 0.35, 0.15))
    language = rng.choice(3, size=n, p=(0.94, 0.05, 0.01))
    return {
        "city": city, "lat": lat, "lon": lon, "value": value, "tier": tier,
        "workload": workload, "industry": industry, "products": products, "language": language,
    }


def _scatter(
    rng: np.random.Generator, city: npt.NDArray[np.int64], sd_km: npt.NDArray[np.float64] | float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Points normally scattered around their city, ``sd_km`` kilometres in each direction."""
    lat0 = np.array([c[2] for c in CITIES])[city]
    lon0 = np.array([c[3] for c in CITIES])[city]
    dlat = rng.normal(0.0, 1.0, len(city)) * sd_km / 111.0
    dlon = rng.normal(0.0, 1.0, len(city)) * sd_km / (111.0 * np.cos(np.radians(lat0)))
    return np.round(lat0 + dlat, 5), np.round(lon0 + dlon, 5)


def _draw_subset_masks(
    rng: np.random.Generator,
    n: int,
    item_weights: Sequence[float],
    sizes: Sequence[int],
    size_probs: Sequence[float],
) -> npt.NDArray[np.int64]:
    """Weighted subsets without replacement, as bit masks (Efraimidis-Spirakis keys)."""
    w = np.asarray(item_weights, dtype=float)
    keys = rng.random((n, len(w))) ** (1.0 / w)
    order = np.argsort(-keys, axis=1)
    k = rng.choice(np.asarray(sizes), size=n, p=size_probs)
    chosen = np.arange(len(w))[None, :] < k[:, None]
    bits = np.where(chosen, 1 << order, 0)
    return bits.sum(axis=1)


def _masks_to_lists(masks: npt.NDArray[np.int64], items: Sequence[str]) -> list[list[str]]:
    """Bit masks to lists of item names (in the items' order)."""
    table = [[it for b, it in enumerate(items) if m >> b & 1] for m in range(1 << len(items))]
    # a fresh list per row, so frames never share mutable cells
    return [list(table[m]) for m in masks.tolist()]


# ---------------------------------------------------------------------------- reps


def _draw_reps(
    rng: np.random.Generator, n: int, n_customers: int, cust_city: npt.NDArray[np.int64], mean_workload: float
) -> dict[str, npt.NDArray]:
    """Reps staffed where the customers are, with skills, levels and capacities."""
    # systematic sampling of home cities proportional to customers: every city gets the
    # floor or ceiling of its quota, so staffing follows demand even for small n
    density = np.bincount(cust_city, minlength=len(CITIES)) + 0.5
    cum = np.cumsum(density / density.sum())
    city = np.minimum(np.searchsorted(cum, (rng.random() + np.arange(n)) / n), len(CITIES) - 1)
    city = rng.permutation(city)
    lat, lon = _scatter(rng, city, 3.0)

    industries = _draw_subset_masks(rng, n, INDUSTRY_WEIGHTS, (1, 2, 3), (0.3, 0.45, 0.25))
    products = _draw_subset_masks(rng, n, PRODUCT_WEIGHTS, (2, 3, 4), (0.35, 0.4, 0.25))
    languages = np.ones(n, dtype=np.int64)  # bit 0 = zh, always
    languages |= np.where(rng.random(n) < 0.15, 2, 0)
    languages |= np.where(rng.random(n) < 0.03, 4, 0)
    if n >= 2 and not (languages & 2).any():
        languages[rng.integers(n)] |= 2
    if n >= 3 and not (languages & 4).any():
        languages[rng.integers(n)] |= 4
    level = rng.choice(np.arange(1, 6), size=n, p=(0.12, 0.32, 0.30, 0.18, 0.08))

    active = np.ones(n, dtype=bool)
    n_inactive = max(1, round(INACTIVE_REP_SHARE * n)) if n >= 5 else 0
    active[rng.choice(n, size=n_inactive, replace=False)] = False
    base_accounts = CAPACITY_HEADROOM * n_customers / active.sum()
    max_accounts = np.ceil(base_accounts * (0.9 + 0.05 * (level - 1))).astype(np.int64)
    max_workload = np.ceil(max_accounts * mean_workload * WORKLOAD_HEADROOM)

    names = np.array([f"{s} {g}" for s in SURNAMES for g in GIVEN_NAMES], dtype=object)
    name = names[rng.integers(len(names), size=n)]
    return {
        "city": city, "lat": lat, "lon": lon, "industries": industries, "products": products,
        "languages": languages, "level": level, "active": active, "max_accounts": max_accounts,
        "max_workload": max_workload, "name": name,
    }


# ---------------------------------------------------------------------------- ownership


def _region_codes(city: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    regions = list(dict.fromkeys(c[1] for c in CITIES))
    lookup = np.array([regions.index(c[1]) for c in CITIES])
    return lookup[city]


def _draw_ownership(
    rng: np.random.Generator,
    cust: dict[str, npt.NDArray],
    reps: dict[str, npt.NDArray],
    workload: npt.NDArray[np.float64],
    min_level: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Today's owner per customer (rep position, -1 = pool): unbalanced but within capacity.

    Every rep gets a Zipf favouritism 1/rank (random rank inside its region). A customer
    draws its owner among the eligible reps of its region (level for the tier, language;
    ~4 % draw from anywhere) with probability ~ favouritism ** exponent, the exponent
    growing with the tier, so the favourites collect the big accounts. Reps then keep
    their biggest customers up to their account and workload capacity; the overflow is
    redrawn among reps with room (weighted by room left, times favouritism in the first
    rounds) until it settles. What still finds no room stays in the pool.
    """
    n = len(cust["tier"])
    n_reps = len(reps["level"])
    cust_region = _region_codes(cust["city"])
    rep_region = _region_codes(reps["city"])

    favour = np.empty(n_reps)
    for r in np.unique(rep_region):
        members = np.flatnonzero(rep_region == r)
        favour[members] = (1.0 + rng.permutation(len(members))) ** -ZIPF_EXPONENT
    exponent = np.array([FAVOURITISM[t] for t in TIERS])

    pool_p = np.array([POOL_PROBABILITY[t] for t in TIERS])[cust["tier"]]
    in_pool = rng.random(n) < pool_p
    # group customers by who may own them: (region or "anywhere", tier, language)
    anywhere = rng.random(n) < CROSS_REGION_SHARE
    scope = np.where(anywhere, -1, cust_region)
    group = (scope + 1) * 9 + cust["tier"] * 3 + cust["language"]
    eligible = {}
    for g in np.unique(group):
        region, tier, lang = g // 9 - 1, (g % 9) // 3, g % 3
        fits = (reps["languages"] >> lang & 1).astype(bool) & (reps["level"] >= min_level[tier])
        in_region = rep_region == region if region >= 0 else np.ones(n_reps, dtype=bool)
        for mask in (fits & in_region, fits, in_region, np.ones(n_reps, dtype=bool)):
            if mask.any():
                eligible[g] = np.flatnonzero(mask)
                break

    wl10 = np.round(workload * 10).astype(np.int64)  # integer tenths: exact capacity sums
    cap_accounts = reps["max_accounts"]
    cap_wl10 = np.floor(reps["max_workload"] * 10).astype(np.int64)

    owner = np.full(n, -1, dtype=np.int64)
    joined = np.zeros(n, dtype=np.int64)  # round in which the customer joined its owner
    todo = np.flatnonzero(~in_pool)
    for round_ in range(REASSIGN_ROUNDS):
        if round_ == 0:
            room = np.ones(n_reps, dtype=np.int64)
        else:
            owned = owner >= 0
            accounts = np.bincount(owner[owned], minlength=n_reps)
            load = np.bincount(owner[owned], weights=wl10[owned], minlength=n_reps)
            room = np.maximum(cap_accounts - accounts, 0) * (load < cap_wl10)
        # favourites first while they have room, then plain room so that the overflow
        # settles in a few rounds instead of spilling into the pool
        bias = exponent if round_ < FAVOURED_ROUNDS else np.zeros(len(TIERS))
        todo_group = group[todo]
        for g in np.unique(todo_group):
            members = todo[todo_group == g]
            reps_g = eligible[g]
            tier = (g % 9) // 3
            w = room[reps_g] * favour[reps_g] ** bias[tier]
            if w.sum() <= 0:
                continue
            cum = np.cumsum(w)
            pick = np.searchsorted(cum, rng.random(len(members)) * cum[-1], side="right")
            owner[members] = reps_g[np.minimum(pick, len(reps_g) - 1)]
        joined[todo] = round_
        over = _over_capacity(owner, joined, -cust["value"], wl10, cap_accounts, cap_wl10)
        owner[over] = -1
        todo = np.flatnonzero(over)
        if len(todo) == 0:
            break
    return owner


def _over_capacity(
    owner: npt.NDArray[np.int64],
    joined: npt.NDArray[np.int64],
    keep_key: npt.NDArray[np.float64],
    wl10: npt.NDArray[np.int64],
    cap_accounts: npt.NDArray[np.int64],
    cap_wl10: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Customers a rep cannot keep: each rep keeps earlier joiners first, then by keep_key."""
    idx = np.flatnonzero(owner >= 0)
    order = idx[np.lexsort((idx, keep_key[idx], joined[idx], owner[idx]))]
    o = owner[order]
    starts = np.flatnonzero(np.r_[True, o[1:] != o[:-1]])
    lengths = np.diff(np.r_[starts, len(o)])
    first = np.repeat(starts, lengths)
    position = np.arange(len(o)) - first
    cum = np.cumsum(wl10[order])
    cum_in_rep = cum - cum[first] + wl10[order][first]
    # cumulative load counts dropped customers too: conservative, so what is kept fits
    over = np.zeros(len(owner), dtype=bool)
    over[order] = (position >= cap_accounts[o]) | (cum_in_rep > cap_wl10[o])
    return over


def _draw_locked(
    rng: np.random.Generator,
    tier: npt.NDArray[np.int64],
    owner: npt.NDArray[np.int64],
    active: npt.NDArray[np.bool_],
) -> npt.NDArray[np.bool_]:
    """~3 % locked, only owned customers of active reps, strategic and key preferred."""
    n = len(tier)
    candidates = np.flatnonzero((owner >= 0) & active[np.maximum(owner, 0)])
    locked = np.zeros(n, dtype=bool)
    k = min(round(LOCKED_SHARE * n), len(candidates))
    if k:
        w = np.array([8.0, 4.0, 1.0])[tier[candidates]]
        keys = rng.random(len(candidates)) ** (1.0 / w)
        locked[candidates[np.argsort(-keys, kind="stable")[:k]]] = True
    return locked


def _draw_last_activity_days(rng: np.random.Generator, owner: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Days before as_of of the owner's last follow-up (NaN = none)."""
    n = len(owner)
    recent = np.minimum(rng.exponential(45.0, n), LAST_ACTIVITY_DAYS)
    neglected = rng.uniform(0, LAST_ACTIVITY_DAYS, n)
    days = np.floor(np.where(rng.random(n) < 0.85, recent, neglected))
    # pool: new leads have none, reclaimed ones were last touched long ago
    pool = owner < 0
    days[pool] = np.where(rng.random(pool.sum()) < 0.6, np.nan, np.floor(rng.uniform(120, LAST_ACTIVITY_DAYS, pool.sum())))
    return days


# ---------------------------------------------------------------------------- activities


def _draw_activities(
    rng: np.random.Generator,
    cust: dict[str, npt.NDArray],
    reps: dict[str, npt.NDArray],
    owner: npt.NDArray[np.int64],
    last_days: npt.NDArray[np.float64],
) -> dict[str, npt.NDArray[np.int64]]:
    """Contacts as (customer, rep, days before as_of, kind) integer arrays.

    Owners: one contact on last_activity and a few (more for bigger tiers) before it.
    Disputes: on ~10 % of customers, 2-4 other reps of the region made 1-3 contacts each.
    Pool leads: a quarter of the pool was contacted once or twice by a rep of the region.
    """
    n = len(owner)
    window = ACTIVITY_WINDOW_DAYS
    parts = []

    # owners, consistent with last_activity: nothing after it, one contact on it
    c = np.flatnonzero((owner >= 0) & (last_days < window))
    extra = rng.poisson(np.array([10.0, 5.0, 2.0])[cust["tier"][c]])
    cc = np.repeat(c, 1 + extra)
    first = np.r_[True, cc[1:] != cc[:-1]]
    last = last_days[cc].astype(np.int64)
    days = np.where(first, last, rng.integers(last, window))
    kind = rng.choice(4, size=len(cc), p=(0.45, 0.30, 0.22, 0.03))
    parts.append((cc, owner[cc], days, kind))

    # other reps of the customer's region: consecutive reps in a shuffled region roster,
    # starting after the owner, so they are distinct and never the owner
    cust_region = _region_codes(cust["city"])
    rep_region = _region_codes(reps["city"])
    roster = np.lexsort((rng.random(len(rep_region)), rep_region))
    n_regions = len(dict.fromkeys(c_[1] for c_ in CITIES))
    size = np.bincount(rep_region, minlength=n_regions)
    start = np.r_[0, np.cumsum(size)[:-1]]
    position = np.empty(len(rep_region), dtype=np.int64)
    position[roster] = np.arange(len(roster)) - start[rep_region[roster]]

    def others(customers: npt.NDArray[np.int64], k: npt.NDArray[np.int64]) -> tuple[npt.NDArray, npt.NDArray]:
        r = cust_region[customers]
        size_r = size[r]
        k = np.minimum(k, np.maximum(size_r - 1, 0))
        own = owner[customers]
        same = (own >= 0) & (rep_region[np.maximum(own, 0)] == r)
        base = np.where(same, position[np.maximum(own, 0)], rng.integers(0, np.maximum(size_r, 1)))
        offset0 = 1 + rng.integers(0, np.maximum(size_r - k, 1))
        cc = np.repeat(customers, k)
        step = np.arange(len(cc)) - np.repeat(np.cumsum(k) - k, k)
        slot = (np.repeat(base + offset0, k) + step) % np.repeat(np.maximum(size_r, 1), k)
        return cc, roster[start[cust_region[cc]] + slot]

    disputed = np.flatnonzero(rng.random(n) < DISPUTE_SHARE)
    cc, rr = others(disputed, rng.integers(2, 5, len(disputed)))
    times = 1 + rng.binomial(2, 0.4, len(cc))
    cc, rr = np.repeat(cc, times), np.repeat(rr, times)
    parts.append((cc, rr, rng.integers(0, window, len(cc)), rng.choice(3, size=len(cc), p=(0.5, 0.3, 0.2))))

    leads = np.flatnonzero((owner < 0) & (rng.random(n) < 0.25))
    cc, rr = others(leads, np.ones(len(leads), dtype=np.int64))
    times = 1 + rng.binomial(1, 0.4, len(cc))
    cc, rr = np.repeat(cc, times), np.repeat(rr, times)
    parts.append((cc, rr, rng.integers(0, window, len(cc)), rng.choice(2, size=len(cc), p=(0.6, 0.4))))

    cols = [np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(4)]
    # newest first within a customer reads naturally in a CRM; ids sort like positions
    order = np.lexsort((cols[3], cols[1], cols[2], cols[0]))
    return {"customer": cols[0][order], "rep": cols[1][order], "days": cols[2][order], "kind": cols[3][order]}


# ---------------------------------------------------------------------------- frames


def _ids(prefix: str, n: int, min_width: int) -> npt.NDArray[np.object_]:
    width = max(min_width, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _build_frames(
    cust: dict[str, npt.NDArray],
    reps: dict[str, npt.NDArray],
    owner: npt.NDArray[np.int64],
    locked: npt.NDArray[np.bool_],
    last_days: npt.NDArray[np.float64],
    acts: dict[str, npt.NDArray[np.int64]],
    as_of: date,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n, n_reps = len(owner), len(reps["level"])
    customer_id = _ids("C", n, 4)
    rep_id = _ids("R", n_reps, 4)
    regions = np.array([c[1] for c in CITIES], dtype=object)
    day0 = np.datetime64(as_of, "D")

    owner_id = np.where(owner >= 0, rep_id[np.maximum(owner, 0)], None)
    last_activity = day0 - np.where(np.isnan(last_days), 0, last_days).astype(np.int64).astype("timedelta64[D]")
    last_activity = np.where(np.isnan(last_days), np.datetime64("NaT"), last_activity).astype("datetime64[ns]")
    customers = pd.DataFrame({
        "customer_id": pd.Series(customer_id, dtype="str"),
        "value": cust["value"],
        "workload": cust["workload"],
        "tier": pd.Series(np.array(TIERS, dtype=object)[cust["tier"]], dtype="str"),
        "industry": pd.Series(np.array(INDUSTRIES, dtype=object)[cust["industry"]], dtype="str"),
        "region": pd.Series(regions[cust["city"]], dtype="str"),
        "lat": cust["lat"],
        "lon": cust["lon"],
        "products": _masks_to_lists(cust["products"], PRODUCTS),
        "language": pd.Series(np.array(LANGUAGES, dtype=object)[cust["language"]], dtype="str"),
        "current_owner": pd.Series(owner_id, dtype="str"),
        "locked": locked,
        "last_activity": last_activity,
    })

    region = regions[reps["city"]]
    # teams of about eight inside each region, reps dealt round-robin in id order
    per_region = pd.Series(region).groupby(region, sort=False)
    k = per_region.cumcount().to_numpy()
    n_teams = np.ceil(per_region.transform("size").to_numpy() / 8).astype(np.int64)
    team = np.array([f"{r}-T{t}" for r, t in zip(region, k % n_teams + 1)], dtype=object)
    reps_df = pd.DataFrame({
        "rep_id": pd.Series(rep_id, dtype="str"),
        "name": pd.Series(reps["name"], dtype="str"),
        "region": pd.Series(region, dtype="str"),
        "lat": reps["lat"],
        "lon": reps["lon"],
        "industries": _masks_to_lists(reps["industries"], INDUSTRIES),
        "products": _masks_to_lists(reps["products"], PRODUCTS),
        "languages": _masks_to_lists(reps["languages"], LANGUAGES),
        "level": reps["level"].astype(np.int64),
        "max_accounts": reps["max_accounts"].astype(np.int64),
        "max_workload": reps["max_workload"].astype(float),
        "active": reps["active"],
        "team": pd.Series(team, dtype="str"),
    })

    activities = pd.DataFrame({
        "customer_id": pd.Series(customer_id[acts["customer"]], dtype="str"),
        "rep_id": pd.Series(rep_id[acts["rep"]], dtype="str"),
        "date": (day0 - acts["days"].astype("timedelta64[D]")).astype("datetime64[ns]"),
        "kind": pd.Series(np.array(KINDS, dtype=object)[acts["kind"]], dtype="str"),
    })
    return customers, reps_df, activities


def _check_book(
    customers: pd.DataFrame, reps: pd.DataFrame, activities: pd.DataFrame, eff_workload: npt.NDArray[np.float64]
) -> None:
    """Invariants of a generated book; a failure here is a bug in this module."""
    if not customers["customer_id"].is_unique or not reps["rep_id"].is_unique:
        raise ValueError("generated ids are not unique")
    owners = customers["current_owner"].dropna()
    if not owners.isin(reps["rep_id"]).all():
        raise ValueError("a generated current_owner is not a rep")
    if not (activities["rep_id"].isin(reps["rep_id"]).all() and activities["customer_id"].isin(customers["customer_id"]).all()):
        raise ValueError("a generated activity names an unknown customer or rep")
    if customers["locked"].to_numpy()[customers["current_owner"].isna().to_numpy()].any():
        raise ValueError("a generated pool customer is locked")
    book = pd.DataFrame({"rep_id": customers["current_owner"], "w": eff_workload}).groupby("rep_id")["w"].agg(["size", "sum"])
    caps = reps.set_index("rep_id").loc[book.index]
    if ((book["size"] > caps["max_accounts"]) | (book["sum"] > caps["max_workload"] + 1e-6)).any():
        raise ValueError("a generated rep is over capacity")


# ---------------------------------------------------------------------------- writing


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """A frame as an Arrow table with list<string>, bool and date32 columns."""
    arrays, names = [], []
    for col in frame.columns:
        s = frame[col]
        if col in LIST_COLUMNS:
            arr = pa.array([None if x is None else list(x) for x in s], type=pa.list_(pa.string()))
        elif col in DATE_COLUMNS:
            values = pd.to_datetime(s).to_numpy().astype("datetime64[D]")
            arr = pa.array(values, type=pa.date32(), from_pandas=True)
        elif col in BOOL_COLUMNS:
            arr = pa.array(s.to_numpy(dtype=bool), type=pa.bool_())
        elif pd.api.types.is_string_dtype(s):
            arr = pa.array(s.astype(object).where(s.notna(), None).tolist(), type=pa.string())
        else:
            arr = pa.array(s.to_numpy(), from_pandas=True)
        arrays.append(arr)
        names.append(col)
    return pa.table(arrays, names=names)


def _to_csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame in CSV form: lists ;-joined, ISO dates, lowercase bools."""
    out = frame.copy()
    for col in out.columns:
        if col in LIST_COLUMNS:
            out[col] = [None if x is None else ";".join(x) for x in out[col]]
        elif col in DATE_COLUMNS:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d")
        elif col in BOOL_COLUMNS:
            out[col] = np.where(out[col].to_numpy(dtype=bool), "true", "false")
    return out
