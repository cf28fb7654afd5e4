"""Pack the parts of a repository most relevant to a question, and see what it saves.

    python examples/pack_a_repo.py [PATH] [QUESTION]

Runs offline: the tokenizer ranks and the embedding model ship with contextpack.
"""

from __future__ import annotations

import sys
from pathlib import Path

import contextpack


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent.parent)
    question = sys.argv[2] if len(sys.argv) > 2 else "how is the token budget enforced?"
    # gpt-4o-mini: its o200k_base tokenizer, its price; keep 120k of its window for the
    # answer, so the context gets 128,000 - 120,000 = 8,000 tokens.
    pack = contextpack.pack(question, root, model="gpt-4o-mini",
                            reserve=120_000)
    print(pack.text[:1500], "...\n")
    for item in pack.items[:8]:
        print(f"{item.score:6.3f}  {item.view:<8}  {item.tokens:>5}  {item.path}:{item.start_line}")
    cost = pack.stats["cost"]
    print(f"\n{pack.tokens:,} of {pack.budget:,} tokens ({pack.encoding}); all sources: "
          f"{pack.source_tokens:,} tokens, {pack.stats['compression']}x more")
    print(f"{cost['model']}: ${cost['pack_usd']:.5f} for the pack vs ${cost['sources_usd']:.5f} "
          f"for everything (list prices of {cost['prices_as_of']}, estimates)")


if __name__ == "__main__":
    main()
