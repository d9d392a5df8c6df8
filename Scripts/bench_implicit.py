#!/usr/bin/env python3
"""Central baselines for GossipRec on an NCF leave-one-out split: `implicit` BPR and ALS, and ItemPop.

Usage:  python3 Scripts/bench_implicit.py PREFIX [--grid small|none] [--models bpr,als,itempop] [--seed 1]
        python3 Scripts/bench_implicit.py --self-test

Input (exactly the text format of He et al., "Neural Collaborative Filtering", WWW 2017,
github.com/hexiangnan/neural_collaborative_filtering, Data/ml-1m.*; ids are 0-indexed and dense):
  PREFIX.train.rating    `user\\titem\\trating\\ttimestamp` per line
  PREFIX.test.rating     one line per user: `user\\titem\\trating\\ttimestamp` (the held-out positive)
  PREFIX.test.negative   one line per user: `(user,item)\\tneg1\\t...\\tneg99`
  PREFIX.validation.rating  optional (gossiprec split): each user's second-latest interaction, read as training data

Training data are binary: every (user, item) pair of the train file is a positive with value 1 (ratings and
timestamps are only used to pick the validation item, see below).

Metrics (NCF protocol): for each test user the positive is scored against its 99 negatives; rank = number of
negatives scoring strictly higher than the positive PLUS the number scoring exactly the same (ties count against
the model, as in gossiprec's RankingMetrics, so a constant scorer gets the worst rank); HR@10 = mean(rank < 10);
NDCG@10 = mean(1/log2(rank + 2) if rank < 10 else 0). Each line also reports `tied_users` (test users with at least
one negative scoring exactly the positive's score: many for ItemPop, ~0 for MF models) and `hr10_ties_best` (HR@10
when ties are counted in the positive's favour, as some published evaluation code does).

Models (library `implicit`, Frederickson, github.com/benfred/implicit; CPU code, single thread):
  * BPR (Rendle et al., UAI 2009), `implicit.cpu.bpr.BayesianPersonalizedRanking(factors=32, ...)`.
    About `factors` and the bias: implicit's CPU BPR allocates factors + 1 columns; the last item column is a
    learned item bias and the matching user column is fixed at 1.0 (bpr.pyx: "the final dimension is for the
    item bias term - which is set to a 1 for all users"). So factors=32 gives 32 latent dimensions PLUS an item
    bias, i.e. the same 32-dimensional embeddings as `gossiprec train --dim 32`, with one extra bias per item.
    One implicit "iteration" draws nnz(train) (user, positive, negative) triples: the positive uniformly over
    train interactions, the negative uniformly over the train interaction list (so popularity-proportional),
    skipped when the user has it (verify_negative_samples=True). Throughput is therefore
    iterations * nnz(train) / train seconds ("positive samples per second"), skipped draws included.
  * ALS (Hu, Koren & Volinsky, ICDM 2008; conjugate-gradient solver of Takács et al. 2011),
    `implicit.cpu.als.AlternatingLeastSquares(factors=32, ...)`: 32 latent dimensions, no bias; confidence alpha * 1.
  * ItemPop: score = number of train interactions of the item.

Hyper-parameters (--grid small, the default): a small grid per model is scored on a VALIDATION split carved
out of the train file (each user's latest train interaction by timestamp, ties by larger item id, for users with
at least 2 train interactions; 99 negatives sampled, seeded, from items the user never touched in train or test),
so the test items are never used for selection. The best configuration by validation HR@10 (then NDCG@10) is
refitted on the full train file, and only that refit is timed and evaluated on test. --grid none uses the first
configuration of each grid (the documented defaults). Seeds are fixed (random_state), so runs are repeatable up to
timing noise.

Output: one JSON line per model on stdout, keys:
  model, hr10, ndcg10, tied_users, hr10_ties_worst, params, selected_by (validation|default|none), val_hr10,
  seconds          train wall seconds of the final fit: median of --repeats identical fits (default 3; all of them
                   in seconds_all); the machine is shared, so a single fit's time is noisy,
  cpu_seconds      median process CPU seconds of the same fits,
  samples_per_second      BPR only (null otherwise): iterations * train interactions / seconds,
  samples_per_cpu_second  BPR only: the same per CPU second,
  users, items, train_interactions, test_users, implicit_version.
Progress goes to stderr.
"""

