"""The Figure-4 study's outputs (srtd_jax/studies/relabel.py): OUT.json, OUT.md beside the paper's numbers and
OUT.png, the (s, a) distributions of the four sets."""
import os

from srtd_jax.core import atomic
from srtd_jax.runtime import reporting
from srtd_jax.studies.relabel import SETS

# The paper's Figure 4: average relabelled reward of each set (Meta-World's reward x the released code's scale).
PAPER = {"source": 0.2471, "expert": 0.5845, "imaginary": 0.3947, "noise": 0.2519}
TITLES = {"source": "(a) source dataset", "expert": "(b) expert dataset", "imaginary": "(c) imaginary demo.",
          "noise": "(d) by Gaussian noise"}


def _encoders_line(encoders: dict) -> str:
    if encoders.get("trained_run"):
        return (f"Encoders: seed {encoders['seed']} of the finished run `{encoders['trained_run']}` "
                "(its config, data and checkpoint).")
    return "Encoders: SRTD's, trained here on the config's mixture (one seed)."


def write_outputs(result: dict, out: str, command: str) -> None:
    """OUT.json, OUT.md and OUT.png from a `relabel.run_study` result; `command` is the one that made it."""
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    result = dict(result, command=command, paper=PAPER)
    reporting.write_json(out + ".json", result, indent=None)
    scale = result["reward_scale"]
    lines = ["# Figure 4: average reward by relabelling with Meta-World's reward function", "",
             f"Command: `{command}`", "",
             f"Source tasks (MR in the mixture): {', '.join(result['sources'])}. Rewards are Meta-World's raw reward "
             f"x {scale:g} (the released code's scale), averaged over the relabelled transitions of every source task.",
             "", _encoders_line(result.get("encoders", {})), "",
             "| | " + " | ".join(TITLES[s] for s in SETS) + " |", "|---" * (len(SETS) + 1) + "|",
             "| ours | " + " | ".join(f"{result['average_reward'][s]:.4f}" for s in SETS) + " |",
             "| paper | " + " | ".join(f"{PAPER[s]:.4f}" for s in SETS) + " |", "",
             "## Per source task (relabelled; recorded in brackets where the simulator recorded one)", "",
             "| task | " + " | ".join(SETS) + " |", "|---" * (len(SETS) + 1) + "|"]
    for task, row in result["per_task"].items():
        cells = []
        for s in SETS:
            cell = f"{row[s]['relabelled_raw'] * scale:.4f}"
            if "recorded_raw" in row[s]:
                cell += f" ({row[s]['recorded_raw'] * scale:.4f})"
            cells.append(cell)
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    err = result["relabel_abs_error_raw"]
    lines += ["", "Relabelling error on transitions whose reward the simulator recorded (mean |relabelled - recorded|,"
              f" scaled): source {err['source'] * scale:.4f}, expert {err['expert'] * scale:.4f}.", ""]
    atomic.write_text(out + ".md", "\n".join(lines))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    task = result["sources"][0]
    pts = result["pca"][task]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4), sharex=True, sharey=True)
    for ax, s in zip(axes, SETS):
        xy = pts[s]
        ax.scatter([p[0] for p in xy], [p[1] for p in xy], s=4, alpha=0.5)
        ax.set_title(f"{TITLES[s]}\navg reward {result['per_task'][task][s]['relabelled_raw'] * scale:.3f}")
        ax.set_xlabel("PC 1")
    axes[0].set_ylabel("PC 2")
    fig.suptitle(f"(s, a) distributions on {task}, PCA fitted to the union of the four sets")
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=90)
    plt.close(fig)
