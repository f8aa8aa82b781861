"""`StanceModel`: the model folder's one owner. One encoder pass per sentence feeds every head.

A model folder is a standard transformers folder (the encoder's `config.json`,
`model.safetensors` and tokenizer files, loadable with `AutoModel`) plus `heads.safetensors`
(the linear heads) and `label_schema.json` (`ModelMeta`: heads, pooling, normalisation, max
length), so any BERT-family encoder works unchanged as the body. `StanceModel.from_pretrained`
and `save_pretrained` are the only code that reads or writes the folder; `ModelMeta.read` reads
just the metadata, for tools that need the heads but not the weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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


class NotAModelFolder(FileNotFoundError):
    """A path that holds no trained model; the message says how to get one."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(
            f"no trained model at {path}. Train one with `make train` (it writes "
            "models/default), or point to a model folder: --model DIR, $STANCE_MODEL, or "
            "infer.load(path)"
        )


@dataclass(frozen=True)
class ModelMeta:
    """Everything about a model but its weights: what `label_schema.json` holds."""

    schema: LabelSchema
    pooling: str = "mean"
    normalizer: Normalizer = field(default_factory=Normalizer)
    max_length: int = 128

    @property
    def actors(self) -> list[str]:
        return self.schema.actors

    @staticmethod
    def is_model_folder(path: str | Path) -> bool:
        return (Path(path) / SCHEMA_FILE).is_file()

    @classmethod
    def read(cls, folder: str | Path) -> ModelMeta:
        """The metadata of a model folder; `NotAModelFolder` if it has none."""
        if not cls.is_model_folder(folder):
            raise NotAModelFolder(folder)
        data = json.loads((Path(folder) / SCHEMA_FILE).read_text(encoding="utf-8"))
        return cls(LabelSchema.from_dict(data), data["pooling"],
                   Normalizer.from_dict(data["normalizer"]), data["max_length"])

    def write(self, folder: str | Path) -> None:
        data = {**self.schema.to_dict(), "pooling": self.pooling,
                "normalizer": self.normalizer.to_dict(), "max_length": self.max_length}
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        (Path(folder) / SCHEMA_FILE).write_text(text, encoding="utf-8")


class StanceModel(nn.Module):
    """Encoder + pooling + one linear layer whose outputs are split into per-head logits.

    Pooling: `mean` of the token states, `cls` (token 0), or `attention`: each head pools the
    tokens with a learned query of its own, so the Iraq head can look at other words than the
    US head in the same sentence.
    """

    def __init__(
        self,
        encoder: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        meta: ModelMeta,
        dropout: float = 0.1,
        class_weights: list[torch.Tensor | None] | None = None,
    ) -> None:
        super().__init__()
        if meta.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {meta.pooling!r}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.meta = meta
        self.sizes = [len(h.labels) for h in meta.schema.heads]
        self.dropout = nn.Dropout(dropout)
        self.heads = nn.Linear(encoder.config.hidden_size, sum(self.sizes))
        # Zero queries weigh every token alike, so attention pooling starts as mean pooling.
        self.queries = (nn.Parameter(torch.zeros(len(self.sizes), encoder.config.hidden_size))
                        if meta.pooling == "attention" else None)
        self.class_weights = class_weights or [None] * len(self.sizes)

    @property
    def schema(self) -> LabelSchema:
        return self.meta.schema

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> StanceModel:
        """Load a saved model folder for inference (eval mode, CPU)."""
        meta = ModelMeta.read(folder)
        tokenizer, encoder = load_encoder(folder)
        model = cls(encoder, tokenizer, meta)
        state = load_file(Path(folder) / HEADS_FILE)
        if model.queries is not None:
            model.queries.data.copy_(state.pop("queries"))
        model.heads.load_state_dict(state)
        return model.eval()

    def save_pretrained(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        state = {k: v.detach().contiguous() for k, v in self.heads.state_dict().items()}
        if self.queries is not None:
            state["queries"] = self.queries.detach().contiguous()
        save_file(state, folder / HEADS_FILE)
        self.meta.write(folder)

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, hidden) for mean and cls pooling; (batch, heads, hidden) for attention."""
        if self.meta.pooling == "cls":
            return hidden[:, 0]
        if self.queries is not None:
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
        if self.queries is not None:  # head k reads its own pooled vector
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
