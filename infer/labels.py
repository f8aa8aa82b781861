"""The label schema: which heads a model has, their values, and the JSONL record format.

The default task follows `LABELS.md`: one stance head per actor (five values each, read from
`stance.<actor>`) and one sentiment head (three values). A plain single-head classifier is the
same schema with one head read from any column.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

STANCE_VALUES = ("escalatory", "deescalatory", "supportive", "neutral", "absent")
STANCE_CELLS = ("escalatory", "deescalatory", "supportive")
SENTIMENT_VALUES = ("negative", "neutral", "positive")
DEFAULT_ACTORS = ("iraq", "iran", "us")
STANCE_PREFIX = "stance."
# Stance values that `Prediction.labels` leaves out: the actor takes no stance.
QUIET_STANCES = ("neutral", "absent")


class LabelError(ValueError):
    """A record that does not fit the schema; the message names the file, line and field."""


@dataclass(frozen=True)
class Head:
    """One set of mutually exclusive labels, read from `column` (dots reach into objects).

    `default` is the label given to a text the model cannot read (empty after normalisation):
    `absent` for a stance head, `neutral` for sentiment, the most frequent training label for a
    classify head.
    """

    name: str
    column: str
    labels: tuple[str, ...]
    default: str = ""

    def __post_init__(self) -> None:
        if not self.default:
            object.__setattr__(self, "default", self._implied_default())
        if self.default not in self.labels:
            raise ValueError(f"head {self.name!r}: default {self.default!r} is not one of "
                             f"{list(self.labels)}")

    def _implied_default(self) -> str:
        # Model folders written before heads carried a default.
        for value in ("absent", "neutral"):
            if value in self.labels:
                return value
        return self.labels[0]

    @property
    def actor(self) -> str | None:
        """The actor of a stance head, None for any other head."""
        return self.column[len(STANCE_PREFIX) :] if self.column.startswith(STANCE_PREFIX) else None

    def listed(self, value: str) -> str | None:
        """How `value` appears in a prediction's compact `labels` list, or None if it does not.

        Stance heads list the actor's stance unless it is neutral or absent (`iraq:deescalatory`);
        sentiment has its own field and is not listed; a classify head lists its label.
        """
        if self.actor:
            return None if value in QUIET_STANCES else f"{self.actor}:{value}"
        return None if self.name == "sentiment" else f"{self.name}:{value}"


@dataclass(frozen=True)
class LabelSchema:
    heads: tuple[Head, ...]

    @classmethod
    def stance(cls, actors: tuple[str, ...] | list[str] = DEFAULT_ACTORS) -> LabelSchema:
        """The default task: a stance head per actor plus the sentiment head."""
        if not actors:
            raise ValueError("the stance task needs at least one actor")
        heads = [Head(a, STANCE_PREFIX + a, STANCE_VALUES, "absent") for a in actors]
        return cls((*heads, Head("sentiment", "sentiment", SENTIMENT_VALUES, "neutral")))

    @property
    def actors(self) -> list[str]:
        return [h.actor for h in self.heads if h.actor]

    @property
    def is_stance_task(self) -> bool:
        return bool(self.actors) and any(h.name == "sentiment" for h in self.heads)

    def head(self, name: str) -> Head:
        for head in self.heads:
            if head.name == name:
                return head
        raise KeyError(f"no head named {name!r}; heads: {[h.name for h in self.heads]}")

    def encode(self, record: dict, where: str = "record") -> list[int]:
        """Label indices, one per head, in head order; raises LabelError naming the field."""
        ids = []
        for head in self.heads:
            value = get_field(record, head.column, where)
            if head.actor is None and isinstance(value, (int, float)):
                value = str(value)  # a classify column read from CSV or Parquet as numbers
            if value not in head.labels:
                raise LabelError(
                    f"{where}: field {head.column!r} has value {value!r}, "
                    f"expected one of {list(head.labels)}"
                )
            ids.append(head.labels.index(value))
        return ids

    def names(self, rows: list[list[int]]) -> dict[str, list[str]]:
        """Head name -> label strings, from rows of label indices in head order."""
        return {h.name: [h.labels[row[k]] for row in rows] for k, h in enumerate(self.heads)}

    def to_dict(self) -> dict:
        return {"heads": [asdict(h) for h in self.heads]}

    @classmethod
    def from_dict(cls, data: dict) -> LabelSchema:
        return cls(tuple(Head(h["name"], h["column"], tuple(h["labels"]), h.get("default", ""))
                         for h in data["heads"]))


def gold_labels(schema: LabelSchema, records: list[dict]) -> dict[str, list[str]]:
    """Head name -> the records' gold label strings, row-aligned: what every metric compares."""
    return schema.names([schema.encode(r) for r in records])


def get_field(record: dict, column: str, where: str = "record") -> object:
    """`record["stance"]["iraq"]` for column "stance.iraq"; a missing key is a LabelError."""
    value: object = record
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            raise LabelError(f"{where}: missing field {column!r}")
        value = value[part]
    return value


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; malformed JSON is a LabelError."""
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise LabelError(f"{path}:{line_no}: malformed JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise LabelError(f"{path}:{line_no}: expected a JSON object")
            yield line_no, obj


def read_records(path: str | Path, schema: LabelSchema) -> list[dict]:
    """Read and validate a labelled JSONL file in the LABELS.md format.

    Every line must carry a unique non-empty `id`, a non-empty `text` and a value for every head;
    the first problem stops the read with its file, line and field.
    """
    records, seen = [], {}
    for line_no, record in iter_jsonl(path):
        where = f"{path}:{line_no}"
        for field in ("id", "text"):
            value = record.get(field)
            if not isinstance(value, str) or not value.strip():
                raise LabelError(f"{where}: field {field!r} must be a non-empty string")
        if record["id"] in seen:
            first = seen[record["id"]]
            raise LabelError(f"{where}: id {record['id']!r} already used on line {first}")
        seen[record["id"]] = line_no
        schema.encode(record, where)
        records.append(record)
    if not records:
        raise LabelError(f"{path}: no records")
    return records


def decode(schema: LabelSchema, ids: list[int]) -> dict:
    """The record fields (`stance` object and plain columns) for label indices in head order."""
    out: dict = {}
    for head, i in zip(schema.heads, ids, strict=True):
        if head.actor:
            out.setdefault("stance", {})[head.actor] = head.labels[i]
        else:
            out[head.column] = head.labels[i]
    return out
