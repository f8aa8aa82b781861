"""`python -m report SCORED OUT_DIR`: how each actor's stance moves across time and outlets.

    python -m infer score corpus.jsonl scored.jsonl --split-sentences --id-field id
    python -m report scored.jsonl reports/corpus --input corpus.jsonl --id-field id

SCORED is what `infer score` wrote (JSONL, CSV or Parquet). `infer score` keeps only ids and
predictions, so dates, outlets, URLs and texts come from the original corpus (`--input`),
matched on the document id: `doc_id` for sentence rows (`--split-sentences`), else `id`. A field
that the scored file has itself wins over the corpus.

OUT_DIR receives:

* `report.html`: one self-contained page (charts as embedded PNG, inline CSS, no script and no
  external address), with a header saying what was scored;
* every chart as a PNG file;
* the tables behind the charts as CSV: `stance_by_time.csv`, `stance_by_source.csv`,
  `sentiment_by_time.csv`, `sentiment_by_source.csv` and `examples.csv` (with `--by doc` the
  time tables are `stance_by_doc.csv` and `sentiment_by_doc.csv`).

Stance shares are taken among the sentences that *mention* the actor (stance not `absent`), so
escalatory + deescalatory + supportive + neutral = 1 wherever an actor is mentioned at all; the
number of such sentences is shown next to every share, because a share of 3 sentences says
little.

The aggregation is plain Python over one pass of the scored file (it holds counts, not rows);
matplotlib is imported only when the charts are drawn. Scored rows are parsed by
`infer.record.ScoredRecord` and corpora read by `infer.corpus_io`, the code that wrote them.
"""

from __future__ import annotations

import argparse
import base64
import csv
import heapq
import html
import io
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from infer.corpus_io import (
    CorpusError,
    Reject,
    id_field_for,
    input_format,
    positive_int,
    records,
)
from infer.labels import SENTIMENT_VALUES, STANCE_CELLS, STANCE_VALUES
from infer.record import ScoredRecord
from infer.text import split_sentences

BY_CHOICES = ("date", "source", "doc")
FREQ_CHOICES = ("auto", "day", "week", "month")
# How an actor is written in titles; any other actor key is shown as it is.
ACTOR_NAMES = {"iraq": "Iraq", "iran": "Iran", "us": "the US"}
# The stances that count as mentioning an actor: everything but "absent".
MENTIONED = tuple(v for v in STANCE_VALUES if v != "absent")
# One colour per stance, the same in every chart; sentiment gets its own (brown-teal) palette so
# that "negative" is never mistaken for "escalatory".
STANCE_COLOURS = {"escalatory": "#d62728", "deescalatory": "#2ca02c", "supportive": "#1f77b4",
                  "neutral": "#a0a0a0"}
SENTIMENT_COLOURS = {"negative": "#a6611a", "neutral": "#c8c8c8", "positive": "#018571"}
UNKNOWN_SOURCE = "(unknown)"
FEW = 5  # a share from fewer sentences than this is drawn pale
MAX_OUTLETS = 20  # outlets drawn in the outlet charts (the CSV tables have them all)
CANDIDATES_PER_EXAMPLE = 4  # candidates kept per example wanted, so duplicates can be dropped
SHOWN_TEXT = 600  # characters of an example shown in the HTML (the CSV has the whole text)
MATPLOTLIB_HINT = ("the report draws its charts with matplotlib: pip install 'arabic-stance[train]'"
                   " (or pip install matplotlib)")


class ReportError(Exception):
    """A report that cannot be built as asked; the message says what to do instead."""


@dataclass(frozen=True)
class ReportOptions:
    scored: Path
    out_dir: Path
    by: str = "date"
    freq: str = "auto"
    input: Path | None = None
    input_format: str | None = None
    date_field: str = "date"
    source_field: str = "source"
    text_field: str = "text"
    url_field: str = "url"
    id_field: str | None = None  # as given to `infer score`; None: records are numbered
    top: int = 5
    model_name: str | None = None


@dataclass
class ScoredRow:
    """One row of the scored file, whatever its format."""

    id: str
    doc: str  # the document it came from: doc_id for sentence rows, else its own id
    sentence: int | None
    stance: dict[str, str]
    stance_probs: dict[str, dict[str, float]]
    sentiment: str | None
    fields: dict[str, str]  # "date", "source", "url", "text" when the scored file has them


@dataclass
class Example:
    actor: str
    stance: str
    probability: float
    id: str
    doc: str
    sentence: int | None
    date: str
    source: str
    url: str
    text: str


@dataclass
class Summary:
    """What `build_report` did, for the command line."""

    out_dir: Path
    rows: int
    documents: int
    rejected: int
    files: list[str]
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"rows: {self.rows}  documents: {self.documents}  rejected: {self.rejected}",
                 f"report: {self.out_dir / 'report.html'} (+ {len(self.files) - 1} files)"]
        return "\n".join([*(f"warning: {w}" for w in self.warnings), *lines])


