"""Camera rendering for the pybullet backend: the fast path and the optional EGL renderer.

What makes a frame expensive in pybullet's Tiny (CPU) renderer, measured at 84x84:
- triangles: the stock Panda's ~102k faces cost ~30 ms (fixed by simplified robot
  visuals, see `panda_model.py`);
- fill: the renderer shades ~7k pixels per full-screen layer at ~150 ns each, so a
  ground that fills the view costs ~1 ms however few triangles it has, and a big
  floor behind it, clipped at the near plane, ~1.5 ms more although it is hidden.
So a fixed camera caches its static layer: at the first frame after a reset (when
static bodies have their episode pose and colour), the static bodies alone are
rendered once into an RGB image and a depth map, then hidden. Each frame renders
only the moving bodies (robot, objects) and takes the cached pixel wherever nothing
nearer than the cached depth was drawn. The Tiny renderer shades a pixel from the
surface drawn there alone (no shadows, no blending), so this composite is the frame
a full render gives: pixel-identical, tested against plain renders over rollouts.
Overview renders (`render()`) show everything. A hand camera moves every step, so it
renders plainly.

The EGL plugin (`renderer: egl`) renders with OpenGL: fast on a GPU, but through
Mesa's software rasteriser (llvmpipe) it costs ~20-40 ms per frame whatever the
scene, even an empty one (measured; a fixed overhead inside the plugin), so the Tiny
renderer is the default and the fallback.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from envkit.backends.stdio import silence_stdout

with silence_stdout():  # pybullet prints its build time on import
    import pybullet as p

_EGL_PROBE = """
import pkgutil, pybullet as p
c = p.connect(p.DIRECT)
assert p.loadPlugin(pkgutil.get_loader("eglRenderer").get_filename(), "_eglRendererPlugin") >= 0
p.getCameraImage(8, 8, renderer=p.ER_BULLET_HARDWARE_OPENGL)
print("envkit-egl-ok")
"""


@functools.cache
def egl_usable() -> bool:
    """Whether the eglRenderer plugin can render, tried once per process in a child process.

    The plugin calls exit() when libEGL, a device or a GL context is missing, which
    would kill the caller instead of letting it fall back to the Tiny renderer.
    """
    try:
        out = subprocess.run(
            [sys.executable, "-c", _EGL_PROBE], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "envkit-egl-ok" in out.stdout


class BulletCamera:
    """Renders camera frames for one pybullet client; owns the per-episode shortcuts."""

    def __init__(self, cid: int, renderer: str, dynamic: Callable[[], list[int]]) -> None:
        """`dynamic` returns the ids of the bodies that move (robot, objects in play) when called."""
        self._cid = cid
        self._dynamic = dynamic
        self.renderer = "tiny"
        self._flag = p.ER_TINY_RENDERER
        if renderer == "egl":
            self._load_egl()
        self._static: dict[str, int] = {}
        self._colors: dict[int, list[float]] = {}
        self._hidden: set[int] = set()
        self._key: tuple | None = None
        self._layer: tuple[np.ndarray, np.ndarray] | None = None  # static rgb (h, w, 3), depth (h, w)
        #: False renders every frame plainly (benchmarks and exactness tests compare both).
        self.optimize = True

    def _load_egl(self) -> None:
        import pkgutil

        loader = pkgutil.get_loader("eglRenderer")
        plugin = -1
        if loader is not None and egl_usable():
            plugin = p.loadPlugin(loader.get_filename(), "_eglRendererPlugin", physicsClientId=self._cid)
        if plugin < 0:
            warnings.warn(
                "observation.camera.renderer 'egl': pybullet's eglRenderer plugin cannot render here (it needs "
                "libEGL and a GL driver, e.g. Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri); using the "
                "Tiny renderer",
                RuntimeWarning,
                stacklevel=3,
            )
            return
        self.renderer = "egl"
        self._flag = p.ER_BULLET_HARDWARE_OPENGL

    # ------------------------------------------------------------------ bookkeeping by the world

    def set_bodies(self, static: dict[str, int], colors: dict[int, list[float]]) -> None:
        """Static bodies (name -> id) with their colours, after a (re)build; resets the shortcuts."""
        self._static = dict(static)
        self._colors = {k: list(v) for k, v in colors.items()}
        self._hidden = set()
        self._key = None
        self._layer = None

    def invalidate(self) -> None:
        """Static poses or colours changed (a reset): prepare again at the next fixed frame."""
        self._show(self._hidden)
        self._hidden = set()
        self._key = None
        self._layer = None

    def set_color(self, body_id: int, rgba: list[float]) -> None:
        """Record a static body's colour (applied by the caller) so it can be restored after hiding."""
        self._colors[body_id] = list(rgba)
        if body_id in self._hidden:
            self._hide(body_id)

    @property
    def hidden(self) -> set[int]:
        """Ids of static bodies hidden from the renderer now (cached in the static layer)."""
        return set(self._hidden)

    @property
    def cached(self) -> bool:
        """Whether frames are composited with a cached static layer this episode."""
        return self._layer is not None

    # ------------------------------------------------------------------ rendering

    def image(self, view: np.ndarray, proj: np.ndarray, width: int, height: int, fixed: bool) -> np.ndarray:
        """RGB uint8 (height, width, 3); a fixed camera composites moving bodies over its static layer."""
        if fixed and self.optimize and self.renderer == "tiny":
            key = (view.tobytes(), proj.tobytes(), width, height)
            if key != self._key:
                self._prepare(view, proj, width, height)
                self._key = key
        elif self._hidden:
            self.invalidate()
        rgb, depth = self._render(view, proj, width, height)
        if self._layer is not None:
            s_rgb, s_depth = self._layer
            behind = depth > s_depth
            rgb[behind] = s_rgb[behind]
        return rgb

    def _render(
        self, view: np.ndarray, proj: np.ndarray, width: int, height: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """RGB and depth buffer; no shadows, no segmentation mask."""
        _, _, rgba, depth, _ = p.getCameraImage(
            width,
            height,
            viewMatrix=view.tolist(),
            projectionMatrix=proj.tolist(),
            shadow=0,
            renderer=self._flag,
            flags=p.ER_NO_SEGMENTATION_MASK,
            physicsClientId=self._cid,
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3].copy()
        return rgb, np.asarray(depth, dtype=np.float32).reshape(height, width)

    def _prepare(self, view: np.ndarray, proj: np.ndarray, width: int, height: int) -> None:
        """Render the static bodies alone into the cached layer, then hide them."""
        self.invalidate()
        statics = [bid for bid in self._static.values() if bid in self._colors]
        if not statics:
            return
        cid = self._cid
        saved = []
        for body in self._dynamic():
            for shape in p.getVisualShapeData(body, physicsClientId=cid):
                saved.append((body, shape[1], list(shape[7])))
                p.changeVisualShape(body, shape[1], rgbaColor=[*shape[7][:3], 0.0], physicsClientId=cid)
        try:
            self._layer = self._render(view, proj, width, height)
        finally:
            for body, link, rgba in saved:
                p.changeVisualShape(body, link, rgbaColor=rgba, physicsClientId=cid)
        for bid in statics:
            self._hide(bid)
        self._hidden = set(statics)

    def _hide(self, bid: int) -> None:
        p.changeVisualShape(bid, -1, rgbaColor=[*self._colors[bid][:3], 0.0], physicsClientId=self._cid)

    def _show(self, ids: set[int]) -> None:
        for bid in ids:
            p.changeVisualShape(bid, -1, rgbaColor=self._colors[bid], physicsClientId=self._cid)

    @contextmanager
    def everything_visible(self) -> Iterator[None]:
        """Show skipped bodies for an overview render, then hide them again."""
        hidden = set(self._hidden)
        self._show(hidden)
        try:
            yield
        finally:
            for bid in hidden:
                self._hide(bid)
