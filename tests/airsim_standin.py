"""A loopback stand-in for an AirSim multirotor server: speaks AirSim's msgpack-RPC protocol for the calls the
drone environment makes, backed by the built-in simulator's dynamics (srtd_jax/benchmarks/drone/sim.py), so that
the AirSim code path (srtd_jax/benchmarks/drone/gym_env.py:AirSimDroneEnv) runs end to end with the unmodified `airsim` client where
Unreal cannot run.

Wire format (msgpack-RPC): requests [0, id, method, params], responses [1, id, error, result]; objects travel as
maps of their fields (x_val, y_val, z_val, w_val, ...) in AirSim's NED frame (z down). Works with both msgpack
APIs (the 0.5 one that msgpack-rpc-python installs and the 1.x one). Simulated time advances only with commands:
a moveByVelocity of 0.5 s returns at once, after 0.5 s of simulated flight.

The stand-in plays the Unreal level: it is built for one task's map (obstacles for collisions and lidar); the wind
is whatever simSetWind last set, as in AirSim. Bad requests get an RPC error and change nothing: non-finite
velocities, a non-finite or negative duration; a frame that is not a msgpack-RPC request gets an error reply, then
the connection closes. Its call log and its cache of compiled flight durations are bounded.
"""
from __future__ import annotations

import collections
import functools
import math
import socketserver
import threading

import jax
import msgpack
import numpy as np

from srtd_jax.benchmarks.drone import maps, sim

SERVER_VERSION = 1
CALL_LOG = 1000        # most recent calls kept in StandInVehicle.calls
COMPILED_DURATIONS = 8  # flight durations whose compiled step is kept (each new one compiles once)
_lidar = jax.jit(sim.lidar)


@functools.lru_cache(maxsize=COMPILED_DURATIONS)
def _advance(duration: float):
    """The simulator's step for one flight duration, compiled; the least recently used are dropped."""
    return jax.jit(functools.partial(sim.advance, duration=duration))


def _vec(x, y, z) -> dict:
    return {"x_val": float(x), "y_val": float(y), "z_val": float(z)}


def _quat_from_yaw(yaw: float) -> dict:
    return {"w_val": math.cos(yaw / 2), "x_val": 0.0, "y_val": 0.0, "z_val": math.sin(yaw / 2)}


def _yaw_from_quat(q: dict) -> float:
    w, x, y, z = (float(q[k]) for k in ("w_val", "x_val", "y_val", "z_val"))
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