# ----------------------------------------------------------------------------- reading


def read_records(path: Path, fmt: str, text_field: str = "text") -> Iterator[tuple[int, dict]]:
    """(number, record) for each record, numbered exactly as `infer score` numbers them (it is
    the same reader). Records that cannot be parsed are skipped: `infer score` rejected them
    too, so no scored row points at them."""
    try:
        for item in records(path, fmt, text_field):
            if not isinstance(item, Reject):
                yield item[0], item[1]
    except CorpusError as e:
        raise ReportError(str(e)) from None


def _text(value: object) -> str:
    """A field value as display text; None and missing values become ''."""
    if value is None:
        return ""
    return str(value).strip()


def parse_scored(record: dict, carried: dict[str, str]) -> ScoredRow:
    """A ScoredRow from a scored record in either form (`ScoredRecord.parse`).

    `carried` maps a role (date, source, url, text) to the field that holds it, if any.
    """
    scored = ScoredRecord.parse(record)
    fields = {role: _text(record.get(name)) for role, name in carried.items()
              if _text(record.get(name))}
    return ScoredRow(scored.id, scored.doc_id or scored.id, scored.sentence,
                     {a: scored.label.get(a, "absent") for a in scored.actors},
                     {a: scored.probabilities.get(a, {}) for a in scored.actors},
                     scored.sentiment, fields)


def read_scored(
    path: Path, carried: dict[str, str]
) -> tuple[list[str], Iterator[ScoredRow]]:
    """(actors, rows) of a file written by `infer score`; raises ReportError if it is not one."""
    if not path.is_file():
        raise ReportError(f"scored file not found: {path}")
    try:
        fmt = input_format(path)
    except CorpusError as e:
        raise ReportError(str(e)) from None
    if fmt not in ("jsonl", "csv", "parquet"):
        raise ReportError(f"{path}: a scored file is .jsonl, .csv or .parquet (as written by "
                          "`infer score`)")
    scored_records = (record for _, record in read_records(path, fmt))
    first = next(scored_records, None)
    if first is None:
        raise ReportError(f"{path} has no scored rows")
    actors = ScoredRecord.parse(first).actors
    if not actors:
        raise ReportError(f"{path} has no stance columns (stance_<actor> or a 'stance' object): "
                          "is it the output of `infer score` with a stance model?")

    def rows() -> Iterator[ScoredRow]:
        yield parse_scored(first, carried)
        for record in scored_records:
            yield parse_scored(record, carried)

    return actors, rows()


def count_rejects(scored: Path) -> int:
    """Records `infer score` could not score, from `<SCORED>.rejects.jsonl` (0 if absent)."""
    path = scored.with_name(scored.name + ".rejects.jsonl")
    if not path.is_file():
        return 0
    with open(path, encoding="utf-8", errors="replace") as f:
        return sum(1 for line in f if line.strip())


# ----------------------------------------------------------------------------- joining


class Corpus:
    """The original input, looked up by document id, for what the scored file lacks."""

    def __init__(
        self, path: Path, fmt: str | None, id_field: str | None, fields: dict[str, str]
    ) -> None:
        if not path.is_file():
            raise ReportError(f"input file not found: {path}")
        try:
            self.format = input_format(path, fmt)
        except CorpusError as e:
            raise ReportError(str(e)) from None
        if id_field is not None and self.format == "txt":
            raise ReportError("--id-field does not apply to a plain-text input: ids are line "
                              "numbers")
        self.path = path
        # As `infer score`: the records' `id` field when they have one, else line numbers.
        self.id_field = id_field_for(path, self.format, id_field)
        self.fields = fields  # role (date, source, url, text) -> field name

    def _keyed(self) -> Iterator[tuple[str, dict]]:
        for number, record in read_records(self.path, self.format, self.fields["text"]):
            if self.id_field is None:
                yield str(number), record
            elif _text(record.get(self.id_field)):
                yield _text(record[self.id_field]), record

    def metadata(self) -> dict[str, dict[str, str]]:
        """{document id: {date, source, url}}: small, so held for the whole corpus."""
        roles = ("date", "source", "url")
        return {key: {role: _text(record.get(self.fields[role])) for role in roles}
                for key, record in self._keyed()}

    def texts(self, wanted: set[str]) -> dict[str, str]:
        """The texts of the documents in `wanted` only: a second pass, to keep memory small."""
        if not wanted:
            return {}
        name = self.fields["text"]
        return {key: record[name] for key, record in self._keyed()
                if key in wanted and isinstance(record.get(name), str)}


# ----------------------------------------------------------------------------- counting


