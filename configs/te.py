"""TE: task embedding without skill regularisation, L_TE and the prior only (Figure 5a).

Based on the quick preset; use --config.<field> to change budgets, or set them from configs/paper.py.
"""
from configs import quick


def get_config():
    c = quick.get_config()
    c.method = "te"
    return c
