"""Reward relabelling with Meta-World's own reward function for arbitrary (s', a).

Meta-World's `evaluate_state(obs, action)` reads the simulator besides `obs`: the gripper centre (finger
sites), the object's sites, contacts, and the episode's goal and initial positions set at reset. So the
simulator is first put into the state that `obs` describes:
1. reset to the episode's goal (recovered from its first observation: every goal has a fixed reset);
2. the hand: the mocap target is placed at the observed hand position (minus the hand-to-mocap offset at
   rest) and the arm settles under the weld constraint with contacts disabled (so that nothing blocks it),
   gripper driven by the action's last entry;
3. the object: the joint at qpos[9] (free for reach / push / pick-place / peg, hinge or slide for the
   articulated tasks) is solved so that the environment's own object position matches obs[4:7]
   (translation for a free joint, a bracketed scalar search for a hinge or slide), velocities zeroed;
4. `evaluate_state(obs, action)`.
How close this comes is measured, not assumed: `relabel` on real dataset transitions is compared with the
rewards recorded while stepping the simulator (experiments/relabel_rewards.py reports the error).
"""
from __future__ import annotations

import mujoco
import numpy as np

from srtd_jax.benchmarks.mt10.env import MT10Env


class RewardRelabeler:
    """Meta-World reward r(s', a) for one MT10 task, by setting the simulator from the observation s'."""

    def __init__(self, task: str, settle_steps: int = 30, tolerance: float = 1e-3):
        self.task, self.env = task, MT10Env(task)
        self.settle_steps, self.tolerance = settle_steps, tolerance
        self._first_obs = np.stack([self.env.reset(g) for g in range(self.env.num_goals)])
        self._goal = None
        sim = self.env.env
        self._hand_offset = sim.get_endeff_pos() - sim.data.mocap_pos[0]
        m = sim.model
        joint = next(i for i in range(m.njnt) if m.jnt_qposadr[i] == 9)
        self._joint_type, self._joint_range = int(m.jnt_type[joint]), m.jnt_range[joint].copy()

    def goal_of(self, first_obs: np.ndarray) -> int:
        """The goal index whose reset observation is nearest to an episode's first observation (39,)."""
        return int(np.argmin(np.abs(self._first_obs - first_obs[None]).sum(-1)))

    def reward(self, goal: int, obs: np.ndarray, action: np.ndarray) -> float:
        """Meta-World's raw reward (0..10) of reaching observation `obs` (39,) by `action` (4,); NaN where Meta-World's
        reward function refuses the state (it raises ValueError when a term it combines leaves [0, 1], which
        imagined states can do): such a state has no reward to report, and the callers count it apart."""
        sim = self.env.env
        if goal != self._goal:
            self.env.reset(goal)
            self._goal = goal
        obs = np.asarray(obs, np.float64)
        action = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        target = obs[:3] - self._hand_offset
        sim.model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT  # nothing blocks the settling hand
        try:
            for _ in range(self.settle_steps):
                sim.data.mocap_pos[0] = target
                sim.data.mocap_quat[0] = np.array([1.0, 0.0, 1.0, 0.0])
                sim.do_simulation([action[-1], -action[-1]], n_frames=sim.frame_skip)
                if np.linalg.norm(obs[:3] - sim.get_endeff_pos()) < self.tolerance:
                    break
        finally:
            sim.model.opt.disableflags &= ~int(mujoco.mjtDisableBit.mjDSBL_CONTACT)
        self._set_object(obs[4:7])  # after the hand: contacts between them are evaluated as they stand
        try:
            reward, _ = sim.evaluate_state(obs, action)
        except ValueError:
            return float("nan")
        return float(reward)

    def _place_object(self, qpos, target) -> float:
        """Sets qpos (velocities zeroed) and returns |object position - target|."""
        sim = self.env.env
        sim.set_state(qpos, np.zeros_like(sim.data.qvel))
        return float(np.linalg.norm(sim._get_pos_objects()[:3] - target))

    def _set_object(self, target: np.ndarray) -> None:
        sim = self.env.env
        qpos = sim.data.qpos.flat.copy()
        if self._joint_type == mujoco.mjtJoint.mjJNT_FREE:
            for _ in range(2):  # the object position is the joint translation plus a fixed offset
                self._place_object(qpos, target)
                qpos[9:12] += target - sim._get_pos_objects()[:3]
            self._place_object(qpos, target)
            return
        lo, hi = self._joint_range
        grid = np.linspace(lo, hi, 41)
        errors = []
        for q in grid:
            qpos[9] = q
            errors.append(self._place_object(qpos, target))
        k = int(np.argmin(errors))
        a, b = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
        for _ in range(30):  # golden-section refinement inside the best grid cell
            c, d = b - 0.618 * (b - a), a + 0.618 * (b - a)
            qpos[9] = c
            ec = self._place_object(qpos, target)
            qpos[9] = d
            ed = self._place_object(qpos, target)
            a, b = (a, d) if ec < ed else (c, b)
        qpos[9] = 0.5 * (a + b)
        self._place_object(qpos, target)