def parse_day(value: str) -> date | None:
    """The day of '2015-07-21', '2015-07-21 02:51:32', '2015-07-21T02:51Z' or '2015/07/21'."""
    try:
        return date.fromisoformat(value[:10].replace("/", "-"))
    except ValueError:
        return None


class Tally:
    """Label counts per key (a day, an outlet or a document), keys kept in first-seen order."""

    def __init__(self) -> None:
        self.sentences: Counter = Counter()
        self.stance: dict[tuple[object, str], Counter] = defaultdict(Counter)
        self.sentiment: dict[object, Counter] = defaultdict(Counter)

    def add(self, key: object, row: ScoredRow) -> None:
        self.sentences[key] += 1
        for actor, value in row.stance.items():
            self.stance[key, actor][value] += 1
        if row.sentiment:
            self.sentiment[key][row.sentiment] += 1

    def keys(self) -> list:
        return list(self.sentences)

    def merged(self, bucket: Callable[[object], object]) -> Tally:
        """The counts summed into coarser keys (days into weeks or months)."""
        out = Tally()
        for key, n in self.sentences.items():
            out.sentences[bucket(key)] += n
        for (key, actor), counts in self.stance.items():
            out.stance[bucket(key), actor].update(counts)
        for key, counts in self.sentiment.items():
            out.sentiment[bucket(key)].update(counts)
        return out


def period_start(day: date, freq: str) -> date:
    if freq == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if freq == "month":
        return day.replace(day=1)
    return day


def next_period(start: date, freq: str) -> date:
    if freq == "week":
        return start + timedelta(days=7)
    if freq == "month":
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start + timedelta(days=1)


def choose_freq(first: date, last: date) -> str:
    """'auto': daily up to three months of data, weekly up to two years, then monthly."""
    span = (last - first).days
    return "day" if span <= 92 else "week" if span <= 731 else "month"


def all_periods(first: date, last: date, freq: str) -> list[date]:
    """Every period from `first` to `last`, empty ones included, so gaps show as gaps."""
    periods, current = [], period_start(first, freq)
    while current <= last:
        periods.append(current)
        current = next_period(current, freq)
    return periods


def _share(count: int, total: int) -> float | str:
    return round(count / total, 6) if total else ""  # blank, not 0: no mention, no share


def stance_table(tally: Tally, keys: list, actors: list[str], key_name: str) -> list[dict]:
    """One row per key and actor: counts of every stance and shares among mentions."""
    rows = []
    for key in keys:
        for actor in actors:
            counts = tally.stance.get((key, actor), Counter())
            mentions = sum(counts[v] for v in MENTIONED)
            row = {key_name: _key_text(key), "actor": actor,
                   "sentences": tally.sentences.get(key, 0), "mentions": mentions}
            row.update({v: counts[v] for v in MENTIONED})
            row.update({f"share_{v}": _share(counts[v], mentions) for v in MENTIONED})
            rows.append(row)
    return rows


def sentiment_table(tally: Tally, keys: list, key_name: str) -> list[dict]:
    rows = []
    for key in keys:
        counts = tally.sentiment.get(key, Counter())
        total = sum(counts[v] for v in SENTIMENT_VALUES)
        row = {key_name: _key_text(key), "sentences": total}
        row.update({v: counts[v] for v in SENTIMENT_VALUES})
        row.update({f"share_{v}": _share(counts[v], total) for v in SENTIMENT_VALUES})
        rows.append(row)
    return rows


def _key_text(key: object) -> str:
    return key.isoformat() if isinstance(key, date) else str(key)


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


class Examples:
    """The most confident sentences of each actor x stance cell, without holding every row."""

    def __init__(self, actors: list[str], top: int) -> None:
        self.keep = top * CANDIDATES_PER_EXAMPLE
        self.top = top
        self.heaps: dict[tuple[str, str], list] = {(a, s): [] for a in actors
                                                   for s in STANCE_CELLS}
        self._seen = 0

    def offer(self, row: ScoredRow, date_text: str, source: str, url: str) -> None:
        self._seen += 1
        for actor, value in row.stance.items():
            heap = self.heaps.get((actor, value))
            if heap is None:
                continue
            p = row.stance_probs.get(actor, {}).get(value, 0.0)
            # On equal probability the earlier row wins: -seen is larger for earlier rows.
            item = (p, -self._seen, Example(actor, value, p, row.id, row.doc, row.sentence,
                                            date_text, source, url, row.fields.get("text", "")))
            if len(heap) < self.keep:
                heapq.heappush(heap, item)
            elif item[:2] > heap[0][:2]:
                heapq.heapreplace(heap, item)

    def candidates(self) -> list[Example]:
        return [item[2] for heap in self.heaps.values() for item in heap]

    def best(self) -> dict[tuple[str, str], list[Example]]:
        """Per cell, the `top` most confident examples, one per distinct text.

        News outlets reprint the same wire sentence, so without this a cell could show one
        sentence five times.
        """
        out = {}
        for cell, heap in self.heaps.items():
            chosen, texts = [], set()
            for _, _, example in sorted(heap, key=lambda item: item[:2], reverse=True):
                key = " ".join(example.text.split())
                if key and key in texts:
                    continue
                texts.add(key)
                chosen.append(example)
                if len(chosen) == self.top:
                    break
            out[cell] = chosen
        return out


