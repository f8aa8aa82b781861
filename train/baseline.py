"""TF-IDF character n-grams + logistic regression, one per head: the bar every model must clear.

    python -m train.baseline --config configs/default.yaml
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from infer.labels import LabelSchema, gold_labels, read_records
from infer.text import Normalizer
from train.config import TrainConfig, load_config
from train.data import load_splits
from train.evaluate import write_report


class TfidfBaseline:
    """One character n-gram logistic regression per head, with `fit` / `predict`."""

    def __init__(self, schema: LabelSchema, normalizer: Normalizer | None = None) -> None:
        self.schema = schema
        self.normalizer = normalizer or Normalizer()
        self.models = {}

    def fit(self, texts: list[str], labels: list[list[int]]) -> TfidfBaseline:
        """`labels`: one list of head indices per text, in head order."""
        clean = [self.normalizer(t) for t in texts]
        for k, head in enumerate(self.schema.heads):
            model = make_pipeline(
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                min_df=2, max_features=200_000),
                LogisticRegression(max_iter=2000, class_weight="balanced", C=4.0),
            )
            self.models[head.name] = model.fit(clean, [row[k] for row in labels])
        return self

    def predict(self, texts: list[str]) -> tuple[dict[str, list[str]], list[dict]]:
        """(head name -> labels, per-row {head: {label: probability}})."""
        clean = [self.normalizer(t) for t in texts]
        pred, probs = {}, [{} for _ in clean]
        for head in self.schema.heads:
            model = self.models[head.name]
            p = model.predict_proba(clean)
            classes = [head.labels[c] for c in model.classes_]
            pred[head.name] = [classes[i] for i in p.argmax(1)]
            for row, dist in zip(probs, p, strict=True):
                row[head.name] = {c: float(v) for c, v in zip(classes, dist, strict=True)}
        return pred, probs


def run_baseline(config: TrainConfig, report_dir: str | Path, split: str = "test",
                 data: str | Path | None = None) -> dict:
    """Fit on train, report on `split` (dev or test), or on the labelled JSONL file `data`, in
    the same format as the model."""
    schema, splits = load_splits(config)
    train = splits["train"]
    if data is None:
        records, texts = splits[split].records, splits[split].texts
    else:
        records = read_records(data, schema)
        texts = [r["text"] for r in records]
    baseline = TfidfBaseline(schema, Normalizer.from_dict(config.normalizer))
    pred, probs = baseline.fit(train.texts, train.labels).predict(texts)
    return write_report(schema, records, gold_labels(schema, records), pred, probs, report_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.baseline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--data", help="a labelled JSONL file to score instead of --split, "
                                       "e.g. data/stance/test_ood.jsonl")
    parser.add_argument("--report-dir", default="reports/baseline")
    args = parser.parse_args(argv)
    name = Path(args.data).stem if args.data else args.split
    metrics = run_baseline(load_config(args.config), Path(args.report_dir) / name, args.split,
                           args.data)
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
