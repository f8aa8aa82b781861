"""The multi-head classifier: one encoder pass per sentence feeds every head.

Saved as a standard transformers folder (the encoder's `config.json`, `model.safetensors` and
tokenizer files, loadable with `AutoModel`) plus `heads.safetensors` (the linear heads) and
`label_schema.json` (heads, pooling, normalisation, max length), so any BERT-family encoder
works unchanged as the body.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from infer.labels import LabelSchema
from infer.text import Normalizer

SCHEMA_FILE = "label_schema.json"
HEADS_FILE = "heads.safetensors"
POOLINGS = ("mean", "cls", "attention")


class MultiHeadClassifier(nn.Module):
    """Encoder + pooling + one linear layer whose outputs are split into per-head logits.

    Pooling: `mean` of the token states, `cls` (token 0), or `attention`: each head pools the
    tokens with a learned query of its own, so the Iraq head can look at other words than the
    US head in the same sentence.
    """

    def __init__(
        self,
        encoder: PreTrainedModel,
        schema: LabelSchema,
        pooling: str = "mean",
        dropout: float = 0.1,
        class_weights: list[torch.Tensor | None] | None = None,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.encoder = encoder
        self.schema = schema
        self.pooling = pooling
        self.sizes = [len(h.labels) for h in schema.heads]
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.Linear(encoder.config.hidden_size, sum(self.sizes))
        # Zero queries weigh every token alike, so attention pooling starts as mean pooling.
        self.queries = (nn.Parameter(torch.zeros(len(self.sizes), encoder.config.hidden_size))
                        if pooling == "attention" else None)
        self.class_weights = class_weights or [None] * len(self.sizes)

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, hidden) for mean and cls pooling; (batch, heads, hidden) for attention."""
        if self.pooling == "cls":
            return hidden[:, 0]
        if self.pooling == "attention":
            scores = torch.einsum("btd,hd->bht", hidden, self.queries.to(hidden.dtype))
            padding = attention_mask[:, None, :] == 0
            scores = scores.masked_fill(padding, torch.finfo(scores.dtype).min)
            return torch.einsum("bht,btd->bhd", scores.softmax(-1), hidden)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """`labels` is (batch, heads) of label indices; -100 skips a head for a row."""
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra)[0]
        logits = self.heads(self.dropout(self.pool(hidden, attention_mask)))
        if self.pooling == "attention":  # head k reads its own pooled vector
            logits = torch.cat([part[:, k] for k, part in enumerate(self.split(logits))], dim=-1)
        out = {"logits": logits}
        if labels is not None:
            losses = []
            for i, head_logits in enumerate(self.split(logits)):
                weight = self.class_weights[i]
                weight = None if weight is None else weight.to(logits.device, logits.dtype)
                losses.append(
                    nn.functional.cross_entropy(head_logits, labels[:, i], weight=weight)
                )
            out["loss"] = torch.stack(losses).sum()
        return out

    def split(self, logits: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per-head logits, in schema order."""
        return torch.split(logits, self.sizes, dim=-1)

    def save(
        self,
        out_dir: str | Path,
        tokenizer: PreTrainedTokenizerBase,
        normalizer: Normalizer,
        max_length: int,
    ) -> None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(out_dir)
        tokenizer.save_pretrained(out_dir)
        state = {k: v.detach().contiguous() for k, v in self.heads.state_dict().items()}
        if self.pooling == "attention":
            state["queries"] = self.queries.detach().contiguous()
        save_file(state, out_dir / HEADS_FILE)
        meta = {
            **self.schema.to_dict(),
            "pooling": self.pooling,
            "normalizer": normalizer.to_dict(),
            "max_length": max_length,
        }
        (out_dir / SCHEMA_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


class ModelNotAvailable(OSError):
    """A base model that is neither a local folder nor in the Hugging Face cache."""


def load_encoder(name_or_path: str | Path) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """Tokenizer and bare encoder (no pooler: we pool ourselves); one-line error when offline."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        try:
            encoder = AutoModel.from_pretrained(name_or_path, add_pooling_layer=False)
        except TypeError:  # encoders without a pooler (DistilBERT, ELECTRA) lack the option
            encoder = AutoModel.from_pretrained(name_or_path)
        return tokenizer, encoder
    except OSError as e:
        raise ModelNotAvailable(
            f"model {str(name_or_path)!r} is not a local folder and is not in the Hugging Face "
            "cache, and the hub cannot be reached. On a machine with internet run "
            f"`huggingface-cli download {name_or_path}` (then copy ~/.cache/huggingface), or "
            "set base_model to a local folder."
        ) from e


def load_model(
    model_dir: str | Path,
) -> tuple[MultiHeadClassifier, PreTrainedTokenizerBase, Normalizer, int]:
    """Load a saved classifier folder for inference (eval mode, CPU)."""
    model_dir = Path(model_dir)
    schema_path = model_dir / SCHEMA_FILE
    if not schema_path.is_file():
        raise FileNotFoundError(
            f"{model_dir} is not a trained stance model (no {SCHEMA_FILE}). "
            "Train one with `make train`, or point to the folder it wrote."
        )
    meta = json.loads(schema_path.read_text(encoding="utf-8"))
    tokenizer, encoder = load_encoder(model_dir)
    model = MultiHeadClassifier(encoder, LabelSchema.from_dict(meta), meta["pooling"])
    state = load_file(model_dir / HEADS_FILE)
    if meta["pooling"] == "attention":
        model.queries.data.copy_(state.pop("queries"))
    model.heads.load_state_dict(state)
    return model.eval(), tokenizer, Normalizer.from_dict(meta["normalizer"]), meta["max_length"]
