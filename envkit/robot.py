"""The Franka Panda's constants, in one place: joints, limits, neutral pose, end effector, actions.

As mjlab keeps `panda_constants.py` beside its robot: the backend drives these
joints, the env sizes its action space from them and the reward lint estimates
where the hand starts from them, so they cannot drift apart. Indices are those of
panda-gym's Panda URDF (pybullet_data's `franka_panda/panda.urdf`): 7 arm joints,
two finger joints (9, 10), the grasp target as link 11. Plain data, no simulator.
"""

from __future__ import annotations

import numpy as np

#: Revolute arm joints, base to flange.
ARM_JOINTS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
#: Prismatic finger joints (each opens by half the finger width).
FINGER_JOINTS: tuple[int, ...] = (9, 10)
#: Every joint the motors drive, arm then fingers.
JOINTS: tuple[int, ...] = ARM_JOINTS + FINGER_JOINTS
#: Degrees of freedom of the arm (the action size in joint control, without the gripper).
ARM_DOF = len(ARM_JOINTS)

#: Motor force limits (N m for the arm, N for the fingers), in `JOINTS` order (panda-gym's).
JOINT_FORCES: tuple[float, ...] = (87.0, 87.0, 87.0, 87.0, 12.0, 120.0, 120.0, 170.0, 170.0)
#: Neutral joint angles (rad; finger widths in m), in `JOINTS` order: the pose at every reset.
NEUTRAL_JOINTS: tuple[float, ...] = (0.00, 0.41, 0.00, -1.85, 0.00, 2.26, 0.79, 0.00, 0.00)
#: Widest finger opening (m).
MAX_FINGER_WIDTH = 0.08

#: Link whose frame is the end effector (panda_grasptarget, between the fingertips).
EE_LINK = 11
#: End-effector orientation pointing down (quaternion x, y, z, w), the IK target in ee control.
EE_DOWN: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
#: Where the grasp target sits along the hand's z axis, from panda.urdf (m).
GRASP_OFFSET = 0.105
#: End-effector position in the neutral pose relative to the robot base (checked against a real
#: reset in the tests).
NEUTRAL_EE_OFFSET = np.array([0.6384, 0.0, 0.1974])
NEUTRAL_EE_OFFSET.setflags(write=False)

#: Action components per control mode, without the gripper: ee moves (dx, dy, dz), joints one per arm joint.
CONTROL_DIMS = {"ee": 3, "joints": ARM_DOF}


def action_size(control: str, gripper: bool) -> int:
    """Length of the action vector: the control mode's components, plus one for the gripper."""
    return CONTROL_DIMS[control] + (1 if gripper else 0)