import os

# Single-threaded BLAS/OpenMP, set before numpy/scipy/implicit are imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import json
import sys
import time
import warnings


def log(msg):
    print(f"bench_implicit: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(f"error: {msg}")
    sys.exit(2)


try:
    import numpy as np
    import scipy.sparse as sp
    import implicit
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError as e:  # pragma: no cover - environment problem
    fail(f"{e}; install with `pip install implicit threadpoolctl` (Scripts/bench-central.sh does it in .venv-bench)")

# Grids: first entry of each is the `--grid none` default. Kept small so the whole run stays well under 2 min.
BPR_GRID = [
    dict(learning_rate=lr, regularization=reg, iterations=it)
    for it in (100, 50, 200)
    for lr in (0.01, 0.005, 0.05)
    for reg in (0.01, 0.001)
]
ALS_GRID = [
    dict(regularization=reg, alpha=alpha, iterations=15)
    for alpha in (1.0, 10.0, 40.0)
    for reg in (1.0, 0.1, 10.0, 50.0)
]
FACTORS = 32
LAST_CPU_SECONDS = 0.0  # process CPU seconds of the latest fit (less sensitive to a busy machine than wall time)


# ---------------------------------------------------------------------------------------------- reading
def read_rating_file(path):
    """Returns an int64 array (n, 4) of `user item rating timestamp` rows; ratings may be floats in NCF files."""
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                parts = line.split("\t")
                if len(parts) < 2:
                    fail(f"{path}:{lineno}: expected `user<TAB>item<TAB>rating<TAB>timestamp`, got {line[:80]!r}")
                try:
                    u, i = int(parts[0]), int(parts[1])
                    r = float(parts[2]) if len(parts) > 2 else 1.0
                    t = int(float(parts[3])) if len(parts) > 3 else 0
                except ValueError:
                    fail(f"{path}:{lineno}: non-numeric field in {line[:80]!r}")
                if u < 0 or i < 0:
                    fail(f"{path}:{lineno}: negative id in {line[:80]!r} (ids must be 0-indexed and dense)")
                rows.append((u, i, r, t))
    except FileNotFoundError:
        fail(f"{path} not found")
    if not rows:
        fail(f"{path} has no rows")
    return rows


def read_negative_file(path):
    """Returns {user: (positive item, [negative items])} from `(user,item)\\tneg...` lines."""
    out = {}
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                parts = line.split("\t")
                head = parts[0]
                if not (head.startswith("(") and head.endswith(")") and "," in head):
                    fail(f"{path}:{lineno}: expected `(user,item)` first, got {head[:40]!r}")
                try:
                    u, i = (int(x) for x in head[1:-1].split(","))
                    negs = [int(x) for x in parts[1:]]
                except ValueError:
                    fail(f"{path}:{lineno}: non-numeric id in {line[:80]!r}")
                if not negs:
                    fail(f"{path}:{lineno}: no negatives")
                if u in out:
                    fail(f"{path}:{lineno}: user {u} appears twice")
                out[u] = (i, negs)
    except FileNotFoundError:
        fail(f"{path} not found")
    return out


def load_split(prefix):
    train = read_rating_file(prefix + ".train.rating")
    # A split made by `gossiprec split` with a validation item lists it in PREFIX.validation.rating, not in
    # train.rating; it is training data for a test evaluation (what gossiprec's --evaluate test trains on), so it
    # goes back in here, and this script's own validation holdout (the latest training item) is that same item.
    if os.path.exists(prefix + ".validation.rating"):
        train = train + read_rating_file(prefix + ".validation.rating")
    test = read_rating_file(prefix + ".test.rating")
    negatives = read_negative_file(prefix + ".test.negative")
    test_users, test_items, test_negs = [], [], []
    seen_users = set()
    for lineno, (u, i, _r, _t) in enumerate(test, 1):
        if u in seen_users:
            fail(f"{prefix}.test.rating:{lineno}: user {u} has more than one test item")
        seen_users.add(u)
        if u not in negatives:
            fail(f"{prefix}.test.negative: no line for test user {u}")
        pos, negs = negatives[u]
        if pos != i:
            fail(f"{prefix}.test.negative: user {u} lists positive {pos} but test.rating has {i}")
        test_users.append(u)
        test_items.append(i)
        test_negs.append(negs)
    n_negs = {len(n) for n in test_negs}
    if len(n_negs) != 1:
        fail(f"{prefix}.test.negative: users have different numbers of negatives {sorted(n_negs)}")
    n_users = 1 + max(max(r[0] for r in train), max(test_users))
    n_items = 1 + max(max(r[1] for r in train), max(test_items), max(max(n) for n in test_negs))
    return train, np.array(test_users), np.array(test_items), np.array(test_negs), n_users, n_items


def binary_csr(pairs, n_users, n_items):
    """users x items CSR with value 1 for every distinct (user, item) pair."""
    users = np.fromiter((p[0] for p in pairs), dtype=np.int32, count=len(pairs))
    items = np.fromiter((p[1] for p in pairs), dtype=np.int32, count=len(pairs))
    m = sp.csr_matrix((np.ones(len(pairs), dtype=np.float32), (users, items)), shape=(n_users, n_items))
    m.sum_duplicates()
    m.data[:] = 1.0
    m.sort_indices()
    return m


# ---------------------------------------------------------------------------------------------- metrics
def evaluate(score_fn, users, positives, negatives):
    """NCF HR@10 / NDCG@10 with rank = #negatives scoring higher than or equal to the positive (ties count against)."""
    cands = np.concatenate([positives[:, None], negatives], axis=1)  # (n, 1 + k)
    scores = score_fn(users, cands)
    pos = scores[:, :1]
    higher = (scores[:, 1:] > pos).sum(axis=1)
    ties = (scores[:, 1:] == pos).sum(axis=1)
    rank = np.where(np.isfinite(pos[:, 0]), (~(scores[:, 1:] < pos)).sum(axis=1), negatives.shape[1])
    hit = rank < 10
    ndcg = np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)
    tied = int((ties > 0).sum())
    hr_best = float((higher < 10).mean())
    return float(hit.mean()), float(ndcg.mean()), (tied, hr_best)


