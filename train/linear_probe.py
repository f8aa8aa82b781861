"""Linear probing before fine-tuning (LP-FT, Kumar et al. 2022, "Fine-Tuning can Distort
Pretrained Features and Underperform Out-of-Distribution").

A freshly initialised head sends noisy gradients into the encoder in the first steps of
fine-tuning, and those change the pretrained features most; a head first fitted on the frozen
encoder's features starts fine-tuning near a solution, so the features move less, which the
paper found to hold up better on data unlike the training set. Here the probe is one
logistic regression per head on the pooled sentence vectors, copied into the linear `heads`.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

from infer.model import StanceModel

PROBE_POOLINGS = ("mean", "cls")  # one linear layer on one sentence vector
# Inverse L2 strengths tried by 3-fold cross-validation (log loss). On 3,000 training sentences
# of the stance corpus held-out loss was best near 0.01; C = 1 fits noise (weights
# 5-8x larger).
CS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


@torch.no_grad()
def sentence_vectors(model: StanceModel, input_ids: list[list[int]], batch_size: int = 64,
                     bf16: bool = False) -> np.ndarray:
    """The pooled vectors the heads read in training, for `encode`'s token ids: with the
    encoder's and the heads' dropout on, so that the probe fits a head that holds up under the
    dropout of fine-tuning (fitted without it, its large weights on near-constant dimensions
    make the dropped-out logits noise)."""
    was_training = model.training
    model.train()
    order = np.argsort([len(ids) for ids in input_ids])  # less padding per batch
    vectors = np.zeros((len(input_ids), model.encoder.config.hidden_size), dtype=np.float32)
    for start in tqdm(range(0, len(order), batch_size), desc="linear probe: encoding"):
        rows = order[start:start + batch_size]
        batch = model.collate([{"input_ids": input_ids[i]} for i in rows])
        batch = {k: v.to(model.encoder.device) for k, v in batch.items()}
        with torch.autocast(batch["input_ids"].device.type, dtype=torch.bfloat16, enabled=bf16):
            hidden = model.encoder(**batch)[0]
            pooled = model.dropout(model.pool(hidden, batch["attention_mask"]))
        vectors[rows] = pooled.float().cpu().numpy()
    model.train(was_training)
    return vectors


def fit_heads(model: StanceModel, input_ids: list[list[int]], labels: list[list[int]],
              bf16: bool = False) -> dict[str, float]:
    """Fit each head as a logistic regression (with the model's class weights) on the frozen
    encoder's sentence vectors and write it into `model.heads`; returns each head's training
    accuracy, for the log."""
    if model.meta.pooling not in PROBE_POOLINGS:
        raise ValueError(f"linear probing needs pooling in {PROBE_POOLINGS}, "
                         f"got {model.meta.pooling!r}")
    x = sentence_vectors(model, input_ids, bf16=bf16)
    scaler = StandardScaler().fit(x)
    x_scaled = scaler.transform(x)
    y = np.asarray(labels)
    weight_rows, bias_rows, accuracy = [], [], {}
    for k, head in enumerate(model.schema.heads):
        size = len(head.labels)
        keep = y[:, k] >= 0  # -100: no label for this head on this row
        weights = model.class_weights[k]
        seen = np.unique(y[keep, k])
        if len(seen) < 2:  # nothing to separate: the one label seen wins everywhere
            coef, intercept = np.zeros((size, x.shape[1])), np.where(np.arange(size) == seen[0],
                                                                      10.0, 0.0)
            accuracy[head.name] = 1.0
        else:
            probe = _probe(np.bincount(y[keep, k]), weights)
            probe.fit(x_scaled[keep], y[keep, k])
            accuracy[head.name] = float((probe.predict(x_scaled[keep]) == y[keep, k]).mean())
            coef, intercept = _all_classes(probe, size)
        # Fold the scaler in, so the head reads the raw pooled vector as in training and predict.
        weight_rows.append(coef / scaler.scale_)
        bias_rows.append(intercept - (coef * scaler.mean_ / scaler.scale_).sum(1))
    layer = model.heads
    layer.weight.data.copy_(torch.from_numpy(np.concatenate(weight_rows)).to(layer.weight))
    layer.bias.data.copy_(torch.from_numpy(np.concatenate(bias_rows)).to(layer.bias))
    return accuracy


def _probe(counts: np.ndarray, weights: torch.Tensor | None) -> LogisticRegression:
    """A logistic regression whose L2 strength is chosen by 3-fold cross-validation, or C = 1
    when some label has fewer than 3 rows to spread over the folds."""
    class_weight = None if weights is None else dict(enumerate(weights.tolist()))
    if counts[counts > 0].min() < 3:
        return LogisticRegression(C=1.0, max_iter=2000, class_weight=class_weight)
    return LogisticRegressionCV(Cs=list(CS), cv=3, scoring="neg_log_loss", max_iter=2000,
                                class_weight=class_weight, l1_ratios=(0.0,),
                                use_legacy_attributes=False)


def _all_classes(probe: LogisticRegression, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(size, dim) weights and (size,) biases: a binary probe's one row split into two
    opposite halves, and labels never seen in training scored far below the rest."""
    coef, intercept = probe.coef_, probe.intercept_
    if len(probe.classes_) == 2:
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
    full_coef = np.zeros((size, coef.shape[1]))
    full_bias = np.full(size, intercept.min() - 10.0)
    full_coef[probe.classes_] = coef
    full_bias[probe.classes_] = intercept
    return full_coef, full_bias
