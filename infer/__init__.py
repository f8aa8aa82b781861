"""Arabic actor-stance and sentiment classifier: inference.

    from infer import load, predict
    clf = load("models/default")
    clf.predict("دعا العراق إلى خفض التوتر في المنطقة").labels   # ['iraq:deescalatory']

This package needs only torch and transformers; it never imports the training code.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from infer.classifier import DocumentPrediction, Prediction, StanceClassifier

MODEL_ENV = "STANCE_MODEL"
DEFAULT_MODEL_DIR = "models/default"

__all__ = ["DocumentPrediction", "Prediction", "StanceClassifier", "load", "predict",
           "predict_document"]


def load(path: str | Path, backend: str = "auto") -> StanceClassifier:
    """Load a trained model folder (written by `make train`). `backend`: "auto" (bf16 on CPUs
    with native bf16, else fp32), "fp32", "bf16" or "int8" (fastest; infer/int8.py)."""
    return StanceClassifier.load(path, backend)


@lru_cache(maxsize=1)
def _default_classifier() -> StanceClassifier:
    path = Path(os.environ.get(MODEL_ENV, DEFAULT_MODEL_DIR))
    if not path.is_dir():
        raise FileNotFoundError(
            f"no trained model at {path}. Run `make train` (writes {DEFAULT_MODEL_DIR}), or set "
            f"{MODEL_ENV} to a model folder, or use infer.load(path)."
        )
    return StanceClassifier.load(path)


def predict(texts: str | Sequence[str], batch_size: int = 32) -> Prediction | list[Prediction]:
    """Predict with the default model (`$STANCE_MODEL`, else models/default), loaded once."""
    return _default_classifier().predict(texts, batch_size)


def predict_document(article: str, batch_size: int = 32) -> DocumentPrediction:
    """Sentence-by-sentence predictions for an article plus a per-actor summary."""
    return _default_classifier().predict_document(article, batch_size)
