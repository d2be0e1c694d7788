"""Drone navigation: the built-in simulator against hand-computed values, the expert and the data it makes, the
launcher on the drone suite (the AirSim code path: test_drone_airsim.py)."""
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from srtd_jax.benchmarks.drone import generate, maps, navigation, sim
from srtd_jax.benchmarks.drone.gym_env import lidar_beams
from srtd_jax.data import dataset as ds

M = sim.map_arrays()


def test_vortex_wind_matches_the_appendix_formula():
    p = 4.0
    w = np.asarray(sim.vortex_wind(jnp.array([[2.0, 0.0, 1.0], [0.0, 3.0, 1.0], [3.0, 4.0, 0.0]]), p))
    # (y p / r^2, -x p / r^2, 0)
    np.testing.assert_allclose(w, [[0.0, -2.0, 0.0], [4.0 / 3.0, 0.0, 0.0], [16 / 25, -12 / 25, 0.0]], rtol=1e-6)
    # inside r = 1 the r^2 floor holds the field finite
    assert np.isfinite(np.asarray(sim.vortex_wind(jnp.zeros(3), p))).all()


def test_lidar_distances_by_hand():
    gt = maps.task_index("indoor-gt")  # central block x in [-5, 5], y in [-3, 3]; box x in [-9, -6], y in [6.5, 8.5]
    d = np.asarray(sim.lidar(jnp.array([-8.5, 0.0, 1.5]), gt, M))
    assert d[0] == pytest.approx(3.5, abs=1e-5)      # +x: the central block's face at x = -5
    assert d[8] == pytest.approx(1.5, abs=1e-5)      # -x: the wall at x = -10
    assert d[4] == pytest.approx(6.5, abs=1e-5)      # +y: the corner box's face at y = 6.5
    assert d[12] == pytest.approx(6.0, abs=1e-5)     # -y: the south-west box (x in [-9, -6]) at y = -6
    assert float(sim.lidar(jnp.array([0.0, -5.0, 1.5]), gt, M)[8]) == pytest.approx(8.0, abs=1e-5)  # capped range
    cloud = maps.task_index("indoor-cloud")          # pillar (-3, -2.5) r 0.5, seen from 3 m west along +x
    assert float(sim.lidar(jnp.array([-6.0, -2.5, 1.5]), cloud, M)[0]) == pytest.approx(2.5, abs=1e-5)


def test_reward_progress_and_collision_penalty():
    goal = jnp.array([3.0, 4.0, 0.0])
    r = lambda prev, pos, hit: float(sim.reward_fn(jnp.array(prev), jnp.array(pos), goal, hit))
    assert r([0.0, 0.0, 0.0], [3.0, 0.0, 0.0], False) == pytest.approx(5.0 - 4.0)
    assert r([3.0, 0.0, 0.0], [0.0, 0.0, 0.0], False) == pytest.approx(-1.0)
    assert r([0.0, 0.0, 0.0], [3.0, 0.0, 0.0], True) == pytest.approx(0.0)     # min(1 - 0.1, 0)
    assert r([3.0, 0.0, 0.0], [0.0, 0.0, 0.0], True) == pytest.approx(-1.1)    # min(-1 - 0.1, 0)


def test_a_collision_stops_the_drone_outside_the_obstacle():
    gt = maps.task_index("indoor-gt")
    pos = jnp.array([-5.6, 0.0, 1.5])  # 0.6 m west of the central block, flying east at 3 m/s
    new_pos, vel, _, hit = sim.advance(pos, jnp.array([3.0, 0.0, 0.0]), 0.0, jnp.array([3.0, 0.0, 0.0]),
                                       jnp.zeros(3), gt, M)
    assert bool(hit) and not bool(sim.collides(new_pos, gt, M))
    assert float(new_pos[0]) <= -5.0 - maps.DRONE_RADIUS
    # free flight, no wind, v = command = 1 m/s along +y: each substep (h = 0.1)
    # v <- v + h (K_P (1 - v) - C_D v) = 0.6 v + 0.3, so v = 0.9, 0.84, 0.804, 0.7824, 0.76944 and y moves
    # h * sum(v) = 0.409584
    p2, v2, yaw, hit2 = sim.advance(jnp.array([-8.5, -4.5, 1.5]), jnp.array([0.0, 1.0, 0.0]), 0.0,
                                    jnp.array([0.0, 1.0, 0.0]), jnp.zeros(3), gt, M)
    assert not bool(hit2)
    np.testing.assert_allclose(np.asarray(p2), [-8.5, -4.5 + 0.409584, 1.5], atol=1e-5)
    assert float(v2[1]) == pytest.approx(0.76944, abs=1e-5)
    assert float(yaw) == pytest.approx(np.pi / 2)