class StandInVehicle:
    """The simulated multirotor and the RPC methods it answers (AirSim's names and argument orders)."""

    def __init__(self, task: str):
        self.task_id = maps.task_index(task)
        self.m = sim.map_arrays()
        self.lock = threading.Lock()
        self.calls: collections.deque[str] = collections.deque(maxlen=CALL_LOG)
        self.reset()

    # --- state kept in the simulator's frame: (x, y, height) ---
    def reset(self):
        self.pos = np.asarray(self.m.sites[self.task_id, 0], np.float32)
        self.vel = np.zeros(3, np.float32)
        self.yaw = 0.0
        self.wind = np.zeros(3, np.float32)
        self.clock_ns = 0
        self.collision = None
        self.api_control = self.armed = False

    def ping(self):
        return True

    def getServerVersion(self):
        return SERVER_VERSION

    def getMinRequiredClientVersion(self):
        return 1

    def enableApiControl(self, is_enabled, vehicle_name=""):
        self.api_control = bool(is_enabled)

    def isApiControlEnabled(self, vehicle_name=""):
        return self.api_control

    def armDisarm(self, arm, vehicle_name=""):
        self.armed = bool(arm)
        return True

    def simSetWind(self, wind):
        self.wind = np.asarray([wind["x_val"], wind["y_val"], -wind["z_val"]], np.float32)

    def simSetVehiclePose(self, pose, ignore_collision, vehicle_name=""):
        p = pose["position"]
        self.pos = np.asarray([p["x_val"], p["y_val"], -p["z_val"]], np.float32)
        self.vel = np.zeros(3, np.float32)
        self.yaw = _yaw_from_quat(pose["orientation"])

    def simGetVehiclePose(self, vehicle_name=""):
        return {"position": _vec(self.pos[0], self.pos[1], -self.pos[2]), "orientation": _quat_from_yaw(self.yaw)}

    def moveByVelocity(self, vx, vy, vz, duration, drivetrain, yaw_mode, vehicle_name=""):
        if not (self.api_control and self.armed):
            raise RuntimeError("moveByVelocity needs enableApiControl(True) and armDisarm(True) first")
        if not all(math.isfinite(float(v)) for v in (vx, vy, vz)):
            raise ValueError(f"moveByVelocity: velocities must be finite, got ({vx}, {vy}, {vz})")
        if not (math.isfinite(float(duration)) and float(duration) >= 0):
            raise ValueError(f"moveByVelocity: duration must be finite and >= 0, got {duration}")
        v_cmd = np.asarray([vx, vy, -vz], np.float32)
        pos, vel, yaw, hit = _advance(float(duration))(self.pos, self.vel, np.float32(self.yaw), v_cmd, self.wind,
                                                       self.task_id, self.m)
        self.clock_ns += int(round(float(duration) * 1e9))
        self.pos, self.vel, self.yaw = np.asarray(pos), np.asarray(vel), float(yaw)
        if bool(hit):
            self.collision = {"has_collided": True, "normal": _vec(0, 0, 0), "impact_point": _vec(*self._ned()),
                              "position": _vec(*self._ned()), "penetration_depth": 0.0, "time_stamp": self.clock_ns,
                              "object_name": "obstacle", "object_id": 1}
        return True

    def _ned(self):
        return self.pos[0], self.pos[1], -self.pos[2]

    def simGetCollisionInfo(self, vehicle_name=""):
        return self.collision or {"has_collided": False, "normal": _vec(0, 0, 0), "impact_point": _vec(0, 0, 0),
                                  "position": _vec(0, 0, 0), "penetration_depth": 0.0, "time_stamp": 0,
                                  "object_name": "", "object_id": -1}

    def getMultirotorState(self, vehicle_name=""):
        zero = _vec(0, 0, 0)
        kin = {"position": _vec(*self._ned()), "orientation": _quat_from_yaw(self.yaw),
               "linear_velocity": _vec(self.vel[0], self.vel[1], -self.vel[2]), "angular_velocity": zero,
               "linear_acceleration": zero, "angular_acceleration": zero}
        return {"collision": self.simGetCollisionInfo(), "kinematics_estimated": kin,
                "gps_location": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0}, "timestamp": self.clock_ns,
                "landed_state": 1, "rc_data": {"timestamp": 0, "pitch": 0.0, "roll": 0.0, "throttle": 0.0,
                                               "yaw": 0.0, "is_initialized": False, "is_valid": False},
                "ready": True, "ready_message": "", "can_arm": True}

    def getLidarData(self, lidar_name="", vehicle_name=""):
        """One point per horizontal beam that hits within range, in the vehicle-inertial (world NED) frame: what
        AirSim returns for a 1-channel lidar with "DataFrame": "VehicleInertialFrame" (README, "AirSim")."""
        d = np.asarray(_lidar(self.pos, self.task_id, self.m))
        angles = np.asarray(sim.BEAM_ANGLES)
        hit = d < sim.LIDAR_RANGE
        pts = np.stack([self.pos[0] + d * np.cos(angles), self.pos[1] + d * np.sin(angles),
                        np.full_like(d, -self.pos[2])], -1)[hit]
        return {"point_cloud": [float(v) for v in pts.ravel()] or [0.0], "time_stamp": self.clock_ns,
                "pose": self.simGetVehiclePose(), "segmentation": [0] * int(hit.sum())}

    def call(self, method: str, params: list):
        if method.startswith("_") or method == "call" or not callable(getattr(self, method, None)):
            raise AttributeError(f"the AirSim stand-in does not implement {method!r}")
        with self.lock:
            self.calls.append(method)
            return getattr(self, method)(*params)


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        unpacker = msgpack.Unpacker(raw=False)
        vehicle: StandInVehicle = self.server.vehicle
        while True:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            unpacker.feed(chunk)
            try:
                messages = list(unpacker)
            except Exception as err:  # bytes that are not msgpack: say so, then close
                self._reply(None, f"malformed frame: {type(err).__name__}: {err}", None)
                return
            for msg in messages:
                request = isinstance(msg, (list, tuple)) and len(msg) == 4 and msg[0] == 0
                notification = isinstance(msg, (list, tuple)) and len(msg) == 3 and msg[0] == 2
                if not (request or notification) or not isinstance(msg[-2], str) or \
                        not isinstance(msg[-1], (list, tuple)):
                    msgid = msg[1] if isinstance(msg, (list, tuple)) and len(msg) > 1 else None
                    self._reply(msgid, f"malformed frame {msg!r}: expected [0, id, method, params] or "
                                       "[2, method, params]", None)
                    return
                if notification:  # needs no answer
                    try:
                        vehicle.call(msg[1], msg[2])
                    except Exception:  # noqa: BLE001  (nobody to tell: rpclib drops a failed notification too)
                        pass
                    continue
                _, msgid, method, params = msg
                try:
                    result, error = vehicle.call(method, params), None
                except Exception as err:  # sent back as the RPC error, as rpclib does
                    result, error = None, f"{type(err).__name__}: {err}"
                self._reply(msgid, error, result)

    def _reply(self, msgid, error, result):
        self.request.sendall(msgpack.packb([1, msgid, error, result], use_bin_type=True))


class StandInServer(socketserver.ThreadingTCPServer):
    """`with StandInServer(task) as server:` serves on 127.0.0.1:server.port in a background thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, task: str, host: str = "127.0.0.1", port: int = 0):
        self.vehicle = StandInVehicle(task)
        super().__init__((host, port), _Handler)
        self.port = self.server_address[1]
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
