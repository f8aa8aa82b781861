"""The corpus's learning curve: what more training data buys, in domain and out of domain.

    python -m train.learning_curve [--config configs/default.yaml] [--out reports/learning_curve]

The config is trained on 25%, 50% and 100% of the rounds 1-3 training set (SaudiNewsNet 2015
and the synthetic rows) and on the whole training set (with round 4: Al Mayadeen, Arabic
Newspapers and the targeted SaudiNewsNet sentences), with one seed at the two smaller sizes and
three at the two larger. Every model is scored through `predict` on the in-domain test and on
the out-of-domain test (`test_ood.jsonl`), which no training or model choice touches, and on
dev and out-of-domain dev, so that the largest runs serve as the baseline of model choices. Writes
curve.csv (one row per run), summary.csv (mean and sd per size) and curve.png; the model
folders are deleted after scoring.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from infer.labels import iter_jsonl
from train.config import load_config
from train.data_check import ROUND_4
from train.experiment import flat_row, summarise, train_and_score, write_csv

SIZES = (("25% of rounds 1-3", 0.25, (42,)), ("50% of rounds 1-3", 0.5, (42,)),
         ("rounds 1-3", 1.0, (42, 43, 44)), ("rounds 1-4", None, (42, 43, 44)))


def subset_files(train_file: str, folder: Path) -> dict[str, tuple[Path, int]]:
    """The training file of each size (a fixed random share of rows) and its row count."""
    lines = [line for line in Path(train_file).read_text(encoding="utf-8").splitlines() if line]
    ids = [obj["id"] for _, obj in iter_jsonl(train_file)]
    old = [line for line, i in zip(lines, ids, strict=True) if not i.startswith(ROUND_4)]
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, share, _ in SIZES:
        rows = lines if share is None else random.Random(0).sample(old, round(len(old) * share))
        path = folder / f"train_{len(rows)}.jsonl"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        out[name] = (path, len(rows))
    return out


def plot(summary: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    x = [row["train_rows_mean"] for row in summary]
    tests = {"test": ("in domain", "tab:blue"), "test_ood": ("out of domain", "tab:red")}
    for key, (domain, colour) in tests.items():
        for metric, style in (("stance_macro_f1", "-o"), ("sentiment_macro_f1", "--s")):
            mean = [row[f"{key}_{metric}_mean"] for row in summary]
            sd = [row[f"{key}_{metric}_sd"] for row in summary]
            ax.errorbar(x, mean, yerr=sd, fmt=style, color=colour, capsize=3,
                        label=f"{metric.split('_')[0]}, {domain}")
    ax.set(xlabel="training sentences", ylabel="macro-F1 (mean ± sd over seeds)", ylim=(0, 1),
           title="Learning curve")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.learning_curve", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--out", type=Path, default=Path("reports/learning_curve"))
    parser.add_argument("--test-ood", default="data/stance/test_ood.jsonl")
    parser.add_argument("--dev-ood", default="data/stance/dev_ood.jsonl",
                        help="also scored, so the largest runs double as model-choice baselines")
    args = parser.parse_args(argv)
    base = load_config(args.config)
    files = subset_files(base.train_file, args.out / "data")
    extra = {"dev_ood": args.dev_ood, "test_ood": args.test_ood}
    runs = []
    # One seed at every size first, then the extra seeds: a run cut short still has a whole curve.
    order = sorted(((i, name, seed) for name, _, seeds in SIZES for i, seed in enumerate(seeds)),
                   key=lambda run: run[0])
    for _, name, seed in order:
        path, n = files[name]
        config = load_config(args.config, {
            "train_file": str(path), "seed": seed, "seed_article": None,
            "output_dir": str(args.out / "models" / f"{n}-{seed}")})
        scores = train_and_score(config, extra, args.out / "reports" / f"{n}-{seed}")
        runs.append({"size": name, "train_rows": n, "seed": seed, **flat_row(scores)})
        write_csv(args.out / "curve.csv", runs)
        summary = summarise(runs, "size")
        write_csv(args.out / "summary.csv", summary)
        plot(summary, args.out / "curve.png")
    for row in summary:
        print(f"{row['size']:<20} n={row['train_rows_mean']:<6.0f} seeds={row['seeds']}  "
              + "  ".join(f"{k.removesuffix('_mean')} {row[k]:.3f}±{row[k[:-5] + '_sd']:.3f}"
                          for k in row if k.endswith("_f1_mean")))


if __name__ == "__main__":
    main()