def test_every_site_is_free_and_the_navigation_function_has_no_dead_end():
    tables = navigation.cost_tables()
    centres = navigation.cell_centres()
    for i, task in enumerate(maps.DRONE_TASKS):
        layout = maps.layout_of(task)
        assert (maps.clearance(np.asarray(M.sites[i, :, :2]), layout) >= maps.SITE_CLEARANCE).all()
        free = maps.clearance(centres, layout) >= navigation.INFLATION
        for g in range(maps.NUM_SITES):
            c = tables[i, g]
            # every free cell but the goal's has a strictly cheaper neighbour: descent cannot stall
            padded = np.pad(c, 1, constant_values=np.inf)
            nb = np.min([padded[1 + di:1 + di + c.shape[0], 1 + dj:1 + dj + c.shape[1]]
                         for di, dj in navigation._NEIGHBOURS], axis=0)
            stuck = free & (nb >= c) & (c > 0)
            assert not stuck.any(), (task, g)


def test_quality_ladder_orders_returns_and_the_expert_reaches_goals():
    n, length = 24, 100
    tasks = jnp.repeat(jnp.arange(len(maps.DRONE_TASKS), dtype=jnp.int32), n)
    keys = jax.random.split(jax.random.PRNGKey(3), tasks.size)
    means = []
    for q in (0.0, 0.5, 1.0):
        out = generate.rollouts(keys, tasks, jnp.full(tasks.size, q), length=length, noise=0.3)
        means.append(np.asarray(out["reward"]).sum(-1).reshape(-1, n).mean(-1))
        if q == 1.0:
            goals = np.asarray(out["reached"]).sum(-1).reshape(-1, n).mean(-1)
            collisions = np.asarray(out["collided"]).sum(-1).reshape(-1, n).mean(-1)
    assert (means[0] < means[1]).all() and (means[1] < means[2]).all(), means
    assert (goals >= 2.5).all(), goals            # the expert reaches goals on every task
    assert (collisions <= 2.0).all(), collisions  # and rarely touches anything, wind included


def test_generation_writes_valid_cached_files(tmp_path):
    settings = generate.DroneGenerationSettings(episode_length=20, episodes=(("MR", 6), ("RP", 4), ("ME", 4)),
                                                      num_rungs=3, probe_episodes=2)
    assignment = {"indoor-gt": "MR", "indoor-cloud": "ME"}
    paths = generate.ensure_datasets(assignment, settings, str(tmp_path))
    for task, path in paths.items():
        data, meta = ds.load(path, expected_meta=settings.key(task, assignment[task]))
        ds.validate(data, obs_dim=sim.OBS_DIM, action_dim=sim.ACTION_DIM)
        assert (data.task_ids == maps.task_index(task)).all()
        np.testing.assert_allclose(data.episode_returns[:, 0], data.raw_rewards.sum(1), rtol=1e-5, atol=1e-4)
        # the next observation of a step is the observation of the next step
        np.testing.assert_array_equal(data.next_observations[:, :-1], data.observations[:, 1:])
    stamp = os.path.getmtime(paths["indoor-gt"])
    with open(paths["indoor-cloud"], "wb") as f:
        f.write(b"corrupt")
    again = generate.ensure_datasets(assignment, settings, str(tmp_path))
    assert os.path.getmtime(again["indoor-gt"]) == stamp  # reused
    ds.load(again["indoor-cloud"])                           # regenerated
    with pytest.raises(ValueError, match="unknown drone task"):
        generate.ensure_datasets({"indoor-moon": "MR"}, settings, str(tmp_path))


