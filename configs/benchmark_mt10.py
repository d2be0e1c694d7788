"""The MT10 benchmark sweep (Table 1, Figure 5, embedding maps): `--config=configs/benchmark_mt10.py:<budget>` or
`:<budget>-<recipe>`.

Recipes (data.recipe; README, "Datasets"): `learning_run` (the default: workdirs runs/mt10_<budget>_learning_run,
tables in results/mt10_learning_run) or `ladder` (runs/mt10_<budget>, results/mt10: the tables made before the
learning-run recipe existed, whose cited `:cpu` commands meant the ladder then). Those tables were made under the
paper's literal reading of the choices it leaves open, and `ladder` keeps that reading
(configs/authors.py:paper_reading) so that they stay reproducible; `learning_run` takes the defaults.

Budgets ('cpu' by default):
- `paper`: the paper's (appendix B): 300 encoder epochs at batch 2048, 1M TD3+BC steps at batch 1280, 3 x 256
  networks, SoftMod 256 units with 10 CQL action samples. Days per cell on a CPU; meant for accelerators.
- `cpu5`: `cpu` with 5 seeds, 30 encoder epochs (each row's SRTD encoders shared by SRTD+ID and SRTD+N:
  reuse_encoders), 25 evaluation episodes per task at the midpoint and the end; its own workdir and tables
  (results/mt10_cpu5[_learning_run]); the cost plan is in results/plan_cpu5.md.
- `cpu`: the paper's datasets (MR 150 / RP 100 / ME 50 episodes of 200 steps per task) with training cut to fit
  a 2-core machine: encoders 3 x 128 / 2 x 128 at batch 256 for 3 epochs, actor and critic 2 x 256 at batch 256
  for 20,000 steps (2% of the paper's), SoftMod at 128 units with 2 CQL action samples, 10 evaluation episodes
  per task, evaluated every 5,000 steps. README ("MT10 benchmark") says what the cut does to the comparison.

Every launcher field is under `base` (e.g. `--config.base.rl.steps=50000`); `per_method.<method>` holds the
fields that differ for one method (PCGrad's 6 x 160 networks, SoftMod's sizes).
"""
import ml_collections

from configs import authors, default

BUDGETS = ("cpu", "cpu5", "paper")
RECIPES = ("learning_run", "ladder")  # the first is the default
BUDGET_NOTES = {  # printed above the tables
    "cpu": "The paper's datasets; training cut to fit a 2-core CPU (configs/benchmark_mt10.py): encoders 3 x 128 / "
           "2 x 128 at batch 256 for 3 epochs (paper: 3/2 x 256, batch 2048, 300 epochs), TD3+BC 2 x 256 at batch "
           "256 for 20,000 steps (paper: 3 x 256, batch 1280, 1M steps), SoftMod 128 units with 2 CQL action "
           "samples (paper: 256).",
    "paper": "The paper's budgets (appendix B).",
    "cpu5": "The paper's datasets, 5 seeds; training cut to fit a 2-core CPU (configs/benchmark_mt10.py): encoders "
            "3 x 128 / 2 x 128 at batch 256 for 30 epochs (paper: 3/2 x 256, batch 2048, 300 epochs), TD3+BC 2 x 256 "
            "at batch 256 for 20,000 steps (paper: 3 x 256, batch 1280, 1M steps), SoftMod 128 units with 2 CQL "
            "action samples (paper: 256); 25 evaluation episodes per task.",
}


# The 10 dataset configurations of the paper's Table 1 (task counts MR / RP / ME in the names).
TABLE1 = ("mr10", "rp10", "me10", "mr7_me3", "mr5_rp3_me2", "mr5_me5", "mr4_rp3_me3", "mr3_me7", "rp7_me3", "rp5_me5")


