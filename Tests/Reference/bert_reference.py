#!/usr/bin/env python3
"""A tiny random BERT, its vocabulary, and its reference tokenization and [CLS] states, for FedCTTrainingTests.BERTTextTowerTests.

Hugging Face transformers builds a BertModel (hidden 32, 2 layers, 4 heads, intermediate 64, 32 positions, exact GELU,
LayerNorm eps 1e-12, with its pooler) over a 60-token WordPiece vocabulary written here; every parameter is its
random initialisation (seed 7) plus N(0, 0.05²), so LayerNorm scales and biases and the token-type table matter too.
save_pretrained writes Hugging Face's parameter names (embeddings.*, encoder.layer.{i}.*, pooler.*) as float32
safetensors. The sentences below are tokenized by BertTokenizer (uncased; and BertTokenizerFast, which must agree) with
truncation and padding to 16, and the model's last hidden state at [CLS] (position 0) in evaluation mode is the reference.

Writes Tests/Reference/bert_tiny/: model.safetensors, config.json, vocab.txt and bert_reference.json (configuration,
sentences, ids, attention masks, [CLS] states, versions).

Produced with transformers 4.40.2 on Debian 12's python3-torch 1.13 (transformers and its dependencies but numpy are
installed with pip into .build/reference-site if missing):
    /usr/bin/python3 Tests/Reference/bert_reference.py
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SITE = os.path.join(ROOT, ".build", "reference-site")
TRANSFORMERS = "transformers==4.40.2"

try:
    import transformers  # noqa: F401
except ImportError:
    if os.environ.get("FEDCT_REFERENCE_SITE"):
        sys.exit("transformers is still missing in " + SITE)
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--target", SITE, TRANSFORMERS])
    # The system's numpy stays: the one pip brings may not match the system's torch.
    subprocess.check_call("rm -rf " + os.path.join(SITE, "numpy") + "*", shell=True)
    os.environ["FEDCT_REFERENCE_SITE"] = "1"
    os.environ["PYTHONPATH"] = SITE
    os.execv(sys.executable, [sys.executable] + sys.argv)

import torch
from transformers import BertConfig, BertModel, BertTokenizer, BertTokenizerFast

OUT = os.path.join(HERE, "bert_tiny")
LENGTH = 16
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "no", "of", "is", "in", "and", "left", "right", "small", "lung", "lungs", "pleural", "effusion", "nodule",
         "mass", "heart", "size", "normal", "clear", "upper", "lower", "lobe", "emphysema", "cardio", "##megaly", "##s",
         "##al", "##ed", "enlarged", "seen", "both", "apex", "##es", "mm", "1", "2", "##0", "cm", ".", ",", ":", "-", "(",
         ")", "/", "ct", "chest", "with", "without", "contrast", "acute", "finding", "##ing", "e", "##u"]
SENTENCES = [
    "No pleural effusion.",
    "Cardiomegaly; the heart size is enlarged!",
    "Small nodule (12 mm) in the right upper lobe.",
    "EMPHYSEMA in both apices, lungs clear",
    "Pleural effusión, left-sided:  CT chest without contrast",
    "the lungs are clear and the heart is normal in size, no acute finding is seen in the chest CT with contrast",
    "Xylophone\tmass\u200b, unseen wordpieces",
    "",
]


def main():
    os.makedirs(OUT, exist_ok=True)
    vocab = SPECIAL + WORDS
    with open(os.path.join(OUT, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    slow = BertTokenizer(os.path.join(OUT, "vocab.txt"), do_lower_case=True)
    fast = BertTokenizerFast(os.path.join(OUT, "vocab.txt"), do_lower_case=True)
    encoded = slow(SENTENCES, truncation=True, max_length=LENGTH, padding="max_length")
    assert encoded["input_ids"] == fast(SENTENCES, truncation=True, max_length=LENGTH, padding="max_length")["input_ids"]

    torch.manual_seed(7)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                        max_position_embeddings=32, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu", pad_token_id=0)
    model = BertModel(config, add_pooling_layer=True)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.eval()
    model.save_pretrained(OUT, safe_serialization=True)

    ids = torch.tensor(encoded["input_ids"])
    mask = torch.tensor(encoded["attention_mask"])
    with torch.no_grad():
        cls = model(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
    reference = dict(
        provenance=f"Tests/Reference/bert_reference.py with transformers {transformers.__version__}, torch {torch.__version__}",
        hidden=32, layers=2, heads=4, intermediate=64, positions=32, length=LENGTH,
        sentences=SENTENCES, ids=encoded["input_ids"], attention_mask=encoded["attention_mask"],
        cls=[[float(v) for v in row] for row in cls],
    )
    with open(os.path.join(OUT, "bert_reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
