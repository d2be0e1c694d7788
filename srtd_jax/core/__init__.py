"""The step machinery every learner shares: types, networks, kernels, gradient updates, scan chunks over a seed
axis, devices, atomic files."""
