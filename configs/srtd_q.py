"""SRTD-Q: skill regularisation without the quality weight (Figure 5a).

Based on the quick preset; use --config.<field> to change budgets, or set them from configs/paper.py.
"""
from configs import quick


def get_config():
    c = quick.get_config()
    c.method = "srtd_q"
    return c
