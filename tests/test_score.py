"""Batch scoring (`python -m infer score`): formats, rejects, errors, resume, streaming.

The CLI runs in-process through `main(argv)`; only the kill -9 test needs a subprocess.
"""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import infer.score
from infer import load
from infer.__main__ import main
from infer.corpus_io import Row
from infer.record import ScoredRecord
from infer.score import progress_path
from infer.text import split_sentences
from support import ROOT, TINY

TEXTS = [t[0] for t in TINY]
ACTORS = ("iraq", "iran", "us")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """The tiny model is so small that torch's thread hand-offs cost more than the maths (and
    much more on a busy machine), so these tests run it on one thread and restore the setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_dir(tiny_model) -> Path:
    return tiny_model[0]


@pytest.fixture(scope="module")
def expected(model_dir) -> dict:
    """What the Python API predicts for each fixture text."""
    return {p.text: p for p in load(model_dir).predict(TEXTS)}


def score(capsys, *args) -> tuple[int, str]:
    """Run `python -m infer score ARGS` in-process; (exit status, stderr)."""
    code = main(["score", *map(str, args)])
    return code, capsys.readouterr().err


def write_corpus(path: Path, records: list[dict]) -> Path:
    """`records` ({"id", "text"}) in the format named by the extension of `path`."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".jsonl"):
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    elif name.endswith((".csv", ".tsv")):
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, list(records[0]), delimiter="\t" if ".tsv" in name else ",")
            writer.writeheader()
            writer.writerows(records)
        return path
    elif name.endswith(".txt"):
        data = "".join(r["text"] + "\n" for r in records)
    else:
        pq.write_table(pa.Table.from_pylist(records), path)
        return path
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data.encode()))
    else:
        path.write_text(data, encoding="utf-8")
    return path


def corpus(n: int = len(TEXTS)) -> list[dict]:
    return [{"id": f"doc-{i}", "text": TEXTS[i % len(TEXTS)]} for i in range(n)]


