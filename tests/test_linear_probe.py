"""LP-FT's first stage: heads fitted on the frozen encoder, then written into the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infer.labels import LabelSchema
from infer.model import ModelMeta, StanceModel, load_encoder
from support import tiny_config, tiny_records
from train.config import ConfigError, load_config
from train.linear_probe import fit_heads


# All 16 fixture rows (every label seen), three times over (enough rows per label for the
# cross-validated probe), and 5 rows where Iraq and Iran have two labels each (a binary probe)
# and the US one (nothing to fit).
@pytest.mark.parametrize("rows", [range(16), list(range(16)) * 3, [0, 1, 5, 14, 15]])
def test_fitted_heads_predict_what_each_probe_predicted(tiny_base, rows):
    tokenizer, encoder = load_encoder(tiny_base)
    schema = LabelSchema.stance()
    model = StanceModel(encoder, tokenizer, ModelMeta(schema, "mean"),
                        class_weights=[torch.ones(len(h.labels)) for h in schema.heads])
    records = [tiny_records()[i] for i in rows]
    features, _ = model.encode([r["text"] for r in records])
    ids = [f["input_ids"] for f in features]
    labels = [schema.encode(r, r["id"]) for r in records]
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    # The probe reads vectors under training's dropout; without dropout they are the vectors
    # the model reads in eval mode, so its predictions can be checked against the probe's.
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0

    accuracy = fit_heads(model, ids, labels)

    model.eval()
    with torch.no_grad():
        batch = model.collate([{"input_ids": i} for i in ids])
        logits = model(**batch)["logits"]
    gold = np.asarray(labels)
    for k, (head, part) in enumerate(zip(schema.heads, model.split(logits), strict=True)):
        predicted = part.argmax(-1).numpy()
        # The scaler folded into the weights: the model's own argmax is the probe's prediction.
        assert (predicted == gold[:, k]).mean() == pytest.approx(accuracy[head.name]), head.name
        # Labels no training row has are never predicted.
        unseen = set(range(len(head.labels))) - set(gold[:, k])
        assert not unseen & set(predicted.tolist()), head.name
    assert min(accuracy.values()) > 0.5  # at most 16 sentences in 32 dimensions: they fit
    # The encoder is only read.
    assert all(torch.equal(v, before[k]) for k, v in model.encoder.state_dict().items())


def test_linear_probe_needs_one_linear_layer_of_heads(tiny_base, tiny_data, tmp_path):
    with pytest.raises(ConfigError, match="linear_probe"):
        load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, linear_probe=True,
                                      pooling="mention"))
    config = load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, linear_probe=True))
    assert config.linear_probe


def test_training_with_a_linear_probe_starts_from_the_probe(tiny_base, tiny_data, tmp_path,
                                                           capsys):
    import json

    from train.run import train

    # Learning rates of 0: the saved heads are the probe's, untouched by fine-tuning.
    config = load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, linear_probe=True,
                                           epochs=1, learning_rate=0.0, head_learning_rate=0.0))
    results = train(config)
    printed = capsys.readouterr().out
    assert "linear probe, training accuracy per head: iraq" in printed
    info = json.loads((tmp_path / "training_info.json").read_text())
    assert info["config"]["linear_probe"] is True
    # train == test in the fixture and the probe fits 16 sentences: far above chance (0.2).
    assert results["test"]["stance_macro_f1"] > 0.5
