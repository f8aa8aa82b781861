"""Rank unlabelled sentences for annotation with the current model (used by
`sample_training.py model`). The model only chooses which sentences are read: nothing it
predicts is written where annotators look.

Half the picks are the sentences the model is least sure of: the smallest margin between the two
likeliest values of any head (an actor's stance, or sentiment). The other half are sentences
where the model and the TF-IDF baseline (trained on the same labels) disagree on an actor's
stance, drawn at random among all such disagreements.
"""

from __future__ import annotations

import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def margin(probabilities: dict[str, float]) -> float:
    top = sorted(probabilities.values(), reverse=True)
    return top[0] - top[1]


def rank(pools: dict[str, list[dict]], quotas: dict[str, int], model_dir: str,
         rng: random.Random) -> list[tuple[dict, str]]:
    """For each pool, `quotas[name]` rows: half disagreements, then the least certain."""
    from infer import load
    from infer.labels import LabelSchema, read_records
    from train.baseline import TfidfBaseline

    classifier = load(model_dir, backend="fp32")
    schema = LabelSchema.stance(classifier.schema.actors)
    train = read_records(ROOT / "data" / "stance" / "train.jsonl", schema)
    baseline = TfidfBaseline(schema, classifier.normalizer)
    baseline.fit([r["text"] for r in train], [schema.encode(r) for r in train])
    chosen = []
    for name, rows in pools.items():
        texts = [r["text"] for r in rows]
        predictions = classifier.predict(texts)
        base, _ = baseline.predict(texts)
        uncertainty = sorted(range(len(rows)), key=lambda i: min(
            margin(p) for p in predictions[i].probabilities.values()))
        disagree = [i for i in range(len(rows))
                    if any(predictions[i].label[a] != base[a][i] for a in schema.actors)]
        rng.shuffle(disagree)
        n = quotas[name]
        picked: dict[int, str] = {}
        for i in disagree[: n // 2]:
            picked[i] = "model:disagreement"
        for i in uncertainty:
            if len(picked) >= n:
                break
            picked.setdefault(i, "model:uncertainty")
        chosen += [(rows[i], why) for i, why in picked.items()]
        print(f"{name}: {len(rows)} scored, {len(disagree)} disagreements, {len(picked)} picked")
    return chosen
