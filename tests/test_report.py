"""The corpus report (`python -m report`): tables, charts, the page, the join, end to end.

Most tests use a scored file written by hand (no model), with counts small enough to check by
eye; the last ones run `infer score` on the tiny model and report on its output.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from infer.__main__ import main
from infer.corpus_io import CsvWriter
from infer.labels import SENTIMENT_VALUES, STANCE_VALUES, LabelSchema
from infer.record import Layout, ScoredRecord
from report.corpus_report import MENTIONED, ReportError, ReportOptions, build_report
from report.corpus_report import main as report_main
from support import ROOT, TINY, write_jsonl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ACTORS = ("iraq", "iran", "us")
ESC, DEESC, SUP, NEU, ABS = "escalatory", "deescalatory", "supportive", "neutral", "absent"

# Six documents over three ISO weeks (2024-01-01 is a Monday) and two outlets. Each sentence:
# (iraq, iran, us, sentiment, probability of the predicted iraq stance).
DOCS = [
    ("d1", "2024-01-01", "alpha", [(ESC, ABS, ABS, "negative", 0.9),
                                   (DEESC, ABS, SUP, "positive", 0.6),
                                   (ABS, ABS, ABS, "neutral", 0.99)]),
    ("d2", "2024-01-03", "beta", [(ESC, NEU, ABS, "negative", 0.7),
                                  (NEU, ABS, ABS, "neutral", 0.5)]),
    ("d3", "2024-01-09", "alpha", [(SUP, ESC, ABS, "positive", 0.8),
                                   (ABS, ESC, ESC, "negative", 0.95)]),
    ("d4", "2024-01-10", "beta", [(ABS, DEESC, ABS, "positive", 0.97)]),
    ("d5", "2024-01-16", "alpha", [(DEESC, ABS, ABS, "positive", 0.85),
                                   (DEESC, ABS, NEU, "neutral", 0.75)]),
    ("d6", "2024-01-21", "beta", [(ESC, ABS, ABS, "negative", 0.8)]),
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """As in test_score: the tiny model runs faster on one thread; restore the setting after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def sentence_text(doc: str, number: int) -> str:
    # Ends in a long Arabic word and a full stop, so split_sentences cuts exactly here.
    return f"خبر رقم {number} من الوثيقة {doc} عاجل."


def probabilities(predicted: str, p: float, values: tuple[str, ...]) -> dict[str, float]:
    rest = (1 - p) / (len(values) - 1)
    return {v: p if v == predicted else rest for v in values}


def scored_records(with_fields: bool = False) -> list[dict]:
    """The fixture as `infer score --split-sentences` writes it (nested JSONL records)."""
    records = []
    for doc, day, source, sentences in DOCS:
        for number, (iraq, iran, us, sentiment, p) in enumerate(sentences, start=1):
            stance = {"iraq": iraq, "iran": iran, "us": us}
            record = {
                "id": f"{doc}:{number}", "doc_id": doc, "sentence": number,
                "labels": [f"{a}:{v}" for a, v in stance.items() if v not in (NEU, ABS)],
                "stance": stance,
                "stance_probs": {a: probabilities(v, p if a == "iraq" else 0.6, STANCE_VALUES)
                                 for a, v in stance.items()},
                "sentiment": sentiment,
                "sentiment_probs": probabilities(sentiment, 0.8, SENTIMENT_VALUES),
                "empty": False, "truncated": False, "non_arabic": False,
            }
            if with_fields:
                record.update(date=day, source=source, text=sentence_text(doc, number))
            records.append(record)
    return records


def corpus_records() -> list[dict]:
    """The original input: one record per document, with the fields the report joins."""
    return [{"id": doc, "date": f"{day} 08:15:00", "source": source,
             "url": f"https://news.example/{doc}?a=1&b=2",
             "text": " ".join(sentence_text(doc, n) for n in range(1, len(sentences) + 1))}
            for doc, day, source, sentences in DOCS]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def report(capsys, *args) -> tuple[int, str]:
    code = report_main([*map(str, args)])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def joined(tmp_path_factory) -> Path:
    """A report built from a scored file without dates, joined to its input on `id` (built once:
    the tests only read it)."""
    folder = tmp_path_factory.mktemp("joined")
    scored = write_jsonl(folder / "scored.jsonl", scored_records())
    write_jsonl(folder / "scored.jsonl.rejects.jsonl",
                [{"line": 9, "id": None, "reason": "empty text", "raw": ""}] * 2)
    corpus = write_jsonl(folder / "corpus.jsonl", corpus_records())
    out = folder / "report"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = report_main([str(scored), str(out), "--input", str(corpus), "--id-field", "id",
                            "--freq", "week", "--top", "2", "--model-name", "tiny-test-model"])
    assert code == 0, err.getvalue()
    assert "warning" not in err.getvalue()
    return out


