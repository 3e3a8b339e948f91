"""How each setting of the write-up was chosen and why our numbers differ from the paper's (prose, by hand).

Every number elsewhere in results/REPRODUCTION.md is computed from the runs; the ones here describe
choices (h, N, what ran where) and are kept in step with the runs by whoever changes a setting.
"""

SCOPE_NOTES = """How each setting was chosen, and why our numbers differ from the paper's, as far as we can tell:

- **Two h per dataset.** Each dataset runs at the paper's h and at an "Appendix-A h" whose grid positive share
  is near the paper's Appendix A (MNIST 139/4,096 = 3.4 %, CIFAR-10 212/4,096 = 5.2 %); those results live in
  `results/<dataset>_h<h>/` with their own MLflow store. CIFAR-10's h = 0.73 was chosen with
  `experiments/grid_share.py --share 0.052`, which reads the early-stopped counts the oracle cached while
  labelling the grid at h = 0.85 (estimated share 5.18 %; no new oracle work). MNIST's h = 0.74 was chosen
  earlier, as the 96.6 % quantile of f over the random sampler's uniformly drawn levels; on the grid it gives
  2.6 % (inside Appendix A's 2-6 %), and `grid_share.py` would now pick 0.69-0.70. Uniform levels are a poor
  guide on CIFAR-10: at h = 0.85 only 0.13 % of them are reliable against 1.5 % of the grid, whose 4 points per
  axis include the domain ends (no rain, no rotation), where f is highest.
- **CIFAR-10 at N = 2,000**, not the paper's 5,000, in every study of `results/cifar10/` and
  `results/cifar10_h0.73/`; D is a seeded 2,000-image subset of the CIFAR-10 test split. At N = 2,000 one GP
  sampler run of 600 levels took ~14 min and the grid ~14 min on this 2-core CPU.
- **CIFAR-10 at the paper's N = 5,000** (h = 0.85): Tables 3 and 4 and Figure 6's samplers (`sampling`) ran
  (`results/cifar10_n5000/`; two workers, one torch thread each; the last three `sampling` jobs, straddle seeds
  0-2, on three workers sharing the two cores, 4,601-4,711 s of oracle each). `precision=auto` chose onnxruntime
  there (1,241 images/s per worker): bf16 was 1.9x faster than torch fp32 but flipped 4 of 1,024 probe
  predictions, more than the 3.0 the agreement rule allows at N = 5,000 (half the binomial sd of f, which shrinks
  as 1/sqrt(N)); the N = 2,000 studies ran in bf16. Measured: the grid 43 min with both workers labelling it (51
  of 4,096 levels reliable, 1.2 %; 62 at N = 2,000); each 600-level training set 40-42 min (every level read in
  full: R keeps f; GP overhead 18 s); Table 4's 42 jobs on those training sets 8 min. The per-setting estimates
  below scale the N = 2,000 stage times by N alone, so they undercount the grid (26 min estimated, 43 measured)
  and each training set (~24 min, 40-42 measured) by about the bf16/onnxruntime speed ratio (1.6x): they hold
  only at the same precision, which each setting line names. The nine other GP-family training sets took
  3,326-4,711 s of oracle each, with other work sharing the cores. Not yet run at N = 5,000: `ablation_budget`
  (Figure 8 at the paper's h and N: levels 601-1,000 of three GP runs, ~1.2 h on two workers); the same command
  resumes it (the oracle caches every level it reads).
- **Fashion-MNIST at N = 500** (`dataset.verification_size=500`, not the paper's 6,000; each section gives the
  estimated cost at 6,000; the runs at 6,000 are the next bullet), with the project's small CNN
  (`model=auto`, 8 epochs on the 60,000 training images; clean accuracy on D 0.926, against the paper's 0.9908;
  an earlier training of the same config gave 0.916, used by no run here). At the paper's h = 0.75 only a handful
  of the 4,096 grid levels are reliable (Appendix A: 79 = 1.9 %), so `experiments/grid_share.py --share 0.0193`
  (from the counts cached at h = 0.75, no new oracle work) chose **h = 0.54**, whose grid has 73 reliable levels
  (1.8 %). At h = 0.54 every study ran (`results/fashion_mnist_h0.54/`), Figure 9 over h = 0.44-0.64 around it
  (the yaml's 0.65-0.85 would leave almost no reliable level); at h = 0.75 Table 3 only
  (`results/fashion_mnist/`). `tracking.log_models=false`.
- **Fashion-MNIST at the paper's N = 6,000**: Table 3 at h = 0.75 (`results/fashion_mnist_n6000/`) and, at the
  Appendix-A h = 0.54, Tables 3-4, Figure 6's samplers and our additions (`sampling`, `ours`;
  `results/fashion_mnist_h0.54_n6000/`). Not yet run at 6,000: `matched`, `ablation_v`, `ablation_budget` and
  `ablation_h`; each needs at most three new ~11-min training sets per sampler and h on two workers, the rest
  is cached. `grid_share.py --share 0.0193` on the counts cached at h = 0.75 picked h = 0.54 again (estimated
  share 1.95 %), and that grid has 82 reliable levels (2.0 %). D is a seeded 6,000-image subset of the test split; the small CNN (the
  same training as at N = 500) has clean accuracy 0.9180 on it. `precision=auto` chose onnxruntime: bf16 was
  1.8x faster but flipped 4 of 1,024 probe predictions, more than the 2.5 the agreement rule allows at
  N = 6,000. At h = 0.75 the grid has 10 reliable levels of 4,096 (0.24 %; 5 at N = 500); its recorded 6,034 s
  were spent niced behind CIFAR-10 jobs on the same cores (the pilot, undisturbed, estimated ~29 min). Each
  600-level training set of `table3` took 601-665 s (GP overhead 16-20 s) on two workers; the other 78 jobs of
  Table 3 at h = 0.75 (28 skipped: random R without positives) 4.5 min. At h = 0.54 the grid took 578 s (the
  counts cached at h = 0.75 resumed, not restarted); the nine other samplers' training sets 720-1,565 s each,
  with three jobs (and for a while a test run) sharing the two cores.
- **Other models and verification sets.** The public LeNet-5 and ResNet-20 checkpoints are not the paper's
  models, and D is a seeded subset of each test split. At the paper's h both are reliable on far fewer grid
  levels than the paper's Appendix A reports (see the grid line of each dataset), which leaves the grid test
  set with few positives (MNIST: 7): F1 on it is then small and noisy for every method.
- **The distortions.** Our rain (seeded streaks on a per-image field) and darkness are our implementation of
  Table 1's descriptions; the paper's code is not public, so the same level may be harsher or milder.
- **The GP.** Our GP uses BoTorch's priors with MAP refits on a geometric schedule; the paper does not give its
  kernel hyperparameters. SMOTE-GP's u is the posterior variance relative to the prior variance, so v keeps the
  same meaning on every dataset (the paper does not say how its u is scaled).
- **digits** is not in the paper; it is this project's embedded dataset (h = 0.5 puts 3.0 % of its grid in the
  reliable class, inside Appendix A's 2-6 %: measured on the grid at h = 0.4-0.8, see conf/dataset/digits.yaml).
- **Ablations** (the paper's Figures 7-9, run there on CIFAR-10): v and I on digits, on MNIST at h = 0.74, on
  Fashion-MNIST at h = 0.54 and on CIFAR-10 at h = 0.73 (v also at 0.85); h (Figure 9) on digits, on
  MNIST over h = 0.64-0.84 around its Appendix-A 0.74 (the yaml's 0.8-0.97 would leave LeNet-5 reliable on
  almost no grid level: 7 at 0.9), on Fashion-MNIST (0.44-0.64) and on CIFAR-10 narrowed to h = 0.73, 0.80,
  0.85 (in `results/cifar10/`). MNIST's Figure 9 ran on 2026-12-06, in bf16 as the folder's other studies, but
  with today's code and an empty oracle cache: its h = 0.74 grid has the same 108 reliable levels, yet its GP
  training sets at h = 0.74 hold 186, 305 and 283 positives (seeds 0-2) where Table 3's (run on 2026-11-29,
  before the GP fitting and the float64 levels changed) hold 181, 192 and 239: the same seed no longer gives the
  same sequence across those code changes. Within one version it does: a fresh process with an empty cache
  gave the seed-0 set of h = 0.74 again level for level (all 600 levels and f values identical, 186 positives).
  Each study's comparisons are paired within it.
- **The paper's imbalance.** Our GP sampler's R is 30-64 % positive where the paper's Figure 6 shows 130 of
  600 (22 %) on CIFAR-10 (the only count its text gives); random sampling's 0-4 % is at or below the paper's
  27 of 600 (4.5 %). The `matched` study tests claim (b) where R holds the paper's share: sampler
  `gp_matched` is the paper's GP sampler that draws a uniform level (mostly negative) whenever R's positive
  share has reached 130/600, so R keeps I = 600 levels and its positives all come from the acquisition
  (subsampling a GP run's positives instead would shrink R below I). Run on digits, Fashion-MNIST
  (h = 0.54), MNIST (h = 0.74) and CIFAR-10 (h = 0.73, N = 2,000: its grid, relabelled from scratch in
  bf16 as the other CIFAR-10 studies ran, has the same 211 reliable levels).
- **Counting.** Runs are deduplicated by what they computed (training set, method and its settings, seed):
  `table3` and `ours` both hold GP + SMOTE-GP, and the GP classifier's F1 is one number per training set.
- **Our additions.** `ours` ran in full (gp, gp_sqrt, straddle, gp_batch) on digits and Fashion-MNIST (h = 0.54);
  on MNIST and CIFAR-10 only with the paper's GP sampler (`sampler=gp`: each other sampler costs three ~10-15 min
  runs per setting), which still compares the GP classifier with the five predictors on the same training sets."""
