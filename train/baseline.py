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

from infer.text import Normalizer
from train.config import TrainConfig, load_config
from train.data import load_splits
from train.evaluate import write_report


def run_baseline(config: TrainConfig, report_dir: str | Path, split: str = "test") -> dict:
    """Fit on train, report on `split` (dev or test) in the same format as the model."""
    schema, splits = load_splits(config)
    clean = Normalizer.from_dict(config.normalizer)
    train, target = splits["train"], splits[split]
    x_train = [clean(t) for t in train.texts]
    x_target = [clean(t) for t in target.texts]
    pred, probs = {}, [{} for _ in x_target]
    for k, head in enumerate(schema.heads):
        y = [row[k] for row in train.labels]
        model = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                            min_df=2, max_features=200_000),
            LogisticRegression(max_iter=2000, class_weight="balanced", C=4.0),
        )
        model.fit(x_train, y)
        p = model.predict_proba(x_target)
        classes = list(model.classes_)
        pred[head.name] = [head.labels[classes[i]] for i in p.argmax(1)]
        for row, dist in zip(probs, p, strict=True):
            row[head.name] = {head.labels[c]: float(v) for c, v in zip(classes, dist, strict=True)}
    gold = {h.name: [h.labels[row[k]] for row in target.labels] for k, h in enumerate(schema.heads)}
    return write_report(schema, target.records, gold, pred, probs, report_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.baseline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--report-dir", default="reports/baseline")
    args = parser.parse_args(argv)
    metrics = run_baseline(load_config(args.config), Path(args.report_dir) / args.split, args.split)
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
