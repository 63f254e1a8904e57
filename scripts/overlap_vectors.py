"""Sentence vectors of the overlap texts from another sentence model, for overlap_cv.py.

    python scripts/overlap_vectors.py TEXTS.json MODEL OUT.npz [--prompt NAME]

TEXTS.json is what `scripts/overlap_cv.py --texts TEXTS.json` wrote; MODEL is a folder (or a
name) that sentence-transformers can load; `--prompt` picks one of the model's named prompts
(EmbeddingGemma's "STS", for example). OUT.npz holds `texts` and `vectors`, which
`scripts/overlap_cv.py --vectors OUT.npz` reads.

Throughline does not depend on sentence-transformers or PyTorch: run this with a Python that
has them (a separate virtual environment), not the project's. docs/overlap.md ("Other
sentence models") lists what was measured this way.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("texts", type=Path)
    parser.add_argument("model")
    parser.add_argument("out", type=Path)
    parser.add_argument("--prompt", default=None)
    args = parser.parse_args()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        sys.exit("sentence-transformers is not installed in this Python (see the docstring).")
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        sys.exit(f"{args.texts} is not a list of texts from overlap_cv.py --texts.")
    model = SentenceTransformer(args.model, device="cpu")
    vectors = model.encode(texts, batch_size=16, prompt_name=args.prompt, normalize_embeddings=True)
    np.savez(args.out, texts=np.array(texts, dtype=str), vectors=np.asarray(vectors, "float32"))
    print(f"{len(texts)} vectors of {vectors.shape[1]} numbers written to {args.out}")


if __name__ == "__main__":
    main()