def self_test():
    """Checks the metric on hand-made scores (run with --self-test); exits non-zero on a mismatch."""
    users = np.array([0, 1, 2, 3])
    positives = np.array([0, 0, 0, 0])
    negatives = np.array([[1, 2, 3] * 4] * 4)[:, :12]          # 12 negatives per user
    table = np.zeros((4, 4))
    table[0] = [5, 1, 1, 1]       # positive strictly best: rank 0
    table[1] = [1, 1, 1, 1]       # all ties: rank 12 (ties count against) -> miss; 12 tied negatives
    table[2] = [1, 2, 2, 0]       # items 1, 2 higher: 8 of the 12 negatives above -> rank 8
    table[3] = [1, 2, 2, 2]       # every negative higher: rank 12 -> miss
    hr, ndcg, (tied, hr_best) = evaluate(lambda u, c: table[u[:, None], c], users, positives, negatives)
    expect_ndcg = (1.0 + 0.0 + 1.0 / np.log2(10.0) + 0.0) / 4
    checks = [("hr10", hr, 0.5), ("ndcg10", ndcg, expect_ndcg), ("tied_users", tied, 1),
              ("hr10_ties_best", hr_best, 0.75)]
    bad = [(n, got, want) for n, got, want in checks if abs(got - want) > 1e-12]
    for n, got, want in bad:
        log(f"self-test FAILED: {n} = {got}, expected {want}")
    if bad:
        sys.exit(1)
    log("self-test passed: rank = #negatives higher or tied, HR@10 = rank < 10, NDCG@10 = 1/log2(rank + 2)")


def mf_scorer(user_factors, item_factors):
    uf = np.asarray(user_factors, dtype=np.float64)
    itf = np.asarray(item_factors, dtype=np.float64)

    def score(users, cands):
        return np.einsum("nd,nkd->nk", uf[users], itf[cands])
    return score


