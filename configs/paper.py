"""`paper`: the paper's budgets and hyperparameters (appendix B): 300 encoder epochs, 1M TD3+BC steps."""
from configs import default


def get_config():
    return default.get_config()  # the default already holds the paper's values
