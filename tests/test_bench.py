"""`python -m bench` end to end on the tiny model: one round, ~40 sentences."""

from __future__ import annotations

import json

import pytest

from bench import speed
from support import TINY


@pytest.mark.slow
def test_bench_reports_every_contender(tiny_model, tiny_data, tmp_path):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join([t[0] for t in TINY] * 3) + "\n", encoding="utf-8")
    out = tmp_path / "bench.json"
    speed.main(["--model", str(tiny_model[0]), "--input", str(sentences), "--sentences", "40",
                "--rounds", "1", "--dev", str(tiny_data["dev"]), "--out", str(out)])
    report = json.loads(out.read_text(encoding="utf-8"))

    assert report["settings"]["sentences"] == 40 and report["settings"]["threads"] == 2
    contenders = report["contenders"]
    expected = {"pipeline", "fp32", "bf16", "int8"}
    expected |= set() if "onnx" in report["skipped"] else {"onnx"}
    assert set(contenders) == expected
    pipeline_rate = contenders["pipeline"]["sentences_per_s"]
    for name, c in contenders.items():
        assert c["sentences_per_s"] > 0 and c["peak_rss_mb"] > 0 and c["gflops_per_s"] > 0
        assert c["sentences_per_cpu_s"] > 0 and c["cpu_ratio_to_pipeline"] > 0
        assert c["ratio_to_pipeline"] == pytest.approx(c["sentences_per_s"] / pipeline_rate)
        if name == "pipeline":
            assert "dev" not in c  # its head is untrained: timed, not scored
            continue
        dev, reference = c["dev"], contenders["fp32"]["dev"]
        for key in ("stance_macro_f1", "sentiment_macro_f1"):
            assert 0 <= dev[key] <= 1
            assert dev[f"{key}_delta_points"] == pytest.approx(100 * (dev[key] - reference[key]))
        assert 0.9 <= dev["label_agreement_with_fp32"] <= 1.0
    # The tiny model memorised the fixture's stances (dev == train): the bench's columns come
    # from the same predict() and metrics as training's report, which says 1.0 too.
    assert contenders["fp32"]["dev"]["stance_macro_f1"] == 1.0
    assert report["settings"]["default_backend"] in {"fp32", "bf16"}
    assert report["machine_gflops"]["fp32"] > 0 and report["machine_gflops"]["bf16"] > 0
    text = speed.format_report(report)
    assert "stance F1" in text and "sentiment F1" in text and "targets" not in text
