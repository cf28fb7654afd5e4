# Ranking/packing variants for bench/tune.py (weights: rank.Weights, pack: pack.PackOptions).
VARIANTS = {
    "base": {},
    "tests0.3": {"weights": {"test_prior": 0.3}},
    "docs0.5": {"weights": {"doc_prior": 0.5, "other_prior": 0.5}},
    "tests0.3+docs0.5": {"weights": {"test_prior": 0.3, "doc_prior": 0.5, "other_prior": 0.5}},
    "file1.2": {"weights": {"file": 1.2}},
    "dense0": {"weights": {"dense": 0.0}},
    "dense1": {"weights": {"dense": 1.0}},
    "graph0": {"weights": {"graph": 0.0}},
    "graph0.6": {"weights": {"graph": 0.6}},
    "name2": {"weights": {"name": 2.0}},
    "parent0.5": {"weights": {"parent": 0.5}},
    "sharp2": {"pack": {"sharpness": 2.0}},
    "sharp8": {"pack": {"sharpness": 8.0}},
}
