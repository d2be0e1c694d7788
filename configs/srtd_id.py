"""SRTD+ID: SRTD plus imaginary demonstrations from the skill and task decoders (section 4, eq. 9).

Based on the quick preset; use --config.<field> to change budgets, or set them from configs/paper.py.
"""
from configs import quick


def get_config():
    c = quick.get_config()
    c.method = "srtd_id"
    return c
