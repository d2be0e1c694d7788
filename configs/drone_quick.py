"""A small drone-navigation run (minutes on 2 CPU cores): `--config=configs/drone_quick.py:<method>`."""
from configs import drone


def get_config(method: str = "srtd"):
    c = drone.get_config(method)
    c.data.episodes_mr, c.data.episodes_rp, c.data.episodes_me = 30, 20, 10
    c.encoder.epochs = 2.0
    c.rl.steps = 3000
    c.eval.episodes_per_task, c.eval.every_steps = 4, 0
    c.data.recipe = "ladder"  # its data in seconds; the learning runs take about 20 minutes the first time
    return c
