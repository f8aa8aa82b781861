"""The training line: load -> tokenize -> train -> evaluate -> save.

Driven by `python -m train --config configs/default.yaml` (see train/__main__.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
import transformers
from datasets import Dataset
from transformers import (
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)

from infer.actors import ActorAliases
from infer.classifier import DEFAULT_BATCH_SIZE, StanceClassifier, native_bf16
from infer.labels import LabelSchema
from infer.model import ModelMeta, StanceModel, load_encoder
from infer.text import Normalizer
from train.base_model import resolve_model
from train.baseline import run_baseline
from train.config import TrainConfig
from train.data import Split, load_splits
from train.evaluate import evaluate_texts
from train.linear_probe import fit_heads
from train.metrics import compute_metrics, headline
from train.model_card import write_model_card
from train.report import plot_training_curve


def optimizer(model: StanceModel, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with the new parts (heads, pooling queries) at `head_learning_rate` and the
    pretrained encoder at `learning_rate`, each layer below the top scaled once more by
    `layer_lr_decay`: the lower layers hold the general language knowledge that a small
    labelled set should disturb least."""
    depth = model.encoder.config.num_hidden_layers
    groups: dict[float, list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if not name.startswith("encoder."):  # the heads and attention-pooling queries
            lr = config.head_learning_rate
        else:
            lr = config.learning_rate * config.layer_lr_decay ** (depth - layer_depth(name, depth))
        groups.setdefault(lr, []).append(param)
    return torch.optim.AdamW([{"params": p, "lr": lr} for lr, p in groups.items()],
                             weight_decay=config.weight_decay)


def layer_depth(name: str, depth: int) -> int:
    """0 for the embeddings, i + 1 for transformer layer i, `depth` for anything on top."""
    found = re.search(r"\.layers?\.(\d+)\.", name)
    if found:
        return int(found.group(1)) + 1
    return 0 if "embeddings" in name else depth


def class_weights(schema: LabelSchema, split: Split, mode: str) -> list[torch.Tensor | None]:
    """Per-head weights that lift rare labels (escalatory, supportive ...) in the loss."""
    if mode == "none":
        return [None] * len(schema.heads)
    weights = []
    for k, head in enumerate(schema.heads):
        counts = np.bincount([row[k] for row in split.labels], minlength=len(head.labels))
        w = len(split) / (len(head.labels) * np.maximum(counts, 1))
        w = np.sqrt(w) if mode == "sqrt" else w
        weights.append(torch.tensor(w / w[counts > 0].mean(), dtype=torch.float32))
    return weights


def tokenize(split: Split, model: StanceModel) -> Dataset:
    """Encoded exactly as `predict` encodes (StanceModel.encode), with the labels."""
    features, _ = model.encode([model.meta.normalizer(t) for t in split.texts])
    columns = {k: [f[k] for f in features] for k in features[0]}
    return Dataset.from_dict({**columns, "labels": split.labels})


def argmax_labels(schema: LabelSchema, logits: np.ndarray) -> dict[str, list[str]]:
    """Per-head label strings from concatenated logits (the Trainer's per-epoch dev scores)."""
    sizes = [len(h.labels) for h in schema.heads]
    parts = np.split(logits, np.cumsum(sizes)[:-1], axis=-1)
    return schema.names(np.stack([part.argmax(-1) for part in parts], axis=-1).tolist())


def use_bf16(config: TrainConfig) -> bool:
    """bf16 autocast where it is fast: on a GPU, or a CPU with native bf16. Elsewhere the CPU
    emulates it, which is far slower than fp32, so the run falls back to fp32 and says so."""
    if not config.bf16 or torch.cuda.is_available() or native_bf16():
        return config.bf16
    print("bf16: this CPU has no native bf16 (AVX-512 BF16 or AMX), training in fp32")
    return False


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def train(config: TrainConfig) -> dict:
    """Fine-tune, pick the best epoch on dev, save the model folder, report test metrics."""
    started = time.time()
    if int(os.environ.get("RANK", "0")) != 0:
        # Under torchrun every process runs this function; only rank 0 reports, so the
        # others keep the library's progress bars and notices to themselves.
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
    # Hashed as read, so that the record holds what was trained on even if a file changes later.
    data_hashes = {k: sha256(getattr(config, k)) for k in ("train_file", "dev_file", "test_file")
                   if getattr(config, k)}
    schema, splits = load_splits(config)  # every row validated before the model loads
    set_seed(config.seed)
    base = resolve_model(config.base_model)
    tokenizer, encoder = load_encoder(base)
    normalizer = Normalizer.from_dict(config.normalizer)
    if config.freeze_embeddings:
        encoder.get_input_embeddings().requires_grad_(False)
    aliases = ActorAliases.for_actors(config.actors) if config.uses_aliases else None
    meta = ModelMeta(schema, config.pooling, normalizer, config.max_length, aliases,
                     tuple(schema.actors) if aliases else (), config.entity_markers)
    model = StanceModel(encoder, tokenizer, meta,
                        class_weights=class_weights(schema, splits["train"],
                                                    config.class_weighting),
                        label_smoothing=config.label_smoothing,
                        actor_dropout=config.actor_dropout,
                        dropout_samples=config.dropout_samples)
    data = {k: tokenize(s, model) for k, s in splits.items()}
    bf16 = use_bf16(config)
    if config.linear_probe:
        accuracy = fit_heads(model, data["train"]["input_ids"], splits["train"].labels, bf16)
        print("linear probe, training accuracy per head: "
              + ", ".join(f"{head} {acc:.3f}" for head, acc in accuracy.items()))

    def metrics_for_trainer(eval_pred) -> dict[str, float]:
        # The length-grouped sampler reorders dev rows too, so gold comes from label_ids.
        gold = schema.names(eval_pred.label_ids.tolist())
        metrics = compute_metrics(schema, gold, argmax_labels(schema, eval_pred.predictions))
        flat = {k: v for k, v in metrics.items() if isinstance(v, float)}
        flat.update({f"accuracy_{a}": v for a, v in metrics.get("actor_accuracy", {}).items()})
        flat["headline"] = headline(metrics)
        return flat

    output_dir = Path(config.output_dir)
    checkpoints = output_dir / "checkpoints"
    args = TrainingArguments(
        output_dir=str(checkpoints),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=DEFAULT_BATCH_SIZE,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,
        train_sampling_strategy="group_by_length",
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="headline",
        greater_is_better=True,
        logging_steps=20,
        report_to=[],
        seed=config.seed,
        use_cpu=not torch.cuda.is_available(),
        bf16=bf16,
    )
    trainer = Trainer(
        model=model,
        optimizers=(optimizer(model, config), None),  # None: the Trainer's linear schedule
        args=args,
        train_dataset=data["train"],
        eval_dataset=data["dev"],
        data_collator=model.collate,
        compute_metrics=metrics_for_trainer,
        callbacks=[EarlyStoppingCallback(config.early_stopping_patience)],
    )
    trainer.train()
    # Each process has loaded the best checkpoint before rank 0 deletes the checkpoints below.
    trainer.accelerator.wait_for_everyone()
    results = {}
    if trainer.is_world_process_zero():
        model.save_pretrained(output_dir)
        # Reported through the same predict() that users call, in fp32 so that the numbers do
        # not depend on the CPU.
        classifier = StanceClassifier(model.cpu(), backend="fp32")
        for name in [k for k in ("dev", "test") if k in splits]:
            results[name] = evaluate_texts(classifier, splits[name].texts, splits[name].records,
                                           output_dir / "reports" / name)
        if "test" in splits:
            results["baseline_test"] = run_baseline(config,
                                                    output_dir / "reports" / "baseline_test")
        results["minutes"] = round((time.time() - started) / 60, 2)
        write_training_info(config, output_dir, results, trainer, data_hashes)
        shutil.rmtree(checkpoints, ignore_errors=True)
    return results


def write_training_info(
    config: TrainConfig, output_dir: Path, results: dict, trainer, data_hashes: dict[str, str]
) -> None:
    info = {
        "config": dataclasses.asdict(config),
        "seed": config.seed,
        "data_sha256": data_hashes,
        "versions": {
            "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "scikit-learn": sklearn.__version__,
        },
        "git_commit": git_commit(),
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_dev_headline": trainer.state.best_metric,
        "epochs_run": trainer.state.epoch,
        "heads": [h.name for h in trainer.model.schema.heads],
        "results": results,
        "log_history": trainer.state.log_history,
    }
    (output_dir / "training_info.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
    write_model_card(config, results, info, output_dir)
    plot_training_curve(trainer.state.log_history, output_dir / "reports" / "training_curve.png")
