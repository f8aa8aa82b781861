"""Scale-out: the Ray engine scores like the local one; torchrun trains with two processes.

`pytest -k ray` and `pytest -k torchrun` select these. They start other processes (a local
Ray instance, torchrun), so they take tens of seconds rather than seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from operator import itemgetter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from infer import load
from infer.__main__ import main
from support import ROOT, TINY, tiny_config

pytestmark = pytest.mark.slow  # starts Ray or torchrun

TEXTS = [t[0] for t in TINY]
# fp32: Ray and local scoring batch the rows differently, and only fp32 probabilities are
# independent of the batch to 1e-5 (bf16 ones move by up to ~1e-2; labels stay).
SCORE_OPTIONS = ("--id-field", "id", "--split-sentences", "--backend", "fp32")
# Lines that local scoring rejects, each for another reason (the blank line is skipped).
BAD_LINES = ["{not json", '["a list"]', '{"id": "no-text"}', '{"id": "e", "text": "  "}',
             '{"id": "n", "text": 7}', ""]


@pytest.fixture(scope="module")
def model_dir(tiny_model) -> Path:
    return tiny_model[0]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """Three JSONL shards with bad lines among good ones, and a Parquet shard one folder down.

    Documents are one or two sentences, so --split-sentences makes a row or two of each.
    """
    folder = tmp_path_factory.mktemp("corpus")
    for shard in range(3):
        lines = []
        for i in range(40):
            text = TEXTS[i % len(TEXTS)]
            if i % 3 == 0:
                text += " . " + TEXTS[(i + 5) % len(TEXTS)]
            lines.append(json.dumps({"id": f"s{shard}-{i}", "text": text}, ensure_ascii=False))
        for offset, bad in enumerate(BAD_LINES):  # spread out, a different place per shard
            lines.insert(3 + shard + 6 * offset, bad)
        (folder / f"shard-{shard}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "more").mkdir()
    records = [{"id": f"p-{i}", "text": TEXTS[i % len(TEXTS)]} for i in range(30)]
    records[7]["text"] = ""
    pq.write_table(pa.Table.from_pylist(records), folder / "more" / "part.parquet")
    return folder


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance on this machine with 2 CPUs: the engine joins it and leaves it running."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()


def score_locally(tmp_path: Path, corpus: Path, model: Path, out_format: str) -> dict:
    """Local scoring of each file of `corpus`: {file name: (rows, rejects)}."""
    results = {}
    for source in sorted(p for p in corpus.rglob("*") if p.is_file()):
        name = source.relative_to(corpus).as_posix()
        out = tmp_path / "local" / f"{name.replace('/', '_')}.{out_format}"
        assert main(["score", str(source), str(out), "--model", str(model),
                     *SCORE_OPTIONS]) == 0
        rows = (pq.read_table(out).to_pylist() if out_format == "parquet"
                else [json.loads(line) for line in out.read_text().splitlines()])
        rejects_file = out.with_name(out.name + ".rejects.jsonl")
        rejects = ([json.loads(line) for line in rejects_file.read_text().splitlines()]
                   if rejects_file.exists() else [])
        results[name] = (rows, rejects)
    return results


def read_shards(folder: Path, out_format: str) -> dict:
    """Ray output grouped by input file: {file name: (rows, rejects)}, each sorted by id."""
    results: dict = defaultdict(lambda: ([], []))
    for shard in folder.glob(f"part-*.{out_format}"):
        rows = (pq.read_table(shard).to_pylist() if out_format == "parquet"
                else [json.loads(line) for line in shard.read_text().splitlines()])
        for row in rows:
            results[row.pop("file")][0].append(row)
    for shard in (folder / "rejects").glob("part-*.jsonl"):
        for reject in map(json.loads, shard.read_text().splitlines()):
            results[reject.pop("file")][1].append(reject)
    return dict(results)


def assert_close(value: object, expected: object, where: str) -> None:
    """Equal, with the same keys in the same order, except floats (also nested): 1e-5."""
    if isinstance(value, dict):
        assert list(value) == list(expected), where
        for key in value:
            assert_close(value[key], expected[key], f"{where}.{key}")
    elif isinstance(value, float):
        assert value == pytest.approx(expected, abs=1e-5), where
    else:
        assert value == expected, where


def assert_same_scores(ray_rows: list[dict], local_rows: list[dict]) -> None:
    """Row for row: the same ids, labels and flags, probabilities within 1e-5."""
    assert sorted(r["id"] for r in ray_rows) == sorted(r["id"] for r in local_rows)
    local_by_id = {r["id"]: r for r in local_rows}
    for row in ray_rows:
        assert_close(row, local_by_id[row["id"]], row["id"])


@pytest.mark.parametrize("out_format", ["parquet", "jsonl"])
def test_ray_scoring_matches_local(tmp_path, capsys, local_ray, model_dir, corpus_dir,
                                   out_format):
    out = tmp_path / "scored"
    code = main(["score", "--engine", "ray", str(corpus_dir), str(out), "--model",
                 str(model_dir), "--output-format", out_format, *SCORE_OPTIONS])
    err = capsys.readouterr().err
    assert code == 0, err
    local = score_locally(tmp_path, corpus_dir, model_dir, out_format)
    scored = read_shards(out, out_format)
    assert sorted(scored) == sorted(local) == ["more/part.parquet", "shard-0.jsonl",
                                               "shard-1.jsonl", "shard-2.jsonl"]
    for name, (local_rows, local_rejects) in local.items():
        rows, rejects = scored[name]
        assert_same_scores(rows, local_rows)
        by_line = itemgetter("line")
        assert sorted(rejects, key=by_line) == sorted(local_rejects, key=by_line), name
    total_rejects = sum(len(rejects) for _, rejects in local.values())
    assert total_rejects == 3 * (len(BAD_LINES) - 1) + 1  # the blank lines are no records
    assert f"rejected: {total_rejects}" in err
    assert local_ray.is_initialized()  # a Ray it did not start is left running


def test_ray_engine_refuses_a_used_output_folder(tmp_path, capsys, model_dir, corpus_dir):
    pytest.importorskip("ray")
    out = tmp_path / "scored"
    out.mkdir()
    (out / "old.parquet").write_text("x")
    code = main(["score", "--engine", "ray", str(corpus_dir), str(out), "--model",
                 str(model_dir)])
    assert code == 2 and "already exists" in capsys.readouterr().err


def test_ray_engine_rejects_local_only_options(tmp_path, capsys, model_dir, corpus_dir):
    code = main(["score", "--engine", "ray", str(corpus_dir), str(tmp_path / "out"),
                 "--model", str(model_dir), "--resume"])
    assert code == 2 and "--resume applies to --engine local only" in capsys.readouterr().err


def test_ray_missing_says_how_to_install(tmp_path, capsys, monkeypatch, model_dir, corpus_dir):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails
    monkeypatch.delitem(sys.modules, "infer.ray_score", raising=False)
    code = main(["score", "--engine", "ray", str(corpus_dir), str(tmp_path / "out"),
                 "--model", str(model_dir)])
    assert code == 2 and "pip install '.[ray]'" in capsys.readouterr().err


def test_torchrun_training_two_processes(tmp_path, tiny_base, tiny_data):
    """`make train NPROC=2` on CPU (gloo): both processes train, rank 0 alone saves and
    reports, and the saved model predicts."""
    out = tmp_path / "model"
    config = tiny_config(tiny_base, tiny_data, out, epochs=10)
    args = [x for key, value in config.items() for x in (f"--{key}", json.dumps(value))]
    torchrun = Path(sys.executable).with_name("torchrun")
    # --standalone: a free local port for the rendezvous, so parallel runs do not collide.
    result = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "train", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("== Results ==") == 1  # printed by rank 0 only
    assert (out / "training_info.json").is_file() and not (out / "checkpoints").exists()
    predictions = load(out).predict(TEXTS)
    for prediction in predictions:
        assert set(prediction.stance) == {"iraq", "iran", "us"}
        assert prediction.sentiment in ("negative", "neutral", "positive")