def read_output(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return pq.read_table(path).to_pylist()


def read_rejects(out: Path) -> list[tuple[int, str]]:
    path = out.with_name(out.name + ".rejects.jsonl")
    return [(r["line"], r["reason"]) for r in map(json.loads, path.read_text().splitlines())]


def assert_nested(record: dict, prediction) -> None:
    assert record["labels"] == prediction.labels
    assert record["stance"] == prediction.stance
    assert record["sentiment"] == prediction.sentiment
    for actor in ACTORS:
        assert record["stance_probs"][actor] == pytest.approx(prediction.probabilities[actor])
    assert record["sentiment_probs"] == pytest.approx(prediction.probabilities["sentiment"])
    assert (record["empty"], record["truncated"]) == (False, False)


def assert_flat(row: dict, prediction) -> None:
    """A CSV (all strings) or Parquet row against the API's prediction."""
    assert row["labels"] == ";".join(prediction.labels)
    assert row["sentiment"] == prediction.sentiment
    for name, probs in prediction.probabilities.items():
        label = "sentiment" if name == "sentiment" else f"stance_{name}"
        assert row[label] == prediction.label[name]
        for value, p in probs.items():
            assert float(row[f"p_{name}_{value}"]) == pytest.approx(p)
    assert str(row["truncated"]) == "False"


# ------------------------------------------------------------------------------ formats


@pytest.mark.parametrize(("name", "first_id"), [
    ("corpus.jsonl", 1), ("corpus.csv", 2), ("corpus.txt", 1), ("corpus.parquet", 1),
])
def test_without_an_id_field_ids_are_line_numbers(tmp_path, capsys, model_dir, expected, name,
                                                  first_id):
    """The id is then where the row is: its line (a CSV header is line 1), or its Parquet
    row; the summary says so."""
    records = [{"text": r["text"]} for r in corpus()]
    source = write_corpus(tmp_path / name, records)
    out = tmp_path / "scored.jsonl"
    code, err = score(capsys, source, out, "--model", model_dir)
    assert code == 0, err
    scored = read_output(out)
    assert [r["id"] for r in scored] == [str(first_id + i) for i in range(len(TEXTS))]
    for record, text in zip(scored, TEXTS, strict=True):
        assert_nested(record, expected[text])
    assert "ids: line numbers" in err


@pytest.mark.parametrize("name", ["corpus.jsonl", "corpus.jsonl.gz", "corpus.csv",
                                  "corpus.tsv", "corpus.parquet"])
def test_every_input_format(tmp_path, capsys, model_dir, expected, name):
    """Records that carry an `id` field keep it as their id, with no option needed."""
    source = write_corpus(tmp_path / name, corpus())
    out = tmp_path / "scored.jsonl"
    code, err = score(capsys, source, out, "--model", model_dir)
    assert code == 0, err
    records = read_output(out)
    assert [r["id"] for r in records] == [f"doc-{i}" for i in range(len(TEXTS))]
    assert "ids: field 'id'" in err
    for record, text in zip(records, TEXTS, strict=True):
        assert_nested(record, expected[text])
        assert "text" not in record
    assert f"rows in: {len(TEXTS)}  scored: {len(TEXTS)}  rejected: 0" in err
    assert not out.with_name("scored.jsonl.rejects.jsonl").exists()
    assert not progress_path(out).exists()


@pytest.mark.parametrize("name", ["corpus.jsonl", "corpus.csv", "corpus.parquet"])
def test_id_field(tmp_path, capsys, model_dir, name):
    source = write_corpus(tmp_path / name, corpus())
    out = tmp_path / "scored.jsonl"
    assert score(capsys, source, out, "--model", model_dir, "--id-field", "id")[0] == 0
    assert [r["id"] for r in read_output(out)] == [f"doc-{i}" for i in range(len(TEXTS))]


def test_model_defaults_to_stance_model(tmp_path, capsys, model_dir, monkeypatch):
    monkeypatch.setenv("STANCE_MODEL", str(model_dir))
    source = write_corpus(tmp_path / "corpus.txt", corpus())
    assert score(capsys, source, tmp_path / "scored.jsonl")[0] == 0


def test_format_option_overrides_the_extension(tmp_path, capsys, model_dir):
    source = write_corpus(tmp_path / "corpus.jsonl", corpus()).rename(tmp_path / "corpus.dat")
    out = tmp_path / "scored.jsonl"
    code, err = score(capsys, source, out, "--model", model_dir)
    assert code == 2 and "--format" in err
    assert score(capsys, source, out, "--model", model_dir, "--format", "jsonl")[0] == 0
    assert len(read_output(out)) == len(TEXTS)


@pytest.mark.parametrize("name", ["scored.jsonl", "scored.csv", "scored.parquet"])
def test_every_output_format(tmp_path, capsys, model_dir, expected, name):
    source = write_corpus(tmp_path / "corpus.jsonl", corpus())
    out = tmp_path / name
    code, err = score(capsys, source, out, "--model", model_dir, "--id-field", "id",
                      "--include-text")
    assert code == 0, err
    rows = read_output(out)
    assert [r["text"] for r in rows] == TEXTS
    if out.suffix == ".jsonl":
        for record in rows:
            assert_nested(record, expected[record["text"]])
        return
    assert list(rows[0]) == [
        "id", "labels",
        *[c for a in ACTORS for c in [f"stance_{a}"] + [f"p_{a}_{v}" for v in
          ("escalatory", "deescalatory", "supportive", "neutral", "absent")]],
        "sentiment", "p_sentiment_negative", "p_sentiment_neutral", "p_sentiment_positive",
        "empty", "truncated", "non_arabic", "text",
    ]
    for row in rows:
        assert_flat(row, expected[row["text"]])
    if out.suffix == ".parquet":
        assert not (tmp_path / "scored.parquet.parts").exists()


def test_long_text_is_scored_on_its_head_and_flagged(tmp_path, capsys, model_dir):
    source = write_corpus(tmp_path / "corpus.jsonl", [{"id": "a", "text": " ".join(TEXTS)}])
    out = tmp_path / "scored.jsonl"
    assert score(capsys, source, out, "--model", model_dir)[0] == 0
    assert read_output(out)[0]["truncated"] is True


def test_split_sentences(tmp_path, capsys, model_dir, expected):
    documents = [
        {"id": "a", "text": f"{TEXTS[0]}. {TEXTS[1]}؟ {TEXTS[2]}"},
        {"id": "b", "text": "..."},  # nothing but punctuation: no sentence to score
        {"id": "c", "text": TEXTS[3]},
    ]
    source = write_corpus(tmp_path / "docs.jsonl", documents)
    out = tmp_path / "sentences.csv"
    code, err = score(capsys, source, out, "--model", model_dir, "--id-field", "id",
                      "--split-sentences", "--include-text")
    assert code == 0, err
    rows = read_output(out)
    assert [(r["id"], r["doc_id"], r["sentence"]) for r in rows] == [
        ("a:1", "a", "1"), ("a:2", "a", "2"), ("a:3", "a", "3"), ("c:1", "c", "1")]
    assert [r["text"] for r in rows] == split_sentences(documents[0]["text"]) + [TEXTS[3]]
    assert_flat(rows[-1], expected[TEXTS[3]])
    assert read_rejects(out) == [(2, "no sentences (only punctuation)")]
    assert "rows in: 3  scored: 4  rejected: 1" in err
    assert "scored/s: " in err  # the model's rate, in sentences, next to documents/s


# ------------------------------------------------------------------------------ bad records


def test_bad_jsonl_records_are_rejected_and_the_rest_scored_once(tmp_path, capsys, model_dir):
    good = [json.dumps({"id": f"g{i}", "text": t}, ensure_ascii=False) for i, t in
            enumerate(TEXTS)]
    lines = [
        good[0],
        '{"id": "x1", "text": "unclosed',  # line 2
        good[1],
        "",  # line 4: blank lines are not records
        '["a", "list"]',  # line 5
        '{"id": "x2"}',  # line 6
        '{"id": "x3", "text": null}',  # line 7
        '{"id": "x4", "text": 42}',  # line 8
        '{"id": "x5", "text": "   "}',  # line 9
        '{"id": "x6", "text": "\u200b\u200f"}',  # line 10: invisible characters only
        '{"text": "' + TEXTS[2] + '"}',  # line 11: no id
        good[2],
        '{"id": "x7", "text": "' + "ب" * 5000 + '"',  # line 13: long and malformed
    ]
    source = tmp_path / "corpus.jsonl"
    source.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "x8", "text": "\xff"}\n'
                       + (good[3] + "\n").encode())
    out = tmp_path / "scored.jsonl"
    code, err = score(capsys, source, out, "--model", model_dir, "--id-field", "id")
    assert code == 0, err
    assert [r["id"] for r in read_output(out)] == ["g0", "g1", "g2", "g3"]
    assert read_rejects(out) == [
        (2, "malformed JSON (Unterminated string starting at)"),
        (5, "not a JSON object (a list)"),
        (6, "missing field 'text'"),
        (7, "field 'text' is null, not text"),
        (8, "field 'text' is an integer, not text"),
        (9, "empty text"),
        (10, "empty text"),
        (11, "missing field 'id'"),
        (13, "malformed JSON (Expecting ',' delimiter)"),
        (14, "invalid UTF-8"),
    ]
    rejects = [json.loads(x) for x in out.with_name(out.name + ".rejects.jsonl").open()]
    assert rejects[1]["raw"] == '["a", "list"]'
    assert rejects[2]["id"] == "x2"
    assert len(rejects[8]["raw"]) == 1000
    assert "rows in: 14  scored: 4  rejected: 10" in err