def test_lidar_points_to_beams():
    pos = np.array([1.0, 2.0, 1.5])
    pts = [[1.0 + 3.0, 2.0, -1.5], [1.0 + 2.5, 2.0 + 0.01, -1.5], [1.0, 2.0 - 4.0, -1.5]]
    beams = lidar_beams(np.ravel(pts), pos)
    assert beams[0] == pytest.approx(2.5, abs=1e-3)   # nearest of two points on the +x beam
    assert beams[12] == pytest.approx(4.0, abs=1e-5)  # -y
    assert (np.delete(beams, [0, 12]) == sim.LIDAR_RANGE).all()
    assert (lidar_beams([0.0], pos) == sim.LIDAR_RANGE).all()  # AirSim's empty cloud


@pytest.mark.slow
def test_table2_sweep_runs_the_launcher_on_the_drone_and_writes_table2(tmp_path):
    """A tiny drone sweep through the harness: the launcher trains and evaluates each cell on the drone suite,
    and the report is in Table 2's layout with the paper's Table 2 numbers and normalised returns."""
    import json

    from configs import benchmark_drone, drone
    from srtd_jax.benchmarks.drone.declaration import DECLARATION
    from srtd_jax.studies import embedding_map, sweep, sweep_report
    b = benchmark_drone.get_config("cpu")
    assert sweep.cell_config(b, sweep.cells(b)[0]).suite == "drone"
    assert drone.get_config("pcgrad") == sweep.cell_config(b, sweep.Cell("mr2_rp2_me2", "pcgrad", ()))
    b = benchmark_drone.get_config("cpu-ladder")  # the ladder's data: seconds to make at this size
    d = b.base.data
    d.data_dir, d.episode_length = str(tmp_path / "data"), 20
    # as many episodes per kind, so that every configuration's dataset has one shape and a method's programs
    # compile once for all of its cells
    d.episodes_mr, d.episodes_rp, d.episodes_me, d.num_rungs, d.probe_episodes = 2, 2, 2, 3, 1
    e, r = b.base.encoder, b.base.rl
    e.skill_hidden, e.task_hidden = (16, 16), (16,)
    e.batch_size, e.epochs, e.chunk_steps = 32, 1.0, 10
    r.actor_hidden = r.critic_hidden = (16, 16)
    r.batch_size, r.steps, r.chunk_steps = 32, 20, 10
    b.base.eval.episodes_per_task, b.base.eval.every_steps = 2, 0
    b.configurations, b.methods = ("rp6", "MR 2, RP 2, ME 2"), ("td3bc", "srtd_id")
    b.ablation_configurations = ()
    b.embedding_configurations, b.embedding_methods = ("rp6",), ("srtd_id",)
    b.num_seeds = 2
    b.workdir, b.results_dir = str(tmp_path / "runs"), str(tmp_path / "results")
    sweep.check(b)
    from srtd_jax.runtime.config_check import ConfigError
    with pytest.raises(ConfigError, match="configurations: dataset configuration 'mr10' assigns 10 tasks, expected 6"):
        sweep.check(ml_collections.ConfigDict({**b.to_dict(), "configurations": ("mr10",)}))
    cells = sweep.cells(b)
    # SRTD+ID's cells one by one, TD3+BC's two packed into one program (srtd_jax/run_packed.py)
    summaries = sweep.run_cells(b, [c for c in cells if c.method == "srtd_id"], b.workdir, log=lambda *_: None)
    summaries.update(sweep.run_cells(b, [c for c in cells if c.method == "td3bc"], b.workdir, log=lambda *_: None,
                                     pack=True))
    assert sorted(n for n, s in summaries.items() if "packed_with" in s) == ["mr2_rp2_me2/td3bc", "rp6/td3bc"]
    for summary in summaries.values():
        assert summary["suite"] == "drone" and "expert" in summary["success_definition"]
        assert set(summary["per_task"]) == set(maps.DRONE_TASKS) and np.isfinite(summary["mean_success"])

    result = sweep_report.write(b, cells, b.workdir, b.results_dir, "python -m experiments.benchmark --x",
                                budget_note=b.budget_note)
    assert result["table"] == "table2.md" and result["not_finished"] == []
    assert set(os.listdir(b.results_dir)) == {"results.json", "table2.md", "curves.png"}  # no ablation group
    records = json.load(open(os.path.join(b.results_dir, "results.json")))["records"]
    for rec in records:
        assert np.array(rec["success_per_seed_task"]).shape == (2, 6)
        assert rec["paper"] == list(DECLARATION.published(rec["configuration"], rec["method"]))
        # SRTD+ID's imagination diagnostics outlive the workdir; the drone has no reward function to relabel with
        assert ("imagination" in rec) == (rec["method"] == "srtd_id")
        assert "relabelled" not in rec.get("imagination", {})
    table = open(os.path.join(b.results_dir, "table2.md")).read()
    assert "## Table 2 layout" in table and "Normalised return on the six drone navigation tasks" in table
    for conf, method in (("rp6", "td3bc"), ("mr2_rp2_me2", "srtd_id")):
        mean, ci = DECLARATION.published(conf, method)
        assert f"paper {mean:.1f} ± {ci:.1f}%" in table
    assert "| 0 | 6 | 0 |" in table and "| 2 | 2 | 2 |" in table and "mean over the 6 tasks" in table
    assert embedding_map.draw(b, cells, b.workdir, str(tmp_path / "maps.png")) == ["rp6/srtd_id"]


