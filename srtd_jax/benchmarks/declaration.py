"""What a benchmark declares about itself, importable without JAX or its simulator: names, tasks, what a score
means and how tables and plots present it, its dataset configurations and the paper's table. Nothing outside a
benchmark's folder branches on its name; it reads these fields instead."""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Declaration:
    """name: the config's `suite`; label: the benchmark in messages ("unknown MT10 task").
    tasks: task names in id order.
    metric: what one evaluation score is (summaries); score_name: its name in progress lines; column: the header of
    the end-of-run table's score column.
    table_name: the paper's table ("Table 1"); configurations: that table's rows, name -> (MR, RP, ME) task counts;
    paper: {row: {method: (mean %, 95% CI half-width %)}}, the paper's published cells.
    cell_text: what a sweep table's cell is; episode_text: how an evaluation episode starts; y_label: the plots'.
    max_episode_length: the longest episode its environments run (None: no limit).
    by_recipe: {data recipe: {'metric': ..., 'cell_text': ...}} where a recipe changes what a score means (e.g. the
    reference a return is divided by)."""

    name: str
    label: str
    tasks: tuple
    metric: str
    score_name: str
    column: str
    table_name: str
    configurations: dict
    paper: dict
    cell_text: str
    episode_text: str
    y_label: str
    max_episode_length: int | None = None
    by_recipe: dict = dataclasses.field(default_factory=dict)

    def metric_for(self, recipe: str) -> str:
        """What a score means with data of `recipe`."""
        return self.by_recipe.get(recipe, {}).get("metric", self.metric)

    def cell_text_for(self, recipe: str) -> str:
        """What a sweep table's cell is with data of `recipe`."""
        return self.by_recipe.get(recipe, {}).get("cell_text", self.cell_text)

    def published(self, configuration: str, method: str):
        """(mean %, CI %) of the paper's cell, or None where the paper has none (e.g. the ablations of Figure 5,
        whose values the paper does not print)."""
        return self.paper.get(configuration, {}).get(method)


def paper_table(methods: tuple, rows: dict) -> dict:
    """{row: (cell per method)} -> {row: {method: cell}}."""
    return {row: dict(zip(methods, cells)) for row, cells in rows.items()}
