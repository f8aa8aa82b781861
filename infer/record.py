"""`ScoredRecord`: one scored row, in its two written forms and back.

`infer score` writes a record per scored text: nested in JSONL (`to_dict`: a `stance` object,
`stance_probs`, one field and one `<head>_probs` per other head), flat in CSV and Parquet
(`Layout.flatten`: `stance_iraq`, `p_iraq_escalatory`, ...). `ScoredRecord.parse` reads either
form back, for the corpus report and the Ray engine's writers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from infer.labels import Head, LabelSchema

if TYPE_CHECKING:
    from infer.classifier import Prediction

FLAGS = ("empty", "truncated", "non_arabic")
STANCE_COLUMN, PROB_PREFIX = "stance_", "p_"


@dataclass
class ScoredRecord:
    """A prediction with where it came from.

    `doc_id` and `sentence` are set on the sentence rows of `score --split-sentences`; `file`
    names the input file under the Ray engine, which reads many files whose ids may repeat.
    """

    id: str
    label: dict[str, str]  # head name -> label
    probabilities: dict[str, dict[str, float]]  # head name -> label -> probability
    actors: list[str]  # the heads that are actors' stances, in order
    labels: list[str] = field(default_factory=list)  # the compact view (Prediction.labels)
    flags: dict[str, bool] = field(default_factory=dict)
    doc_id: str | None = None
    sentence: int | None = None
    text: str | None = None
    file: str | None = None

    @classmethod
    def from_prediction(
        cls, prediction: Prediction, id: str, doc_id: str | None = None,
        sentence: int | None = None, include_text: bool = False,
    ) -> ScoredRecord:
        return cls(id, prediction.label, prediction.probabilities, prediction.actors,
                   prediction.labels, {flag: getattr(prediction, flag) for flag in FLAGS},
                   doc_id, sentence, prediction.text if include_text else None)

    @property
    def sentiment(self) -> str | None:
        return self.label.get("sentiment")

    def to_dict(self) -> dict:
        """The nested JSONL form."""
        out: dict = {"file": self.file} if self.file is not None else {}
        out["id"] = self.id
        if self.doc_id is not None:
            out.update(doc_id=self.doc_id, sentence=self.sentence)
        out["labels"] = self.labels
        if self.actors:
            out["stance"] = {a: self.label[a] for a in self.actors}
            out["stance_probs"] = {a: self.probabilities[a] for a in self.actors}
        for name, value in self.label.items():
            if name not in self.actors:
                out[name] = value
                out[f"{name}_probs"] = self.probabilities[name]
        out.update({flag: self.flags.get(flag, False) for flag in FLAGS})
        if self.text is not None:
            out["text"] = self.text
        return out

    @classmethod
    def parse(cls, record: dict) -> ScoredRecord:
        """A record in either form, as read back from JSONL, CSV (all values text) or Parquet.

        Lenient where the corpus report needs it: a missing probability is 0, a missing label
        `absent`.
        """
        if isinstance(record.get("stance"), dict):  # nested
            actors = list(record["stance"])
            heads = [*actors, *(k[: -len("_probs")] for k in record if k.endswith("_probs")
                                and k != "stance_probs")]
            probs = {a: (record.get("stance_probs") or {}).get(a) or {} for a in actors}
            probs.update({h: record.get(f"{h}_probs") or {} for h in heads if h not in actors})
            label = {a: _text(record["stance"].get(a)) or "absent" for a in actors}
            label.update({h: _text(record.get(h)) for h in heads if h not in actors})
        else:  # flat
            actors = [k[len(STANCE_COLUMN):] for k in record if k.startswith(STANCE_COLUMN)]
            others = [k for k in record if k not in actors and any(
                c.startswith(f"{PROB_PREFIX}{k}_") for c in record)]
            label = {a: _text(record.get(STANCE_COLUMN + a)) or "absent" for a in actors}
            label.update({h: _text(record.get(h)) for h in others})
            probs = {h: {c[len(f"{PROB_PREFIX}{h}_"):]: v for c, v in record.items()
                         if c.startswith(f"{PROB_PREFIX}{h}_")} for h in [*actors, *others]}
        labels = record.get("labels") or []
        if isinstance(labels, str):  # flat: "iraq:deescalatory;us:supportive"
            labels = [item for item in labels.split(";") if item]
        return cls(
            id=_text(record.get("id")),
            label={h: v for h, v in label.items() if v},
            probabilities={h: {v: _float(p) for v, p in dist.items()} for h, dist in probs.items()},
            actors=actors,
            labels=list(labels),
            flags={flag: _flag(record.get(flag)) for flag in FLAGS},
            doc_id=_text(record.get("doc_id")) or None,
            sentence=_int(record.get("sentence")),
            text=record.get("text") if isinstance(record.get("text"), str) else None,
            file=_text(record.get("file")) or None,
        )


@dataclass(frozen=True)
class Layout:
    """The flat columns of a scored row, for CSV and Parquet.

    One column per head label (`stance_iraq`, `sentiment`) and per probability
    (`p_iraq_escalatory`, `p_sentiment_negative`), the compact `labels`
    ("iraq:deescalatory;us:supportive") and the flags. With `source`, a leading `file` column
    names the input file of each row.
    """

    heads: tuple[Head, ...]
    split: bool = False
    include_text: bool = False
    source: bool = False

    @classmethod
    def for_schema(
        cls, schema: LabelSchema, split: bool, include_text: bool, source: bool = False
    ) -> Layout:
        return cls(schema.heads, split, include_text, source)

    def columns(self) -> list[tuple[str, str]]:
        """(name, type) pairs in order; type is one of string, int, float, bool."""
        cols = [("file", "string")] if self.source else []
        cols.append(("id", "string"))
        if self.split:
            cols += [("doc_id", "string"), ("sentence", "int")]
        cols.append(("labels", "string"))
        for head in self.heads:
            label, prefix = self._names(head)
            cols.append((label, "string"))
            cols += [(f"{prefix}_{value}", "float") for value in head.labels]
        cols += [(flag, "bool") for flag in FLAGS]
        if self.include_text:
            cols.append(("text", "string"))
        return cols

    def flatten(self, record: ScoredRecord) -> dict:
        flat = {"file": record.file} if self.source else {}
        flat["id"] = record.id
        if self.split:
            flat.update(doc_id=record.doc_id, sentence=record.sentence)
        flat["labels"] = ";".join(record.labels)
        for head in self.heads:
            label, prefix = self._names(head)
            flat[label] = record.label[head.name]
            probs = record.probabilities[head.name]
            flat.update({f"{prefix}_{value}": probs[value] for value in head.labels})
        flat.update({flag: record.flags.get(flag, False) for flag in FLAGS})
        if self.include_text:
            flat["text"] = record.text
        return flat

    @staticmethod
    def _names(head: Head) -> tuple[str, str]:
        """(label column, probability column prefix) of a head."""
        if head.actor:
            return f"{STANCE_COLUMN}{head.actor}", f"{PROB_PREFIX}{head.actor}"
        return head.name, f"{PROB_PREFIX}{head.name}"


def _text(value: object) -> str:
    """A field value as text; None and missing values become ''."""
    return "" if value is None else str(value).strip()


def _float(value: object) -> float:
    try:
        return float(value)  # CSV cells are strings
    except (TypeError, ValueError):
        return 0.0


def _int(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _flag(value: object) -> bool:
    return value is True or str(value).strip().lower() == "true"