def test_table2_configurations_parse_for_six_tasks():
    from configs import benchmark_drone
    from srtd_jax.benchmarks.drone.declaration import DECLARATION
    from srtd_jax.data import mixtures
    assert set(DECLARATION.paper) == set(DECLARATION.configurations) == set(benchmark_drone.TABLE2)
    for name, counts in DECLARATION.configurations.items():
        assert mixtures.parse(name, len(maps.DRONE_TASKS)) == counts
        kinds = mixtures.assign(name, 0, tasks=maps.DRONE_TASKS)
        assert [list(kinds.values()).count(k) for k in ("MR", "RP", "ME")] == list(counts)


def test_the_recipe_presets_and_what_a_score_means_under_each():
    from configs import benchmark_drone
    from srtd_jax.benchmarks.drone.declaration import DECLARATION
    from srtd_jax.runtime.config_check import check_config
    ladder_cfg, run_cfg = benchmark_drone.get_config("cpu-ladder"), benchmark_drone.get_config("cpu")
    assert ladder_cfg.base.data.recipe == "ladder" and ladder_cfg.results_dir == "results/drone"
    assert run_cfg.base.data.recipe == "learning_run" and run_cfg.results_dir == "results/drone_learning_run"
    assert run_cfg.workdir == "runs/drone_cpu_learning_run" and run_cfg.base.suite == "drone"
    check_config(run_cfg.base)
    with pytest.raises(ValueError, match="unknown data recipe 'dagger' in 'cpu-dagger'"):
        benchmark_drone.get_config("cpu-dagger")
    assert "noise-free expert" in DECLARATION.metric_for("ladder")
    assert "trained agent" in DECLARATION.metric_for("learning_run")
    assert "online SAC" in DECLARATION.cell_text_for("learning_run") and DECLARATION.cell_text_for("ladder") == \
        DECLARATION.cell_text



def test_scores_divide_returns_by_the_reference_given_or_the_experts(monkeypatch):
    from srtd_jax.benchmarks.drone import evaluation
    from srtd_jax.data.windows import Normalizer
    returns = np.array([[10.0, 20.0, 30.0, 40.0]])  # 1 seed, 2 tasks x 2 episodes
    monkeypatch.setattr(evaluation, "_returns", lambda *a, **k: returns)
    kw = dict(num_seeds=1, normalizer=Normalizer(np.zeros(27, np.float32), np.ones(27, np.float32)), n=2,
              episodes_per_task=2, episode_length=12, reward_scale=1.0, seed=0, tasks=("indoor-gt", "indoor-cloud"))
    reference = np.arange(1.0, 7.0)  # in task-id order
    ids = [maps.task_index("indoor-gt"), maps.task_index("indoor-cloud")]
    scores = evaluation.evaluate(None, None, None, reference=reference, **kw)
    np.testing.assert_allclose(scores[0], returns.reshape(2, 2) / reference[ids][:, None])
    expert = np.arange(10.0, 70.0, 10.0)
    monkeypatch.setattr(generate, "expert_reference", lambda length: expert if length == 12 else None)
    np.testing.assert_allclose(evaluation.evaluate(None, None, None, **kw)[0],
                               returns.reshape(2, 2) / expert[ids][:, None], rtol=1e-6)