# ----------------------------------------------------------------------------- charts


def _matplotlib():
    """matplotlib, imported only here: the rest of `infer` must work without it."""
    try:
        import matplotlib
    except ImportError:
        raise ReportError(MATPLOTLIB_HINT) from None
    matplotlib.use("Agg", force=True)  # no display: draw straight to PNG bytes
    import matplotlib.dates
    import matplotlib.ticker
    from matplotlib.figure import Figure

    return matplotlib, Figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    # No "Software"/date metadata, so that the same data gives the same bytes.
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight",
                   metadata={"Software": None})
    return buffer.getvalue()


def _legend_handles(colours: dict[str, str], labels: Iterable[str]) -> list:
    """Legend keys at full colour: the bars' own may be drawn pale (few sentences)."""
    from matplotlib.patches import Patch

    return [Patch(color=colours[label], label=label) for label in labels]


@dataclass
class Axis:
    """The x positions of the "over time" charts: periods of a date axis, or document order."""

    positions: list[float]  # left edge of each column
    widths: list[float]
    label: str
    freq: str | None  # day, week or month on a date axis; None for documents


def _time_axis(keys: list, freq: str | None) -> Axis:
    if freq is None:  # documents, in file order, numbered from 1 under the middle of a column
        return Axis([i + 1 - 0.45 for i in range(len(keys))], [0.9] * len(keys),
                    "document (in file order)", None)
    from matplotlib.dates import date2num

    starts = [date2num(k) for k in keys]
    ends = [date2num(next_period(k, freq)) for k in keys]
    # Columns fill 90% of their period, so neighbouring periods read as a continuous band with a
    # thin seam and a missing period as a visible gap.
    widths = [0.9 * (e - s) for s, e in zip(starts, ends, strict=True)]
    names = {"day": "day", "week": "week (starting Monday)", "month": "month"}
    return Axis([s + 0.05 * (e - s) for s, e in zip(starts, ends, strict=True)], widths,
                names[freq], freq)


def share_time_chart(
    title: str,
    axis: Axis,
    shares: dict[str, list[float | None]],
    counts: list[int],
    colours: dict[str, str],
    count_label: str,
) -> bytes:
    """Stacked columns of shares (top) over a strip of counts (bottom), on one x axis."""
    mpl, Figure = _matplotlib()
    figure = Figure(figsize=(10, 5.2))
    grid = figure.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.08)
    top = figure.add_subplot(grid[0])
    strip = figure.add_subplot(grid[1], sharex=top)
    # A share from a handful of sentences is drawn pale rather than hidden, so the gap between
    # "no mention" and "few mentions" stays visible.
    alphas = [0.35 if 0 < n < FEW else 0.95 for n in counts]
    bottom = [0.0] * len(counts)
    for label, values in shares.items():
        heights = [v or 0.0 for v in values]
        bars = top.bar(axis.positions, heights, width=axis.widths, bottom=bottom, align="edge",
                       color=colours[label], label=label, linewidth=0)
        for bar, alpha in zip(bars, alphas, strict=True):
            bar.set_alpha(alpha)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    top.set_ylim(0, 1)
    top.set_ylabel("share")
    top.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
    top.set_title(title, loc="left", fontsize=12)
    top.legend(handles=_legend_handles(colours, shares), loc="upper left",
               bbox_to_anchor=(1.0, 1.0), frameon=False)
    top.grid(axis="y", alpha=0.3)
    top.tick_params(labelbottom=False)
    strip.bar(axis.positions, counts, width=axis.widths, align="edge", color="#555555",
              linewidth=0)
    strip.set_ylabel(count_label, fontsize=9)
    strip.set_xlabel(axis.label)
    strip.grid(axis="y", alpha=0.3)
    strip.yaxis.set_major_locator(mpl.ticker.MaxNLocator(3, integer=True))
    if axis.freq:
        locator = mpl.dates.AutoDateLocator(minticks=3, maxticks=12)
        # A tick at the start of every week or month, when that is few enough to read.
        if axis.freq == "week" and len(axis.positions) <= 16:
            locator = mpl.dates.WeekdayLocator(byweekday=mpl.dates.MO)
        elif axis.freq == "month" and len(axis.positions) <= 16:
            locator = mpl.dates.MonthLocator()
        strip.xaxis.set_major_locator(locator)
        strip.xaxis.set_major_formatter(mpl.dates.ConciseDateFormatter(locator))
    else:
        strip.xaxis.set_major_locator(mpl.ticker.MaxNLocator(10, integer=True))
    if axis.positions:
        strip.set_xlim(axis.positions[0] - 0.1 * axis.widths[0],
                       axis.positions[-1] + 1.1 * axis.widths[-1])
    return _png(figure)