def _cpu(base, per_method) -> None:
    e, r, v = base.encoder, base.rl, base.eval
    e.skill_hidden, e.task_hidden = (128, 128, 128), (128, 128)
    e.learning_rate, e.batch_size, e.epochs = 3e-4, 256, 3.0
    r.actor_hidden = r.critic_hidden = (256, 256)
    r.learning_rate, r.batch_size, r.steps = 3e-4, 256, 20_000
    v.episodes_per_task, v.every_steps = 10, 5_000
    per_method.softmod.rl.softmod.hidden = per_method.softmod.rl.softmod.representation = 128
    per_method.softmod.cql.num_action_samples = 2


def _cpu5(c) -> None:
    """`cpu` with the intervals tightened: 5 seeds, 30 encoder epochs, 25 evaluation episodes per task."""
    _cpu(c.base, c.per_method)
    c.num_seeds, c.reuse_encoders = 5, True
    # SoftMod's CQL needs about 2 h per 5-seed cell here: until an accelerator runs it, its column shows the ladder
    # sweep's cells, marked as stand-ins (another budget and data)
    c.stand_ins = "softmod:results/mt10"
    c.base.encoder.epochs = 30.0
    # 25 episodes per task at the end, and at the midpoint for the curves
    c.base.eval.episodes_per_task, c.base.eval.every_steps = 25, 10_000


def get_config(spec: str = "cpu"):
    budget, _, recipe = spec.partition("-")
    recipe = recipe or RECIPES[0]
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; valid: {', '.join(BUDGETS)}")
    if recipe not in RECIPES:
        raise ValueError(f"unknown data recipe {recipe!r} in {spec!r}; valid: {', '.join(RECIPES)}")
    c = ml_collections.ConfigDict()
    c.budget = budget
    reading = ("its literal reading (configs/authors.py:paper_reading)" if recipe == "ladder"
               else "the defaults (README, \"Choices the paper leaves open\")")
    c.budget_note = (f"{BUDGET_NOTES[budget]} Data recipe: {recipe} (README, \"Datasets\"). Mixed rows give every "
                     "seed one task-to-kind assignment (data.assignment_seed), so their intervals leave out its "
                     f"variance. Choices the paper leaves open: {reading}.")
    c.configurations = TABLE1  # Table 1 names or 'MR a, RP b, ME c' specs
    c.methods = ("td3bc", "pcgrad", "softmod", "srtd", "srtd_id")
    c.ablation_configurations = ("rp10",)  # Figure 5: TE, SRTD-Q vs SRTD; SRTD+N, SRTD+ID vs SRTD
    c.ablation_methods = ("te", "srtd_q", "srtd", "srtd_n", "srtd_id")
    c.embedding_configurations = ("mr10", "rp10", "me10")  # appendix figure 2: embedding maps of TE and SRTD
    c.embedding_methods = ("te", "srtd")
    c.num_seeds = 3
    c.seed = 0
    # a cell whose encoder phase equals an earlier cell's on its row (SRTD+ID and SRTD+N beside SRTD) takes that
    # cell's trained encoders: the same numbers without training them again (sweep.encoder_source)
    c.reuse_encoders = False
    # 'method:results_dir,...': another sweep's cells shown, marked, where this sweep has none of that method
    c.stand_ins = ""
    suffix = "" if recipe == "ladder" else f"_{recipe}"
    c.workdir = f"runs/mt10_{budget}{suffix}"  # one workdir per cell: <workdir>/<configuration>/<method>
    # `cpu` and `paper` keep the tables they have always written
    c.results_dir = f"results/mt10{'_cpu5' if budget == 'cpu5' else ''}{suffix}"
    c.base = default.get_config()
    if recipe == "ladder":
        authors.paper_reading(c.base)
    c.base.data.recipe = recipe
    c.per_method = ml_collections.ConfigDict({
        "pcgrad": {"rl": {"actor_hidden": (160,) * 6, "critic_hidden": (160,) * 6}},  # appendix B.2
        "softmod": {"rl": {"softmod": {}}, "cql": {}},
    })
    if budget == "cpu":
        _cpu(c.base, c.per_method)
    elif budget == "cpu5":
        _cpu5(c)
    return c