# ------------------------------------------------------------------------------ tables


def test_report_stance_by_time_counts_and_shares(joined):
    rows = read_csv(joined / "stance_by_time.csv")
    table = {(r["period"], r["actor"]): r for r in rows}
    weeks = ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert sorted({r["period"] for r in rows}) == weeks
    assert len(rows) == len(weeks) * len(ACTORS)
    expected = {  # (week, actor): counts of escalatory, deescalatory, supportive, neutral
        ("2024-01-01", "iraq"): (2, 1, 0, 1), ("2024-01-08", "iraq"): (0, 0, 1, 0),
        ("2024-01-15", "iraq"): (1, 2, 0, 0), ("2024-01-01", "iran"): (0, 0, 0, 1),
        ("2024-01-08", "iran"): (2, 1, 0, 0), ("2024-01-15", "iran"): (0, 0, 0, 0),
        ("2024-01-01", "us"): (0, 0, 1, 0), ("2024-01-08", "us"): (1, 0, 0, 0),
        ("2024-01-15", "us"): (0, 0, 0, 1),
    }
    sentences = {"2024-01-01": 5, "2024-01-08": 3, "2024-01-15": 3}
    for key, counts in expected.items():
        row = table[key]
        assert tuple(int(row[v]) for v in MENTIONED) == counts, key
        assert int(row["mentions"]) == sum(counts)
        assert int(row["sentences"]) == sentences[key[0]]
        if sum(counts):
            shares = [float(row[f"share_{v}"]) for v in MENTIONED]
            assert sum(shares) == pytest.approx(1.0, abs=1e-5)
            assert shares == pytest.approx([c / sum(counts) for c in counts], abs=1e-5)
        else:  # not mentioned that week: no share at all, rather than a misleading 0%
            assert all(row[f"share_{v}"] == "" for v in MENTIONED)


def test_report_stance_and_sentiment_by_source(joined):
    stance = {(r["source"], r["actor"]): r for r in read_csv(joined / "stance_by_source.csv")}
    assert [int(stance["alpha", "iraq"][v]) for v in MENTIONED] == [1, 3, 1, 0]
    assert [int(stance["beta", "iraq"][v]) for v in MENTIONED] == [2, 0, 0, 1]
    assert int(stance["alpha", "iraq"]["sentences"]) == 7
    assert int(stance["beta", "iraq"]["sentences"]) == 4
    for row in stance.values():
        if int(row["mentions"]):
            assert sum(float(row[f"share_{v}"]) for v in MENTIONED) == pytest.approx(1, abs=1e-5)
    sentiment = {r["source"]: r for r in read_csv(joined / "sentiment_by_source.csv")}
    assert [int(sentiment["alpha"][v]) for v in SENTIMENT_VALUES] == [2, 2, 3]
    assert [int(sentiment["beta"][v]) for v in SENTIMENT_VALUES] == [2, 1, 1]


def test_report_sentiment_by_time(joined):
    rows = {r["period"]: r for r in read_csv(joined / "sentiment_by_time.csv")}
    counts = {week: [int(rows[week][v]) for v in SENTIMENT_VALUES] for week in rows}
    assert counts == {"2024-01-01": [2, 2, 1], "2024-01-08": [1, 0, 2],
                      "2024-01-15": [1, 1, 1]}
    for row in rows.values():
        assert sum(float(row[f"share_{v}"]) for v in SENTIMENT_VALUES) == pytest.approx(1, abs=1e-5)


def test_report_examples_are_the_most_confident_with_joined_text(joined):
    rows = read_csv(joined / "examples.csv")
    iraq_esc = [r for r in rows if (r["actor"], r["stance"]) == ("iraq", ESC)]
    # Three escalatory sentences (p 0.9, 0.7, 0.8); --top 2 keeps the two most confident.
    assert [(r["id"], r["rank"]) for r in iraq_esc] == [("d1:1", "1"), ("d6:1", "2")]
    assert float(iraq_esc[0]["probability"]) == pytest.approx(0.9)
    # Text, date and outlet come from the input: the sentence cut out of its document.
    first = iraq_esc[0]
    assert first["text"] == sentence_text("d1", 1)
    assert (first["date"], first["source"]) == ("2024-01-01", "alpha")
    assert first["url"] == "https://news.example/d1?a=1&b=2"
    assert not [r for r in rows if (r["actor"], r["stance"]) == ("iran", SUP)]
    assert {r["stance"] for r in rows} <= {ESC, DEESC, SUP}


