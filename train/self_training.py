"""Self-training on unlabelled news: a trained model labels sentences it is sure of, and a new
model is trained on the labelled corpus plus those.

    python -m train.self_training --teacher models/default --pool data/unlabelled/pool.jsonl
        [--config configs/default.yaml] [--threshold 0.9] [--per-cell 300] [--rounds 1]
        [--seeds 42 43 44] [--out reports/self_training]

The pool is any JSONL of `{"id", "text"}` records (`data/tools/unlabelled_pool.py` builds one
from the shared corpora, without a sentence of an evaluation article). A sentence is kept when
every head's top probability reaches `--threshold`; the sure ones are mostly "absent" and
"neutral", so each stance cell it carries (e.g. `iraq:deescalatory`, by its rarest one) and
"no stance" keep at most `--per-cell` sentences, the surest first. Round 1's teacher is
`--teacher`; round r's is the same seed's round r-1 model. Every student is scored like a
`compare` run (dev, test, dev_ood, test_ood); runs.csv and summary.csv (mean and sd per round)
go to --out, with each round's pseudo-labelled file; called again with the same --out and
settings, it keeps the finished runs. Choose on dev_ood against the baseline recipe's seeds
(`make compare`).
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from infer import load
from infer.classifier import Prediction
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


def confidence(prediction: Prediction) -> float:
    """The lowest, over heads, of the head's top probability."""
    return min(max(probs.values()) for probs in prediction.probabilities.values())


def pseudo_label(
    teacher_path: Path, pool: list[dict], threshold: float, per_cell: int
) -> list[dict]:
    """The pool sentences the teacher is sure of, as labelled records, capped per cell."""
    teacher = load(teacher_path)
    predictions = list(tqdm(teacher.iter_predict(r["text"] for r in pool), total=len(pool),
                            desc=f"pseudo-labelling with {teacher_path}", unit=" sentences"))
    scored = [(confidence(p), r, p) for r, p in zip(pool, predictions, strict=True) if not p.empty]
    sure = [item for item in scored if item[0] >= threshold]
    # `labels` lists the stance cells a sentence carries (e.g. "iraq:deescalatory").
    cells = [p.labels or ["none"] for _, _, p in sure]
    frequency = Counter(c for found in cells for c in found)
    kept, taken = [], Counter()
    order = sorted(range(len(sure)), key=lambda i: -sure[i][0])
    for i in order:
        cell = min(cells[i], key=frequency.__getitem__)  # a sentence counts for its rarest cell
        if taken[cell] >= per_cell:
            continue
        taken[cell] += 1
        score, record, prediction = sure[i]
        kept.append({"id": f"pseudo-{record['id']}", "text": record["text"],
                     "stance": prediction.stance, "sentiment": prediction.sentiment,
                     "source": "pseudo", "doc_id": record.get("doc_id"),
                     "confidence": round(score, 4)})
    print(f"{len(sure)} of {len(pool)} sentences at confidence >= {threshold}; kept {len(kept)} "
          f"(at most {per_cell} per cell): " + ", ".join(f"{c} {n}" for c, n in taken.items()))
    return kept


def read_pool(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}, line {n}: not JSON ({e.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or "id" not in row:
                raise SystemExit(f"{path}, line {n}: expected {{\"id\": ..., \"text\": \"...\"}}")
            rows.append(row)
    if not rows:
        raise SystemExit(f"{path}: no sentences")
    return rows


def write_train_file(path: Path, labelled: Path, pseudo: list[dict]) -> None:
    """The labelled training file, unchanged, followed by the pseudo-labelled records."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        f.write(labelled.read_text(encoding="utf-8").rstrip("\n") + "\n")
        for record in pseudo:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.self_training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", type=Path, required=True, help="trained model folder")
    parser.add_argument("--pool", type=Path, required=True, help="JSONL of unlabelled sentences")
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--per-cell", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--out", type=Path, default=Path("reports/self_training"))
    args = parser.parse_args(argv)
    if not 0 < args.threshold < 1:
        parser.error(f"--threshold must be in (0, 1), got {args.threshold}")
    base = load_config(args.config)
    claim_output(args.out, {"config": Path(args.config).read_text(encoding="utf-8"),
                            "teacher": str(args.teacher), "pool": str(args.pool),
                            "threshold": args.threshold, "per_cell": args.per_cell})
    pool = read_pool(args.pool)
    runs = finished_runs(args.out)
    done = {run["name"] for run in runs}
    first_round = None  # every seed's round 1 has the same teacher, so the same pseudo-labels
    for seed in args.seeds:
        teacher = args.teacher
        for round_ in range(1, args.rounds + 1):
            name = f"round{round_}-{seed}"
            model_dir = args.out / "models" / name
            if name in done:
                print(f"{name}: already in {args.out / 'runs.csv'}, kept")
                teacher = model_dir
                continue
            if teacher == args.teacher:
                if first_round is None:
                    first_round = pseudo_label(teacher, pool, args.threshold, args.per_cell)
                pseudo = first_round
            elif teacher.is_dir():
                pseudo = pseudo_label(teacher, pool, args.threshold, args.per_cell)
            else:
                raise SystemExit(f"{teacher}: {name}'s teacher is gone; delete round "
                                 f"{round_ - 1}'s row of seed {seed} from runs.csv to train both")
            train_file = args.out / "data" / name / "train.jsonl"
            write_train_file(train_file, Path(base.train_file), pseudo)
            config = load_config(args.config, {"seed": seed, "seed_article": None,
                                               "train_file": str(train_file),
                                               "output_dir": str(model_dir)})
            keep = round_ < args.rounds  # the next round's teacher
            scores = train_and_score(config, OOD_SETS, args.out / "reports" / name,
                                     keep_model=keep)
            if teacher != args.teacher:
                shutil.rmtree(teacher)
            teacher = model_dir
            runs.append({"round": round_, "name": name, "seed": seed, "pseudo": len(pseudo),
                         **flat_row(scores)})
            write_csv(args.out / "runs.csv", runs)
            write_csv(args.out / "summary.csv", summarise(runs, "round"))
    for row in summarise(runs, "round"):
        print(f"round {row['round']}  seeds={row['seeds']}  " + "  ".join(
            f"{k.removesuffix('_mean')} {row[k]:.3f}±{row[k[:-5] + '_sd']:.3f}"
            for k in row if k.endswith("_f1_mean")))


if __name__ == "__main__":
    main()
