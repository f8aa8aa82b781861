"""Score a labelled file and write a report folder.

    python -m train.evaluate --model models/default --data data/stance/test.jsonl

The last stdout line is one JSON object of metrics; the report folder holds that JSON,
confusion matrices as PNG, and errors.jsonl (every wrong prediction, with probabilities).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

from infer import StanceClassifier, load  # noqa: E402
from infer.classifier import DEFAULT_BATCH_SIZE  # noqa: E402
from infer.labels import LabelSchema, gold_labels, read_records  # noqa: E402
from train.metrics import compute_metrics  # noqa: E402


def write_report(
    schema: LabelSchema,
    records: list[dict],
    gold: dict[str, list[str]],
    pred: dict[str, list[str]],
    probs: list[dict[str, dict[str, float]]],
    report_dir: str | Path,
) -> dict:
    """Metrics plus the report folder; shared by the model and the baseline."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    metrics = compute_metrics(schema, gold, pred)
    metrics.update(by_source(schema, records, gold, pred))
    (report_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    for head in schema.heads:
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        ConfusionMatrixDisplay.from_predictions(
            gold[head.name], pred[head.name], labels=list(head.labels), ax=ax,
            colorbar=False, xticks_rotation=35,
        )
        ax.set_title(f"{head.name}: gold (rows) vs predicted (columns)")
        fig.tight_layout()
        fig.savefig(report_dir / f"confusion_{head.name}.png", dpi=110)
        plt.close(fig)
    with (report_dir / "errors.jsonl").open("w", encoding="utf-8") as f:
        for i, record in enumerate(records):
            wrong = [h.name for h in schema.heads if gold[h.name][i] != pred[h.name][i]]
            if wrong:
                row = {
                    "id": record.get("id"), "text": record.get("text"), "wrong": wrong,
                    "gold": {h: gold[h][i] for h in gold},
                    "predicted": {h: pred[h][i] for h in pred},
                    "probabilities": probs[i],
                }
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return metrics


def by_source(
    schema: LabelSchema, records: list[dict], gold: dict[str, list[str]],
    pred: dict[str, list[str]],
) -> dict:
    """Metrics per source (outlet) when a file mixes several, and the founding article's calls
    for lower tension (README, Targets): how many of its gold `iraq: deescalatory` sentences
    come out so."""
    out: dict = {}
    sources = [str(r.get("source", "")).split("/")[0] for r in records]
    if len(set(sources)) > 1:
        out["per_source"] = {}
        for source in sorted(set(sources)):
            rows = [i for i, s in enumerate(sources) if s == source]
            part = compute_metrics(schema, {h: [g[i] for i in rows] for h, g in gold.items()},
                                   {h: [p[i] for i in rows] for h, p in pred.items()})
            out["per_source"][source] = {"rows": len(rows), **{
                k: v for k, v in part.items() if k.endswith("_macro_f1")}}
    if "iraq" in schema.actors:
        calls = [i for i, r in enumerate(records) if str(r.get("id", "")).startswith("seed-")
                 and gold["iraq"][i] == "deescalatory"]
        if calls:
            out["seed_iraq_deescalatory"] = {
                "hits": sum(pred["iraq"][i] == "deescalatory" for i in calls), "of": len(calls)}
    return out


def evaluate_texts(
    classifier: StanceClassifier, texts: list[str], records: list[dict], report_dir: str | Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict:
    """Score `texts` with `predict` (the path users call) against the gold labels of
    `records`; metrics plus the report folder. Training's dev/test reports come from here too."""
    schema = classifier.schema
    predictions = classifier.predict(texts, batch_size)
    pred = {h.name: [p.label[h.name] for p in predictions] for h in schema.heads}
    probs = [p.probabilities for p in predictions]
    return write_report(schema, records, gold_labels(schema, records), pred, probs, report_dir)


def evaluate(model_dir: str | Path, data: str | Path, report_dir: str | Path,
             batch_size: int = DEFAULT_BATCH_SIZE,
             actors: dict[str, list[str]] | None = None) -> dict:
    """Reported numbers are fp32, so they do not depend on the CPU that computes them.
    `actors` (name -> aliases) adds actors the model was not trained on (mention pooling)."""
    classifier = load(model_dir, backend="fp32", actors=actors)
    records = read_records(data, classifier.schema)
    return evaluate_texts(classifier, [r["text"] for r in records], records, report_dir,
                          batch_size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="trained model folder")
    parser.add_argument("--data", required=True, help="labelled JSONL (LABELS.md format)")
    parser.add_argument("--report-dir", help="default: <model>/reports/<data file stem>")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args(argv)
    report_dir = args.report_dir or Path(args.model) / "reports" / Path(args.data).stem
    metrics = evaluate(args.model, args.data, report_dir, args.batch_size)
    print(f"report written to {report_dir}", file=sys.stderr)
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
