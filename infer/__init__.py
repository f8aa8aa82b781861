"""Arabic actor-stance and sentiment classifier: inference.

    from infer import load, predict
    clf = load("models/default")
    clf.predict("دعا العراق إلى خفض التوتر في المنطقة").labels   # ['iraq:deescalatory']

This package needs only torch and transformers; it never imports the training code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from infer.classifier import DEFAULT_BATCH_SIZE, DocumentPrediction, Prediction, StanceClassifier
from infer.model import ModelMeta, NotAModelFolder, StanceModel

MODEL_ENV = "STANCE_MODEL"
DEFAULT_MODEL_DIR = "models/default"

__all__ = ["DocumentPrediction", "ModelMeta", "NotAModelFolder", "Prediction",
           "StanceClassifier", "StanceModel", "load", "predict", "predict_document"]


def default_model_dir() -> Path:
    """`$STANCE_MODEL`, else models/default: the model that `predict()` and the CLI use."""
    return Path(os.environ.get(MODEL_ENV, DEFAULT_MODEL_DIR))


def load(
    path: str | Path, backend: str = "auto", actors: Mapping[str, Sequence[str]] | None = None
) -> StanceClassifier:
    """Load a trained model folder (written by `make train`). `backend`: "auto" (bf16 on CPUs
    with native bf16, else fp32), "fp32", "bf16" or "int8" (infer/int8.py). `actors`, a mapping
    of name -> aliases, asks a mention-pooling model about actors it was not trained on:
    `load(path, actors={"turkey": ["تركيا", "أنقرة", "أردوغان"]})`."""
    return StanceClassifier.load(path, backend, actors)


@lru_cache(maxsize=1)
def _default_classifier() -> StanceClassifier:
    return StanceClassifier.load(default_model_dir())


def predict(
    texts: str | Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
) -> Prediction | list[Prediction]:
    """Predict with the default model (`$STANCE_MODEL`, else models/default), loaded once."""
    return _default_classifier().predict(texts, batch_size)


def predict_document(article: str, batch_size: int = DEFAULT_BATCH_SIZE) -> DocumentPrediction:
    """Sentence-by-sentence predictions for an article plus a per-actor summary."""
    return _default_classifier().predict_document(article, batch_size)
