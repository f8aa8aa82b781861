"""How well the shared stance classifier serves an actor it was never trained on.

    python -m train.leave_one_actor_out [--config configs/mention.yaml] [--seeds 42]
                                        [--hold-out iraq ...] [--out reports/leave_one_actor_out]

For each actor of a mention-pooling config: train without that actor's labels (its sentences
stay, its stance column is not read), then load the model with the actor added by name and
aliases, as a user would (`infer.load(path, actors=...)`), and score that actor's cells on every
set. Next to it, the same cells of the model trained on all actors (same seeds). Writes runs.csv
and summary.csv (mean and sd) under --out; README, New actors, has the table. A run whose reports
are already under --out (a cut-short call, same config) is read back, not trained again.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from infer.actors import ActorAliases
from infer.labels import STANCE_CELLS
from train.config import ConfigError, load_config
from train.experiment import OOD_SETS, claim_output, summarise, train_and_score, write_csv

SETS = ("dev", "test", "dev_ood", "test_ood")


def actor_f1(reports: Path, actor: str) -> dict[str, float]:
    """Per set, the mean F1 of the actor's three stance cells (a cell absent from both gold
    and predictions is left out, as in the stance macro-F1)."""
    out = {}
    for name in SETS:
        cells = json.loads((reports / name / "metrics.json").read_text(encoding="utf-8"))
        scores = [c["f1"] for k, c in cells["per_cell"].items()
                  if k in {f"{actor}:{v}" for v in STANCE_CELLS}]
        out[f"{name}_{actor}_f1"] = statistics.mean(scores) if scores else 0.0
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.leave_one_actor_out",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/mention.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--hold-out", nargs="+", metavar="ACTOR",
                        help="the actors to leave out, one training each (default: every actor)")
    parser.add_argument("--out", type=Path, default=Path("reports/leave_one_actor_out"))
    args = parser.parse_args(argv)
    base = load_config(args.config)
    if base.pooling != "mention":
        raise ConfigError(f"{args.config}: leave-one-actor-out needs `pooling: mention` (one "
                          "stance classifier shared by all actors)")
    aliases = ActorAliases.for_actors(base.actors).to_dict()
    unknown = set(args.hold_out or ()) - set(aliases)
    if unknown:
        raise ConfigError(f"--hold-out {', '.join(sorted(unknown))}: not an actor of "
                          f"{args.config} ({', '.join(aliases)})")
    claim_output(args.out, {"config": Path(args.config).read_text(encoding="utf-8")})
    runs = []
    for seed in args.seeds:
        for held in [None, *(args.hold_out or aliases)]:  # None: trained on every actor
            name = f"{'all' if held is None else 'without-' + held}-{seed}"
            reports = args.out / "reports" / name
            if not all((reports / s / "metrics.json").is_file() for s in SETS):
                kept = {a: w for a, w in aliases.items() if a != held}
                config = load_config(args.config, {
                    "actors": kept, "seed": seed, "seed_article": None,
                    "output_dir": str(args.out / "models" / name)})
                train_and_score(config, OOD_SETS, reports,
                                actors=None if held is None else {held: aliases[held]})
            for actor in aliases if held is None else [held]:
                runs.append({"actor": actor, "trained on it": held is None, "seed": seed,
                             **actor_f1(reports, actor)})
            write_csv(args.out / "runs.csv", runs)
    summary = []
    for trained in (True, False):
        rows = [r for r in runs if r["trained on it"] is trained]
        for row in summarise(rows, "actor"):
            summary.append({"trained on it": trained, **row})
    write_csv(args.out / "summary.csv", summary)
    for row in summary:
        print(f"{row['actor']:<6} trained on it: {str(row['trained on it']):<5}  " + "  ".join(
            f"{k.removesuffix('_mean')} {row[k]:.3f}±{row[k[:-5] + '_sd']:.3f}"
            for k in row if k.endswith("_f1_mean")))


if __name__ == "__main__":
    main()