# ------------------------------------------------------------------------------ charts, page


def test_report_every_png_is_a_valid_image(joined):
    image = pytest.importorskip("matplotlib.image")
    pngs = sorted(joined.glob("*.png"))
    assert {p.name for p in pngs} == {
        "stance_time_iraq.png", "stance_time_iran.png", "stance_time_us.png",
        "sentiment_time.png", "stance_by_source.png", "sentiment_by_source.png"}
    for png in pngs:
        assert png.read_bytes().startswith(PNG_SIGNATURE), png.name
        pixels = image.imread(png)
        assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 400, png.name


def test_report_html_is_self_contained(joined):
    page = (joined / "report.html").read_text(encoding="utf-8")
    lowered = page.lower()
    assert "<script" not in lowered
    assert not re.search(r"<link\b[^>]*\bhref=", lowered)
    assert "url(" not in lowered
    assert "@import" not in lowered
    sources = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", page)
    assert len(sources) == 6
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    # Addresses from the data appear as escaped text only, never as a link.
    assert not re.search(r"\b(href|src)=\"(https?:)?//", lowered)
    assert "https://news.example/d1?a=1&amp;b=2" in page
    # Anything else that looks like an address must be one of those data URLs.
    for address in re.findall(r"https?://[^\s<\"]+", page):
        assert address.startswith("https://news.example/"), address
    assert "//cdn" not in lowered


def test_report_header(joined):
    page = (joined / "report.html").read_text(encoding="utf-8")
    assert "<dt>Model</dt><dd>tiny-test-model</dd>" in page
    assert "<dt>Dates covered</dt><dd>2024-01-01 to 2024-01-21 (6 days with data)</dd>" in page
    assert "<dt>Rows scored</dt><dd>11 in 6 documents</dd>" in page
    assert "<dt>Rows rejected</dt><dd>2 " in page
    assert "corpus.jsonl" in page
    assert sentence_text("d1", 1) in page  # the examples


# ------------------------------------------------------------------------------ inputs


def test_report_fields_in_scored_file_need_no_input(tmp_path, capsys, joined):
    """A scored file that carries date, source and text itself gives the same tables."""
    scored = write_jsonl(tmp_path / "with_fields.jsonl", scored_records(with_fields=True))
    out = tmp_path / "direct"
    code, err = report(capsys, scored, out, "--freq", "week", "--top", "2")
    assert code == 0, err
    for name in ("stance_by_time.csv", "stance_by_source.csv", "sentiment_by_time.csv"):
        assert read_csv(out / name) == read_csv(joined / name), name
    examples = read_csv(out / "examples.csv")
    assert examples[0]["text"] == sentence_text("d1", 1)


def test_report_reads_scored_csv(tmp_path, capsys, joined):
    """The flat CSV that `infer score` writes (same writer) gives the same tables."""
    scored = tmp_path / "scored.csv"
    writer = CsvWriter(scored, Layout.for_schema(LabelSchema.stance(ACTORS), True, False))
    for record in scored_records():
        writer.write(ScoredRecord.parse(record))
    writer.close()
    corpus = write_jsonl(tmp_path / "corpus.jsonl", corpus_records())
    out = tmp_path / "from_csv"
    code, err = report(capsys, scored, out, "--input", corpus, "--id-field", "id",
                       "--freq", "week", "--top", "2")
    assert code == 0, err
    for name in ("stance_by_time.csv", "stance_by_source.csv", "sentiment_by_time.csv",
                 "examples.csv"):
        assert read_csv(out / name) == read_csv(joined / name), name


def test_report_daily_and_by_doc_and_by_source(tmp_path, capsys):
    scored = write_jsonl(tmp_path / "scored.jsonl", scored_records(with_fields=True))
    code, err = report(capsys, scored, tmp_path / "auto")
    assert code == 0, err
    periods = [r["period"] for r in read_csv(tmp_path / "auto" / "sentiment_by_time.csv")]
    assert len(periods) == 21  # three weeks of days, the empty ones included (gaps show)
    assert (periods[0], periods[-1]) == ("2024-01-01", "2024-01-21")

    code, err = report(capsys, scored, tmp_path / "doc", "--by", "doc")
    assert code == 0, err
    rows = read_csv(tmp_path / "doc" / "stance_by_doc.csv")
    assert [r["doc_id"] for r in rows if r["actor"] == "iraq"] == [d[0] for d in DOCS]
    assert (tmp_path / "doc" / "stance_doc_iraq.png").is_file()

    code, err = report(capsys, scored, tmp_path / "source", "--by", "source")
    assert code == 0, err
    assert not (tmp_path / "source" / "stance_by_time.csv").exists()
    assert (tmp_path / "source" / "stance_by_source.csv").is_file()


