"""Training: config validation, the tiny end-to-end run, round trip, the generic path."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, tiny_config, tiny_records, write_jsonl

from infer import load
from infer.labels import LabelError
from train.__main__ import main as train_main
from train.config import ConfigError, load_config, parse_args


def test_unknown_config_key_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("learning_rate: 1e-4\nlearnin_rate: 2\n")
    with pytest.raises(ConfigError, match="learnin_rate"):
        load_config(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="train_file: file not found: .*nope.jsonl"):
        load_config(None, {"train_file": str(tmp_path / "nope.jsonl")})


def test_bad_choice_is_named():
    with pytest.raises(ConfigError, match="pooling must be one of"):
        load_config(None, {"pooling": "max"})


def test_command_line_overrides_are_typed(tiny_data):
    config = parse_args(["--learning_rate", "3e-5", "--epochs", "2", "--actors", "[iraq, us]",
                         "--test_file", "null", "--train_file", str(tiny_data["train"]),
                         "--dev_file", str(tiny_data["dev"])])
    assert config.learning_rate == 3e-5 and isinstance(config.epochs, float)
    assert config.actors == ["iraq", "us"] and config.test_file is None


def _run_cli(capsys, config: dict) -> tuple[int, str]:
    args = [x for k, v in config.items() for x in (f"--{k}", json.dumps(v))]
    code = train_main(args)
    return code, capsys.readouterr().err


def test_label_outside_schema_stops_before_training(tmp_path, tiny_base, tiny_data, capsys):
    bad = tiny_records()
    bad[3]["stance"]["iran"] = "hostile"
    path = write_jsonl(tmp_path / "bad.jsonl", bad)
    config = tiny_config(tiny_base, tiny_data, tmp_path / "out", train_file=str(path))
    code, err = _run_cli(capsys, config)
    assert code == 2
    assert "bad.jsonl:4" in err and "'stance.iran'" in err and "hostile" in err
    assert not (tmp_path / "out").exists()


def test_missing_column_and_empty_split_are_named(tmp_path, tiny_base, tiny_data):
    from train.data import load_splits

    rows = tiny_records()
    del rows[1]["sentiment"]
    path = write_jsonl(tmp_path / "nosent.jsonl", rows)
    with pytest.raises(LabelError, match="nosent.jsonl:2: missing field 'sentiment'"):
        load_splits(load_config(None, tiny_config(tiny_base, tiny_data, tmp_path,
                                                  train_file=str(path))))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(LabelError, match="empty.jsonl: no records"):
        load_splits(load_config(None, tiny_config(tiny_base, tiny_data, tmp_path,
                                                  dev_file=str(empty))))


def test_uncached_hub_model_gives_one_line_error(tmp_path, tiny_data):
    # A fresh process, so the offline setting is read as the hub library starts.
    config = tiny_config("aubmindlab/bert-base-arabertv02", tiny_data, tmp_path / "out")
    args = [x for k, v in config.items() for x in (f"--{k}", json.dumps(v))]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-m", "train", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 2
    err = done.stderr
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "not in the Hugging Face cache" in lines[0]
    assert "huggingface-cli download aubmindlab/bert-base-arabertv02" in lines[0]
    assert "Traceback" not in err


def test_hub_configs_name_hub_models(tiny_data):
    files = {f"{k}_file": str(v) for k, v in tiny_data.items()}
    for name, model in [("arabert", "aubmindlab/bert-base-arabertv02"),
                        ("camelbert", "CAMeL-Lab/bert-base-arabic-camelbert-msa")]:
        assert load_config(f"configs/{name}.yaml", files).base_model == model


def test_tiny_model_overfits_and_saves_everything(tiny_model):
    folder, results = tiny_model
    # train == dev == test in the fixture, so "test" is training-set performance.
    assert results["test"]["stance_macro_f1"] == 1.0
    info = json.loads((folder / "training_info.json").read_text())
    history = [h["loss"] for h in info["log_history"] if "loss" in h]
    assert history[-1] < history[0] / 2
    assert set(info["data_sha256"]) == {"train_file", "dev_file", "test_file"}
    assert info["seed"] == 42 and "torch" in info["versions"] and info["git_commit"]
    for name in ("config.json", "model.safetensors", "heads.safetensors", "label_schema.json",
                 "README.md", "reports/test/metrics.json", "reports/test/confusion_iran.png",
                 "reports/test/errors.jsonl", "reports/training_curve.png",
                 "reports/baseline_test/metrics.json"):
        assert (folder / name).is_file(), name
    assert not (folder / "checkpoints").exists()


def test_save_load_round_trip_gives_identical_predictions(tiny_model):
    folder, results = tiny_model
    texts = [r["text"] for r in tiny_records()]
    first, second = load(folder).predict(texts), load(folder).predict(texts)
    assert [p.to_dict() for p in first] == [p.to_dict() for p in second]
    # The reloaded model scores exactly what training reported for the same file.
    from infer.labels import LabelSchema
    from train.metrics import compute_metrics

    schema, gold = LabelSchema.stance(), tiny_records()
    gold_labels = {h.name: [h.labels[schema.encode(g)[k]] for g in gold]
                   for k, h in enumerate(schema.heads)}
    pred = {h.name: [p.label[h.name] for p in first] for h in schema.heads}
    reloaded = compute_metrics(schema, gold_labels, pred)
    for key in ("stance_macro_f1", "sentiment_macro_f1", "actor_accuracy"):
        assert reloaded[key] == pytest.approx(results["test"][key])


def test_generic_single_head_on_csv(tmp_path, tiny_base):
    rows = ["text,topic"] + [f"{t},{'politics' if i % 2 else 'other'}"
                             for i, (t, *_rest) in enumerate(tiny_records_texts())]
    path = tmp_path / "tiny.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    from train.run import train

    config = load_config(None, {
        "base_model": str(tiny_base), "task": "classify", "label_columns": ["topic"],
        "train_file": str(path), "dev_file": str(path), "test_file": str(path),
        "output_dir": str(tmp_path / "out"), "learning_rate": 3e-3, "epochs": 40,
        "head_learning_rate": 3e-3, "freeze_embeddings": False,
        "batch_size": 8, "max_length": 32, "early_stopping_patience": 40, "warmup_ratio": 0.0,
    })
    results = train(config)
    assert results["test"]["topic_macro_f1"] == 1.0
    model = load(tmp_path / "out")
    prediction = model.predict("دعا العراق إلى خفض التوتر في المنطقة")
    assert prediction.label["topic"] in {"politics", "other"} and prediction.labels == []


def tiny_records_texts():
    return [(r["text"],) for r in tiny_records()]


def test_layer_lr_decay_scales_each_layer_below_the_top(tiny_base, tiny_data, tmp_path):
    from infer.labels import LabelSchema
    from infer.model import MultiHeadClassifier, load_encoder
    from train.run import optimizer

    _, encoder = load_encoder(tiny_base)
    depth = encoder.config.num_hidden_layers
    model = MultiHeadClassifier(encoder, LabelSchema.stance())
    config = load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, learning_rate=1e-3,
                                           head_learning_rate=5e-3, layer_lr_decay=0.5))
    lr_of = {id(p): group["lr"] for group in optimizer(model, config).param_groups
             for p in group["params"]}
    for name, param in model.named_parameters():
        if name.startswith("heads."):
            expected = 5e-3
        elif f".layer.{depth - 1}." in name:  # the top layer learns at learning_rate
            expected = 1e-3
        elif ".layer.0." in name:
            expected = 1e-3 * 0.5 ** (depth - 1)
        elif "embeddings" in name:
            expected = 1e-3 * 0.5 ** depth
        else:
            continue
        assert lr_of[id(param)] == pytest.approx(expected), name
    with pytest.raises(ConfigError, match="layer_lr_decay"):
        load_config(None, tiny_config(tiny_base, tiny_data, tmp_path, layer_lr_decay=0))


def test_attention_pooling_starts_as_mean_pooling_and_round_trips(tiny_base, tmp_path):
    import torch

    from infer.labels import LabelSchema
    from infer.model import MultiHeadClassifier, load_encoder, load_model
    from infer.text import Normalizer

    tokenizer, encoder = load_encoder(tiny_base)
    mean = MultiHeadClassifier(encoder, LabelSchema.stance(), "mean").eval()
    attention = MultiHeadClassifier(encoder, LabelSchema.stance(), "attention").eval()
    attention.heads.load_state_dict(mean.heads.state_dict())
    batch = tokenizer(["هددت إيران بالانتقام", "دعا العراق إلى خفض التوتر في المنطقة"],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = mean(batch["input_ids"], batch["attention_mask"])["logits"]
        assert torch.allclose(attention(batch["input_ids"], batch["attention_mask"])["logits"],
                              expected, atol=1e-5)
        attention.queries.normal_()  # as after training: each head weighs tokens its own way
        trained = attention(batch["input_ids"], batch["attention_mask"])["logits"]
        assert not torch.allclose(trained, expected, atol=1e-3)
        attention.save(tmp_path, tokenizer, Normalizer(), 32)
        reloaded = load_model(tmp_path)[0]
        assert torch.equal(reloaded(batch["input_ids"], batch["attention_mask"])["logits"], trained)
