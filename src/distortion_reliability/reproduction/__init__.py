"""The reproduction write-up (results/REPRODUCTION.md) from exported runs, each run counted once.

* :mod:`.stats`      — deduplication, paired / unpaired intervals, trends, skipped jobs scored 0;
* :mod:`.tables`     — Tables 3-4, R's positive share beside the paper's, the setting of a folder;
* :mod:`.claims`     — the paper's claims (a)-(c), our additions, claim (b) at the paper's imbalance;
* :mod:`.ablations`  — Figures 7-9;
* :mod:`.document`   — the whole file (``experiments/reproduction.py`` is its command line).
"""
