"""The paper's published numbers, for side-by-side tables: (mean %, 95% CI half-width %), 3 seeds.

Table 1 (MT10, success rates) and Table 2 (drone navigation, normalised returns). Figure 5 (the ablations TE, SRTD-Q, SRTD+N) is a bar plot whose values the paper does not print,
so ablation cells have no paper number."""

TABLE1_METHODS = ("td3bc", "pcgrad", "softmod", "srtd", "srtd_id")
_TABLE1_ROWS = {
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
TABLE1 = {row: dict(zip(TABLE1_METHODS, values)) for row, values in _TABLE1_ROWS.items()}


# Table 2 (drone navigation, 6 tasks): normalised returns in %, (mean, 95% CI half-width), 3 seeds.
TABLE2_METHODS = TABLE1_METHODS
_TABLE2_ROWS = {
    "mr6": ((12.71, 2.27), (15.70, 0.34), (16.76, 3.58), (22.34, 0.98), (24.60, 2.25)),
    "rp6": ((13.06, 2.93), (13.45, 0.70), (21.19, 1.98), (29.34, 0.32), (30.77, 2.16)),
    "me6": ((14.82, 1.99), (16.93, 2.15), (26.35, 2.35), (30.36, 2.61), (35.83, 0.80)),
    "mr2_rp2_me2": ((14.66, 2.55), (16.38, 4.63), (24.07, 2.28), (29.08, 2.36), (28.37, 1.09)),
    "mr1_rp2_me3": ((13.23, 0.47), (14.12, 3.09), (22.80, 1.37), (27.78, 2.21), (34.18, 1.16)),
    "mr3_rp2_me1": ((12.18, 2.14), (12.28, 1.92), (18.67, 2.89), (25.47, 2.61), (27.51, 1.79)),
}
TABLE2 = {row: dict(zip(TABLE2_METHODS, values)) for row, values in _TABLE2_ROWS.items()}
TABLES = {"mt10": ("Table 1", TABLE1), "drone": ("Table 2", TABLE2)}  # per suite: the paper's table


def published(suite: str, configuration_slug: str, method: str):
    """(mean %, CI %) of the paper's cell for the suite's table, or None where the paper has none."""
    return TABLES[suite][1].get(configuration_slug, {}).get(method)
