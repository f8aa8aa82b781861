"""Training: config validation, the tiny end-to-end run, round trip, the generic path."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from infer import load
from infer.labels import LabelError
from support import ROOT, tiny_config, tiny_records, write_jsonl
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


@pytest.mark.slow
@pytest.mark.parametrize(("config_file", "model"), [
    ("configs/arabert.yaml", "aubmindlab/bert-base-arabertv02"),
    ("configs/camelbert.yaml", "CAMeL-Lab/bert-base-arabic-camelbert-msa"),
])
def test_hub_config_without_the_hub_gives_one_line_error(tmp_path, tiny_data, config_file, model):
    # A fresh process, so the offline setting is read as the hub library starts.
    files = {f"{k}_file": str(v) for k, v in tiny_data.items()}
    args = [x for k, v in files.items() for x in (f"--{k}", v)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "-m", "train", "--config", config_file, *args,
                           "--output_dir", str(tmp_path / "out")], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 2
    err = done.stderr
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "not in the Hugging Face cache" in lines[0]
    assert f"huggingface-cli download {model}" in lines[0]
    assert "Traceback" not in err


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
    # fp32, as training scores its reports: bf16 can flip the tiny model's near-ties.
    first = load(folder, backend="fp32").predict(texts)
    second = load(folder, backend="fp32").predict(texts)
    assert [p.to_dict() for p in first] == [p.to_dict() for p in second]
    # The reloaded model scores exactly what training reported for the same file.
    from infer.labels import LabelSchema, gold_labels
    from train.metrics import compute_metrics

    schema = LabelSchema.stance()
    pred = {h.name: [p.label[h.name] for p in first] for h in schema.heads}
    reloaded = compute_metrics(schema, gold_labels(schema, tiny_records()), pred)
    for key in ("stance_macro_f1", "sentiment_macro_f1", "actor_accuracy"):
        assert reloaded[key] == pytest.approx(results["test"][key])


@pytest.mark.slow
def test_generic_single_head_on_csv(tmp_path, tiny_base):
    # Six "politics", ten "other": "other" is what a text with nothing to read gets.
    rows = ["text,topic"] + [f"{t},{'politics' if i % 3 == 0 else 'other'}"
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
    assert prediction.labels == [f"topic:{prediction.label['topic']}"]
    assert prediction.actors == [] and prediction.sentiment is None
    empty = model.predict("")
    assert empty.empty and empty.label == {"topic": "other"}
    assert empty.probabilities["topic"] == {"other": 1.0, "politics": 0.0}


def tiny_records_texts():
    return [(r["text"],) for r in tiny_records()]


def test_layer_lr_decay_scales_each_layer_below_the_top(tiny_base, tiny_data, tmp_path):
    from infer.labels import LabelSchema
    from infer.model import ModelMeta, StanceModel, load_encoder
    from train.run import optimizer

    tokenizer, encoder = load_encoder(tiny_base)
    depth = encoder.config.num_hidden_layers
    model = StanceModel(encoder, tokenizer, ModelMeta(LabelSchema.stance()))
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
    from infer.model import ModelMeta, StanceModel, load_encoder

    tokenizer, encoder = load_encoder(tiny_base)
    mean = StanceModel(encoder, tokenizer, ModelMeta(LabelSchema.stance(), "mean")).eval()
    attention = StanceModel(encoder, tokenizer,
                            ModelMeta(LabelSchema.stance(), "attention")).eval()
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
        attention.save_pretrained(tmp_path)
        reloaded = StanceModel.from_pretrained(tmp_path)
        assert torch.equal(reloaded(batch["input_ids"], batch["attention_mask"])["logits"], trained)


@pytest.mark.slow
def test_learning_curve_trains_each_size_and_scores_both_tests(tmp_path, tiny_base, monkeypatch):
    import yaml

    from train import learning_curve

    old = tiny_records("old")
    new = [{**r, "id": f"r4-{i:03d}", "doc_id": f"r4-doc{i}"}
           for i, r in enumerate(tiny_records("x"))]
    train_file = write_jsonl(tmp_path / "train.jsonl", old + new)
    test_file = write_jsonl(tmp_path / "test.jsonl", tiny_records("t"))
    settings = tiny_config(tiny_base, {"train": train_file, "dev": test_file,
                                       "test": test_file}, tmp_path / "unused", epochs=2)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    sizes = [(name, share, seeds[:2]) for name, share, seeds in learning_curve.SIZES]
    monkeypatch.setattr(learning_curve, "SIZES", tuple(sizes))
    out = tmp_path / "curve"
    learning_curve.main(["--config", str(config), "--out", str(out),
                         "--test-ood", str(test_file), "--dev-ood", str(test_file)])
    with open(out / "curve.csv", encoding="utf-8") as f:
        runs = list(csv.DictReader(f))
    # 25% and 50% of the 16 old rows, all 16, then old + new (32); one seed at every size, then
    # the second seed at the larger two.
    assert [int(r["train_rows"]) for r in runs] == [4, 8, 16, 32, 16, 32]
    for run in runs:
        for key in ("test_stance_macro_f1", "test_ood_stance_macro_f1", "dev_ood_stance_macro_f1"):
            assert 0 <= float(run[key]) <= 1
    with open(out / "summary.csv", encoding="utf-8") as f:
        summary = list(csv.DictReader(f))
    assert [int(r["seeds"]) for r in summary] == [1, 1, 2, 2]
    assert (out / "curve.png").is_file()
    assert not any((out / "models").iterdir())  # model folders are deleted once scored
    assert (out / "reports" / "4-42" / "dev_ood" / "metrics.json").is_file()
