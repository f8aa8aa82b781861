"""Compare model recipes over seeds, in domain and out of domain, and say which one to adopt.

    python -m train.compare configs/default.yaml configs/mention.yaml \
        configs/mention.yaml:dropout_samples=5,label_smoothing=0.1 [--seeds 42 43 44]
        [--set epochs=3] [--out reports/compare]

Each recipe is a config, optionally followed by `:key=value,...` overrides of its own (`--set
key=value` overrides every recipe); each is trained once per seed and scored on dev, test,
dev_ood and test_ood. The choice is made on out-of-domain dev only: a
recipe is adopted over the first (the baseline) when its mean dev_ood stance macro-F1 is higher
by more than the larger of the two seed sds. test and test_ood are reported, never chosen on.
Writes runs.csv, summary.csv (mean and sd per recipe), cells.csv (dev_ood F1 per actor x stance
cell, mean over seeds) and prints the verdict. A run takes half an hour on a 2-core CPU, so the
tables are rewritten after every run, and the same command with the same `--out` resumes: runs
already in runs.csv are kept, not trained again (the configs and `--set` must be the same).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import yaml

from train.config import load_config
from train.experiment import (
    OOD_SETS,
    claim_output,
    finished_runs,
    flat_row,
    summarise,
    train_and_score,
    write_csv,
)

CHOICE = "dev_ood_stance_macro_f1"


def parse_overrides(items: list[str], hint: str) -> dict:
    """`key=value` strings -> {key: YAML value}; SystemExit with `hint` on a malformed one."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{item!r}: {hint}")
        overrides[key] = yaml.safe_load(value)
    return overrides


def parse_recipe(recipe: str) -> tuple[str, str, dict]:
    """`path[:key=value,...]` -> (name, path, overrides); the name is the file's stem plus the
    overrides, e.g. `mention-dropout_samples=5`, and names the run's folders, so a value's `/`
    (`base_model=models/tapt-e5`) becomes `_`."""
    path, _, settings = recipe.partition(":")
    items = [item for item in settings.split(",") if item]
    overrides = parse_overrides(items, f"in recipe {recipe!r}, write path:key=value,key=value")
    return "-".join([Path(path).stem, *items]).replace("/", "_"), path, overrides


def verdict(summary: list[dict]) -> str:
    base = summary[0]
    lines = []
    for row in summary[1:]:
        gain = row[f"{CHOICE}_mean"] - base[f"{CHOICE}_mean"]
        spread = max(row[f"{CHOICE}_sd"], base[f"{CHOICE}_sd"])
        adopt = gain > spread and row["seeds"] > 1
        lines.append(f"{row['recipe']}: dev_ood stance {gain:+.3f} vs {base['recipe']} "
                     f"(seed sd {spread:.3f}) -> {'adopt' if adopt else 'keep the baseline'}")
    return "\n".join(lines)


def cell_table(out: Path, runs: list[dict]) -> list[dict]:
    """dev_ood F1 per cell, mean over a recipe's seeds, read from the runs' reports."""
    cells: dict[tuple[str, str], list[float]] = {}
    for run in runs:
        metrics = json.loads((out / "reports" / run["name"] / "dev_ood" / "metrics.json")
                             .read_text(encoding="utf-8"))
        for cell, m in metrics["per_cell"].items():
            cells.setdefault((run["recipe"], cell), []).append(m["f1"])
    return [{"recipe": recipe, "cell": cell, "f1_mean": statistics.mean(values),
             "f1_sd": statistics.stdev(values) if len(values) > 1 else 0.0}
            for (recipe, cell), values in cells.items()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="+", metavar="RECIPE",
                        help="config[:key=value,...]; the first is the baseline")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override for every recipe, e.g. --set epochs=2")
    parser.add_argument("--out", type=Path, default=Path("reports/compare"))
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set, "--set takes KEY=VALUE")
    recipes = [parse_recipe(r) for r in args.configs]
    for _, path, own in recipes:  # every recipe checked before the first run starts
        load_config(path, {**overrides, **own})
    settings = {"configs": [Path(path).read_text(encoding="utf-8") for _, path, _ in recipes],
                "recipes": args.configs, "set": overrides}
    claim_output(args.out, settings)
    runs = finished_runs(args.out)
    done = {run["name"] for run in runs}
    for seed in args.seeds:  # one seed of every recipe first: a cut-short run still compares
        for recipe, path, own in recipes:
            name = f"{recipe}-{seed}"
            if name in done:
                print(f"{name}: already in {args.out / 'runs.csv'}, kept")
                continue
            config = load_config(path, {**overrides, **own, "seed": seed, "seed_article": None,
                                        "output_dir": str(args.out / "models" / name)})
            scores = train_and_score(config, OOD_SETS, args.out / "reports" / name)
            runs.append({"recipe": recipe, "name": name, "seed": seed, **flat_row(scores)})
            write_csv(args.out / "runs.csv", runs)
            summary = summarise(runs, "recipe")
            write_csv(args.out / "summary.csv", summary)
            write_csv(args.out / "cells.csv", cell_table(args.out, runs))
    summary = summarise(runs, "recipe")
    for row in summary:
        print(f"{row['recipe']:<16} seeds={row['seeds']}  " + "  ".join(
            f"{k.removesuffix('_mean')} {row[k]:.3f}±{row[k[:-5] + '_sd']:.3f}"
            for k in row if k.endswith("_f1_mean")))
    text = verdict(summary)
    (args.out / "verdict.txt").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
