"""SRTD+N: SRTD plus the same amount of Gaussian-noise augmentation (Figure 5b).

Based on the quick preset; use --config.<field> to change budgets, or set them from configs/paper.py.
"""
from configs import quick


def get_config():
    c = quick.get_config()
    c.method = "srtd_n"
    return c