def test_report_joins_on_the_inputs_id_field_by_default(tmp_path, capsys, joined):
    """As `infer score` does, the report uses the input's `id` field when records have one."""
    scored = write_jsonl(tmp_path / "scored.jsonl", scored_records())
    corpus = write_jsonl(tmp_path / "corpus.jsonl", corpus_records())
    out = tmp_path / "auto"
    code, err = report(capsys, scored, out, "--input", corpus, "--freq", "week", "--top", "2")
    assert code == 0 and "warning" not in err, err
    for name in ("stance_by_time.csv", "stance_by_source.csv", "examples.csv"):
        assert read_csv(out / name) == read_csv(joined / name), name


def test_report_warns_when_the_join_matches_nothing(tmp_path, capsys):
    """An input without ids is matched by line number, which these ids are not."""
    scored = write_jsonl(tmp_path / "scored.jsonl", scored_records())
    corpus = write_jsonl(tmp_path / "corpus.jsonl",
                         [{k: v for k, v in r.items() if k != "id"} for r in corpus_records()])
    code, err = report(capsys, scored, tmp_path / "out", "--input", corpus)
    assert code == 0, err
    assert "no scored document matched" in err and "--id-field" in err
    assert "no row has a date" in err
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "No row has a date" in page


def test_report_errors_are_clear(tmp_path, capsys):
    code, err = report(capsys, tmp_path / "missing.jsonl", tmp_path / "out")
    assert code == 2 and "scored file not found" in err
    plain = write_jsonl(tmp_path / "plain.jsonl", [{"id": "1", "text": "نص"}])
    code, err = report(capsys, plain, tmp_path / "out")
    assert code == 2 and "no stance columns" in err


def test_report_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    scored = write_jsonl(tmp_path / "scored.jsonl", scored_records(with_fields=True))
    with pytest.raises(ReportError, match=r"arabic-stance\[train\]"):
        build_report(ReportOptions(scored, tmp_path / "out"))


@pytest.mark.slow
def test_report_matplotlib_is_imported_only_for_reports():
    code = ("import sys, infer, infer.__main__, report.corpus_report; "
            "print(sorted(m for m in ('matplotlib', 'pandas') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ end to end


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_report_end_to_end_on_the_tiny_model(tmp_path, capsys, tiny_model, fmt):
    """`infer score --split-sentences` then `python -m report`, with ids left to line numbers:
    the report must number the input's records exactly as `infer score` did."""
    texts = [t[0] for t in TINY]
    docs = [{"text": "\n".join(texts[i:i + 3]), "date": f"2024-02-{1 + i:02d}",
             "source": "alpha" if i % 2 else "beta", "url": f"https://news.example/{i}"}
            for i in range(0, len(texts), 3)]
    corpus = tmp_path / f"corpus.{fmt}"
    if fmt == "jsonl":  # a blank line in the middle: line numbers skip it, as score's do
        lines = [json.dumps(d, ensure_ascii=False) for d in docs]
        corpus.write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n", encoding="utf-8")
    else:  # a quoted field spanning lines: a record is numbered by the line it starts on
        with open(corpus, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, ["text", "date", "source", "url"])
            writer.writeheader()
            writer.writerows(docs)
    scored = tmp_path / "scored.jsonl"
    assert main(["score", str(corpus), str(scored), "--model", str(tiny_model[0]),
                 "--split-sentences"]) == 0
    out = tmp_path / "report"
    code, err = report(capsys, scored, out, "--input", corpus, "--top", "3")
    assert code == 0, err
    assert "warning" not in err

    records = [json.loads(line) for line in scored.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(texts)
    by_source = read_csv(out / "stance_by_source.csv")
    for actor in ACTORS:
        mentions = sum(r["stance"][actor] != ABS for r in records)
        assert sum(int(r["mentions"]) for r in by_source if r["actor"] == actor) == mentions
    by_time = read_csv(out / "stance_by_time.csv")
    assert sum(int(r["sentences"]) for r in by_time if r["actor"] == "iraq") == len(texts)
    examples = read_csv(out / "examples.csv")
    assert examples, "the tiny model predicts some non-neutral stance"
    for example in examples:  # each example is the scored sentence, cut from its document
        assert example["text"] in texts
        assert example["date"].startswith("2024-02-")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
