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

# Round 3 (2026-11-29, every 3rd instance, 61; body/file at 8k, body at 32k, from the
# defaults above). Experimental signals were tried in a scratch copy; only the winners
# were kept in contextpack/rank.py:
#   defaults                                   body@8k 0.642  file@8k 0.836  body@32k 0.787
#   a file-level dense signal (chunk centroids) 0.3/0.6      0.658/0.650  0.820  0.787/0.754
#   name signal unscaled; short prose names ignored          no change
#   second-best chunk added to the file score                0.658  0.836  0.787
#   title: BM25 against the first line 0.3/0.6/1.0/1.5/2.0/3.0
#                        body@8k 0.648/0.648/0.664/0.664/0.674/0.654
#                        file@8k 0.852/0.869/0.869/0.885/0.885/0.885
#                        body@32k 0.803/0.836/0.836/0.852/0.836/0.803
#   title 1.5 + file BM25 of the title 0.3                   0.657  0.885  0.852
#   title 0.6 + dense of the title 0.3                       0.648  0.869  0.803
#   title 1.5, path words from the title 0.3/0.5/0.8 instead of the whole query
#                            0.680/0.697/0.697  0.885  0.852/0.852/0.836
#   -> title 1.5, where 0.5 over the title's words: the defaults in rank.Weights.
VARIANTS["title-1.5-where-title-0.5"] = {"weights": {"title": 1.5, "where": 0.5}}
VARIANTS["title-off"] = {"weights": {"title": 0.0}}
