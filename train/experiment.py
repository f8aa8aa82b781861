"""One experimental run and the mean and sd over seeds: what the learning curve, the model
comparison and leave-one-actor-out all repeat.

A run trains a config, scores the model through `predict` on dev and test (training does) and on
the out-of-domain sets, copies the reports next to the experiment's table, and deletes the model
folder (unless asked to keep it). Model choices read `dev` and `dev_ood`; `test` and `test_ood`
are reported, never chosen on.
"""

from __future__ import annotations

import csv
import json
import shutil
import statistics
from pathlib import Path

from train.config import TrainConfig
from train.evaluate import evaluate

OOD_SETS = {"dev_ood": "data/stance/dev_ood.jsonl", "test_ood": "data/stance/test_ood.jsonl"}
KEYS = ("stance_macro_f1", "sentiment_macro_f1")


def claim_output(out: Path, settings: dict) -> None:
    """Record `settings` in `out`, where a cut-short call with the same settings resumes; an
    `out` that holds an experiment with other settings is refused (its runs would be mixed in)."""
    saved = out / "settings.json"
    if saved.is_file() and json.loads(saved.read_text(encoding="utf-8")) != settings:
        raise SystemExit(f"{out} holds an experiment with other configs or settings ({saved}); "
                         "pass a new --out, or delete the folder to start over")
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(settings, ensure_ascii=False, indent=1), encoding="utf-8")


def finished_runs(out: Path) -> list[dict]:
    """The runs of an earlier, cut-short call, read back from `out`/runs.csv."""
    path = out / "runs.csv"
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def train_and_score(
    config: TrainConfig, extra_sets: dict[str, str], reports: Path,
    actors: dict[str, list[str]] | None = None, keep_model: bool = False,
) -> dict[str, dict]:
    """Metrics per evaluation set (`dev`, `test` and each of `extra_sets`), plus `minutes`.

    `actors` (name -> aliases) scores every set with actors added to the trained model, as a
    user would load it; dev and test are then scored again with them. `keep_model` keeps the
    model folder (self-training's next teacher)."""
    from train.run import train  # heavy imports only when a run starts

    results = train(config)
    folder = Path(config.output_dir)
    scores = {k: results[k] for k in ("dev", "test") if k in results}
    # The training's own reports first: dev and test scored again with `actors` replace them.
    shutil.copytree(folder / "reports", reports, dirs_exist_ok=True)
    sets = dict(extra_sets)
    if actors:
        sets.update({k: getattr(config, f"{k}_file") for k in scores})
    for name, path in sets.items():
        scores[name] = evaluate(folder, path, reports / name, actors=actors)
    if not keep_model:
        shutil.rmtree(folder)
    scores["minutes"] = results["minutes"]
    return scores


def flat_row(scores: dict[str, dict], keys: tuple[str, ...] = KEYS) -> dict[str, float]:
    """`<set>_<metric>` columns of a run's headline metrics, the founding article's Iraqi
    calls labelled de-escalatory (`test_founding_hits`, of 8), and its minutes."""
    row = {f"{name}_{k}": m[k] for name, m in scores.items() if isinstance(m, dict)
           for k in keys if k in m}
    row.update({f"{name}_founding_hits": m["seed_iraq_deescalatory"]["hits"]
                for name, m in scores.items()
                if isinstance(m, dict) and "seed_iraq_deescalatory" in m})
    return {**row, "minutes": scores["minutes"]}


def summarise(runs: list[dict], group: str) -> list[dict]:
    """Mean and sd over the runs of each value of `group` (in first-seen order) of every numeric
    column but the seed."""
    summary = []
    for value in dict.fromkeys(r[group] for r in runs):
        rows = [r for r in runs if r[group] == value]
        out = {group: value, "seeds": len(rows)}
        for key in rows[0]:
            values = [r[key] for r in rows]
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            if key == "seed" or not numeric:
                continue
            out[f"{key}_mean"] = statistics.mean(values)
            out[f"{key}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        summary.append(out)
    return summary


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