# ---------------------------------------------------------------------------------------------- validation split
def validation_split(train, test_items_by_user, n_items, n_negs, seed):
    """Leave-latest-out inside train: returns (train_pairs, val_users, val_items, val_negs)."""
    by_user = {}
    for u, i, _r, t in train:
        by_user.setdefault(u, []).append((t, i))
    rng = np.random.default_rng(seed)
    keep, vu, vi, vn = [], [], [], []
    for u in sorted(by_user):
        hist = by_user[u]
        if len(hist) < 2:
            keep.extend((u, i) for _t, i in hist)
            continue
        t_last, i_last = max(hist)
        held_out = False
        for t, i in hist:
            if not held_out and t == t_last and i == i_last:
                held_out = True
                continue
            keep.append((u, i))
        touched = {i for _t, i in hist}
        touched.add(test_items_by_user.get(u, -1))
        if n_items - len(touched) < n_negs:
            continue
        negs = []
        chosen = set()
        while len(negs) < n_negs:
            j = int(rng.integers(n_items))
            if j not in touched and j not in chosen:
                chosen.add(j)
                negs.append(j)
        vu.append(u)
        vi.append(i_last)
        vn.append(negs)
    return keep, np.array(vu), np.array(vi), np.array(vn)


# ---------------------------------------------------------------------------------------------- models
def fit_bpr(matrix, params, seed):
    model = BayesianPersonalizedRanking(factors=FACTORS, num_threads=1, random_state=seed,
                                        verify_negative_samples=True, **params)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(matrix, show_progress=False)
    global LAST_CPU_SECONDS
    LAST_CPU_SECONDS = time.process_time() - c0
    return model, time.perf_counter() - t0


def fit_als(matrix, params, seed):
    model = AlternatingLeastSquares(factors=FACTORS, num_threads=1, random_state=seed, **params)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(matrix, show_progress=False)
    global LAST_CPU_SECONDS
    LAST_CPU_SECONDS = time.process_time() - c0
    return model, time.perf_counter() - t0


def timed_refit(fit, matrix, params, seed, repeats):
    """Fits `repeats` times with the same seed; returns (first model, median seconds, all seconds)."""
    first, times, cpu = None, [], []
    for _ in range(max(1, repeats)):
        model, secs = fit(matrix, params, seed)
        if first is None:
            first = model
        times.append(secs)
        cpu.append(LAST_CPU_SECONDS)
    return first, float(np.median(times)), dict(wall=times, cpu=cpu)


