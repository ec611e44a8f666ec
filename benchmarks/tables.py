"""Messy real tables: does `idealfit train` with its defaults match scikit-learn's baselines?

Each dataset is one of scikit-learn's real tables (wine, breast cancer, diabetes) written as a CSV the
way spreadsheets arrive: an `id` column (shuffled whole numbers), a text category column, 5% of the
feature cells empty, and a few gross typos (a value times 1000) in the feature cells. Then, for each seed
(`--seeds`: 0, 1, 2 unless asked; `--seeds 0-19`), `fit.train(data=CSV, target="y")` with no other option,
and the run's own baselines (`summary["baselines"]`: majority/mean, linear, boosting, on the same split and
inputs). Printed: test accuracy (classification) or R² (regression) of the network, the linear model and
boosting, and the gap network − better baseline on test (`gap`), and − the baseline that validates better
(`gap(val)`, the one a user would pick without looking at the test split). The target: gap >= −0.01
accuracy / −0.05 R². Last, a summary line per dataset: the mean gap to the better baseline and to the
linear model over the seeds, and the seeds that miss the target.

`--outliers` instead compares outlier handling: the same messy tables trained without clipping
(data.clip_quantiles=none, the default before) and with clipping to the training quantiles
[0.001, 0.999] and [0.01, 0.99] (the default now).

Measured now: wine, breast cancer, diabetes and iris (--datasets ... iris), seeds 0-19, train.threads=1,
2026-11-28 (the fourth session), the 2-core shared CPU at load 1-3 (about 5 minutes a run of 80). The defaults:
wide & deep started at the linear baseline's fit (model.wide=true, model.wide_init=linear), clip bounds at
training values inside the [0.01, 0.99] quantiles and Tukey's fences at k = 10 (data.clip_fences), a budget of at
least 2000 steps / patience 200. Mean network score, mean gap to the better baseline of each seed, mean gap to
the linear model, misses of the target (seeds listed):

                     network  gap     gap(lin)  misses
    wine (acc)       .969    −.004   +.004     2 of 20 (4 12)
    breast (acc)     .971    −.003   +.001     5 of 20 (0 4 9 16 17)
    diabetes (R²)    .449    −.001   −.001     0 of 20
    iris (acc)       .948    −.002   +.009     4 of 20 (1 3 8 9)                               11 of 80 in all

  Tukey's fences, the last change (12 -> 11): the messy iris CSV has three typos in sepal length (rows 54, 102
  and 105), two or three of them in the training split on every seed, and the 0.99 quantile clipped only the
  largest and kept the next as the bound (16000 on seed 8): scaled, sepal length became a constant to the network
  and the linear model alike (iris seed 8: both .826; boosting, blind to scale, .957). With the fences (k = 3, 5, 10 and 20 measured: the same network scores on all 80 cells,
  11 misses; 10 kept, as it clips less of a real heavy tail) iris gains four test rows over seeds 8 (two), 10 and 16 and loses one on seed 9 (mean .941 ->
  .948, misses 5 -> 4); wine, breast cancer and diabetes get the same network scores on every seed (at k = 5 breast cancer's mean gap moved −.0029 -> −.0035 only because its linear baseline gained a row
  on a seed; at k = 10 and 20 the fences do not bind there).
  On eight of statsmodels' tables as shipped (numeric columns, seeds 0-2, data.clip_fences=5 vs none) the
  fences bound in two: star98 (NABOVE, R²) .652 .604 .705 against .648 .614 .681 without, anes96 (vote, accuracy)
  .866 .923 .930 against .880 .923 .930 (two of 142 test rows on seed 0); engel, statecrime, randhie (4000 rows),
  fair, grunfeld and heart got the same scores to the fourth decimal. At k = 10 (the default) star98 gets exactly
  the scores without fences, ccard keeps its real INCOMESQ tail (95.8, 100; k = 5 clipped them), and anes96 is the
  one table they still bind in: its popul column (the respondent's town population, a power law: 5% of the
  values lie past Q3 + 10·IQR, 2% even past Q3 + 50·IQR) is clipped at 1000 instead of 7300, .859 .923 .923
  against .880 .923 .930 without (3 and 1 of 142 test rows). A column like that is a real tail, not typos:
  --set data.clip_fences=none keeps it (the README says so).
  The defaults before, re-measured the same day: 12 of 80 as in the run before (wine .969 −.004 +.004 2, breast
  .971 −.0029 +.0012 5, diabetes .449 −.001 −.001 0, iris .941 −.0043 +.011 5). Tried the same day and not kept:
  tree-based bins for the piecewise-linear encoding (the paper's T-LR: each feature's edges from a decision tree on
  the target, max_leaf_nodes = bins, min_samples_leaf 5) in the wide path, with the quantile clip only: 8 bins
  wine .972 +.000 1 miss, breast .967 −.0064 8, diabetes .449 −.0008 1, iris .937 −.0087 5 (15 of 80); 4 bins
  wine .967 −.0056 3, breast .970 −.0035 6, diabetes .453 +.0029 0, iris .939 −.0065 5 (14 of 80). Like the
  quantile bins, they buy wine (8 bins) or diabetes (4) with breast cancer.

  The same per-seed target put to the baselines themselves (each against the better of the two, on the same
  80 cells): the linear model misses it on 12 of 80 (wine 4, breast cancer 5, diabetes 0, iris 3), boosting
  on 41 (9, 11, 13, 8). The network misses it a little less often than the linear model. Most of its misses
  are seeds where it equals the linear model to the row and boosting is better (wine 4 12, iris 3 8 10; in
  the run before, 13 of 80, breast cancer 8 and 9 were too); the others are one or two test rows below
  (one row: 3.7 points of wine's 27, 1.2 of breast cancer's 86, 4.3 of iris' 23).
  The step before (the same budget and clip bounds, the wide path started at random, as in the table below):
    wine .967 −.006 +.002 5 | breast .970 −.0035 +.001 7 | diabetes .451 +.0008 +.0008 1 | iris .920 −.026 −.011 13
    = 26 of 80 (the linear model 13, boosting 38: the same baselines). Starting at the linear fit halved the
  misses, improved wine's and iris' mean gaps, kept breast cancer's, and moved diabetes' R² by −.0004 (the
  rule for changing the defaults: fewer misses, no dataset's mean gap worse beyond noise, diabetes R² not
  worse by > .01); the runs also stop sooner (mean epochs wine 161, breast 71, diabetes 36, iris 164).
  model.wide_init=linear was measured earlier as an option (17 -> 9 of 60 on the three tables, before the
  step budget and clip bounds) and not made a default then because breast cancer's mean gap moved by −.001.

  Numeric embeddings, tried last (issue 8's remaining target; 2026-11-28, one run of 80 at a time, load 1-6 on
  the shared 2 cores): model.num_embedding=ple, the piecewise-linear encoding of Gorishniy, Rubachev & Babenko
  2022 over quantile bins of the training split (models/ple.py), into the deep path (ple_paths=deep: the wide
  path keeps the raw features and its linear start), the wide path (wide: an additive piecewise-linear model
  started exactly at the linear fit, the dense layers on the raw features) or both. First the defaults again,
  the same day: 12 of 80, as the table above (breast cancer seed 8 became a hit since the run of 13). Columns as
  above (network, mean gap to the better baseline, to linear, misses):
                                          wine               breast              diabetes R²        iris               misses
    the defaults, re-measured             .969 −.004 +.004 2  .971 −.0029 +.001 5  .449 −.001 −.001 0  .941 −.004 +.011 5  12
    deep path, 4 bins                     .963 −.009 −.002 5  .966 −.0075 −.003 13 .440 −.010 −.010 1  .930 −.015 +.000 7  26
    deep path, 8 bins                     .969 −.004 +.004 4  .964 −.0099 −.006 13 .440 −.010 −.010 4  .935 −.011 +.004 5  26
    deep path, 16 bins                    .967 −.006 +.002 4  .965 −.0087 −.005 11 .444 −.006 −.006 1  .935 −.011 +.004 7  23
    deep path, 32 bins                    .965 −.007 −.000 5  .964 −.0099 −.006 12 .445 −.005 −.005 1  .930 −.015 +.000 7  25
    deep, 16 bins, model.dropout=0.1      .967 −.006 +.002 5  .965 −.0093 −.005 12 .443 −.007 −.007 1  .935 −.011 +.004 6  24
    deep, 16 bins, train.lr=3e-4          .965 −.007 +.000 4  .968 −.0058 −.002 6  .447 −.002 −.002 0  .937 −.009 +.007 5  15
    deep, 16 bins, model.ple_dim=8 (each  .970 −.002 +.006 2  .962 −.0116 −.008 14 .444 −.006 −.006 2  .935 −.011 +.004 6  24
      feature's bins through its own Linear(16, 8) + ReLU, the paper's Q-LR)
    both paths, 16 bins                   .967 −.006 +.002 4  .964 −.0099 −.006 13 .449 −.001 −.001 2  .935 −.011 +.004 6  25
    wide path, 16 bins                    .967 −.006 +.002 3  .967 −.0070 −.003 8  .452 +.002 +.002 1  .941 −.004 +.011 5  17
    wide path, 8 bins                     .970 −.002 +.006 1  .965 −.0087 −.005 9  .452 +.002 +.002 0  .941 −.004 +.011 5  15
    wide path, 4 bins                     .969 −.004 +.004 2  .968 −.0058 −.002 7  .453 +.004 +.004 0  .943 −.002 +.013 4  13
    wide path, 2 bins                     .969 −.004 +.004 2  .967 −.0064 −.002 7  .452 +.002 +.002 0  .937 −.009 +.007 6  15
    wide path, 16 bins, train.lr=3e-4     .963 −.009 −.002 4  .968 −.0058 −.002 7  .452 +.002 +.002 0  .941 −.004 +.011 5  16
    wide path, 8 bins, train.lr=3e-4      .969 −.004 +.004 2  .966 −.0081 −.004 10 .451 +.001 +.001 0  .941 −.004 +.011 4  16
    wide path, 4 bins, train.lr=3e-4      .969 −.004 +.004 2  .966 −.0076 −.003 9  .450 +.000 +.000 0  .941 −.004 +.011 4  15
  None meets the rule for changing the defaults (fewer misses, no dataset's mean gap worse by more than one test
  row over the 20 seeds, diabetes R² not worse by > .01), and none misses fewer cells than the defaults. The
  encoding in the deep path costs breast cancer 6-9 seeds whatever the bins, dropout or embedding: its train
  loss falls faster and validation loss turns up within ~10 epochs (seed 0: best epoch 6 against 27), the
  dense layers reading 16 numbers per input column instead of one, and breast cancer is a table where the
  linear model is the better baseline on most seeds (boosting misses 11 of 20). A slower rate (3e-4) narrows
  that, but only back toward the linear model. On the wide path the encoding helps where threshold-like
  structure is: diabetes' R² +.001 to +.005 (the deep-path variants lower it), wine with 8 bins 1 miss, iris
  with 4 bins 4 misses and −.002; but breast cancer again loses 5-10 test rows over its 20 seeds (2-5 more
  misses). So model.num_embedding stays an option, off by default (none): `--set model.num_embedding=ple
  --set model.ple_paths=wide --set model.ple_bins=4` is the variant to try on a table where boosting beats
  the linear model. Each run of 80 took 68-100 s of CPU time
  against the defaults' 81 s (the encoding is a subtraction, a division and two clamps per bin; the lr 3e-4
  runs train ~50% more epochs: 109-142 s).

  Two changes got there from the defaults before (34 of 80), each measured on the same 80 cells:
                                        wine                breast              diabetes R²        iris                misses
    before (interpolated clip bounds,   .961 −.015 −.006 9  .971 −.003 +.001 7  .451 +.001 +.001 1  .854 −.087 −.048 17  34
      200 epochs, patience 20)
    clip bounds at training values      .965 −.007  .000 6  .970 −.004 +.001 7  .451 +.001 +.001 1  .904 −.041 −.026 13  27
      (inner side of each quantile)
    + budget in steps, 2000 / 200       .967 −.006 +.002 5  .970 −.004 +.001 7  .451 +.001 +.001 1  .920 −.026 −.011 13  26
    + wide path at the linear fit       .969 −.004 +.004 2  .970 −.004 +.001 6  .450  .000 +.001 0  .939 −.007 +.009  5  13
      (the defaults now)
  The clip bounds: iris' training split has ~100 values per column, and numpy's interpolated 0.99 quantile
  sat 1% of the way to a typo 10^4 too large (petal width clipped at 102, its spread squashed to a hundredth
  once scaled): that, not the budget, was most of iris' "underfitting" (train loss ~.4). The bounds are now
  training values on the inner side of each quantile (data/preprocess.py), so one typo is clipped whole;
  it costs breast cancer one test row on seed 9 (already a miss). The budget in steps
  (config.TABLE_MIN_STEPS / TABLE_PATIENCE_STEPS, `table_budget`): epochs and patience that TABLE_DEFAULTS
  set become max(200, ceil(2000 / steps per epoch)) and max(20, ceil(200 / steps per epoch)); iris and wine
  (4 steps an epoch at batch 32) get 500 / 50, breast cancer (13) and diabetes (10) keep 200 / 20, so their
  cells are unchanged. Iris' runs then stop at epochs 113-470 (none at the cap), wine's at 91-424.
  Tried and not kept (same 80 cells; wine, breast, diabetes, iris as above, then misses):
    budget 2000 / 200, interpolated clip bounds   .965 −.011 −.002 6  as before 7  as before 1  .885 −.057 −.017 16  30
    budget 4000 / 400, interpolated clip bounds   .961 −.015 −.006 9  .970 −.004 +.001 8  .450  .000  .000 1  .891 −.050 −.011 14  32
    budget 3000 / 300 (breast 231 / 24)           .969 −.004 +.004 5  .969 −.005 −.001 7  .451 +.001 +.002 1  .926 −.020 −.004 11  24
    budget 2000 / 400                             .967 −.006 +.002 5  .970 −.004 +.001 7  .450 −.000 +.000 1  .920 −.026 −.011 14  27
    budget 2000 / 200, model.dropout=0            .963 −.009 −.002 6  (not run)           (not run)           .920 −.026 −.011 11
  3000 / 300 came closest: 24 misses, but breast cancer (then 231 epochs, patience 24) loses a test row on
  seeds 9 and 13 (mean gap −.0035 -> −.0046), so by the rule for changing the defaults (fewer misses and no
  dataset's mean gap worse) it is not kept. Dropout 0 on the two smallest tables trades misses (iris 13 -> 11)
  for a worse mean gap on wine (−.006 -> −.009), so the defaults keep 0.2; a batch of 8 on iris (200 epochs,
  interpolated bounds, seeds 0-4) missed 5 of 5. Iris' remaining misses are mostly one test row (23 rows: 4.3
  points) against boosting, which fits its training split perfectly; the network is now within a quarter of a
  row of the linear model on average.
  The diagnosis of the iris runs that ended at the cap before (200 epochs, best val_loss at the last epoch,
  falling ~1e-6 per epoch as the cosine schedule had taken the lr to ~0): seed 7 "underfitting", in plain
  words against the baselines ("the model reaches 0.933 accuracy on its own training data, 0.038 below a
  linear model (0.971)"), with "Train longer: raise train.epochs (now 200)" among the steps; seed 18
  "overfitting" on a train-validation accuracy gap of two of 23 validation rows. No run of seeds 0-19 reaches
  the cap with the budget in steps.

Measured before (2-core shared CPU, torch 2.13 CPU; test split; network = the defaults then, no flags;
clip bounds interpolated, 200 epochs, patience 20 on every table):

    dataset        seed   network   linear  boosting      gap
    wine (acc)     0,1,2  .963 .963 .963   1.00 .963 .963   1.00 .926 .963   -.037 (1 of 27 rows)  .000  .000
    breast (acc)   0,1,2  .942 .977 .930   .942 .988 .953   .953 .930 .942   -.012 (1 of 86) -.012  -.023 (2 of 86)
    diabetes (R²)  0,1,2  .252 .391 .514   .189 .383 .522   -.017 .253 .374  +.063  +.008  -.008

  Against the baseline that validates better (`gap(val)`, the one a user would pick): wine −.037, 0, 0;
  breast cancer 0, +.047, −.023; diabetes as above. The regression target (within 0.05 R²) holds on every seed; classification is within one or two test
  rows of the better baseline, short of the 1-point target on wine seed 0 and breast cancer (27- and
  86-row test splits: one row is 3.7 and 1.2 points).

  --outliers (network test accuracy / R², seeds 0, 1, 2; no clipping was the default before), first with the
  defaults of that time:
    wine       no clip .963 .963 .926 | [.001, .999] .963 .963 .926 | [.01, .99] .963 .963 .963
    breast     no clip .942 .802 .953 | [.001, .999] .953 .977 .953 | [.01, .99] .942 .977 .930
    diabetes   no clip -3471 .364 .417 | [.001, .999] .224 .363 .418 | [.01, .99] .252 .391 .514
  and again with today's (2026-11-28, fourth session: clip bounds at training values, the wide path at the linear
  fit; --datasets wine breast_cancer diabetes iris --set train.threads=1), the last column the defaults now:
               no clip              [.001, .999]         [.01, .99]           [.01, .99] + fences k = 5 (the
                                                                                  network's scores at k = 10 too)
    wine       .926 .963 .963       1.00 .963 .963       1.00 .963 .963       1.00 .963 .963
    breast     .942 .988 .919       .942 .988 .930       .930 .988 .953       .930 .988 .953
    diabetes   -9031 .379 .424      .176 .377 .520       .172 .381 .520       .172 .381 .520
    iris       .957 .739 .913       1.00 .783 .957       1.00 .783 .957       1.00 .783 .957
  On seeds 0-2 the fences change no network score (they give iris its sepal length back there too, but beside
  the petals it carries little: the network gains on seeds 8, 10 and 16 of 0-19, see "Measured now"); without any clipping one typo still takes diabetes' R²
  to −9031 on seed 0.

  Tried against the classification gaps, none closing them (so not in TABLE_DEFAULTS), networks' test
  accuracy, seeds 0, 1, 2 (linear 1.00 .963 .963 and .942 .988 .953, boosting 1.00 .926 .963 and .953 .930 .942):
    --set model.wide=true                 wine .963 .963 .963   breast .953 .977 .930   diabetes R² .217 .390 .526
      + train.weight_decay=1e-2 (coupled) wine .963 .963 .963   breast .965 .977 .953   diabetes R² .212 .384 .524
      + adamw, weight_decay 1e-3..1         wine seed 0 .963 always; breast seed 1 or 2 one to three rows short
      + label smoothing .05/.1/.2, weight averaging (SWA over the epochs after the best, alone or mixed
        with the best weights), zero-initialized deep head or wide path: wine seed 0 .963, breast 1-3 rows short
      + predictions of the best weights averaged with those of the SWA weights: wine seed 0 .926, worse
  (each a local experiment; only model.wide and the weight decay are options today).
  Tried next (issue 8, local experiments; wine / breast cancer accuracy, diabetes R², seeds 0, 1, 2):
    deep ensemble of K=5 default MLPs trained jointly as one module (each member on its own loss, the
    ensemble predicting the mean member probability, early stopping on the ensemble's validation loss)
                                          wine .963 .963 .963   breast .965 .977 .942   diabetes R² .217 .378 .515
      K=10                                wine .926 .963 .963   breast .942 .977 .919   diabetes R² .209 .371 .514
      K=5, train.patience=40              wine .963 .963 .963   breast .965 .977 .919   diabetes R² .217 .376 .515
      K=5, lr 3e-3 / lr 1e-2              wine seed 0 .926 with either; breast (lr 1e-2) .942 .965 .942
      K=5, early_stopping=false (200 ep.) wine .963 .963 .963   breast .953 .965 .930   diabetes R² .206 .371 .506
      K=5, lr 1e-2, early_stopping=false, 300 epochs (cosine to 0)
                                          wine 1.00 .963 .963   breast .988 .977 .942   diabetes R² .094 .357 .491
      K=5, the same at lr 3e-3            breast .988 .977 (seed 2 not run): seed 1 again one row short
      K=1 (one network), the same         wine 1.00 .963 .963   breast .965 .977 .930   diabetes R² .065 .335 .469
      K=1, early_stopping=false (200 ep.) wine .963 .963 .963   breast .965 .965 .930   diabetes R² .223 .392 .511
  The closest: the K=5 ensemble trained to the end at lr 1e-2 closes wine (all seeds) and breast seed 0
  (+.035), but breast seeds 1 and 2 stay one test row (1.2 points) short and diabetes loses up to .09 R²
  to linear (so it could only be a classification default); no setting tried closes all 9 cells.
  Wine seed 0 stays one row (or two) short with every network tried, even the wide path alone
  (model.wide=true model.hidden=[]) with LogisticRegression's own penalty (train.l2 = 1/n_train) and best-validation
  weights; trained to the end instead (train.early_stopping=false, lr 1e-2, 300 epochs) it matches
  LogisticRegression: the 27-row validation split picks an epoch that is one row off.

  Tried last (issue 8's remaining target). Local experiments on the test outputs of every epoch of the
  default run trained to epoch 200 (early stopping only cuts that run short, so any rule that picks an
  epoch is scored offline; where the real code path ran too, it gave the same numbers). Network test
  accuracy / R² on seeds 0, 1, 2, 3; * = more than 1 point (0.05 R²) below the better baseline; misses
  among the 9 cells of seeds 0-2 and among the 30 of seeds 0-9 (the defaults: wine seeds 0 4 5 6 7 9,
  breast cancer 0 1 2 4 9):
                                          wine                  breast cancer          diabetes R²          miss
    defaults (best val_loss, patience 20) .963* .963 .963 1.00  .942* .977* .930* .988  .252 .391 .514 .458  4/9 11/30
    epoch chosen on a smoothed val_loss (patience counted on the smoothed curve):
      EMA 0.5, 0.7, 0.8                   wine and breast seeds 0-2 as the defaults                        4/9 11/30
      EMA 0.9                             .963* .963 .963 1.00  .953 .977* .930* 1.00   .228 .390 .513 .463  3/9 10/30
      centred mean of 5 or 7 epochs       wine and breast seeds 0-2 as the defaults                        4/9 11/30
      centred mean of 11 epochs           as EMA 0.9 on wine and breast seeds 0-2                          3/9 10/30
      EMA to stop, raw best epoch kept    as the defaults                                                4/9 11/30
      the best *test* epoch (an oracle)   .963* .963 .963 1.00  .965 .977* .965 1.00   .262 .396 .521 .485  2/9 6/30
    No rule that picks an epoch of this run closes wine seed 0 or breast cancer seed 1: none of its 200
    epochs gets 27/27 or 85/86 test rows right, so epoch selection alone cannot meet the target.
    Refit on train+val (preprocessing refitted there) for the epochs E early stopping chose; for
    fairness the baselines refitted on train+val too (linear 1.00 .963 .963 .963 | .930 .988 .953 .977 |
    R² .169 .396 .522 .459; boosting 1.00 .963 .963 1.00 | .953 .942 .930 .977 | −.046 .184 .332 .443):
      E epochs                            .963* .963 .963 .963* .930* .977* .942* .977  .222 .414 .514 .443  4/9 11/30
      E·70/85 epochs (same step count)    .963* .963 .963 .963* .930* .977* .953 .965*  .233 .406 .513 .448  3/9 11/30
      all 200 epochs                      1.00 .963 .963 .963*  .942* .965* .942* .988  .196 .418 .507 .470  3/9 7/30
    5-fold cross-validated E (argmin of the folds' mean val_loss curve; stratified folds over train+val),
    against the baselines refitted on train+val as above:
      final model refit on train+val      1.00 .963 .963 .963*  .930* .965* .942* .988  .215 .408 .518 .450  3/9 7/30
      mean of the 5 fold models at E      1.00 .963 .963 1.00   .930* .965* .930* .977  .228 .399 .516 .457  3/9 7/30
    train.l2 = the linear baseline's own penalty (1/(C·n_train) for LogisticRegression, ×2 with two
    logits for two classes; 2α/n_train for RidgeCV's chosen α)
                                          .963* .963 .963 1.00  .965 .977* .953 .988  .220 .383 .504 .427  2/9 10/30
    --set model.wide=true --set model.wide_init=linear: the network starts as the linear baseline (its
    wide path at LogisticRegression's / RidgeCV's weights, the deep head at zero; models/linear_init.py)
                                          1.00 .963 .963 .963   .930* .988 .953 1.00   .172 .381 .520 .481  1/9 4/30
      + the linear baseline's l2          1.00 .963 .963 .963   .930* .988 .930* .988  .187 .383 .519 .461  2/9 6/30
      + the wide path frozen (seeds 0-3)  1.00 .963 .963 .963   .942* .988 .930* .988  .177 .382 .519 .481  2/9
      + refit on train+val for E epochs   1.00 .963 .963 .963*  .942* .988 .953 .977   .148 .400 .524 .489  1/9 6/30
      + 5-fold E, refit on train+val      1.00 .963 .963 .963*  .930* .988 .942* .977   .140 .421 .526 .485  2/9 6/30
      + 5-fold E, mean of the fold models 1.00 .963 .963 .963*  .930* .988 .942* .988   .155 .415 .527 .481  2/9 6/30
      + 5 members (own deep init and batch order, one split; epoch by the mean's val_loss)
                                          1.00 .963 .963 .963   .965 .988 .930* .988   .174 .384 .536 .483  1/9 4/30
  model.wide_init=linear is the one mechanism that helps broadly: misses 11 -> 4 of 30 on seeds 0-9
  (breast cancer seeds 0 4 8 9; on 0, 8 and 9 boosting beats the linear model the network starts from),
  but only 6 -> 5 of 30 on seeds 10-19 (defaults: wine 11 13 16, breast 16 17, diabetes 18 at R² .393
  against linear's .462; wide_init=linear: wine 11 12 13, breast 16 17), 17 -> 9 of 60 in all. Breast
  cancer seed 0 (.930 against boosting's .953) keeps it short of the target on seeds 0-2, so it is an
  option, off by default. The refit and k-fold variants gain less than the baselines gain from the same
  extra rows.
  The target asks the network to tie or beat the better of two baselines to the test row on every seed
  (one row is 3.7 points of wine's 27 and 1.2 of breast cancer's 86), so a network as good as the
  baselines on average still misses some seeds by chance. Averaged over seeds 0-19 the gap to the
  better baseline of each seed is wine −.015 (wide_init=linear −.006), breast cancer −.003 (−.004),
  diabetes R² +.001 (+.001); to the linear model alone wine −.006 (+.004), breast +.001 (+.001).
  A fourth table, iris (--datasets iris, 105 training rows), was further off than the three: the defaults
  missed all 10 seeds (network .783 .696 .913 .826, linear .870 .783 .913 .913, boosting .913 .870 .957 .957
  on seeds 0-3): the network underfit (train loss ~.4, val_loss still falling at epoch 200).
  model.wide_init=linear matched the linear model exactly there and missed 8 of 10 against boosting;
  train.lr=1e-2, train.epochs=1000 or model.dropout=0 missed 8, 10 and 8 of 10. The cause and the fix are
  in "Measured now" above (clip bounds, then a budget in steps).

    python benchmarks/tables.py            # 3 datasets x 3 seeds, a few minutes
    python benchmarks/tables.py --outliers # no clipping vs the default
    python benchmarks/tables.py --tiny     # seconds: one dataset, one seed, 2 epochs
    python benchmarks/tables.py --seeds 10 --set model.wide=true --set model.wide_init=linear
    python benchmarks/tables.py --datasets iris --seeds 10
    python benchmarks/tables.py --datasets wine breast_cancer diabetes iris --seeds 0-19 --set train.threads=1
    python benchmarks/tables.py --datasets wine breast_cancer diabetes iris --seeds 0-19 --set train.threads=1 \
        --set model.num_embedding=ple --set model.ple_paths=wide --set model.ple_bins=4
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

DATASETS = ("wine", "breast_cancer", "diabetes")
EXTRA = ("iris",)
TARGET = {"accuracy": 0.01, "r2": 0.05}  # issue 8: within 1 point of accuracy / 0.05 R² of the better baseline  # a fourth table, checked by hand (--datasets iris): the smallest, 105 training rows


def messy_frame(name: str, *, seed: int = 0, gaps: float = 0.05, outliers: int = 4) -> pd.DataFrame:
    """scikit-learn's `name` table as a messy DataFrame: id, a category, gaps, gross outliers, target `y`."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    x = pd.DataFrame(bunch.data, columns=[c.replace(" ", "_") for c in bunch.feature_names])
    rng = np.random.default_rng(1000 + seed)
    n = len(x)
    cells = x.to_numpy(copy=True)
    hit = rng.random(cells.shape) < gaps
    for r, c in zip(rng.integers(0, n, outliers), rng.integers(0, cells.shape[1], outliers), strict=True):
        cells[r, c] = cells[r, c] * 1000 + 1000 * (np.abs(cells[:, c]).max() + 1)  # a typo: extra digits
    cells[hit] = np.nan
    x = pd.DataFrame(cells, columns=x.columns)
    # a category that carries some signal: the first feature's quartile, 20% of them shuffled
    q = pd.qcut(bunch.data[:, 0], 4, labels=["low", "mid", "high", "top"]).astype(str).to_numpy()
    flip = rng.random(n) < 0.2
    q[flip] = rng.choice(["low", "mid", "high", "top"], flip.sum())
    x.insert(0, "grade", q)
    x.insert(0, "id", rng.permutation(n) + 1001)
    if name == "breast_cancer":
        x["y"] = np.asarray(bunch.target_names)[bunch.target]  # class names as text
    else:
        x["y"] = bunch.target
    return x


