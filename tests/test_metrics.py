"""The metrics of LABELS.md against scikit-learn on hand-made cases."""

from __future__ import annotations

import pytest
from sklearn.metrics import accuracy_score, f1_score

from infer.labels import LabelSchema
from train.metrics import compute_metrics

SCHEMA = LabelSchema.stance(["iraq", "us"])
GOLD = {
    "iraq": ["escalatory", "deescalatory", "neutral", "absent", "deescalatory", "absent"],
    "us": ["supportive", "absent", "supportive", "escalatory", "neutral", "absent"],
    "sentiment": ["negative", "positive", "positive", "negative", "neutral", "neutral"],
}
PRED = {
    "iraq": ["escalatory", "neutral", "deescalatory", "absent", "deescalatory", "absent"],
    "us": ["supportive", "absent", "neutral", "escalatory", "supportive", "absent"],
    "sentiment": ["negative", "neutral", "positive", "negative", "neutral", "positive"],
}


def test_cells_match_sklearn_binary_f1():
    metrics = compute_metrics(SCHEMA, GOLD, PRED)
    expected = {}
    for actor in ("iraq", "us"):
        for cell in ("escalatory", "deescalatory", "supportive"):
            y_true = [g == cell for g in GOLD[actor]]
            y_pred = [p == cell for p in PRED[actor]]
            if any(y_true) or any(y_pred):
                expected[f"{actor}:{cell}"] = f1_score(y_true, y_pred)
    assert metrics["empty_cells"] == ["iraq:supportive", "us:deescalatory"]
    assert {k: v["f1"] for k, v in metrics["per_cell"].items()} == pytest.approx(expected)
    assert metrics["stance_macro_f1"] == pytest.approx(sum(expected.values()) / 4)
    assert metrics["per_cell"]["us:supportive"]["support"] == 2
    assert metrics["per_cell"]["us:supportive"]["precision"] == pytest.approx(0.5)


def test_accuracy_and_sentiment_match_sklearn():
    metrics = compute_metrics(SCHEMA, GOLD, PRED)
    assert metrics["actor_accuracy"]["iraq"] == pytest.approx(accuracy_score(GOLD["iraq"],
                                                                             PRED["iraq"]))
    assert metrics["sentiment_macro_f1"] == pytest.approx(
        f1_score(GOLD["sentiment"], PRED["sentiment"], average="macro"))


def test_perfect_predictions_score_one():
    metrics = compute_metrics(SCHEMA, GOLD, GOLD)
    assert metrics["stance_macro_f1"] == 1.0 and metrics["sentiment_macro_f1"] == 1.0


def test_reports_score_each_source_and_count_the_founding_articles_calls(tmp_path):
    from train.evaluate import write_report

    schema = LabelSchema.stance()
    records = [{"id": "seed-0000", "source": "seed"}, {"id": "seed-0001", "source": "seed"},
               {"id": "am-1", "source": "almayadeen"},
               {"id": "an-1", "source": "arabic-newspapers/x"}]
    gold = {"iraq": ["deescalatory", "deescalatory", "escalatory", "absent"],
            "iran": ["absent"] * 4, "us": ["absent"] * 4,
            "sentiment": ["positive", "positive", "negative", "neutral"]}
    pred = {**gold, "iraq": ["deescalatory", "supportive", "escalatory", "absent"]}
    probs = [{}] * 4
    metrics = write_report(schema, records, gold, pred, probs, tmp_path)
    assert metrics["seed_iraq_deescalatory"] == {"hits": 1, "of": 2}
    assert set(metrics["per_source"]) == {"seed", "almayadeen", "arabic-newspapers"}
    assert metrics["per_source"]["almayadeen"]["rows"] == 1
    assert metrics["per_source"]["almayadeen"]["stance_macro_f1"] == 1.0
    assert metrics["per_source"]["seed"]["stance_macro_f1"] < 1.0