def test_bad_csv_records_are_rejected_with_their_line(tmp_path, capsys, model_dir):
    source = tmp_path / "corpus.csv"
    source.write_text(
        "id,text\n"
        f"a,{TEXTS[0]}\n"
        f'b,"{TEXTS[1]}\nsecond line, of b"\n'  # lines 3-4: one record over two lines
        f"c,{TEXTS[2]},extra\n"  # line 5
        f'd,"{TEXTS[3]}"junk\n'  # line 6: text after a closing quote
        "e,\n"  # line 7
        "\n"  # line 8: blank, skipped
        f"f,{TEXTS[4]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "scored.jsonl"
    code, err = score(capsys, source, out, "--model", model_dir, "--id-field", "id")
    assert code == 0, err
    assert [r["id"] for r in read_output(out)] == ["a", "b", "f"]
    assert read_rejects(out) == [
        (5, "expected 2 fields, found 3"),
        (6, "malformed CSV (',' expected after '\"')"),
        (7, "empty text"),
    ]


# ------------------------------------------------------------------------------ errors


def test_clear_errors(tmp_path, capsys, model_dir):
    def fails(*args) -> str:
        code, err = score(capsys, *args)
        assert code == 2 and "Traceback" not in err
        assert err.startswith("error: ")
        return err

    good = write_corpus(tmp_path / "corpus.csv", corpus())
    out = tmp_path / "scored.jsonl"
    assert "input file not found" in fails(tmp_path / "nope.jsonl", out, "--model", model_dir)
    assert "--format" in fails(write_corpus(tmp_path / "c.jsonl", corpus()).rename(
        tmp_path / "c.xml"), out, "--model", model_dir)
    assert ".jsonl, .csv or .parquet" in fails(good, tmp_path / "o.xlsx", "--model", model_dir)
    err = fails(good, out, "--model", tmp_path / "no-model")
    assert "no trained model" in err and "make train" in err
    err = fails(good, out, "--model", model_dir, "--text-field", "body")
    assert "no column 'body'" in err and "id, text" in err
    actors = tmp_path / "actors.json"
    actors.write_text('{"turkey": ["تركيا"],}', encoding="utf-8")
    assert "line 1, column" in fails(good, out, "--model", model_dir, "--add-actors", actors)
    actors.write_text('{"turkey": "تركيا"}', encoding="utf-8")
    assert "'turkey' needs a list" in fails(good, out, "--model", model_dir, "--add-actors", actors)
    actors.write_text('{"turkey": ["تركيا"]}', encoding="utf-8")
    err = fails(good, out, "--model", model_dir, "--add-actors", actors)
    assert "mean-pooling model" in err and "pooling: mention" in err
    assert not out.exists()  # none of the above wrote anything

    assert score(capsys, good, out, "--model", model_dir)[0] == 0
    err = fails(good, out, "--model", model_dir)
    assert "already exists" in err and "--resume" in err
    assert "nothing to resume" in fails(good, out, "--model", model_dir, "--resume")


def test_resume_needs_the_same_settings(tmp_path, capsys, model_dir, monkeypatch):
    source = write_corpus(tmp_path / "corpus.jsonl", corpus(300))
    out = tmp_path / "scored.jsonl"
    interrupt_after(monkeypatch, 150)
    assert score(capsys, source, out, "--model", model_dir, "--chunk-size", "100")[0] == 130
    code, err = score(capsys, source, out, "--model", model_dir, "--resume", "--include-text")
    assert code == 2 and "include_text (was False, now True)" in err


# ------------------------------------------------------------------------------ resume


def interrupt_after(monkeypatch, rows: int) -> None:
    """Make the scorer raise KeyboardInterrupt (as Ctrl-C would) when building row `rows`+1."""
    real = ScoredRecord.from_prediction
    calls = iter(range(1, 10**9))

    def record(cls, *args, **kwargs):
        if next(calls) > rows:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ScoredRecord, "from_prediction", classmethod(record))