def share_bars(
    ax, names: list[str], shares: dict[str, list[float | None]], counts: list[int],
    colours: dict[str, str],
) -> None:
    """Horizontal stacked bars of shares, one per name (first on top), with n= at the right."""
    from matplotlib.ticker import PercentFormatter

    y = list(range(len(names)))
    left = [0.0] * len(names)
    alphas = [0.35 if 0 < n < FEW else 0.95 for n in counts]  # as in share_time_chart
    for label, values in shares.items():
        widths = [v or 0.0 for v in values]
        bars = ax.barh(y, widths, left=left, color=colours[label], label=label, height=0.75,
                       linewidth=0)
        for bar, alpha in zip(bars, alphas, strict=True):
            bar.set_alpha(alpha)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for i, n in enumerate(counts):
        ax.text(1.02, i, f"n={n}", va="center", fontsize=8, color="#333333")
    ax.set_yticks(y, names)
    ax.set_ylim(len(names) - 0.5, -0.5)  # first name on top
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xticks([0, 0.5, 1])
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def stance_source_chart(
    table: list[dict], actors: list[str], sources: list[str], title: str
) -> bytes:
    _, Figure = _matplotlib()
    by_key = {(r["source"], r["actor"]): r for r in table}
    # Constrained layout keeps the title, the legend and the n= labels clear of each other.
    figure = Figure(figsize=(3.6 * len(actors) + 1.6, 0.34 * len(sources) + 1.8),
                    layout="constrained")
    axes = figure.subplots(1, len(actors), sharey=True, squeeze=False)[0]
    for ax, actor in zip(axes, actors, strict=True):
        rows = [by_key[s, actor] for s in sources]
        shares = {v: [r[f"share_{v}"] or None for r in rows] for v in MENTIONED}
        share_bars(ax, sources, shares, [r["mentions"] for r in rows], STANCE_COLOURS)
        ax.set_title(ACTOR_NAMES.get(actor, actor), fontsize=11)
        ax.set_xlabel("share of sentences that mention it")
    figure.suptitle(title, x=0.01, ha="left", fontsize=12)
    figure.legend(handles=_legend_handles(STANCE_COLOURS, MENTIONED), loc="outside lower center",
                  ncol=len(MENTIONED), frameon=False)
    return _png(figure)


def sentiment_source_chart(table: list[dict], sources: list[str], title: str) -> bytes:
    _, Figure = _matplotlib()
    by_key = {r["source"]: r for r in table}
    figure = Figure(figsize=(7.5, 0.34 * len(sources) + 1.6), layout="constrained")
    ax = figure.add_subplot()
    rows = [by_key[s] for s in sources]
    shares = {v: [r[f"share_{v}"] or None for r in rows] for v in SENTIMENT_VALUES}
    share_bars(ax, sources, shares, [r["sentences"] for r in rows], SENTIMENT_COLOURS)
    ax.set_xlabel("share of sentences")
    figure.suptitle(title, x=0.01, ha="left", fontsize=12)
    figure.legend(handles=_legend_handles(SENTIMENT_COLOURS, SENTIMENT_VALUES),
                  loc="outside lower center", ncol=3, frameon=False)
    return _png(figure)


