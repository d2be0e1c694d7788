"""Multi-task drone navigation as the paper's Table 2 presents it."""
from srtd_jax.benchmarks.declaration import Declaration, paper_table
from srtd_jax.benchmarks.drone.maps import DRONE_TASKS

# The paper's Table 2 (6 tasks): normalised returns in %, (mean, 95% CI half-width), 3 seeds.
_METHODS = ("td3bc", "pcgrad", "softmod", "srtd", "srtd_id")
_TABLE2 = {
    "mr6": ((12.71, 2.27), (15.70, 0.34), (16.76, 3.58), (22.34, 0.98), (24.60, 2.25)),
    "rp6": ((13.06, 2.93), (13.45, 0.70), (21.19, 1.98), (29.34, 0.32), (30.77, 2.16)),
    "me6": ((14.82, 1.99), (16.93, 2.15), (26.35, 2.35), (30.36, 2.61), (35.83, 0.80)),
    "mr2_rp2_me2": ((14.66, 2.55), (16.38, 4.63), (24.07, 2.28), (29.08, 2.36), (28.37, 1.09)),
    "mr1_rp2_me3": ((13.23, 0.47), (14.12, 3.09), (22.80, 1.37), (27.78, 2.21), (34.18, 1.16)),
    "mr3_rp2_me1": ((12.18, 2.14), (12.28, 1.92), (18.67, 2.89), (25.47, 2.61), (27.51, 1.79)),
}

DECLARATION = Declaration(
    name="drone", label="drone", tasks=DRONE_TASKS,
    metric="episode return / the noise-free expert's best return on the task", score_name="normalised return",
    column="score", table_name="Table 2",
    configurations={"mr6": (6, 0, 0), "rp6": (0, 6, 0), "me6": (0, 0, 6), "mr2_rp2_me2": (2, 2, 2),
                    "mr1_rp2_me3": (1, 2, 3), "mr3_rp2_me1": (3, 2, 1)},
    paper=paper_table(_METHODS, _TABLE2),
    cell_text="Normalised return on the six drone navigation tasks in %: an episode's return divided by the best "
              "return of the noise-free expert controller on its task over 32 episodes (the paper divides by the "
              "best return of a fully trained online agent: the learning_run recipe does)",
    episode_text="each between random start and goal sites, a reached goal replaced by a new one",
    y_label="normalised return (%)",
    by_recipe={"learning_run": {
        "metric": "episode return / the best noise-free return of the task's trained agent (its learning run's best "
                  "snapshot)",
        "cell_text": "Normalised return on the six drone navigation tasks in %: an episode's return divided by the "
                     "best noise-free return over 32 episodes of the task's trained agent (the best snapshot of the "
                     "online SAC run the data comes from), as the paper divides by a fully trained online agent's"}})
