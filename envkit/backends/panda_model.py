"""Variants of panda-gym's Panda URDF: simplified visuals for cameras, and a welded tool.

Why: a camera frame of the stock Panda costs ~30 ms in pybullet's Tiny renderer
because its visual meshes have ~102k faces (measured; the pixels are cheap).
Visual variants, none of which changes the physics (collision shapes, inertias
and joint order are untouched; trajectories are bit-identical, tested):
- `simple`: every link drawn with its collision mesh (~3.4k faces in total), ~1 ms;
- `boxes`: arm links drawn as their collision meshes' bounding boxes, the hand and
  fingers (what a camera looks at closely) with their collision meshes, ~0.3 ms.
A tool is appended
as one more link on a fixed joint to the hand, so it is perfectly rigid, needs
no constraint solver, and keeps every existing link index (it becomes link 12).

The generated files live in a per-process temporary folder and point at
pybullet_data's meshes by absolute path.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from pathlib import Path

from envkit.robot import GRASP_OFFSET
from envkit.spec import ToolSpec

#: Link index of the tool when one is attached (after panda-gym's 12 links).
TOOL_LINK = 12

#: Colours of the simplified links, close to the real arm's: white links and hand, dark flange and fingers.
_SIMPLE_COLORS = {
    "panda_link7": (0.3, 0.3, 0.3, 1.0),
    "panda_hand": (0.85, 0.85, 0.85, 1.0),
    "panda_leftfinger": (0.2, 0.2, 0.2, 1.0),
    "panda_rightfinger": (0.2, 0.2, 0.2, 1.0),
}
_ARM_COLOR = (0.92, 0.92, 0.92, 1.0)

_tmpdir: Path | None = None


def _folder() -> Path:
    global _tmpdir
    if _tmpdir is None:
        _tmpdir = Path(tempfile.mkdtemp(prefix="envkit-urdf-"))
        atexit.register(shutil.rmtree, _tmpdir, True)
    return _tmpdir


def _stock_urdf() -> tuple[str, Path]:
    import pybullet_data

    path = Path(pybullet_data.getDataPath()) / "franka_panda" / "panda.urdf"
    return path.read_text(encoding="utf-8"), path.parent / "meshes"


def _obj_bounds(path: Path) -> tuple[list[float], list[float]]:
    """Axis-aligned bounds of an OBJ mesh's vertices, in its link frame."""
    lo = [float("inf")] * 3
    hi = [float("-inf")] * 3
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("v "):
                xyz = [float(v) for v in line.split()[1:4]]
                lo = [min(a, b) for a, b in zip(lo, xyz, strict=True)]
                hi = [max(a, b) for a, b in zip(hi, xyz, strict=True)]
    return lo, hi


def _boxed_visuals(text: str, meshes: Path) -> str:
    """Arm links drawn as their collision meshes' bounding boxes (12 triangles each); the hand and
    fingers keep their collision meshes, because a camera looks closely at them."""
    import re

    def box(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith(("hand", "finger")):
            return match.group(0)
        lo, hi = _obj_bounds(meshes / "collision" / f"{name}.obj")
        size = " ".join(f"{b - a:.4g}" for a, b in zip(lo, hi, strict=True))
        center = " ".join(f"{(a + b) / 2:.4g}" for a, b in zip(lo, hi, strict=True))
        return f'<origin xyz="{center}" rpy="0 0 0"/><geometry><box size="{size}"/></geometry>'

    def per_visual(match: re.Match[str]) -> str:
        return re.sub(
            r'<geometry>\s*<mesh filename="package://meshes/collision/(\w+)\.obj"/>\s*</geometry>',
            box,
            match.group(0),
        )

    return re.sub(r"<visual>.*?</visual>", per_visual, text, flags=re.S)


def _simplify_visuals(text: str) -> str:
    """Draw every link with its collision mesh, coloured per link."""
    import re

    text = text.replace("package://meshes/visual/", "package://meshes/collision/")

    def recolor(match: re.Match[str]) -> str:
        link = match.group(1)
        body = match.group(2)
        rgba = " ".join(f"{c:g}" for c in _SIMPLE_COLORS.get(link, _ARM_COLOR))
        material = f'<material name="envkit_{link}"><color rgba="{rgba}"/></material>'
        body = re.sub(
            r"(<visual>.*?</geometry>)\s*(<material[^>]*/>|<material.*?</material>)?",
            lambda m: m.group(1) + "\n      " + material,
            body,
            flags=re.S,
        )
        return f'<link name="{link}">{body}</link>'

    return re.sub(r'<link name="([^"]+)">(.*?)</link>', recolor, text, flags=re.S)


def _tool_xml(tool: ToolSpec) -> str:
    hx, hy, hz = tool.half_extents
    # The tool's top is `grip` above the grasp point, its axis along the hand's z.
    z = GRASP_OFFSET - tool.grip + hz
    if tool.shape == "cylinder":
        geometry = f'<cylinder radius="{hx:.6g}" length="{2 * hz:.6g}"/>'
        ixx = tool.mass * (3 * hx * hx + 4 * hz * hz) / 12.0
        izz = tool.mass * hx * hx / 2.0
        iyy = ixx
    else:
        geometry = f'<box size="{2 * hx:.6g} {2 * hy:.6g} {2 * hz:.6g}"/>'
        ixx = tool.mass * (4 * hy * hy + 4 * hz * hz) / 12.0
        iyy = tool.mass * (4 * hx * hx + 4 * hz * hz) / 12.0
        izz = tool.mass * (4 * hx * hx + 4 * hy * hy) / 12.0
    rgba = " ".join(f"{c:g}" for c in tool.color)
    return f"""
  <link name="envkit_tool">
    <inertial><origin xyz="0 0 0"/><mass value="{tool.mass:.6g}"/>
      <inertia ixx="{ixx:.6g}" ixy="0" ixz="0" iyy="{iyy:.6g}" iyz="0" izz="{izz:.6g}"/></inertial>
    <visual><geometry>{geometry}</geometry><material name="envkit_tool"><color rgba="{rgba}"/></material></visual>
    <collision><geometry>{geometry}</geometry></collision>
  </link>
  <joint name="envkit_tool_joint" type="fixed">
    <parent link="panda_hand"/><child link="envkit_tool"/><origin xyz="0 0 {z:.6g}" rpy="0 0 0"/>
  </joint>
"""


def panda_urdf(visual: str, tool: ToolSpec | None) -> str | None:
    """Path of the URDF to load, or None for panda-gym's stock file (full visuals, no tool)."""
    if visual == "full" and tool is None:
        return None
    text, meshes = _stock_urdf()
    if visual in ("simple", "boxes"):
        text = _simplify_visuals(text)
    if visual == "boxes":
        text = _boxed_visuals(text, meshes)
    if tool is not None:
        text = text.replace("</robot>", _tool_xml(tool) + "</robot>")
    text = text.replace("package://meshes/", f"{meshes}/")
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = _folder() / f"panda-{visual}-{digest}.urdf"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return str(path)
