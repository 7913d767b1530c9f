"""Headline sentiment analyzers (pure; no Django).

A headline in; a `Sentiment` out: a score in [-1, 1], a label (negative, neutral, positive) and a
confidence in [0, 1]. Each analyzer has a name and a version: stored scores are keyed by both, so a
new version scores again and the same version never does. `registry.build_analyzer` makes one by name.
"""
