# Ranking/packing variants for bench/tune.py (weights: rank.Weights, pack: pack.PackOptions).
# Round 1 (every 6th dev instance) moved one knob at a time; round 2 combines the winners.
_COMBO = {"test_prior": 0.3, "doc_prior": 0.5, "other_prior": 0.5, "where": 0.6, "filemax": 0.5}
VARIANTS = {
    "base": {},
    "A": {"weights": _COMBO, "pack": {"closure": 0.02}},
    "A-closure0": {"weights": _COMBO, "pack": {"closure": 0.0}},
    "A-filemax0.8": {"weights": {**_COMBO, "filemax": 0.8}, "pack": {"closure": 0.02}},
    "A-where0.3": {"weights": {**_COMBO, "where": 0.3}, "pack": {"closure": 0.02}},
    "A-tests0.5": {"weights": {**_COMBO, "test_prior": 0.5}, "pack": {"closure": 0.02}},
}
# Result (python bench/tune.py --every 3 --variants bench/variants.py, 61 instances):
#   base  body@8k/32k/128k 0.478/0.672/0.787, file@8k 0.803
#   A-where0.3 0.593/0.721/0.836, file@8k 0.820  -> the defaults in rank.Weights/PackOptions
