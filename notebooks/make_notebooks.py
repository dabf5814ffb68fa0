"""Writes the three analyst notebooks (outputs stripped). Edit here, then run: python notebooks/make_notebooks.py"""
import nbformat as nbf
from pathlib import Path

SETUP = '''from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from allocator import Policy, plan, read_inputs
from allocator import plots, scenarios

# run from the repository root or from notebooks/
DATA = Path("data") if Path("data/customers.csv").exists() else Path("../data")
AS_OF = "2026-11-30"
# short, deterministic solves so the notebook runs in seconds and gives the same numbers every time
FAST = Policy().with_solver(time_limit_seconds=30, deterministic_time=1.5, seed=0)
# validated, typed tables (the same checks as `allocator validate`)
inputs = read_inputs(DATA / "customers.csv", DATA / "reps.csv", DATA / "activities.csv")
customers, reps, activities = inputs.customers, inputs.reps, inputs.activities
print(len(customers), "customers,", len(reps), "reps,", len(activities), "activities")'''


def nb(cells):
    n = nbf.v4.new_notebook()
    n.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    n.metadata["language_info"] = {"name": "python"}
    n.cells = [nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else nbf.v4.new_code_cell(c) for c in cells]
    return n


quick = nb([
    "md:# 01 · Quickstart\n\n**Question:** what does tonight's plan propose for the demo book, and what does it do to each rep's book?\n\n"
    "**Data:** the synthetic demo book in `data/` (2,000 customers, 40 reps, contact history; see `data/README.md`). "
    "The notebook uses only the public API, the same path `allocator run` takes.",
    SETUP,
    "md:## Run the plan\nDataFrames (or file paths) in, a `Plan` out.",
    "result = plan(customers, reps, activities, policy=FAST, as_of=AS_OF)\nprint(result.summary_text())",
    "md:## The proposed moves\nEvery move carries a reason code and a plain-language explanation.",
    "result.moves.head(10)",
    "result.moves[\"reason\"].value_counts().rename(\"moves\").to_frame()",
    "md:## Balance per rep\nEach active rep's book before and after, with its target (proportional to capacity).",
    "fig, axes = plt.subplots(2, 1, figsize=(11, 8))\nplots.plot_rep_books(result, \"value\", ax=axes[0])\nplots.plot_rep_books(result, \"workload\", ax=axes[1])\nfig.tight_layout()",
    "pd.Series(result.summary[\"balance\"]).to_frame(\"figure\")",
    "md:## Why this rep?\nThe chosen rep beside the next best candidates, cost part by part (points; lower is better).",
    "customer_id = result.moves[\"customer_id\"].iloc[0]\nprint(result.moves.loc[result.moves[\"customer_id\"] == customer_id, \"explanation\"].iloc[0])\nresult.explain(customer_id)",
])

tune = nb([
    "md:# 02 · Tune the weights\n\n**Question:** how do continuity, balance and distance weights trade moves against balance and travel, "
    "and which setting should tonight's job use?\n\n**Data:** the demo book in `data/`. Each setting is one full plan; "
    "we compare moves, value balance (coefficient of variation of value / target across active reps) and mean travel distance.",
    SETUP,
    "md:## Sweep\nA small grid: continuity (how much a move costs) against balance (how much an uneven book costs), at two distance weights.",
    "rows = []\nfor continuity in (1.0, 4.0, 10.0):\n    for balance in (0.25, 1.0):\n        for distance in (0.5, 2.0):\n"
    "            policy = FAST.with_weights(continuity=continuity, value_balance=balance, workload_balance=balance, distance=distance)\n"
    "            p = plan(customers, reps, activities, policy=policy, as_of=AS_OF)\n"
    "            rows.append({\"setting\": f\"c{continuity:g}/b{balance:g}/d{distance:g}\", \"continuity\": continuity,\n"
    "                         \"balance\": balance, \"distance\": distance, **scenarios.plan_figures(p)})\n"
    "sweep = pd.DataFrame(rows)\nsweep[[\"setting\", \"moves\", \"value_cv\", \"mean_distance_km\", \"gap_pct\"]]",
    "md:## The trade-off frontier\nFewer moves cost balance; the colour shows mean travel distance.",
    "fig, axes = plt.subplots(1, 2, figsize=(13, 5))\nplots.plot_tradeoff(sweep, \"moves\", \"value_cv\", \"mean_distance_km\", ax=axes[0])\n"
    "plots.plot_tradeoff(sweep, \"moves\", \"mean_distance_km\", \"value_cv\", ax=axes[1])\nfig.tight_layout()",
    "md:## Pick a setting and save it\nHere: the setting with the best value balance among those with at most the median number of moves.",
    "calm = sweep.loc[sweep[\"moves\"] <= sweep[\"moves\"].median()]\nbest = calm.sort_values([\"value_cv\", \"mean_distance_km\"]).iloc[0]\n"
    "chosen = FAST.with_weights(continuity=float(best.continuity), value_balance=float(best.balance),\n"
    "                           workload_balance=float(best.balance), distance=float(best.distance))\n"
    "out = Path(\"runs\") if Path(\"data/customers.csv\").exists() else Path(\"../runs\")\nout.mkdir(exist_ok=True)\n"
    "path = chosen.save(out / \"tuned_policy.toml\")\nprint(best.setting, \"->\", path)\n"
    "assert Policy.from_toml(path) == chosen  # the saved file gives back the same policy\nprint(path.read_text()[:400])",
])

scen = nb([
    "md:# 03 · Scenarios\n\n**Question:** what happens to the book if a rep leaves, two reps are hired, a region's capacity drops, "
    "or a new product line needs skills few reps have?\n\n**Data:** the demo book in `data/`; every scenario edits copies of the tables "
    "(`allocator.scenarios`) and is planned with the same policy, then compared with the baseline in one table and one chart.",
    SETUP,
    "busiest = reps.assign(n=reps[\"rep_id\"].map(customers[\"current_owner\"].value_counts())).sort_values(\"n\", ascending=False)\n"
    "leaver = busiest[\"rep_id\"].iloc[0]\nregion = busiest[\"region\"].iloc[0]\nprint(\"leaver:\", leaver, \"region:\", region)",
    "cases = {\n"
    "    \"baseline\": (customers, reps),\n"
    "    f\"{leaver} leaves\": (customers, scenarios.rep_leaves(reps, leaver)),\n"
    "    \"two hires\": (customers, scenarios.hire_reps(reps, 2, like=leaver)),\n"
    "    \"region capacity -30 %\": (customers, scenarios.scale_capacity(reps, 0.7, region=region)),\n"
    "    \"new product line\": (scenarios.add_product_need(customers, \"iot\", 0.3, seed=1),\n"
    "                         scenarios.train_reps(reps, \"iot\", reps[\"rep_id\"].iloc[::5])),\n"
    "}\nplans = {name: plan(c, r, activities, policy=FAST, as_of=AS_OF) for name, (c, r) in cases.items()}\n"
    "table = scenarios.compare(plans)\ntable",
    "md:## Against the baseline\nEach figure as a percentage of the baseline's (100 % = unchanged).",
    "ax = plots.plot_scenarios(table)\nax.figure.tight_layout()",
])

out = Path(__file__).resolve().parent
for name, n in (("01_quickstart.ipynb", quick), ("02_tune_weights.ipynb", tune), ("03_scenarios.ipynb", scen)):
    nbf.write(n, out / name)
print("ok")
