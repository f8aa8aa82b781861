"""`StanceModel`: the model folder's one owner. One encoder pass per sentence feeds every head.

A model folder is a standard transformers folder (the encoder's `config.json`,
`model.safetensors` and tokenizer files, loadable with `AutoModel`) plus `heads.safetensors`
(everything on top of the encoder) and `label_schema.json` (`ModelMeta`: heads, pooling,
normalisation, max length, actor aliases), so any BERT-family encoder works unchanged as the
body. `StanceModel.from_pretrained`
and `save_pretrained` are the only code that reads or writes the folder; `ModelMeta.read` reads
just the metadata, for tools that need the heads but not the weights.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from infer.actors import ActorAliases
from infer.labels import STANCE_VALUES, LabelSchema
from infer.text import Normalizer

SCHEMA_FILE = "label_schema.json"
HEADS_FILE = "heads.safetensors"
POOLINGS = ("mean", "cls", "attention", "mention")


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
    # Mention pooling and entity markers: every actor's aliases. Mention pooling: the actors
    # the model learned an embedding for (those added after training share the "unseen actor"
    # embedding).
    aliases: ActorAliases | None = None
    trained_actors: tuple[str, ...] = ()
    # Typed entity markers around each alias mention in the text the encoder reads
    # (`ActorAliases.mark`), with any pooling.
    entity_markers: bool = False

    def __post_init__(self) -> None:
        if self.entity_markers and self.aliases is None:
            raise ValueError("entity markers need actor aliases")
        if self.pooling == "mention":
            if not self.schema.is_stance_task or self.aliases is None:
                raise ValueError("mention pooling needs the stance task and actor aliases")
            if self.aliases.names != self.schema.actors:
                raise ValueError(f"aliases are for {self.aliases.names}, the heads for "
                                 f"{self.schema.actors}")

    @property
    def actors(self) -> list[str]:
        return self.schema.actors

    def with_actors(self, actors: dict[str, list[str]]) -> ModelMeta:
        """The same model asked about more actors (name -> aliases), or with new aliases for
        the ones it has; only a mention-pooling model can do this, through its shared stance
        classifier."""
        if self.pooling != "mention":
            raise ValueError(f"a {self.pooling}-pooling model has one head per trained actor and "
                             "cannot take new ones; train with `pooling: mention`")
        merged = {**self.aliases.to_dict(), **actors}  # the trained actors first, in their order
        return dataclasses.replace(self, schema=LabelSchema.stance(list(merged)),
                                   aliases=ActorAliases(merged))

    @staticmethod
    def is_model_folder(path: str | Path) -> bool:
        return (Path(path) / SCHEMA_FILE).is_file()

    @classmethod
    def read(cls, folder: str | Path) -> ModelMeta:
        """The metadata of a model folder; `NotAModelFolder` if it has none."""
        if not cls.is_model_folder(folder):
            raise NotAModelFolder(folder)
        data = json.loads((Path(folder) / SCHEMA_FILE).read_text(encoding="utf-8"))
        aliases = ActorAliases(data["aliases"]) if data.get("aliases") else None
        return cls(LabelSchema.from_dict(data), data["pooling"],
                   Normalizer.from_dict(data["normalizer"]), data["max_length"], aliases,
                   tuple(data.get("trained_actors", ())), data.get("entity_markers", False))

    def write(self, folder: str | Path) -> None:
        data = {**self.schema.to_dict(), "pooling": self.pooling,
                "normalizer": self.normalizer.to_dict(), "max_length": self.max_length}
        if self.aliases is not None:
            data.update(aliases=self.aliases.to_dict(), trained_actors=list(self.trained_actors),
                        entity_markers=self.entity_markers)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        (Path(folder) / SCHEMA_FILE).write_text(text, encoding="utf-8")


class StanceModel(nn.Module):
    """Encoder + pooling + classifiers; one encoder pass per sentence feeds every head.

    Pooling: `mean` of the token states, `cls` (token 0), or `attention` (each head pools the
    tokens with a learned query of its own) feed one linear layer whose outputs are split into
    per-head logits. `mention` is actor-aware: for each actor it pools the tokens of the actor's
    alias mentions (a learned "no mention" vector when there are none: actors can be implicit),
    joins them with the sentence's mean and a learned actor embedding, and one stance classifier
    shared by all actors reads that, so what it learns of escalation from US sentences also
    serves Iran's. Sentiment reads the sentence vector. Logits keep one layout for all poolings:
    each head's values in schema order.
    """

    def __init__(
        self,
        encoder: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        meta: ModelMeta,
        dropout: float = 0.1,
        class_weights: list[torch.Tensor | None] | None = None,
        label_smoothing: float = 0.0,
        actor_dropout: float = 0.0,
        dropout_samples: int = 1,
    ) -> None:
        super().__init__()
        if meta.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {meta.pooling!r}")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.meta = meta
        self.sizes = [len(h.labels) for h in meta.schema.heads]
        self.dropout = nn.Dropout(dropout)
        hidden = encoder.config.hidden_size
        if meta.pooling == "mention":
            if not getattr(tokenizer, "is_fast", False):
                raise ValueError("mention pooling needs a fast tokenizer (character offsets)")
            # One row per trained actor plus a last row for actors added after training, which
            # `actor_dropout` trains by standing in for a known actor now and then.
            self.actor_embeddings = nn.Parameter(
                torch.randn(len(meta.trained_actors) + 1, hidden) * 0.02)
            self.no_mention = nn.Parameter(torch.zeros(hidden))
            # Each schema actor's embedding row: its own if trained, else the unseen-actor row.
            trained = meta.trained_actors
            self.register_buffer("actor_slots", torch.tensor(
                [trained.index(a) if a in trained else len(trained) for a in meta.actors]),
                persistent=False)
            self.stance = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.GELU(),
                                        nn.Dropout(dropout), nn.Linear(hidden, len(STANCE_VALUES)))
            self.other_heads = nn.Linear(hidden, sum(self.sizes[len(meta.actors):]))
        else:
            self.heads = nn.Linear(hidden, sum(self.sizes))
        # Zero queries weigh every token alike, so attention pooling starts as mean pooling.
        self.queries = (nn.Parameter(torch.zeros(len(self.sizes), hidden))
                        if meta.pooling == "attention" else None)
        self.class_weights = class_weights or [None] * len(self.sizes)
        self.label_smoothing = label_smoothing
        self.actor_dropout = actor_dropout
        # Multi-sample dropout (Inoue 2019): in training the heads read the pooled vectors
        # through this many dropout masks and the loss is their mean; the encoder runs once.
        self.dropout_samples = dropout_samples

    @property
    def schema(self) -> LabelSchema:
        return self.meta.schema

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, actors: dict[str, Sequence[str]] | None = None
    ) -> StanceModel:
        """Load a saved model folder for inference (eval mode, CPU). `actors` (name -> aliases)
        adds actors to a mention-pooling model, or replaces the aliases of one it has."""
        meta = ModelMeta.read(folder)
        if actors:
            meta = meta.with_actors({name: list(words) for name, words in actors.items()})
        tokenizer, encoder = load_encoder(folder)
        model = cls(encoder, tokenizer, meta)
        state = load_file(Path(folder) / HEADS_FILE)
        if "weight" in state:  # folders saved before heads.safetensors held named modules
            state = {("queries" if k == "queries" else "heads." + k): v for k, v in state.items()}
        model.load_state_dict(state, strict=False)
        missing = [k for k in model.state_dict() if not k.startswith("encoder.") and k not in state]
        if missing:
            raise ValueError(f"{folder}/{HEADS_FILE} lacks {missing}: not written for this model")
        return model.eval()

    def save_pretrained(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()
                 if not k.startswith("encoder.")}
        save_file(state, folder / HEADS_FILE)
        self.meta.write(folder)

    def encode(self, texts: Sequence[str]) -> tuple[list[dict[str, list]], list[bool]]:
        """Token ids (and, for mention pooling, each actor's mention mask) of normalised texts,
        with entity markers if the model was trained with them, cut to `max_length` keeping the
        head and the closing special token; and which texts were cut. Training and `predict`
        both encode here, so they read texts alike."""
        mention = self.meta.pooling == "mention"
        if self.meta.entity_markers:
            texts = [self.meta.aliases.mark(t) for t in texts]
        encoded = self.tokenizer(list(texts), return_offsets_mapping=mention, verbose=False)
        features, truncated = [], []
        limit = self.meta.max_length
        for i, ids in enumerate(encoded["input_ids"]):
            row = {"input_ids": ids}
            if mention:
                row["mention_mask"] = self.meta.aliases.token_masks(
                    texts[i], encoded["offset_mapping"][i])
            truncated.append(len(ids) > limit)
            if len(ids) > limit:
                row["input_ids"] = _cut(ids, limit)
                if mention:
                    row["mention_mask"] = [_cut(m, limit) for m in row["mention_mask"]]
            features.append(row)
        return features, truncated

    def collate(self, features: list[dict]) -> dict[str, torch.Tensor]:
        """A padded batch of `encode`'s rows (with `labels` when training)."""
        if "mention_mask" not in features[0]:
            return dict(self.tokenizer.pad(features, return_tensors="pt"))
        batch = self.tokenizer.pad([{k: v for k, v in f.items() if k != "mention_mask"}
                                    for f in features], return_tensors="pt")
        width = batch["input_ids"].shape[1]
        batch["mention_mask"] = torch.tensor(
            [[row + [0] * (width - len(row)) for row in f["mention_mask"]] for f in features],
            dtype=torch.float32)
        return dict(batch)

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
        mention_mask: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """`labels` is (batch, heads) of label indices; -100 skips a head for a row.
        `mention_mask` (batch, actors, tokens) marks each actor's mentions (mention pooling)."""
        extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **extra)[0]
        samples = self.dropout_samples if self.training else 1
        logits = [self._logits(hidden, attention_mask, mention_mask) for _ in range(samples)]
        out = {"logits": torch.stack(logits).mean(0)}
        if labels is not None:
            out["loss"] = torch.stack([self._loss(sample, labels) for sample in logits]).mean()
        return out

    def _logits(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, mention_mask: torch.Tensor | None
    ) -> torch.Tensor:
        if self.meta.pooling == "mention":
            return self._actor_logits(hidden, attention_mask, mention_mask)
        logits = self.heads(self.dropout(self.pool(hidden, attention_mask)))
        if self.queries is not None:  # head k reads its own pooled vector
            logits = torch.cat([part[:, k] for k, part in enumerate(self.split(logits))], dim=-1)
        return logits

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        losses = []
        for i, head_logits in enumerate(self.split(logits)):
            weight = self.class_weights[i]
            weight = None if weight is None else weight.to(logits.device, logits.dtype)
            losses.append(nn.functional.cross_entropy(
                head_logits, labels[:, i], weight=weight, label_smoothing=self.label_smoothing))
        return torch.stack(losses).sum()

    def _actor_logits(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, mention_mask: torch.Tensor | None
    ) -> torch.Tensor:
        batch, actors = hidden.shape[0], len(self.meta.actors)
        sentence = self.pool(hidden, attention_mask)
        if mention_mask is None:
            mention_mask = hidden.new_zeros(batch, actors, hidden.shape[1])
        mention_mask = mention_mask.to(hidden.dtype)
        counts = mention_mask.sum(-1, keepdim=True)
        mentions = torch.einsum("bat,btd->bad", mention_mask, hidden) / counts.clamp(min=1.0)
        mentions = torch.where(counts > 0, mentions, self.no_mention.to(hidden.dtype))
        unseen = len(self.meta.trained_actors)
        slots = self.actor_slots.expand(batch, actors)
        if self.training and self.actor_dropout:
            drop = torch.rand(batch, actors, device=hidden.device) < self.actor_dropout
            slots = slots.masked_fill(drop, unseen)
        features = torch.cat([sentence.unsqueeze(1).expand(-1, actors, -1), mentions,
                              self.actor_embeddings.to(hidden.dtype)[slots]], dim=-1)
        stance = self.stance(self.dropout(features)).flatten(1)
        return torch.cat([stance, self.other_heads(self.dropout(sentence))], dim=-1)

    def split(self, logits: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per-head logits, in schema order."""
        return torch.split(logits, self.sizes, dim=-1)


def _cut(ids: list, limit: int) -> list:
    return ids[: limit - 1] + ids[-1:]


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