def corpus_with_bad_lines(path: Path, n: int) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in corpus(n)]
    for i in range(7, n, 97):
        lines[i] = '{"id": "broken'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["scored.jsonl", "scored.csv", "scored.parquet"])
def test_resume_after_ctrl_c_equals_an_uninterrupted_run(
    tmp_path, capsys, model_dir, monkeypatch, name
):
    source = corpus_with_bad_lines(tmp_path / "corpus.jsonl", 600)
    args = ["--model", model_dir, "--id-field", "id", "--chunk-size", "100"]
    whole = tmp_path / "whole" / name
    assert score(capsys, source, whole, *args)[0] == 0

    out = tmp_path / name
    with monkeypatch.context() as patch:
        interrupt_after(patch, 250)  # two chunks committed, half of the third written
        code, err = score(capsys, source, out, *args)
    assert code == 130 and "--resume" in err
    state = json.loads(progress_path(out).read_text())
    assert state["consumed"] == 200
    if out.suffix != ".parquet":  # the uncommitted rows are on disk, to be cut off
        assert out.stat().st_size > state["output_position"]

    code, err = score(capsys, source, out, *args, "--resume")
    assert code == 0, err
    assert "resumed: the first 200 input rows were done before" in err
    assert read_output(out) == read_output(whole)
    assert read_rejects(out) == read_rejects(whole)
    if out.suffix != ".parquet":
        assert out.read_bytes() == whole.read_bytes()
    assert not progress_path(out).exists()
    assert not out.with_name(name + ".parts").exists()


