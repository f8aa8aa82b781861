"""Test data and builders shared by the tests (imported; the fixtures are in conftest.py).

The tiny model (2 layers, hidden 32, a WordPiece vocabulary trained on the fixture sentences)
keeps unit tests at seconds; tests marked `integration` use the real embedded encoder.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED_ARTICLE = SHARED / "seed" / "article.txt"

# (text, iraq, iran, us, sentiment): short sentences in the style of the corpus.
TINY = [
    ("دعا العراق إلى خفض التوتر في المنطقة", "deescalatory", "absent", "absent", "positive"),
    ("هددت إيران بالانتقام من الهجوم", "absent", "escalatory", "absent", "negative"),
    ("أعلنت واشنطن دعمها للحكومة العراقية", "neutral", "absent", "supportive", "positive"),
    ("فرضت الولايات المتحدة عقوبات جديدة على طهران", "absent", "neutral", "escalatory",
     "negative"),
    ("رحبت طهران بالحوار مع جيرانها", "absent", "deescalatory", "absent", "positive"),
    ("ارتفعت أسعار النفط في الأسواق اليوم", "absent", "absent", "absent", "neutral"),
    ("قدمت بغداد مساعدات إنسانية للاجئين", "supportive", "absent", "absent", "positive"),
    ("قصفت القوات الأمريكية مواقع للميليشيات الإيرانية", "absent", "neutral", "escalatory",
     "negative"),
    ("وصل وفد إيراني إلى بغداد صباح الخميس", "neutral", "neutral", "absent", "neutral"),
    ("طالبت الحكومة العراقية بوقف الهجمات والتهدئة", "deescalatory", "absent", "absent",
     "positive"),
    ("أشادت إيران بالتعاون مع العراق في مجال الطاقة", "neutral", "supportive", "absent",
     "positive"),
    ("انسحبت القوات الأمريكية من القاعدة تخفيفا للتوتر", "absent", "absent", "deescalatory",
     "positive"),
    ("توعد الحرس الثوري برد قاس على واشنطن", "absent", "escalatory", "neutral", "negative"),
    ("استدعت بغداد السفير التركي احتجاجا على القصف", "escalatory", "absent", "absent",
     "negative"),
    ("فاز الفريق بالمباراة النهائية أمس", "absent", "absent", "absent", "positive"),
    ("قتل عشرة أشخاص في حادث سير على الطريق", "absent", "absent", "absent", "negative"),
]


def tiny_records(prefix: str = "t") -> list[dict]:
    return [
        {"id": f"{prefix}-{i:03d}", "text": text,
         "stance": {"iraq": iq, "iran": ir, "us": us}, "sentiment": sent,
         "source": "fixture", "doc_id": f"{prefix}-doc{i}"}
        for i, (text, iq, ir, us, sent) in enumerate(TINY)
    ]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def build_tiny_base(folder: Path, texts: list[str]) -> Path:
    """A 2-layer BERT with a WordPiece vocabulary trained on `texts`, saved as a HF folder."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=400,
                                                             special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=128)
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def tiny_config(tiny_base: Path, tiny_data: dict[str, Path], out: Path, **extra) -> dict:
    """Settings under which the tiny model memorises the fixture in a few seconds."""
    return {
        "base_model": str(tiny_base), "train_file": str(tiny_data["train"]),
        "dev_file": str(tiny_data["dev"]), "test_file": str(tiny_data["test"]),
        "output_dir": str(out), "learning_rate": 3e-3, "epochs": 60, "batch_size": 8,
        "max_length": 32, "early_stopping_patience": 60, "warmup_ratio": 0.0,
        "seed_article": None, "head_learning_rate": 3e-3,
        # A randomly initialised tiny model must learn its embeddings too.
        "freeze_embeddings": False, **extra,
    }
