"""Reading corpora and writing scored rows, one record at a time.

Readers turn a JSONL, CSV/TSV, plain-text or Parquet file into a stream of records (`records`:
each with its line or row number) and then of `Row`s (`read_corpus`: a text to score, with its
id) and `Reject`s (a record that cannot be scored, with the reason), in file order. A bad record
never stops a reader; a file that cannot be read at all (missing, no such column) raises
`CorpusError` before the first record. The corpus report reads corpora through `records` too,
so its line numbers are the ones `infer score` gives.

Writers append scored records to JSONL, CSV or Parquet. `commit()` makes everything written so
far durable and returns a position from which `score --resume` can pick up again: a byte offset
for JSONL and CSV, a count of chunk files for Parquet (see `ParquetWriter`).

pyarrow is imported only when a Parquet file is read or written.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import gzip
import io
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from infer.record import Layout, ScoredRecord

INPUT_FORMATS = ("jsonl", "csv", "tsv", "txt", "parquet")
OUTPUT_FORMATS = ("jsonl", "csv", "parquet")
_EXTENSIONS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".txt": "txt", ".parquet": "parquet", ".pq": "parquet",
}
RAW_LIMIT = 1000  # characters of a rejected record kept in the rejects file
ID_FIELD = "id"  # used as the id, when records have it and no other field is named


class CorpusError(ValueError):
    """A file that cannot be read or written as asked; the message says what to change."""


@dataclass(frozen=True)
class Row:
    """A text to score.

    `number` says where it came from: the line of a text file on which the record starts (a CSV
    header is line 1), or the 1-based row of a Parquet file. Without an id field it is the id.
    `doc_id` and `sentence` are set on the sentence rows that `score --split-sentences` makes.
    """

    number: int
    id: str
    text: str
    doc_id: str | None = None
    sentence: int | None = None


@dataclass
class Reject:
    """A record that cannot be scored: where it is, what it looked like and why."""

    number: int
    raw: str
    reason: str
    id: str | None = None

    def __post_init__(self) -> None:
        self.raw = self.raw[:RAW_LIMIT]

    def to_dict(self) -> dict:
        return {"line": self.number, "id": self.id, "reason": self.reason, "raw": self.raw}


# --------------------------------------------------------------------------------- formats


def _extension(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):  # text formats may be gzipped: look at the extension under it
        name = name[:-3]
    return Path(name).suffix


def input_format(path: str | Path, declared: str | None = None) -> str:
    """`declared` if given, else the format its extension names."""
    if declared is not None:
        if declared not in INPUT_FORMATS:
            raise CorpusError(f"unknown format {declared!r}; known: {', '.join(INPUT_FORMATS)}")
        return declared
    fmt = _EXTENSIONS.get(_extension(Path(path)))
    if fmt is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise CorpusError(
            f"cannot tell the format of {path} from its extension (known: {known}); "
            f"pass --format {{{','.join(INPUT_FORMATS)}}}"
        )
    return fmt


def output_format(path: str | Path) -> str:
    fmt = _EXTENSIONS.get(Path(path).suffix.lower())
    if fmt not in OUTPUT_FORMATS:
        raise CorpusError(f"cannot write {path}: the output name must end in .jsonl, .csv or "
                          ".parquet")
    if fmt == "parquet":
        _pyarrow()  # fail now, not after the model has loaded
    return fmt


# --------------------------------------------------------------------------------- readers


def read_corpus(
    path: str | Path, fmt: str, text_field: str = "text", id_field: str | None = None
) -> Iterator[Row | Reject]:
    """Check that `path` can be read as `fmt`, then stream its records lazily, in file order.

    Without `id_field` a record's id is its line (or Parquet row) number. Blank lines are not
    records. Everything else that cannot be scored comes back as a `Reject`.
    """
    path = Path(path)
    if fmt == "txt" and id_field is not None:
        raise CorpusError("--id-field does not apply to plain text: ids are line numbers")
    items = records(path, fmt, text_field)
    if fmt in ("csv", "tsv", "parquet"):
        _require_columns(path, columns(path, fmt), text_field, id_field)
    if fmt == "parquet":
        _require_text_column(path, text_field)
    return (item if isinstance(item, Reject) else _row(*item[:2], text_field, id_field, item[2])
            for item in items)


def records(
    path: str | Path, fmt: str, text_field: str = "text"
) -> Iterator[tuple[int, dict, str | None] | Reject]:
    """(number, record, raw text or None) for each record, or a Reject for one that cannot be
    parsed; a plain-text line is the record {text_field: line}. Raises CorpusError now if the
    file cannot be read at all."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"input file not found: {path}")
    if fmt == "jsonl":
        return _jsonl_records(path)
    if fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        _csv_header(path, delimiter)  # an empty file or a broken header fails now
        return _csv_records(path, delimiter)
    if fmt == "txt":
        return _txt_records(path, text_field)
    if fmt == "parquet":
        return _parquet_records(_open_parquet(path))
    raise CorpusError(f"unknown format {fmt!r}; known: {', '.join(INPUT_FORMATS)}")


