"""`StanceClassifier`: load a trained folder once, then `predict(texts)`.

Texts are normalised exactly as in training, tokenised once, sorted by length inside a window
(so batches carry little padding) and run under `torch.inference_mode`. Results come back in
input order.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from infer.int8 import quantize_linears
from infer.labels import LabelSchema
from infer.model import StanceModel
from infer.record import ScoredRecord
from infer.text import arabic_ratio, split_sentences

BACKENDS = ("auto", "fp32", "bf16", "int8")
DEFAULT_BATCH_SIZE = 32  # texts per forward pass, everywhere a caller does not choose
# Texts sorted by length at a time: enough for batches with little padding, small enough to
# keep memory flat on any corpus.
SORT_WINDOW = 1024


def _cpu_flags() -> set[str]:
    try:
        return set(Path("/proc/cpuinfo").read_text().split())
    except OSError:  # not Linux: no flags, so the fast paths are not assumed
        return set()


def native_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX-512 BF16 or AMX), per /proc/cpuinfo."""
    return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())


def native_int8() -> bool:
    """Whether this CPU has int8 dot products (VNNI), which the int8 backend's matmuls need to
    be fast; without them they run far slower than fp32."""
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & _cpu_flags())


def resolve_backend(backend: str) -> str:
    """`auto` is bf16 where the CPU has native bf16 (faster than fp32 with the same labels on
    dev; README, Speed, has the measurements), else fp32; any other name is itself."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return "bf16" if native_bf16() else "fp32"
    return backend


@dataclass
class Prediction:
    """One sentence's labels and probabilities, head by head.

    `labels` is the compact view: `["iraq:deescalatory", "us:supportive"]` for a stance model
    (neutral and absent actors left out, sentiment in its own field), `["topic:economy"]` for a
    classify model (`Head.listed`).
    """

    text: str
    label: dict[str, str]
    probabilities: dict[str, dict[str, float]]
    actors: list[str]
    labels: list[str]
    empty: bool = False
    truncated: bool = False
    non_arabic: bool = False

    @property
    def stance(self) -> dict[str, str]:
        return {a: self.label[a] for a in self.actors}

    @property
    def sentiment(self) -> str | None:
        return self.label.get("sentiment")

    def to_dict(self) -> dict:
        """The JSONL form of `infer score` (`ScoredRecord`), led by the text, without an id."""
        record = ScoredRecord.from_prediction(self, "", include_text=True).to_dict()
        del record["id"]
        return {"text": record.pop("text"), **record}


@dataclass
class DocumentPrediction:
    sentences: list[Prediction]
    summary: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"sentences": [s.to_dict() for s in self.sentences], "summary": self.summary}


class StanceClassifier:
    """A trained model ready to predict. Build it with `StanceClassifier.load(folder)`, or wrap
    a `StanceModel` in memory (training evaluates through this same class).

    `backend` is the CPU numerics: `auto` (the default) picks bf16 on CPUs with native bf16 and
    fp32 elsewhere; `self.backend` says which one runs. The classifier owns `model`: the bf16
    and int8 backends convert it in place (no second copy of the weights while loading).
    """

    def __init__(self, model: StanceModel, backend: str = "auto") -> None:
        backend = resolve_backend(backend)
        if backend == "bf16" or (backend == "int8" and native_bf16()):
            # Cast the weights once instead of running under autocast, which re-casts every
            # Linear weight on every batch. Logits are upcast for the softmax. int8 keeps what
            # is not a Linear (attention scores, LayerNorm, heads) in bf16 too.
            model = model.to(torch.bfloat16)
        if backend == "int8":
            if not native_int8():
                warnings.warn("backend 'int8': this CPU has no VNNI (int8 dot products), so "
                              "int8 runs slower than fp32 here; use backend 'auto'",
                              stacklevel=2)
            quantize_linears(model.encoder)  # infer/int8.py
        self.model = model.eval()
        self.normalizer = model.meta.normalizer
        self.backend = backend
        self.schema: LabelSchema = model.schema

    @classmethod
    def load(
        cls, path: str | Path, backend: str = "auto",
        actors: Mapping[str, Sequence[str]] | None = None,
    ) -> StanceClassifier:
        """`actors` (name -> aliases) asks a mention-pooling model about actors it was not
        trained on, through its shared stance classifier (README, New actors)."""
        return cls(StanceModel.from_pretrained(path, actors), backend)

    def predict(
        self, texts: str | Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Prediction | list[Prediction]:
        """Labels for one string (returns one Prediction) or a list (returns a list)."""
        if isinstance(texts, str):
            return self.predict([texts], batch_size)[0]
        if isinstance(texts, (bytes, bytearray, Mapping)) or not isinstance(texts, Sequence):
            hint = (" (decode it first: data.decode('utf-8'))"
                    if isinstance(texts, (bytes, bytearray)) else "")
            raise TypeError(f"predict() takes a str or a list of str, got "
                            f"{type(texts).__name__}{hint}")
        return list(self.iter_predict(texts, batch_size))

    def iter_predict(
        self, texts: Iterable[str], batch_size: int = DEFAULT_BATCH_SIZE,
        window: int = SORT_WINDOW,
    ) -> Iterator[Prediction]:
        """Stream predictions in input order, holding at most `window` texts at a time."""
        chunk: list[str] = []
        for text in texts:
            chunk.append(text)
            if len(chunk) == window:
                yield from self._predict_window(chunk, batch_size)
                chunk = []
        if chunk:
            yield from self._predict_window(chunk, batch_size)

    def predict_document(
        self, article: str, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> DocumentPrediction:
        """Split an article into sentences, predict each, and summarise per actor."""
        sentences = self.predict(split_sentences(article), batch_size)
        summary = {}
        for actor in self.schema.actors:
            values = self.schema.head(actor).labels
            counts = {v: sum(s.label[actor] == v for s in sentences) for v in values}
            n = max(len(sentences), 1)
            mean = {v: sum(s.probabilities[actor][v] for s in sentences) / n for v in values}
            summary[actor] = {"counts": counts, "mean_probability": mean}
        return DocumentPrediction(sentences, summary)

    def _predict_window(self, texts: list[str], batch_size: int) -> list[Prediction]:
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is {type(text).__name__}, expected str")
        clean = [self.normalizer(t) for t in texts]
        live = [i for i, t in enumerate(clean) if t]
        # The tokenizer fails on an empty batch, which a window of only empty texts would be.
        features, cut = self.model.encode([clean[i] for i in live]) if live else ([], [])
        feature_of = dict(zip(live, features, strict=True))
        truncated = dict(zip(live, cut, strict=True))
        probs: dict[int, tuple[list[float], ...]] = {}
        order = sorted(live, key=lambda i: len(feature_of[i]["input_ids"]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            for i, row in zip(batch, self._forward([feature_of[i] for i in batch]), strict=True):
                probs[i] = row
        return [
            self._result(texts[i], probs.get(i), truncated.get(i, False)) for i in range(len(texts))
        ]

    @torch.inference_mode()
    def _forward(self, features: list[dict]) -> list[tuple[list[float], ...]]:
        """Per row, per head, the probabilities as Python floats."""
        logits = self.model(**self.model.collate(features))["logits"]
        # One softmax and one `.tolist()` per head for the whole batch, instead of indexing and
        # converting a tensor per row and head: per-row work is then plain Python dict building.
        heads = [h.softmax(-1).tolist() for h in self.model.split(logits.float())]
        return list(zip(*heads, strict=True))

    def _result(
        self, text: str, probs: tuple[list[float], ...] | None, truncated: bool
    ) -> Prediction:
        label, probabilities, listed = {}, {}, []
        for h, head in enumerate(self.schema.heads):
            if probs is None:  # nothing to read: each head's default (every actor absent)
                p = {v: float(v == head.default) for v in head.labels}
            else:
                p = dict(zip(head.labels, probs[h], strict=True))
            label[head.name] = max(p, key=p.get)
            probabilities[head.name] = p
            listed.append(head.listed(label[head.name]))
        return Prediction(
            text=text,
            label=label,
            probabilities=probabilities,
            actors=self.schema.actors,
            labels=[item for item in listed if item],
            empty=probs is None,
            truncated=truncated,
            non_arabic=probs is not None and arabic_ratio(text) < 0.5,
        )