def select(name, grid, fit, val_matrix, val, seed, use_grid):
    """Returns (best params, best validation (hr, ndcg) or None)."""
    if not use_grid:
        return grid[0], None
    best = None
    for params in grid:
        model, secs = fit(val_matrix, params, seed)
        hr, ndcg, _ = evaluate(mf_scorer(model.user_factors, model.item_factors), *val)
        log(f"  {name} {params}: val HR@10 {hr:.4f} NDCG@10 {ndcg:.4f} ({secs:.2f} s)")
        if best is None or (hr, ndcg) > best[1]:
            best = (params, (hr, ndcg))
    log(f"  {name} selected {best[0]} (val HR@10 {best[1][0]:.4f})")
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--self-test", action="store_true", help="check the HR/NDCG code on hand-made scores and exit")
    ap.add_argument("prefix", nargs="?", help="split prefix: reads PREFIX.train.rating, .test.rating, .test.negative")
    ap.add_argument("--grid", choices=("small", "none"), default="small",
                    help="small: pick hyper-parameters on a validation split (default); none: documented defaults")
    ap.add_argument("--models", default="itempop,bpr,als", help="comma list of itempop,bpr,als")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3,
                    help="time the final fit this many times (same seed) and report the median (default 3)")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    if not args.prefix:
        ap.error("PREFIX is required (or --self-test)")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in ("itempop", "bpr", "als"):
            fail(f"unknown model {m!r} in --models (choose from itempop,bpr,als)")

    warnings.filterwarnings("ignore", category=RuntimeWarning, module="implicit")
    threadpool_limits(1)
    blas = [f"{d.get('internal_api')} {d.get('version')} threads={d.get('num_threads')} "
            f"arch={d.get('architecture')}" for d in threadpool_info()]
    log(f"implicit {implicit.__version__}, numpy {np.__version__}; thread pools: {'; '.join(blas) or 'none'}; "
        f"load average {os.getloadavg()[0]:.2f} (2-core machine: timings are noisy when it is busy)")

    train, t_users, t_items, t_negs, n_users, n_items = load_split(args.prefix)
    pairs = [(u, i) for u, i, _r, _t in train]
    matrix = binary_csr(pairs, n_users, n_items)
    nnz = int(matrix.nnz)
    log(f"split {args.prefix}: {n_users} users, {n_items} items, {len(train)} train rows "
        f"({nnz} distinct pairs), {len(t_users)} test users x {t_negs.shape[1]} negatives")
    test = (t_users, t_items, t_negs)

    common = dict(users=n_users, items=n_items, train_interactions=nnz, test_users=int(len(t_users)),
                  implicit_version=implicit.__version__)
    use_grid = args.grid == "small"
    if use_grid and any(m in models for m in ("bpr", "als")):
        vpairs, vu, vi, vn = validation_split(train, dict(zip(t_users.tolist(), t_items.tolist())),
                                              n_items, t_negs.shape[1], args.seed)
        val_matrix = binary_csr(vpairs, n_users, n_items)
        val = (vu, vi, vn)
        log(f"validation split: {len(vu)} users, {val_matrix.nnz} train pairs")
    else:
        val_matrix, val = None, None

    def emit(record):
        print(json.dumps(record), flush=True)

    for name in models:
        if name == "itempop":
            t0 = time.perf_counter()
            pop = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float64)
            secs = time.perf_counter() - t0
            hr, ndcg, tied = evaluate(lambda users, cands: pop[cands], *test)
            emit(dict(model="itempop", hr10=hr, ndcg10=ndcg, seconds=secs, samples_per_second=None,
                      params={}, tied_users=tied[0], hr10_ties_best=tied[1], selected_by="none", **common))
            log(f"itempop: HR@10 {hr:.4f} NDCG@10 {ndcg:.4f} (tied users {tied[0]}, HR@10 with ties in its favour {tied[1]:.4f})")
        elif name == "bpr":
            log(f"bpr: grid of {len(BPR_GRID) if use_grid else 1}")
            params, val_score = select("bpr", BPR_GRID, fit_bpr, val_matrix, val, args.seed, use_grid)
            model, secs, all_secs = timed_refit(fit_bpr, matrix, params, args.seed, args.repeats)
            hr, ndcg, tied = evaluate(mf_scorer(model.user_factors, model.item_factors), *test)
            sps = params["iterations"] * nnz / secs
            cpu_secs = float(np.median(all_secs["cpu"]))
            emit(dict(model="implicit-bpr", hr10=hr, ndcg10=ndcg, seconds=secs, samples_per_second=sps,
                      samples_per_cpu_second=params["iterations"] * nnz / cpu_secs if cpu_secs > 0 else None,
                      params=dict(factors=FACTORS, item_bias=True, **params), tied_users=tied[0],
                      hr10_ties_best=tied[1], seconds_all=all_secs["wall"],
                      cpu_seconds=float(np.median(all_secs["cpu"])),
                      selected_by="validation" if val_score else "default",
                      val_hr10=val_score[0] if val_score else None, **common))
            log(f"bpr: HR@10 {hr:.4f} NDCG@10 {ndcg:.4f}, {secs:.2f} s, {sps:,.0f} pos samples/s")
        elif name == "als":
            log(f"als: grid of {len(ALS_GRID) if use_grid else 1}")
            params, val_score = select("als", ALS_GRID, fit_als, val_matrix, val, args.seed, use_grid)
            model, secs, all_secs = timed_refit(fit_als, matrix, params, args.seed, args.repeats)
            hr, ndcg, tied = evaluate(mf_scorer(model.user_factors, model.item_factors), *test)
            emit(dict(model="implicit-als", hr10=hr, ndcg10=ndcg, seconds=secs, samples_per_second=None,
                      params=dict(factors=FACTORS, **params), tied_users=tied[0],
                      hr10_ties_best=tied[1], seconds_all=all_secs["wall"],
                      cpu_seconds=float(np.median(all_secs["cpu"])),
                      selected_by="validation" if val_score else "default",
                      val_hr10=val_score[0] if val_score else None, **common))
            log(f"als: HR@10 {hr:.4f} NDCG@10 {ndcg:.4f}, {secs:.2f} s")


if __name__ == "__main__":
    main()