def columns(path: str | Path, fmt: str) -> list[str]:
    """The column names of a CSV/TSV or Parquet file."""
    path = Path(path)
    if fmt == "parquet":
        return list(_open_parquet(path).schema_arrow.names)
    return _csv_header(path, "," if fmt == "csv" else "\t")


def id_field_for(path: str | Path, fmt: str, named: str | None = None) -> str | None:
    """The id field to read: `named` if given, else `ID_FIELD` when the records carry it (a
    column, or a field of the first JSON object), else None: ids are then line numbers."""
    if named is not None:
        return named
    if fmt in ("csv", "tsv", "parquet"):
        return ID_FIELD if ID_FIELD in columns(path, fmt) else None
    if fmt == "jsonl":
        for item in records(path, fmt):
            if not isinstance(item, Reject):
                return ID_FIELD if ID_FIELD in item[1] else None
    return None


def _lines(path: Path) -> Iterator[tuple[str, bool]]:
    """Each line with its ending, and whether it was valid UTF-8.

    Read as bytes so that one badly encoded line becomes one reject instead of an exception that
    ends the run, and so that only \\n ends a line (never a stray \\u2028 inside a JSON string).
    """
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        for i, raw in enumerate(f):
            if i == 0 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode("utf-8"), True
            except UnicodeDecodeError:
                yield raw.decode("utf-8", "replace"), False


def _kind(value: object) -> str:
    kinds = {type(None): "null", bool: "a boolean", int: "an integer", float: "a float",
             list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def _row(
    number: int, record: Mapping, text_field: str, id_field: str | None, raw: str | None = None
) -> Row | Reject:
    """A Row from one parsed record, or a Reject naming the field at fault.

    `raw` is the record as it appeared in the file; None means "show it as JSON", which is only
    worked out for the (rare) rejected record.
    """

    def reject(reason: str, row_id: str | None = None) -> Reject:
        shown = raw if raw is not None else json.dumps(record, ensure_ascii=False, default=str)
        return Reject(number, shown, reason, row_id)

    row_id = str(number)
    if id_field is not None:
        if id_field not in record:
            return reject(f"missing field {id_field!r}")
        value = record[id_field]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return reject(f"field {id_field!r} is {_kind(value)}, not a string or integer")
        row_id = str(value)
        if not row_id.strip():
            return reject("empty id")
    if text_field not in record:
        return reject(f"missing field {text_field!r}", row_id)
    text = record[text_field]
    if not isinstance(text, str):
        return reject(f"field {text_field!r} is {_kind(text)}, not text", row_id)
    if not text.strip():
        return reject("empty text", row_id)
    return Row(number, row_id, text)


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict, str] | Reject]:
    for number, (line, valid) in enumerate(_lines(path), start=1):
        raw = line.rstrip("\r\n")
        if not raw.strip():
            continue
        if not valid:
            yield Reject(number, raw, "invalid UTF-8")
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as e:
            yield Reject(number, raw, f"malformed JSON ({e.msg})")
            continue
        if not isinstance(record, dict):
            yield Reject(number, raw, f"not a JSON object ({_kind(record)})")
            continue
        yield number, record, raw


