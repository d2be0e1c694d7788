"""The default run config: every field a run config has, commented here once. The config checks compare a config
with it (unknown or missing fields, types); presets in configs/ override only what differs."""
import ml_collections


def get_config():
    c = ml_collections.ConfigDict()
    c.suite = "mt10"           # benchmark: 'mt10' (Meta-World MT10) | 'drone' (multi-task drone navigation, the built-in
                               # simulator; configs/drone.py sets the drone's data sizes)
    c.method = "srtd"          # 'srtd', 'srtd_id' (+ imaginary demonstrations), 'srtd_n' (+ Gaussian-noise augmentation),
                               # 'srtd_q' (no quality weight), 'te' (no skill regularisation), 'td3bc' (one-hot task id),
                               # 'pcgrad' (one-hot + PCGrad; use configs/pcgrad.py for its 6 x 160 networks),
                               # 'softmod' (one-hot + soft modularization, CQL with per-task loss balancing)
    c.seed = 0                 # base seed; seed i of a run uses fold_in(PRNGKey(seed), i)
    c.num_seeds = 3            # seeds trained together along a vmap / lax.map axis
    c.seed_axis = "auto"       # 'vmap' | 'map' | 'auto' (the faster measured on the platform; see README)
    c.key_streams = "independent"  # every random use its own key | 'shared': a phase's init and training chain start
                                   # from one key (the actor's init key equals the chain's next key; the reading
                                   # before the deviation study)
    c.devices = 0              # devices the seeds are sharded over (0: the most of all devices that divide num_seeds)
    c.on_nonfinite = "stop"    # a non-finite update: 'stop' the run naming step, seed and loss (state saved under
                               # <workdir>/nonfinite/) | 'skip' the update and go on (counted in nonfinite_updates)
    c.nonfinite_skip_limit = 0.01  # 'skip' gives up as 'stop' does once a seed skipped more than this share of a
                                   # phase's updates so far

    c.logging = g = ml_collections.ConfigDict()  # metrics.jsonl and TensorBoard are always written
    g.wandb = False            # also log to Weights & Biases (pip install wandb); the run id is kept in the workdir
    g.wandb_project = "srtd_jax"
    g.wandb_mode = "online"    # 'online' | 'offline' (kept under <workdir>/wandb; `wandb sync` uploads it) | 'disabled'

    c.checkpoint = k = ml_collections.ConfigDict()  # resume: re-run the same command on the same workdir
    k.every_steps = 0          # save when a phase's step crosses a multiple of this (0: off); phase ends always save
    k.every_seconds = 300.0    # save when this long has passed since the last save (0: off)
    k.keep = 2                 # most recent checkpoints kept

    c.data = d = ml_collections.ConfigDict()
    d.configuration = "mr5_rp3_me2"  # a name like 'mr5_rp3_me2' (Tables 1 and 2) or 'MR a, RP b, ME c'
    d.assignment_seed = 0      # seeded shuffle deciding which task gets which kind
    d.assignment_per_seed = False  # True (the released code's): the shuffle's seed is assignment_seed + seed, so
                                   # seeds differ in which task gets which kind; one seed per run (num_seeds = 1)
    d.data_dir = "data/mt10"   # generated files are cached here, keyed by the generation settings
    d.dataset = ""             # a dataset file made by `python -m experiments.dataset import`: the run trains on it
                               # instead of generated data (configuration and the generation fields are then unused;
                               # evaluation covers its tasks unless eval.tasks is set)
    d.episode_length = 200     # steps per episode (the authors' code used 200)
    d.episodes_mr = 150        # episodes per task of each kind (the paper's counts)
    d.episodes_rp = 100
    d.episodes_me = 50
    d.recipe = "ladder"        # how behaviour data is made: 'ladder' (rungs mixing the scripted expert with uniform
                               # actions) | 'learning_run' (snapshots of a policy trained from scratch); README,
                               # "Datasets"
    d.learner = ml_collections.ConfigDict(dict(  # MT10's learning_run: DAgger per task (srtd_jax/data/learning_run.py)
        rounds=20, episodes_per_round=10, expert_episodes=10, updates_per_round=1000, hidden=(256, 256),
        batch_size=256, learning_rate=1e-3, demo_share=0.5))  # demo_share: of every batch, from the expert episodes
    d.online_learner = ml_collections.ConfigDict(dict(  # the drone's learning_run: online SAC per task from scratch
        rounds=20, envs=32, updates_per_round=1000, hidden=(256, 256),  # (srtd_jax/data/online_sac.py)
        batch_size=256, learning_rate=3e-4))
    d.num_rungs = 11           # behaviour-policy ladder: quality q = k / (num_rungs - 1)
    d.expert_noise = 0.3       # std of the Gaussian noise on expert actions at q = 0 (scaled by 1 - q)
    d.probe_episodes = 4       # episodes per rung to find the medium rung
    d.medium_success = 0.5     # medium rung = first rung whose probe success rate reaches this (drone: whose mean
                               # probe return reaches this fraction of the expert rung's); learning_run: the first
                               # snapshot whose episodes' success rate reaches it
    d.seed = 0                 # data-generation seed
    d.num_workers = 2          # generation processes
    d.generate = True          # make missing or invalid cached files; False: raise instead (files made beforehand,
                               # e.g. by one process before a sweep's cells start)
    d.reward_type = "relative"  # training reward: 'relative' (r_t - r_{t-1}, the paper's) or 'raw'
    d.reward_scale = 0.1       # the released code divides Meta-World's reward by 10
    d.first_relative_reward = "raw"  # the relative reward at t = 0 (no r_{-1}; the paper is silent): 'raw' (r_0, the
                                     # released code's) | 'zero'; in training and in evaluation alike

    c.encoder = e = ml_collections.ConfigDict()
    e.n = 4                    # sub-trajectory length n (task window n steps, skill window 2n steps)
    e.latent_dim = 4           # dimension of b and z
    e.skill_hidden = (256, 256, 256)
    e.task_hidden = (256, 256)
    e.separate_reward_decoder = True  # p_theta as a transition and a reward decoder, each of task_hidden (the
                                      # released code's; the paper names p_theta's outputs, not its networks) |
                                      # False: one decoder of [s', r]
    e.learning_rate = 1e-4
    e.batch_size = 2048
    e.epochs = 300.0           # passes over the dataset's transitions (steps = epochs * transitions / batch)
    e.mmd_weight = 100.0       # lambda on the prior penalty (released code: 100)
    e.kernel = "imq"           # 'imq' | 'rbf'
    e.kernel_scales = (16.0,)  # kernel scales C; released code: one scale, 16
    e.multi_scale = False      # True: the WAE paper's scales 2 d sigma^2 {0.1 .. 10} instead of kernel_scales
    e.skill_reg_weight = 1.0   # weight on L_SR (eq. 5 prints 1; released code: 1e-2)
    e.quality_weight = "discounted_clipped"  # R~ of an episode (the paper: "episodic returns", not how they are
                                             # normalised): 'discounted_clipped' (the released code's: the discounted
                                             # return of the training reward, rl.gamma, clipped below at 0) |
                                             # 'minmax_return' (the raw return min-max normalised over the mixture)
    e.weight_decay = 1e-3      # L2 on encoder/decoder weights (released code: 1e-3; the paper is silent)
    e.weight_decay_mean = True  # the L2 term per parameter array: its mean square (the released code's form) |
                                # False: its sum of squares
    e.matmul_dtype = "float32"  # dtype of the encoders' matrix products: 'float32' | 'bfloat16' (for accelerators;
                                # parameters, optimiser state and losses stay float32; README, "Throughput")
    e.chunk_steps = 100        # steps per jitted lax.scan chunk (progress is reported per chunk)
    e.reuse_from = ""          # a finished run whose trained encoders this run takes instead of training its own
                               # (same encoder phase: every data.* and encoder.* field, seeds, key streams, and
                               # encoder losses; SRTD and SRTD+ID share them)
    e.holdout_fraction = 0.0   # share of each task's episodes kept out of the encoder phase (not out of RL), on
                               # which SRTD+ID's imagination is checked (0: checked on the training episodes)

    c.rl = r = ml_collections.ConfigDict()
    r.learner = "auto"         # 'td3bc' | 'cql' | 'auto' (the method's own: CQL for softmod, TD3+BC otherwise)
    r.network = "auto"         # 'mlp' | 'softmod' | 'auto' (the method's own)
    r.softmod = ml_collections.ConfigDict(dict(  # soft-modularization sizes (appendix B.2)
        num_layers=3, num_modules=4, hidden=256, representation=256))
    r.actor_hidden = (256, 256, 256)
    r.critic_hidden = (256, 256, 256)
    r.learning_rate = 1e-4
    r.batch_size = 1280
    r.steps = 1_000_000
    r.alpha = 2.5              # TD3+BC behaviour-cloning trade-off
    r.gamma = 0.99
    r.tau = 0.005
    r.policy_noise = 0.2
    r.noise_clip = 0.5
    r.policy_delay = 2
    r.matmul_dtype = "float32"  # dtype of the actor's and critic's matrix products (as encoder.matmul_dtype)
    r.chunk_steps = 1000

    c.cql = q = ml_collections.ConfigDict()  # the CQL learner (rl.learner='cql'); tau, gamma, batch from rl
    q.min_q_weight = 5.0       # weight of the CQL(H) penalty (the CQL paper's MuJoCo setting)
    q.num_action_samples = 10  # uniform / pi(s) / pi(s') actions each, per state, in the log-sum-exp
    q.backup_entropy = False   # subtract alpha log pi(a'|s') in the TD target
    q.actor_learning_rate = 1e-4
    q.critic_learning_rate = 3e-4
    q.temperature_learning_rate = 1e-4
    q.init_temperature = 1.0
    q.target_entropy_per_dim = 1.0  # target entropy = -this x action dimension

    c.augment = a = ml_collections.ConfigDict()  # used by srtd_id and srtd_n
    a.size_ratio = 0.5         # augmented transitions per offline transition (the appendix: half the dataset);
                               # batches draw uniformly over offline + augmented data
    a.horizon = 4              # imaginary steps rolled from each dataset state (released code: 4)
    a.batch_share = 0.0        # share of every batch drawn from the augmentation table (0: its share of all data,
                               # size_ratio / (1 + size_ratio): batches draw uniformly over offline + augmented)
    a.z_noise = 0.1            # std of the Gaussian noise on z during imagination (released code: ~0.1)
    a.z_noise_target = "skill_decoder"  # what the noisy z enters: 'skill_decoder' (the released code's: the action
                                        # only; eq. 9 has no noise) | 'all' (both decoders and the stored
                                        # transitions)
    a.state_std = 0.01         # srtd_n: std of the noise on normalised states s and s'
    a.action_std = 0.05        # srtd_n: std of the noise on actions

    c.eval = v = ml_collections.ConfigDict()
    v.episodes_per_task = 10   # evaluation episodes per task and seed, each with a random goal
    v.episode_length = 0       # 0: the dataset's episode length
    v.every_steps = 0          # evaluate every this many RL steps as well (0: only at the end)
    v.seed = 12345             # goals of evaluation episodes
    v.tasks = ()               # task names of the suite to evaluate (empty: all)
    v.env_workers = 2          # MT10: processes stepping the evaluation environments (1: this process);
                               # the drone suite steps its environments on the device
    v.imagination_starts = 1000  # SRTD+ID: dataset steps per seed from which the imagination diagnostics roll
                                 # (summary.json "imagination"; 0: none)
    v.relabel_starts = 25      # of those (at most all), rollouts per seed whose imagined and real steps are
                               # relabelled by the benchmark's own reward function where it has one (MT10;
                               # Figure 4's measure)
    return c
