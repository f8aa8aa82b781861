"""Load labelled splits into one shape: texts and label indices per head.

The stance task reads LABELS.md JSONL (validated line by line); the classify task reads any
CSV / TSV / JSONL / Parquet file through `datasets`, like `run_classification.py` does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from datasets import load_dataset

from infer.labels import Head, LabelError, LabelSchema, get_field, read_records
from train.config import ConfigError, TrainConfig

_BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


@dataclass
class Split:
    name: str
    records: list[dict]
    texts: list[str]
    labels: list[list[int]]  # one list of head indices per row

    def __len__(self) -> int:
        return len(self.texts)


def _read_table(path: str) -> list[dict]:
    suffix = Path(path).suffix.lower()
    if suffix not in _BUILDERS:
        raise ConfigError(f"{path}: unsupported file type {suffix!r}; use {sorted(_BUILDERS)}")
    options = {"delimiter": "\t"} if suffix == ".tsv" else {}
    table = load_dataset(_BUILDERS[suffix], data_files=path, split="train", **options)
    return table.to_list()


def _classify_schema(config: TrainConfig, train_rows: list[dict]) -> LabelSchema:
    """One head per label column; its values are those seen in train, sorted, and its default
    (the label of a text with nothing to read) the most frequent of them."""
    heads = []
    for column in config.label_columns:
        counts = Counter(str(get_field(r, column, config.train_file)) for r in train_rows)
        if len(counts) < 2:
            raise ConfigError(f"{config.train_file}: column {column!r} has fewer than 2 labels")
        heads.append(Head(column, column, tuple(sorted(counts)), counts.most_common(1)[0][0]))
    return LabelSchema(tuple(heads))


def _to_split(name: str, path: str, rows: list[dict], schema: LabelSchema, config: TrainConfig):
    texts, labels = [], []
    for i, row in enumerate(rows, start=1):
        where = f"{path}: row {i}"
        text = get_field(row, config.text_column, where)
        if not isinstance(text, str) or not text.strip():
            raise LabelError(f"{where}: column {config.text_column!r} is empty or not text")
        texts.append(text)
        labels.append(schema.encode(row, where))
    if not texts:
        raise ConfigError(f"{name} split is empty: {path}")
    return Split(name, rows, texts, labels)


def load_splits(config: TrainConfig) -> tuple[LabelSchema, dict[str, Split]]:
    """Schema and the train/dev(/test) splits, every row checked before training starts."""
    files = {"train": config.train_file, "dev": config.dev_file, "test": config.test_file}
    files = {k: v for k, v in files.items() if v}
    if config.task == "stance":
        schema = LabelSchema.stance(list(config.actors))
        rows = {k: read_records(v, schema) for k, v in files.items()}
    else:
        rows = {k: _read_table(v) for k, v in files.items()}
        for name, table in rows.items():
            if not table:
                raise ConfigError(f"{name} split is empty: {files[name]}")
        schema = _classify_schema(config, rows["train"])
    if config.max_train_samples:
        rows["train"] = rows["train"][: config.max_train_samples]
    splits = {k: _to_split(k, files[k], v, schema, config) for k, v in rows.items()}
    return schema, splits