# ----------------------------------------------------------------------------- the page


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Naskh Arabic",
       sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222;
       line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.2rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.meta dt { color: #666; }
dl.meta dd { margin: 0; }
img.chart { max-width: 100%; height: auto; display: block; margin: 0.8rem 0 0.3rem; }
p.note { color: #555; font-size: 0.92rem; max-width: 60rem; }
table { border-collapse: collapse; width: 100%; margin: 0.4rem 0 1.2rem; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 0.35rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; }
td.text { direction: rtl; text-align: right; font-size: 1.02rem;
          font-family: "Noto Naskh Arabic", "Amiri", "Geeza Pro", "Arial", sans-serif; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.url { color: #777; font-size: 0.8rem; word-break: break-all; direction: ltr; display: block;
       unicode-bidi: isolate; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px;
          margin-right: 0.35em; vertical-align: baseline; }
code { background: #f3f3f3; padding: 0 0.25em; border-radius: 3px; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="chart" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _examples_html(actors: list[str], best: dict[tuple[str, str], list[Example]]) -> str:
    parts = []
    for actor in actors:
        parts.append(f"<h3>{html.escape(actor)}</h3>")
        for stance in STANCE_CELLS:
            examples = best[actor, stance]
            swatch = f'<span class="swatch" style="background:{STANCE_COLOURS[stance]}"></span>'
            parts.append(f"<h4>{swatch}{html.escape(stance)} "
                         f"<small>({len(examples)} shown)</small></h4>")
            if not examples:
                parts.append('<p class="note">No sentence has this label.</p>')
                continue
            parts.append("<table><tr><th>#</th><th>p</th><th>sentence</th><th>outlet</th>"
                         "<th>date</th></tr>")
            for rank, ex in enumerate(examples, start=1):
                text = ex.text or "(text not available: pass --input, or score with " \
                                  "--include-text)"
                if len(text) > SHOWN_TEXT:
                    text = text[:SHOWN_TEXT] + "…"
                # Addresses from the data are shown as escaped text, never as links: the page
                # must not point anywhere outside itself.
                url = f'<span class="url">{html.escape(ex.url)}</span>' if ex.url else ""
                parts.append(
                    f'<tr><td class="num">{rank}</td><td class="num">{ex.probability:.3f}</td>'
                    f'<td class="text" dir="rtl">{html.escape(text)}</td>'
                    f"<td>{html.escape(ex.source)}{url}</td>"
                    f'<td class="num">{html.escape(ex.date)}</td></tr>')
            parts.append("</table>")
    return "\n".join(parts)


def render_html(
    meta: list[tuple[str, str]],
    sections: list[tuple[str, str]],
    examples_html: str,
    files: list[str],
) -> str:
    meta_html = "\n".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in meta)
    body = "\n".join(f"<h2>{html.escape(title)}</h2>\n{content}" for title, content in sections)
    listed = ", ".join(f"<code>{html.escape(name)}</code>" for name in files)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Corpus report: stance and sentiment</title>
<style>{CSS}</style>
</head>
<body>
<h1>Corpus report: stance and sentiment</h1>
<dl class="meta">
{meta_html}
</dl>
<p class="note">Stance shares are computed among the sentences that mention an actor (its stance
is not <em>absent</em>), so the four colours of a column add up to 100%. The grey strip or the
<em>n=</em> beside each bar is the number of those sentences; pale columns rest on fewer than
{FEW}. Labels are the model's predictions, not human annotations.</p>
{body}
<h2>Most confident examples</h2>
<p class="note">For each actor and stance, the sentences the model labelled so with the highest
probability <em>p</em> (repeated sentences shown once).</p>
{examples_html}
<h2>Files</h2>
<p class="note">Written next to this page: {listed}.</p>
</body>
</html>
"""


# ----------------------------------------------------------------------------- the report


def build_report(options: ReportOptions) -> Summary:
    """Read, count, draw and write; see the module docstring."""
    if options.by not in BY_CHOICES:
        raise ReportError(f"--by must be one of {', '.join(BY_CHOICES)}")
    if options.freq not in FREQ_CHOICES:
        raise ReportError(f"--freq must be one of {', '.join(FREQ_CHOICES)}")
    _matplotlib()  # fail before reading a large file, not after
    fields = {"date": options.date_field, "source": options.source_field,
              "url": options.url_field, "text": options.text_field}
    actors, rows = read_scored(options.scored, fields)
    corpus = (Corpus(options.input, options.input_format, options.id_field, fields)
              if options.input else None)
    metadata = corpus.metadata() if corpus else {}
    warnings: list[str] = []

    by_day, by_source, by_doc = Tally(), Tally(), Tally()
    examples = Examples(actors, options.top)
    docs: set[str] = set()
    matched_docs: set[str] = set()
    count = undated = unsourced = 0
    for row in rows:
        count += 1
        docs.add(row.doc)
        found = metadata.get(row.doc)
        if found is not None:
            matched_docs.add(row.doc)
        found = found or {}
        # The scored file's own field wins; the corpus fills in what it lacks.
        date_text = row.fields.get("date") or found.get("date", "")
        source = row.fields.get("source") or found.get("source", "")
        url = row.fields.get("url") or found.get("url", "")
        day = parse_day(date_text) if date_text else None
        if day is None:
            undated += 1
        else:
            by_day.add(day, row)
        if not source:
            unsourced += 1
        by_source.add(source or UNKNOWN_SOURCE, row)
        if options.by == "doc":
            by_doc.add(row.doc, row)
        examples.offer(row, day.isoformat() if day else date_text, source, url)

    if corpus is not None and not matched_docs:
        how = (f"on its {options.id_field!r} field" if options.id_field
               else "by line number (no --id-field)")
        warnings.append(f"no scored document matched a record of {corpus.path} {how}; pass the "
                        "--id-field that `infer score` was given")
    elif corpus is not None and len(matched_docs) < len(docs):
        warnings.append(f"{len(docs) - len(matched_docs)} of {len(docs)} scored documents have "
                        f"no record in {corpus.path}")

    # Texts for the examples, from the corpus when the scored file has none (--include-text).
    if corpus is not None:
        wanted = {ex.doc for ex in examples.candidates() if not ex.text}
        texts = corpus.texts(wanted)
        for ex in examples.candidates():
            if ex.text or ex.doc not in texts:
                continue
            if ex.sentence is None:
                ex.text = texts[ex.doc].strip()
            else:
                # `infer score --split-sentences` numbered the sentences of this very splitter.
                sentences = split_sentences(texts[ex.doc])
                if 0 < ex.sentence <= len(sentences):
                    ex.text = sentences[ex.sentence - 1]
    best = examples.best()

    out = options.out_dir
    out.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    sections: list[tuple[str, str]] = []
    has_sentiment = bool(by_source.sentiment)

    def save(name: str, png: bytes) -> bytes:
        (out / name).write_bytes(png)
        files.append(name)
        return png

    def table(name: str, rows_: list[dict], columns: list[str]) -> None:
        write_csv(out / name, rows_, columns)
        files.append(name)

    # Over time (or over documents).
    days = sorted(by_day.keys())
    freq = None
    if options.by == "date" and days:
        freq = options.freq if options.freq != "auto" else choose_freq(days[0], days[-1])
        keys = all_periods(days[0], days[-1], freq)
        series = by_day.merged(lambda d: period_start(d, freq))
        _time_section(series, keys, freq, "period", "time", actors, has_sentiment, save, table,
                      sections)
    elif options.by == "date":
        warnings.append("no row has a date, so there is no chart over time: pass --input with a "
                        f"{options.date_field!r} field (or --date-field), or use --by source")
        sections.append(("Stance over time", '<p class="note">No row has a date: nothing to '
                         "draw over time. Pass <code>--input</code> with the original corpus "
                         "(and <code>--date-field</code>).</p>"))
    elif options.by == "doc":
        _time_section(by_doc, by_doc.keys(), None, "doc_id", "doc", actors, has_sentiment, save,
                      table, sections)

    # By outlet: always, unless no row names one.
    sources = sorted(by_source.keys(), key=lambda s: (-by_source.sentences[s], s))
    if sources == [UNKNOWN_SOURCE]:
        warnings.append("no row names an outlet: pass --input with a "
                        f"{options.source_field!r} field (or --source-field)")
        sections.append(("Stance by outlet", '<p class="note">No row names an outlet.</p>'))
    else:
        stance_rows = stance_table(by_source, sources, actors, "source")
        table("stance_by_source.csv", stance_rows, list(stance_rows[0]))
        shown = sources[:MAX_OUTLETS]
        more = (f" Only the {MAX_OUTLETS} outlets with the most sentences are drawn; "
                "stance_by_source.csv has all." if len(sources) > MAX_OUTLETS else "")
        png = save("stance_by_source.png", stance_source_chart(
            stance_rows, actors, shown, "Stance by outlet (share of sentences mentioning each "
            "actor)"))
        sections.append(("Stance by outlet", _img(png, "stance by outlet") +
                         f'<p class="note">Outlets ordered by number of sentences.{more}</p>'))
        if has_sentiment:
            sentiment_rows = sentiment_table(by_source, sources, "source")
            table("sentiment_by_source.csv", sentiment_rows, list(sentiment_rows[0]))
            png = save("sentiment_by_source.png",
                       sentiment_source_chart(sentiment_rows, shown, "Sentiment by outlet"))
            sections.append(("Sentiment by outlet", _img(png, "sentiment by outlet")))

    example_rows = [{"actor": ex.actor, "stance": ex.stance, "rank": rank,
                     "probability": round(ex.probability, 6), "id": ex.id, "doc_id": ex.doc,
                     "date": ex.date, "source": ex.source, "url": ex.url, "text": ex.text}
                    for cell in best.values() for rank, ex in enumerate(cell, start=1)]
    table("examples.csv", example_rows,
          ["actor", "stance", "rank", "probability", "id", "doc_id", "date", "source", "url",
           "text"])

    rejected = count_rejects(options.scored)
    dated = (f"{days[0].isoformat()} to {days[-1].isoformat()} ({len(days)} days with data)"
             if days else "none")
    meta = [
        ("Model", options.model_name or "not recorded in the scored file (pass --model-name)"),
        ("Corpus", str(options.input or options.scored)),
        ("Scored file", str(options.scored)),
        ("Dates covered", dated),
        ("Rows scored", f"{count:,} in {len(docs):,} documents"),
        ("Rows rejected", f"{rejected:,}" + (" (see the .rejects.jsonl file beside the scored "
                                           "file)" if rejected else "")),
        ("Breakdown", {"date": f"by {freq or 'date'}", "source": "by outlet only",
                       "doc": "by document"}[options.by]),
    ]
    if undated:
        meta.append(("Rows without a date", str(undated)))
    if unsourced:
        meta.append(("Rows without an outlet", str(unsourced)))
    files.insert(0, "report.html")
    page = render_html(meta, sections, _examples_html(actors, best), files)
    (out / "report.html").write_text(page, encoding="utf-8")
    return Summary(out, count, len(docs), rejected, files, warnings)


def _time_section(
    series: Tally,
    keys: list,
    freq: str | None,
    key_name: str,
    suffix: str,
    actors: list[str],
    has_sentiment: bool,
    save: Callable[[str, bytes], bytes],
    table: Callable[[str, list[dict], list[str]], None],
    sections: list[tuple[str, str]],
) -> None:
    """Charts and tables of stance (per actor) and sentiment along periods or documents."""
    axis = _time_axis(keys, freq)
    along = "over time" if freq else "across documents"
    stance_rows = stance_table(series, keys, actors, key_name)
    table(f"stance_by_{suffix}.csv", stance_rows, list(stance_rows[0]))
    parts = []
    for actor in actors:
        rows = [r for r in stance_rows if r["actor"] == actor]
        shares = {v: [r[f"share_{v}"] if r["mentions"] else None for r in rows]
                  for v in MENTIONED}
        name = ACTOR_NAMES.get(actor, actor)
        # The labels are the actor's own stance (what it does), not the press's stance toward it.
        png = save(f"stance_{suffix}_{actor}.png", share_time_chart(
            f"Stance of {name} {along}", axis, shares, [r["mentions"] for r in rows],
            STANCE_COLOURS, f"sentences\nmentioning {name}"))
        parts.append(_img(png, f"stance of {name} {along}"))
    sections.append((f"Stance {along}", "\n".join(parts)))
    if has_sentiment:
        sentiment_rows = sentiment_table(series, keys, key_name)
        table(f"sentiment_by_{suffix}.csv", sentiment_rows, list(sentiment_rows[0]))
        shares = {v: [r[f"share_{v}"] if r["sentences"] else None for r in sentiment_rows]
                  for v in SENTIMENT_VALUES}
        png = save(f"sentiment_{suffix}.png", share_time_chart(
            f"Sentiment {along}", axis, shares, [r["sentences"] for r in sentiment_rows],
            SENTIMENT_COLOURS, "sentences"))
        sections.append((f"Sentiment {along}", _img(png, f"sentiment {along}")))


# ----------------------------------------------------------------------------- command line


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Writes OUT_DIR/report.html (self-contained: open it in any browser, mail it), every "
        "chart as PNG and the tables as CSV. Needs matplotlib (the 'train' extra)."
    )
    parser.add_argument("scored", type=Path,
                        help="output of `infer score`: .jsonl, .csv or .parquet")
    parser.add_argument("out_dir", type=Path, help="folder for report.html, PNGs and CSVs")
    parser.add_argument("--by", choices=BY_CHOICES, default="date",
                        help="what the main charts run along: date periods (default), outlets "
                             "only (source), or documents in file order (doc)")
    parser.add_argument("--freq", choices=FREQ_CHOICES, default="auto",
                        help="period length with --by date (default auto: daily up to three "
                             "months of data, weekly up to two years, else monthly)")
    parser.add_argument("--input", type=Path,
                        help="the corpus that was scored, for dates, outlets, URLs and texts "
                             "the scored file lacks")
    parser.add_argument("--format", dest="input_format",
                        choices=("jsonl", "csv", "tsv", "txt", "parquet"),
                        help="format of --input, when its extension does not say")
    parser.add_argument("--id-field",
                        help="the --id-field given to `infer score` (default, as `infer score`: "
                             "the records' 'id' field when they have one, else line/row numbers)")
    parser.add_argument("--date-field", default="date", help="date field (default: date)")
    parser.add_argument("--source-field", default="source",
                        help="outlet field (default: source)")
    parser.add_argument("--text-field", default="text", help="text field (default: text)")
    parser.add_argument("--url-field", default="url", help="URL field (default: url)")
    parser.add_argument("--top", type=positive_int, default=5,
                        help="examples per actor and stance (default: 5)")
    parser.add_argument("--model-name",
                        help="model named in the header (the scored file does not record it)")


def run_report(args: argparse.Namespace) -> int:
    options = ReportOptions(
        scored=args.scored, out_dir=args.out_dir, by=args.by, freq=args.freq, input=args.input,
        input_format=args.input_format, date_field=args.date_field,
        source_field=args.source_field, text_field=args.text_field, url_field=args.url_field,
        id_field=args.id_field, top=args.top, model_name=args.model_name,
    )
    try:
        summary = build_report(options)
    except ReportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary.describe(), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m report",
        description="charts and tables of a scored corpus: stance over time and by outlet")
    add_report_arguments(parser)
    return run_report(parser.parse_args(argv))
