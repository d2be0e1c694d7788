"""Meta-World MT10 as the paper's Table 1 presents it."""
from srtd_jax.benchmarks.declaration import Declaration, paper_table
from srtd_jax.benchmarks.mt10.env import MAX_PATH_LENGTH, MT10_TASKS

# The paper's Table 1: success rates in %, (mean, 95% CI half-width), 3 seeds.
_METHODS = ("td3bc", "pcgrad", "softmod", "srtd", "srtd_id")
_TABLE1 = {
    "mr10": ((19.73, 2.71), (20.66, 4.27), (13.43, 2.67), (21.24, 1.40), (23.87, 2.22)),
    "rp10": ((25.93, 5.91), (27.31, 3.15), (29.04, 0.58), (38.97, 3.38), (41.91, 5.88)),
    "me10": ((23.93, 3.99), (33.06, 3.69), (39.61, 1.02), (46.60, 3.11), (49.29, 3.35)),
    "mr7_me3": ((22.13, 1.05), (23.23, 1.94), (20.80, 4.97), (28.67, 1.51), (32.53, 4.90)),
    "mr5_rp3_me2": ((25.13, 1.49), (25.10, 1.72), (28.73, 0.56), (33.60, 6.24), (32.13, 3.57)),
    "mr5_me5": ((16.53, 4.71), (22.17, 3.68), (28.13, 4.59), (35.13, 3.36), (36.80, 5.27)),
    "mr4_rp3_me3": ((27.60, 3.25), (23.53, 8.40), (25.87, 1.26), (36.80, 4.67), (43.53, 3.32)),
    "mr3_me7": ((23.53, 1.98), (25.60, 5.01), (31.77, 3.52), (42.13, 2.19), (44.93, 5.35)),
    "rp7_me3": ((24.93, 2.44), (26.50, 4.06), (30.33, 1.31), (43.27, 3.27), (43.73, 3.88)),
    "rp5_me5": ((24.70, 3.99), (27.52, 3.69), (32.06, 1.02), (42.46, 3.11), (44.42, 3.35)),
}

DECLARATION = Declaration(
    name="mt10", label="MT10", tasks=MT10_TASKS,
    metric="success flag at any step of the episode", score_name="success", column="success",
    table_name="Table 1",
    configurations={"mr10": (10, 0, 0), "rp10": (0, 10, 0), "me10": (0, 0, 10), "mr7_me3": (7, 0, 3),
                    "mr5_rp3_me2": (5, 3, 2), "mr5_me5": (5, 0, 5), "mr4_rp3_me3": (4, 3, 3), "mr3_me7": (3, 0, 7),
                    "rp7_me3": (0, 7, 3), "rp5_me5": (0, 5, 5)},
    paper=paper_table(_METHODS, _TABLE1),
    cell_text="Success rate on MT10 in %: success = the success flag at any step of an episode",
    episode_text="each with a random goal", y_label="success rate (%)", max_episode_length=MAX_PATH_LENGTH)
