# Ranking/packing variants for bench/tune.py (weights: rank.Weights, pack: pack.PackOptions).
VARIANTS = {
    "base": {},
    "closure0": {"pack": {"closure": 0.0}},
    "closure0.05": {"pack": {"closure": 0.05}},
    "neardup1": {"pack": {"near_duplicate": 1.0}},
    "neardup0.8": {"pack": {"near_duplicate": 0.8}},
    "where0.3": {"weights": {"where": 0.3}},
    "where0.6": {"weights": {"where": 0.6}},
    "tests0.3": {"weights": {"test_prior": 0.3}},
    "docs0.5": {"weights": {"doc_prior": 0.5, "other_prior": 0.5}},
    "filemax0.3": {"weights": {"filemax": 0.3}},
    "filemax0.8": {"weights": {"filemax": 0.8}},
    "sharp2": {"pack": {"sharpness": 2.0}},
}
