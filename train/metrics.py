"""Metrics of LABELS.md: stance macro-F1 over the actor x stance cells, per-actor accuracy,
sentiment macro-F1; and plain macro-F1/accuracy for any other head."""

from __future__ import annotations

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from infer.labels import STANCE_CELLS, LabelSchema


def compute_metrics(
    schema: LabelSchema, gold: dict[str, list[str]], pred: dict[str, list[str]]
) -> dict:
    """`gold` and `pred` map head name -> label strings, row-aligned."""
    out: dict = {}
    actors = schema.actors
    if actors:
        per_cell, empty = {}, []
        for actor in actors:
            for cell in STANCE_CELLS:
                y_true = [g == cell for g in gold[actor]]
                y_pred = [p == cell for p in pred[actor]]
                if not any(y_true) and not any(y_pred):
                    empty.append(f"{actor}:{cell}")
                    continue
                p, r, f, _ = precision_recall_fscore_support(
                    y_true, y_pred, average="binary", zero_division=0
                )
                per_cell[f"{actor}:{cell}"] = {
                    "precision": float(p), "recall": float(r), "f1": float(f),
                    "support": int(sum(y_true)),
                }
        scores = [c["f1"] for c in per_cell.values()]
        out["stance_macro_f1"] = sum(scores) / len(scores) if scores else 0.0
        out["actor_accuracy"] = {
            a: float(accuracy_score(gold[a], pred[a])) for a in actors
        }
        out["per_cell"] = per_cell
        out["empty_cells"] = empty
    for head in schema.heads:
        if head.actor:
            continue
        macro = f1_score(gold[head.name], pred[head.name], labels=list(head.labels),
                         average="macro", zero_division=0)
        out[f"{head.name}_macro_f1"] = float(macro)
        out[f"{head.name}_accuracy"] = float(accuracy_score(gold[head.name], pred[head.name]))
    return out


def f1_keys(schema: LabelSchema) -> list[str]:
    """The macro-F1 keys `compute_metrics` gives for `schema`: stance first, then per head."""
    keys = ["stance_macro_f1"] if schema.actors else []
    return keys + [f"{h.name}_macro_f1" for h in schema.heads if not h.actor]


def headline(metrics: dict) -> float:
    """The number that picks checkpoints: stance macro-F1, else the first macro-F1."""
    if "stance_macro_f1" in metrics:
        return metrics["stance_macro_f1"]
    return next(v for k, v in metrics.items() if k.endswith("_macro_f1"))
