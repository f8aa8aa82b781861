"""The one dataclass of training arguments, read from YAML with command-line overrides.

    python -m train --config configs/default.yaml --learning_rate 3e-5 --epochs 2
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from infer.actors import ActorAliases
from infer.labels import DEFAULT_ACTORS
from train.base_model import DEFAULT_BASE_MODEL
from train.linear_probe import PROBE_POOLINGS


class ConfigError(ValueError):
    """A config that cannot be trained on; the message names the key or file."""


@dataclass
class TrainConfig:
    # Model
    base_model: str = DEFAULT_BASE_MODEL  # the embedded encoder, a hub id, or a local folder
    # "mean", "cls" (token 0), "attention" (a learned query per head) or "mention" (each actor's
    # mentions pooled, one stance classifier shared by all actors: infer/model.py)
    pooling: str = "mean"
    max_length: int = 128
    # Typed entity markers around each actor mention in the text, «@ * إيران * طهران @» (Zhou
    # and Chen 2021), with any pooling; the actors' aliases are saved with the model.
    entity_markers: bool = False
    normalizer: dict = field(default_factory=dict)  # infer.text.Normalizer options
    # Data
    train_file: str = "data/stance/train.jsonl"
    dev_file: str = "data/stance/dev.jsonl"
    test_file: str | None = "data/stance/test.jsonl"
    task: str = "stance"  # "stance": a head per actor + sentiment; "classify": label_columns
    # Names (aliases from infer/actors.py) or a mapping name -> aliases, which mention pooling
    # matches in the text and saves with the model.
    actors: list[str] | dict[str, list[str]] = field(default_factory=lambda: list(DEFAULT_ACTORS))
    text_column: str = "text"
    label_columns: list[str] = field(default_factory=lambda: ["label"])
    max_train_samples: int | None = None
    # Speed on CPU
    freeze_embeddings: bool = True  # the 250k-row embedding matrix dominates each AdamW step
    bf16: bool = False  # bf16 autocast; pays off on CPUs with AVX-512 BF16 / AMX
    # Optimisation
    learning_rate: float = 5e-5  # the encoder
    head_learning_rate: float = 1e-3  # the freshly initialised heads learn faster than the body
    layer_lr_decay: float = 1.0  # each encoder layer learns at this times the rate of the one above
    epochs: float = 4.0
    batch_size: int = 16
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    class_weighting: str = "sqrt"  # "none", "sqrt" or "inverse" class-frequency weights
    label_smoothing: float = 0.0
    dropout_samples: int = 1  # multi-sample dropout: dropout masks per training step's heads
    # LP-FT (train/linear_probe.py): fit the heads on the frozen encoder first, then fine-tune
    linear_probe: bool = False
    # Mention pooling: the share of actor slots trained as "an actor not seen in training", so
    # actors added after training (`infer.load(path, actors=...)`) get a trained embedding.
    actor_dropout: float = 0.1
    early_stopping_patience: int = 2
    seed: int = 42
    # Output
    output_dir: str = "models/default"
    seed_article: str | None = None  # printed with predictions at the end, when it exists

    @property
    def uses_aliases(self) -> bool:
        """Mention pooling and entity markers find actors in the text by their aliases."""
        return self.pooling == "mention" or self.entity_markers

    def validate(self) -> None:
        """Check values and files before any model is loaded."""
        choices = {"pooling": ("mean", "cls", "attention", "mention"),
                   "task": ("stance", "classify"), "class_weighting": ("none", "sqrt", "inverse")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key} must be one of {allowed}, got {getattr(self, key)!r}")
        for key in ("train_file", "dev_file", "test_file"):
            path = getattr(self, key)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{key}: file not found: {path}")
        if self.task == "stance" and not self.actors:
            raise ConfigError("actors: the stance task needs at least one actor")
        for key, wanted in (("pooling", "mention"), ("entity_markers", True)):
            if getattr(self, key) == wanted and self.task != "stance":
                raise ConfigError(f"{key}: {wanted} needs the stance task (actors and aliases)")
        if self.uses_aliases:
            try:
                ActorAliases.for_actors(self.actors)
            except ValueError as e:
                raise ConfigError(f"actors: {e}") from None
        if self.linear_probe and self.pooling not in PROBE_POOLINGS:
            raise ConfigError(f"linear_probe: needs pooling in {PROBE_POOLINGS} (one linear "
                              f"layer of heads), got pooling {self.pooling!r}")
        if self.task == "classify" and not self.label_columns:
            raise ConfigError("label_columns: the classify task needs at least one column")
        if not 0 < self.layer_lr_decay <= 1:
            raise ConfigError(f"layer_lr_decay must be in (0, 1], got {self.layer_lr_decay}")
        if self.dropout_samples < 1:
            raise ConfigError(f"dropout_samples must be at least 1, got {self.dropout_samples}")
        for key in ("max_length", "batch_size"):
            if getattr(self, key) < 8:
                raise ConfigError(f"{key} must be at least 8, got {getattr(self, key)}")


def _field_types() -> dict[str, type]:
    hints = typing.get_type_hints(TrainConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(TrainConfig)}


def _coerce(key: str, value: object) -> object:
    """Numbers YAML leaves as text ("3e-5" is a string in YAML 1.1) become the field's type."""
    kind = _field_types()[key]
    numeric = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if kind in (int, float) and numeric:
        try:
            number = kind(float(value)) if kind is float else int(value)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {value!r}") from None
        return number
    if kind is str and value is not None and not isinstance(value, str):
        return str(value)
    return value


def load_config(path: str | Path | None, overrides: dict[str, object] | None = None) -> TrainConfig:
    """Read a YAML config (unknown keys are an error), apply overrides, validate."""
    values: dict[str, object] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a mapping of key: value")
    values.update(overrides or {})
    known = set(_field_types())
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {unknown} in {path or 'overrides'}; known keys: "
            + ", ".join(sorted(known))
        )
    config = TrainConfig(**{k: _coerce(k, v) for k, v in values.items()})
    config.validate()
    return config


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    """`--config FILE` plus `--<key> <value>` for any TrainConfig field."""
    parser = argparse.ArgumentParser(prog="python -m train", description=__doc__)
    parser.add_argument("--config", help="YAML file of TrainConfig keys")
    for key in _field_types():
        parser.add_argument(f"--{key}", dest=key, metavar="VALUE", default=argparse.SUPPRESS)
    args = vars(parser.parse_args(argv))
    path = args.pop("config", None)
    return load_config(path, {k: yaml.safe_load(v) for k, v in args.items()})