@pytest.mark.slow
def test_resume_after_kill_9_loses_and_repeats_nothing(tmp_path, capsys, model_dir):
    rows_in = 2000
    source = corpus_with_bad_lines(tmp_path / "corpus.jsonl", rows_in)
    # One row a batch keeps the run slow enough to be killed mid-way.
    args = ["--model", model_dir, "--id-field", "id", "--chunk-size", "100", "--batch-size",
            "1", "--threads", "1"]
    out = tmp_path / "killed.jsonl"
    state = progress_path(out)
    command = [sys.executable, "-m", "infer", "score", source, out, *args]
    with open(tmp_path / "stderr.txt", "wb") as log:
        proc = subprocess.Popen(list(map(str, command)), cwd=ROOT, stderr=log)
        deadline = time.monotonic() + 120
        while not (state.exists() and json.loads(state.read_text())["consumed"] >= 100):
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.kill()
        proc.wait()
    consumed = json.loads(state.read_text())["consumed"]
    assert 100 <= consumed < rows_in

    code, err = score(capsys, source, out, *args, "--resume")
    assert code == 0, err
    whole = tmp_path / "whole.jsonl"
    assert score(capsys, source, whole, *args)[0] == 0
    rows = read_output(out)
    broken_lines = range(7, rows_in, 97)
    broken = {f"doc-{i}" for i in broken_lines}
    assert [r["id"] for r in rows] == [r["id"] for r in corpus(rows_in) if r["id"] not in broken]
    assert rows == read_output(whole)  # same labels, same probabilities, same order
    assert out.read_bytes() == whole.read_bytes()
    reason = "malformed JSON (Unterminated string starting at)"
    assert read_rejects(out) == read_rejects(whole) == [(i + 1, reason) for i in broken_lines]


# ------------------------------------------------------------------------------ streaming


@pytest.mark.slow
def test_scorer_pulls_rows_a_chunk_at_a_time(tmp_path, capsys, model_dir, monkeypatch):
    """The corpus is never held: rows are pulled from the reader only one chunk ahead of what
    is already committed to disk."""
    total, chunk = 50_000, 1000
    out = tmp_path / "scored.jsonl"
    state = progress_path(out)
    pulled, leads = 0, []

    def rows():
        nonlocal pulled
        for i in range(1, total + 1):
            pulled = i
            if i % 250 == 0:
                consumed = json.loads(state.read_text())["consumed"]
                leads.append(pulled - consumed)
            yield Row(i, str(i), TEXTS[i % len(TEXTS)])

    monkeypatch.setattr(infer.score, "read_corpus", lambda *args: rows())
    code, err = score(capsys, tmp_path / "generated.jsonl", out, "--model", model_dir,
                      "--chunk-size", chunk, "--batch-size", 256)
    assert code == 0, err
    assert pulled == total
    assert max(leads) <= chunk
    with open(out, encoding="utf-8") as f:
        assert sum(1 for _ in f) == total
    print(err)  # keeps the rows/s line in the test log (-s)
