"""The drone navigation sweep (the paper's Table 2): `--config=configs/benchmark_drone.py:<budget>[-<recipe>]`.

The six Table 2 configurations of MR / RP / ME data over the six drone tasks, the five main methods, 3 seeds, on
the built-in simulator; results under results/drone/. The paper gives no drone budgets or dataset sizes, so the
budgets are MT10's (configs/benchmark_mt10.py: `cpu` cuts training to fit a 2-core machine, `paper` is appendix
B's) with drone data: per task MR 150 / RP 100 / ME 50 episodes of 100 steps (50 s of flight). Scores are
normalised returns: the return divided by the task's reference return.

Recipes (data.recipe; README, "Datasets"): `learning_run` (the default: online SAC per task in the simulator;
runs/drone_<budget>_learning_run, results/drone_learning_run; the reference is the trained agent's best return, as
the paper's) or `ladder` (runs/drone_<budget>, results/drone: the tables made before the learning runs existed;
the reference is the noise-free expert controller's best return).
"""
from configs import benchmark_mt10

BUDGETS = benchmark_mt10.BUDGETS
# The 6 dataset configurations of the paper's Table 2.
TABLE2 = ("mr6", "rp6", "me6", "mr2_rp2_me2", "mr1_rp2_me3", "mr3_rp2_me1")


def use_drone_data(base) -> None:
    """Points a launcher config at the drone suite and its datasets."""
    base.suite = "drone"
    d = base.data
    d.configuration = "mr2_rp2_me2"
    d.data_dir = "data/drone"
    d.episode_length = 100
    d.probe_episodes = 16
    d.reward_type, d.reward_scale = "raw", 1.0  # the progress reward is already per step


RECIPES = ("learning_run", "ladder")  # the first is the default


def get_config(spec: str = "cpu"):
    budget, _, recipe = spec.partition("-")
    recipe = recipe or RECIPES[0]
    if recipe not in RECIPES:
        raise ValueError(f"unknown data recipe {recipe!r} in {spec!r}; valid: {', '.join(RECIPES)}")
    c = benchmark_mt10.get_config(f"{budget}-{recipe}")
    use_drone_data(c.base)
    c.configurations = TABLE2
    c.ablation_configurations = ("rp6",)  # the paper has no drone ablations; these show whether Figure 5 carries over
    c.embedding_configurations = ("mr6", "rp6", "me6")
    if c.stand_ins:
        c.stand_ins = "softmod:results/drone"  # the drone's ladder sweep, not MT10's
    suffix = "" if recipe == "ladder" else f"_{recipe}"
    c.workdir = f"runs/drone_{budget}{suffix}"
    c.results_dir = f"results/drone{'_cpu5' if budget == 'cpu5' else ''}{suffix}"
    c.budget_note = (f"MT10's `{budget}` budget (the paper gives none for the drone) with drone data: per task "
                     "MR 150 / RP 100 / ME 50 episodes of 100 steps. " + c.budget_note)
    return c
