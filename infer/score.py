"""Batch scoring: stream a corpus through the classifier into a scored file, resumably.

The loop reads records lazily, groups them into chunks of about `chunk_size` rows, predicts a
chunk, appends it to the output and then *commits*: makes the output durable, then records in
`<OUT>.progress.json` how many input records are done and how far the output and the rejects
file reach. Memory therefore holds one chunk, however large the corpus, and an interrupted run
(Ctrl-C, kill -9, a crash) continues with `--resume`:

* JSONL and CSV are append-only files: resume cuts OUT and `<OUT>.rejects.jsonl` back to their
  committed sizes (dropping a half-written chunk) and skips the committed input records.
* Parquet cannot be appended to, so each chunk is its own file in `<OUT>.parts/` (see
  `corpus_io.ParquetWriter`); resume deletes parts past the committed count, and the parts are
  joined into OUT once the corpus is done.

The progress file is replaced atomically and only after the data it describes is on disk, so it
never claims more than was written. A chunk always ends where an input record ends, and a resumed
run cuts the same chunks as an uninterrupted one, so the model sees the same batches and the
resumed output is identical (given the same --batch-size). The progress file is deleted once OUT
is complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from infer.classifier import DEFAULT_BATCH_SIZE, StanceClassifier
from infer.corpus_io import (
    JsonlWriter,
    Reject,
    Row,
    Writer,
    id_field_for,
    input_format,
    open_writer,
    output_format,
    parts_folder,
    read_corpus,
)
from infer.model import ModelMeta, NotAModelFolder
from infer.record import Layout, ScoredRecord
from infer.text import split_sentences

DEFAULT_CHUNK_SIZE = 2000
# What decides the content of the output: a resume must use the same, or rows would mix.
RESUME_SETTINGS = ("input", "format", "text_field", "id_field", "split_sentences",
                   "include_text", "model", "backend", "output_format", "actors")

Entry = Row | Reject
# An entry and whether it is the last one made from its input record (a document's last
# sentence); commits happen only there, so "records done" is always a whole number.
Unit = tuple[Entry, bool]


class ScoreError(Exception):
    """A run that cannot start as asked; the message says what to do instead."""


@dataclass(frozen=True)
class ScoreOptions:
    input: Path
    output: Path
    model: Path
    format: str | None = None
    text_field: str = "text"
    id_field: str | None = None  # None: the `id` field when records have one, else line numbers
    split_sentences: bool = False
    include_text: bool = False
    backend: str = "auto"
    batch_size: int = DEFAULT_BATCH_SIZE
    chunk_size: int | None = None  # None: DEFAULT_CHUNK_SIZE, or the interrupted run's on resume
    resume: bool = False
    actors: dict[str, list[str]] | None = None  # added to a mention-pooling model: name -> aliases


@dataclass
class Summary:
    rows_in: int  # input records read, over the whole corpus
    scored: int  # output rows written (sentences with --split-sentences)
    rejected: int
    resumed: int  # input records already done when this run started
    seconds: float  # this run's scoring time, model loading excluded
    output: Path
    rejects: Path | None  # None when there were no rejects
    id_field: str | None = None  # where ids came from; None: line numbers

    @property
    def rows_per_second(self) -> float:
        return (self.rows_in - self.resumed) / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        first = (f"rows in: {self.rows_in}  scored: {self.scored}  rejected: {self.rejected}  "
                 f"seconds: {self.seconds:.1f}  rows/s: {self.rows_per_second:.0f}")
        if self.scored != self.rows_in and not self.resumed and self.seconds > 0:
            # --split-sentences: the model's rate is in sentences, not input documents
            first += f"  scored/s: {self.scored / self.seconds:.0f}"
        ids = f"field {self.id_field!r}" if self.id_field else "line numbers"
        lines = [first, f"ids: {ids}", f"output: {self.output}"]
        if self.rejects:
            lines.append(f"rejects: {self.rejects}")
        if self.rejected and not self.scored:
            lines.append("warning: no row was scored; is --text-field (or --format) right?")
        if self.resumed:
            lines.append(f"resumed: the first {self.resumed} input rows were done before")
        return "\n".join(lines)


@dataclass
class Progress:
    """The sidecar `<OUT>.progress.json`: what has been committed so far."""

    settings: dict
    chunk_size: int
    consumed: int = 0  # input records done (scored or rejected)
    scored: int = 0
    rejected: int = 0
    output_position: int = 0  # JSONL/CSV: bytes of OUT; Parquet: committed parts
    rejects_position: int = 0  # bytes of the rejects file

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # readers see the old state or the new one, never half of one

    @classmethod
    def load(cls, path: Path) -> Progress:
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as e:
            raise ScoreError(f"cannot read {path} ({e}); delete it and the output to start "
                             "over") from None


def progress_path(output: Path) -> Path:
    return output.with_name(output.name + ".progress.json")


def rejects_path(output: Path) -> Path:
    return output.with_name(output.name + ".rejects.jsonl")


def score(options: ScoreOptions) -> Summary:
    """Score `options.input` into `options.output`; see the module docstring."""
    # Everything that can be wrong is checked before the model loads or any file is written.
    in_format = input_format(options.input, options.format)
    out_format = output_format(options.output)
    if options.input.resolve() == options.output.resolve():
        raise ScoreError("the output would overwrite the input; choose another output name")
    options = resolve_id_field(options, in_format)
    records = read_corpus(options.input, in_format, options.text_field, options.id_field)
    settings = _settings(options, in_format, out_format)
    progress = _saved_progress(options, settings) or Progress(
        settings, options.chunk_size or DEFAULT_CHUNK_SIZE
    )
    classifier = _load_classifier(options)

    output = options.output
    state_file, rejects_file = progress_path(output), rejects_path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    progress.save(state_file)
    layout = Layout.for_schema(classifier.schema, options.split_sentences, options.include_text)
    writer = open_writer(output, out_format, layout, progress.output_position)
    rejects = JsonlWriter(rejects_file, progress.rejects_position)
    resumed = progress.consumed
    units = to_units(islice(records, resumed, None), options.split_sentences)
    # The bar shows only on a terminal (disable=None), counting input rows.
    bar = tqdm(desc="scoring", unit=" rows", initial=resumed, file=sys.stderr, disable=None,
               dynamic_ncols=True)
    start = time.perf_counter()
    try:
        for chunk in _chunks(units, progress.chunk_size):
            scored, rejected = _score_chunk(classifier, chunk, writer, rejects, options)
            done = sum(last for _, last in chunk)
            progress.consumed += done
            progress.scored += scored
            progress.rejected += rejected
            # Data first, then the record of it: a kill in between only repeats this chunk.
            progress.output_position = writer.commit()
            progress.rejects_position = rejects.commit()
            progress.save(state_file)
            bar.update(done)
        writer.finish()
    finally:  # on an interruption too; what was not committed is redone by --resume
        bar.close()
        rejects.close()
        writer.close()
    seconds = time.perf_counter() - start
    state_file.unlink()  # OUT is complete; a later --resume says there is nothing to do
    writer.cleanup()
    if progress.rejected == 0:
        rejects_file.unlink(missing_ok=True)
    return Summary(progress.consumed, progress.scored, progress.rejected, resumed, seconds,
                   output, rejects_file if progress.rejected else None, options.id_field)


def resolve_id_field(options: ScoreOptions, fmt: str) -> ScoreOptions:
    """The options with `id_field` set to the input's `id` field when none was named and the
    records carry one; unchanged otherwise (ids are then line numbers)."""
    if not options.input.is_file():
        return options  # read_corpus names the missing file
    return dataclasses.replace(options,
                               id_field=id_field_for(options.input, fmt, options.id_field))


def _settings(options: ScoreOptions, in_format: str, out_format: str) -> dict:
    values = {**asdict(options), "format": in_format, "output_format": out_format,
              "input": str(options.input.resolve()), "model": str(options.model.resolve())}
    return {key: values[key] for key in RESUME_SETTINGS}


def _saved_progress(options: ScoreOptions, settings: dict) -> Progress | None:
    """The progress to resume from, None for a fresh start; raises when neither is safe."""
    output, state_file = options.output, progress_path(options.output)
    found = [p for p in (output, state_file, parts_folder(output)) if p.exists()]
    if not options.resume:
        if found:
            names = ", ".join(map(str, found))
            raise ScoreError(f"{names} already exist{'s' if len(found) == 1 else ''}: pass "
                             "--resume to continue an interrupted run, or delete "
                             f"{'it' if len(found) == 1 else 'them'} to start over")
        return None
    if not state_file.exists():
        if found:
            raise ScoreError(f"nothing to resume: {output} has no {state_file.name}, so it is "
                             "complete (or was not written by this command); delete it to score "
                             "again")
        return None  # the interrupted run had not started writing: start afresh
    progress = Progress.load(state_file)
    changed = [f"{key} (was {progress.settings.get(key)!r}, now {value!r})"
               for key, value in settings.items() if progress.settings.get(key) != value]
    if changed:
        raise ScoreError(f"cannot resume {output}: it was started with other settings: "
                         f"{'; '.join(changed)}. Rerun with the same options, or delete {output} "
                         f"and {state_file} to start over")
    return progress


def model_meta(model: Path, actors: dict[str, list[str]] | None = None) -> ModelMeta:
    """The model's metadata (with `actors` added), read before any input is touched; a
    ScoreError if there is none or it cannot take the actors."""
    try:
        meta = ModelMeta.read(model)
        return meta.with_actors(actors) if actors else meta
    except (NotAModelFolder, ValueError) as e:
        raise ScoreError(str(e)) from None


def _load_classifier(options: ScoreOptions) -> StanceClassifier:
    model_meta(options.model, options.actors)
    return StanceClassifier.load(options.model, options.backend, options.actors)


def to_units(records: Iterable[Entry], split: bool) -> Iterator[Unit]:
    """Each input record as one unit, or with `split` as one unit per sentence."""
    for entry in records:
        if not split or isinstance(entry, Reject):
            yield entry, True
            continue
        sentences = split_sentences(entry.text)
        if not sentences:
            yield Reject(entry.number, entry.text, "no sentences (only punctuation)",
                         entry.id), True
            continue
        for index, sentence in enumerate(sentences, start=1):
            row = Row(entry.number, f"{entry.id}:{index}", sentence, doc_id=entry.id,
                      sentence=index)
            yield row, index == len(sentences)


def _chunks(units: Iterable[Unit], size: int) -> Iterator[list[Unit]]:
    """Lists of at least `size` units (fewer at the end) that end where an input record ends."""
    chunk: list[Unit] = []
    for unit in units:
        chunk.append(unit)
        if unit[1] and len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _score_chunk(
    classifier: StanceClassifier,
    chunk: list[Unit],
    writer: Writer,
    rejects: JsonlWriter,
    options: ScoreOptions,
) -> tuple[int, int]:
    """Predict the rows of a chunk and write rows and rejects; (scored, rejected)."""
    entries = [entry for entry, _ in chunk]
    scored = rejected = 0
    for result in score_entries(classifier, entries, options.batch_size, options.include_text):
        if isinstance(result, Reject):
            rejects.write(result.to_dict())
            rejected += 1
        else:
            writer.write(result)
            scored += 1
    return scored, rejected


def score_entries(
    classifier: StanceClassifier, entries: list[Entry], batch_size: int, include_text: bool
) -> Iterator[ScoredRecord | Reject]:
    """In order: the scored record of each Row, and each Reject.

    Writes nothing, so that the local loop and the Ray engine (infer/ray_score.py) share it.
    """
    rows = [entry for entry in entries if isinstance(entry, Row)]
    predictions = classifier.iter_predict([row.text for row in rows], batch_size)
    for entry in entries:
        if isinstance(entry, Row):
            prediction = next(predictions)
            if not prediction.empty:
                yield ScoredRecord.from_prediction(prediction, entry.id, entry.doc_id,
                                                   entry.sentence, include_text)
                continue
            # Only invisible characters: nothing for the model to read, so a reject as well.
            entry = Reject(entry.number, entry.text, "empty text", entry.id)
        yield entry