def _txt_records(path: Path, text_field: str) -> Iterator[tuple[int, dict, str] | Reject]:
    for number, (line, valid) in enumerate(_lines(path), start=1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        yield (number, {text_field: text}, text) if valid else Reject(number, text,
                                                                      "invalid UTF-8")


def _require_columns(
    path: Path, columns: Sequence[str], text_field: str, id_field: str | None
) -> None:
    for option, name in (("--text-field", text_field), ("--id-field", id_field)):
        if name is not None and name not in columns:
            raise CorpusError(f"{path} has no column {name!r} (named by {option}); its columns "
                              f"are: {', '.join(map(str, columns)) or '(none)'}")


def _csv_header(path: Path, delimiter: str) -> list[str]:
    lines = _lines(path)
    try:
        return next(csv.reader((line for line, _ in lines), delimiter=delimiter))
    except StopIteration:
        raise CorpusError(f"{path} is empty: a CSV/TSV file needs a header row") from None
    except csv.Error as e:
        raise CorpusError(f"{path}: cannot read the header row ({e})") from None
    finally:
        lines.close()


class _LineTap:
    """Feeds lines to `csv.reader` and remembers those of the current record.

    csv.reader hides both the raw text and the first line of a record (a quoted field may span
    lines); the rejects file needs both.
    """

    def __init__(self, lines: Iterator[tuple[str, bool]]) -> None:
        self._lines = lines
        self._seen = 0
        self._record: list[str] = []
        self.valid = True

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line, valid = next(self._lines)
        self._seen += 1
        self._record.append(line)
        self.valid = self.valid and valid
        return line

    def start_record(self) -> int:
        """Forget the last record; return the line number the next one starts on."""
        self._record = []
        self.valid = True
        return self._seen + 1

    @property
    def raw(self) -> str:
        return "".join(self._record).rstrip("\r\n")


def _csv_records(path: Path, delimiter: str) -> Iterator[tuple[int, dict, str] | Reject]:
    tap = _LineTap(_lines(path))
    # strict: a stray quote is an error (one reject), not a field silently glued to the next.
    reader = csv.reader(tap, delimiter=delimiter, strict=True)
    header = next(reader)
    while True:
        number = tap.start_record()
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # the reader carries on with the next line
            yield Reject(number, tap.raw, f"malformed CSV ({e})")
            continue
        if not values:  # a blank line
            continue
        if not tap.valid:
            yield Reject(number, tap.raw, "invalid UTF-8")
        elif len(values) != len(header):
            yield Reject(number, tap.raw, f"expected {len(header)} fields, found {len(values)}")
        else:
            yield number, dict(zip(header, values, strict=True)), tap.raw


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise CorpusError("Parquet needs pyarrow: pip install 'arabic-stance[io]'") from None
    return pyarrow, pyarrow.parquet


def _open_parquet(path: Path):
    pa, pq = _pyarrow()
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as e:
        raise CorpusError(f"cannot read {path} as Parquet: {e}") from None


def _require_text_column(path: Path, text_field: str) -> None:
    pa, _ = _pyarrow()
    kind = _open_parquet(path).schema_arrow.field(text_field).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise CorpusError(f"{path}: column {text_field!r} holds {kind}, not text")


def _parquet_records(parquet) -> Iterator[tuple[int, dict, None]]:
    number = 0
    for batch in parquet.iter_batches(batch_size=1024):
        for record in batch.to_pylist():
            number += 1
            yield number, record, None


# --------------------------------------------------------------------------------- writers


class Writer(Protocol):
    def write(self, record: ScoredRecord) -> None: ...
    def commit(self) -> int: ...
    def finish(self) -> None: ...
    def cleanup(self) -> None: ...
    def close(self) -> None: ...


def open_writer(path: str | Path, fmt: str, layout: Layout, position: int = 0) -> Writer:
    """A writer for `fmt`; `position` is what an earlier `commit()` returned (0: start anew)."""
    if fmt == "jsonl":
        return JsonlWriter(path, position)
    if fmt == "csv":
        return CsvWriter(path, layout, position)
    if fmt == "parquet":
        return ParquetWriter(path, layout, position)
    raise CorpusError(f"cannot write {fmt!r}; known: {', '.join(OUTPUT_FORMATS)}")


def _reopen_at(path: Path, position: int) -> io.BufferedIOBase:
    """`path` opened for appending at byte `position`, anything after it cut off."""
    if position == 0:
        return open(path, "wb")
    if not path.is_file():
        raise CorpusError(f"cannot resume: {path} is gone")
    size = path.stat().st_size
    if size < position:
        raise CorpusError(f"cannot resume: {path} has {size} bytes, fewer than the {position} "
                          "already committed; it was changed after the interrupted run")
    os.truncate(path, position)  # drop what was written after the last commit
    return open(path, "ab")


class _TextWriter:
    """An append-only UTF-8 file that can restart at a committed byte offset."""

    def __init__(self, path: str | Path, position: int) -> None:
        self.path = Path(path)
        self._file = io.TextIOWrapper(_reopen_at(self.path, position), encoding="utf-8",
                                      newline="")

    def commit(self) -> int:
        self._file.flush()
        os.fsync(self._file.fileno())  # so a committed chunk also survives a power cut
        return self._file.buffer.tell()

    def finish(self) -> None:
        self.close()

    def cleanup(self) -> None:
        pass

    def close(self) -> None:
        self._file.close()


class JsonlWriter(_TextWriter):
    """One JSON object per line: a scored record's nested form, or a dict as given (the
    rejects file)."""

    def write(self, record: ScoredRecord | dict) -> None:
        obj = record.to_dict() if isinstance(record, ScoredRecord) else record
        self._file.write(json.dumps(obj, ensure_ascii=False) + "\n")


class CsvWriter(_TextWriter):
    """Flat columns (see `Layout`) with a header row; floats are written in full."""

    def __init__(self, path: str | Path, layout: Layout, position: int = 0) -> None:
        super().__init__(path, position)
        self._layout = layout
        self._columns = [name for name, _ in layout.columns()]
        self._csv = csv.writer(self._file, lineterminator="\n")
        if position == 0:
            self._csv.writerow(self._columns)

    def write(self, record: ScoredRecord) -> None:
        flat = self._layout.flatten(record)
        self._csv.writerow([flat[name] for name in self._columns])


def parts_folder(path: str | Path) -> Path:
    """Where `ParquetWriter` keeps the committed chunks of `path` until the run is complete."""
    path = Path(path)
    return path.with_name(path.name + ".parts")


class ParquetWriter:
    """Parquet through committed chunk files.

    A Parquet file cannot be appended to or cut back, and a killed ParquetWriter leaves a file
    without its footer, which is unreadable. So rows are buffered until `commit()`, which
    writes them as `<OUT>.parts/part-NNNNNN.parquet` (under a temporary name, renamed when
    complete, so a part is either whole or absent) and returns the number of parts. Reopening
    at position n deletes any later part. `finish()` copies the parts into OUT, one row group
    each, without holding more than one part in memory; `cleanup()` removes the folder.
    """

    def __init__(self, path: str | Path, layout: Layout, position: int = 0) -> None:
        self._pa, self._pq = _pyarrow()
        self.path = Path(path)
        self.parts = parts_folder(self.path)
        self._layout = layout
        types = {"string": self._pa.string(), "int": self._pa.int64(),
                 "float": self._pa.float64(), "bool": self._pa.bool_()}
        self._schema = self._pa.schema([(name, types[kind]) for name, kind in layout.columns()])
        self._rows: list[dict] = []
        self._count = position
        self.parts.mkdir(parents=True, exist_ok=True)
        for stale in self.parts.glob("part-*"):
            if stale.suffix == ".tmp" or int(stale.stem.split("-")[1]) >= position:
                stale.unlink()
        missing = [p.name for p in map(self._part, range(position)) if not p.is_file()]
        if missing:
            raise CorpusError(f"cannot resume: {self.parts} lacks committed part(s) "
                              f"{', '.join(missing[:3])}")

    def _part(self, index: int) -> Path:
        return self.parts / f"part-{index:06d}.parquet"

    def write(self, record: ScoredRecord) -> None:
        self._rows.append(self._layout.flatten(record))

    def commit(self) -> int:
        if self._rows:
            table = self._pa.Table.from_pylist(self._rows, schema=self._schema)
            part = self._part(self._count)
            tmp = part.with_suffix(".tmp")
            self._pq.write_table(table, tmp)
            _fsync(tmp)
            os.replace(tmp, part)
            self._count += 1
            self._rows = []
        return self._count

    def finish(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with self._pq.ParquetWriter(tmp, self._schema) as writer:
            if self._count == 0:  # still a valid file, with the columns and no rows
                writer.write_table(self._schema.empty_table())
            for index in range(self._count):
                writer.write_table(self._pq.read_table(self._part(index), schema=self._schema))
        _fsync(tmp)
        os.replace(tmp, self.path)

    def cleanup(self) -> None:
        shutil.rmtree(self.parts, ignore_errors=True)

    def close(self) -> None:
        self._rows = []


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def positive_int(value: str) -> int:
    """An argparse type for counts such as --batch-size: 1 or more."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number
