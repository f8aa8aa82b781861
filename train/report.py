"""The end-of-training summary: test metrics next to the baseline, and the seed article."""

from __future__ import annotations

from pathlib import Path

from infer import load
from train.config import TrainConfig

_KEYS = ("stance_macro_f1", "sentiment_macro_f1")


def _row(name: str, metrics: dict) -> str:
    cells = [f"{metrics[k]:.3f}" if k in metrics else "  -  " for k in _KEYS]
    return f"  {name:<22}" + "".join(f"{c:>20}" for c in cells)


def print_summary(config: TrainConfig, results: dict) -> None:
    print("\n== Results ==  (model in", config.output_dir, f"after {results['minutes']} min)")
    print("  " + " " * 22 + "".join(f"{k:>20}" for k in _KEYS))
    for name in ("dev", "test", "baseline_test"):
        if name in results:
            print(_row(name.replace("_", " (TF-IDF) ") if "baseline" in name else name,
                       results[name]))
    test = results.get("test", {})
    if "per_cell" in test:
        print("\n  test F1 per cell (support):")
        for cell, m in test["per_cell"].items():
            print(f"    {cell:<22} {m['f1']:.3f} ({m['support']})")
    if config.seed_article and Path(config.seed_article).is_file():
        print_seed_predictions(config.output_dir, Path(config.seed_article))


def print_seed_predictions(model_dir: str, article: Path) -> None:
    text = article.read_text(encoding="utf-8")
    start = text.find("بغداد - ")  # the seed file begins with forum chrome (shared/seed/README)
    document = load(model_dir).predict_document(text[start:] if start >= 0 else text)
    print(f"\n== Predictions for {article} ==")
    for sentence in document.sentences:
        tags = ", ".join(sentence.labels) or "-"
        print(f"  [{tags}; {sentence.sentiment}] {sentence.text[:90]}")
    for actor, summary in document.summary.items():
        counts = {k: v for k, v in summary["counts"].items() if v}
        print(f"  {actor}: {counts}")


def plot_training_curve(log_history: list[dict], path: Path) -> None:
    """Training loss per logging step and dev scores per epoch, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(h["epoch"], h["loss"]) for h in log_history if "loss" in h]
    dev = [(h["epoch"], h) for h in log_history if "eval_headline" in h]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    if train:
        left.plot(*zip(*train, strict=True), color="tab:gray")
    left.set(title="training loss (sum over heads)", xlabel="epoch", ylabel="loss")
    for key, colour in (("eval_stance_macro_f1", "tab:red"),
                        ("eval_sentiment_macro_f1", "tab:blue")):
        points = [(e, h[key]) for e, h in dev if key in h]
        if points:
            right.plot(*zip(*points, strict=True), marker="o", color=colour,
                       label=key.removeprefix("eval_"))
    right.set(title="dev scores", xlabel="epoch", ylabel="macro-F1", ylim=(0, 1))
    if right.lines:  # a model without stance or sentiment heads has no curve to name
        right.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