def write_messy(name: str, folder: Path, **kw) -> Path:
    path = folder / f"{name}-messy.csv"
    messy_frame(name, **kw).to_csv(path, index=False, na_rep="NA")
    return path


def one(path: Path, *, seed: int, out: Path, extra: dict) -> dict:
    import idealfit as fit

    run = fit.train(data=str(path), target="y", seed=seed, out=out, verbose=False, progress=False, set=extra)
    s = run.summary
    key = "accuracy" if s["task"] == "classification" else "r2"
    b = s["baselines"]
    net, lin, boo = s["metrics"]["test"][key], b["linear"]["test"][key], b["boosting"]["test"][key]
    picked = max(("linear", "boosting"), key=lambda k: b[k]["val"][key])  # the one a user would pick: by validation
    return {"seed": seed, "metric": key, "net": net, "linear": lin, "boosting": boo, "gap": net - max(lin, boo),
            "gap_val": net - b[picked]["test"][key], "epochs": s["epochs_run"], "seconds": s["seconds"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="one dataset, one seed, 2 epochs (a smoke test)")
    ap.add_argument("--outliers", action="store_true", help="no clipping vs clipping to quantiles")
    ap.add_argument("--seeds", type=seed_list, default=(0, 1, 2),
                    help="a count (10 = seeds 0-9), a range (0-19) or a list (3,5,8)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="extra config for every run")
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS + EXTRA)
    args = ap.parse_args(argv)
    from idealfit.config import parse_sets

    given = parse_sets(args.set)
    names, seeds = (("wine",), (0,)) if args.tiny else (tuple(args.datasets), args.seeds)
    variants = {"default": given}
    if args.outliers:
        variants = {"no clip": {"data.clip_quantiles": None, "data.clip_fences": None},
                    "clip .001": {"data.clip_quantiles": [0.001, 0.999], "data.clip_fences": None},
                    "clip .01": {"data.clip_quantiles": [0.01, 0.99], "data.clip_fences": None},
                    "+fences 10": {}}  # the defaults: quantiles [0.01, 0.99] and Tukey's fences at k = 10
    if args.tiny:
        variants = {k: {**v, "train.epochs": 2} for k, v in variants.items()}
    print(f"{'dataset':<14} {'seed':>4} {'variant':<12} {'metric':<8} {'network':>8} {'linear':>8} "
          f"{'boosting':>8} {'gap':>7} {'gap(val)':>8} {'epochs':>6}")
    worst, rows = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = write_messy(name, Path(tmp))
            for seed in seeds:
                for label, extra in variants.items():
                    r = one(path, seed=seed, out=Path(tmp) / f"{name}-{seed}-{len(worst)}-{label.replace(' ', '_')}",
                            extra=extra)
                    worst[(name, label)] = min(worst.get((name, label), np.inf), r["gap"])
                    rows.setdefault((name, label), []).append(r)
                    print(f"{name:<14} {seed:>4} {label:<12} {r['metric']:<8} {r['net']:>8.4f} {r['linear']:>8.4f} "
                          f"{r['boosting']:>8.4f} {r['gap']:>+7.4f} {r['gap_val']:>+8.4f} {r['epochs']:>6}", flush=True)
    for (name, label), gap in worst.items():
        print(f"worst gap {name} ({label}): {gap:+.4f}")
    for (name, label), rs in rows.items():
        print(summary_line(name, label, rs))
    return 0


def seed_list(text: str) -> tuple[int, ...]:
    """`--seeds`: "10" = seeds 0-9 (a count, as before), "0-19" = a range, "3,5,8" = a list."""
    try:
        if "," in text:
            return tuple(int(s) for s in text.split(","))
        if "-" in text:
            lo, hi = (int(s) for s in text.split("-"))
            return tuple(range(lo, hi + 1))
        return tuple(range(int(text)))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count, a range (0-19) or a list (3,5,8)") from None


def summary_line(name: str, label: str, rs: list[dict]) -> str:
    """One dataset's seeds: mean gap to the better baseline and to the linear model, misses of the target."""
    tol = TARGET[rs[0]["metric"]]
    misses = [r for r in rs if r["gap"] < -tol]
    # the same per-seed target put to each baseline (against the better of the two): how often the target
    # is missed by a model that is, by construction, as good as a baseline
    own = {k: sum(r[k] - max(r["linear"], r["boosting"]) < -tol for r in rs) for k in ("linear", "boosting")}
    return (f"summary {name} ({label}, {len(rs)} seeds): network {np.mean([r['net'] for r in rs]):.4f}, "
            f"mean gap to the better baseline {np.mean([r['gap'] for r in rs]):+.4f}, to linear "
            f"{np.mean([r['net'] - r['linear'] for r in rs]):+.4f}, misses {len(misses)} of {len(rs)} "
            f"(seeds {' '.join(str(r['seed']) for r in misses) or '-'}), mean epochs "
            f"{np.mean([r['epochs'] for r in rs]):.0f}; the same target missed by linear {own['linear']}, "
            f"by boosting {own['boosting']}")


if __name__ == "__main__":
    raise SystemExit(main())
