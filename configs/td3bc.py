"""TD3+BC baseline: one-hot task id appended to the state instead of z (Table 1).

Based on the quick preset; use --config.<field> to change budgets, or set them from configs/paper.py.
"""
from configs import quick


def get_config():
    c = quick.get_config()
    c.method = "td3bc"
    return c
