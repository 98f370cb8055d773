"""``bench perf``: how fast the bench and the agent are, as ratios measured in one run.

Every figure is printed with its baseline measured in the same run (interleaved
rounds where two things are compared), so a busy machine shifts both sides alike.
Speed is measured here and only here: tests never assert on it.
"""
