"""Camera rendering for the pybullet backend: the fast path and the optional EGL renderer.

What makes a frame expensive in pybullet's Tiny (CPU) renderer, measured at 84x84:
- triangles: the stock Panda's ~102k faces cost ~30 ms (fixed by simplified robot
  visuals, see `panda_model.py`);
- fill: the renderer shades ~7k pixels per full-screen layer at ~150 ns each, so a
  ground that fills the view costs ~1 ms however few triangles it has, and a big
  floor behind it, clipped at the near plane, ~1.5 ms more although it is hidden.
So for a fixed camera, two exact shortcuts are prepared at the first frame after a
reset (when the static bodies have their episode pose and colour):
1. culling: a segmentation render of the static bodies alone finds which of them
   any pixel shows; the others get alpha 0, which the renderer skips. Moving
   bodies (robot, objects) can only hide static ones, never reveal them.
2. backdrop: the static body covering most of that render, if it is drawn in one
   uniform colour (a flat, evenly lit face such as a ground or table top), is
   rendered once alone to record its depth per pixel, then hidden. Each frame, a
   pixel where nothing nearer than that depth was drawn gets its colour.
Both leave frames pixel-identical (tested against plain renders over rollouts).
Overview renders (`render()`) show everything. A hand camera moves every step, so
it renders plainly.

The EGL plugin (`renderer: egl`) renders with OpenGL: fast on a GPU, but through
Mesa's software rasteriser (llvmpipe) it costs ~20-40 ms per frame whatever the
scene (measured; pybullet's plugin overhead), so the Tiny renderer is the default.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from envkit.backends.bullet import p

#: A backdrop must cover at least this share of the static-only render to be worth it.
BACKDROP_MIN_COVERAGE = 0.2


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
        self._backdrop: tuple[np.ndarray, np.ndarray] | None = None  # depth (h, w), rgb (3,)
        #: False renders every frame plainly (benchmarks and exactness tests compare both).
        self.optimize = True

    def _load_egl(self) -> None:
        import pkgutil

        loader = pkgutil.get_loader("eglRenderer")
        plugin = -1
        if loader is not None:
            plugin = p.loadPlugin(loader.get_filename(), "_eglRendererPlugin", physicsClientId=self._cid)
        if plugin < 0:
            warnings.warn(
                "observation.camera.renderer 'egl': pybullet's eglRenderer plugin could not load (it needs "
                "libEGL and a GL driver, e.g. Debian packages libegl1 libgl1-mesa-dri); using the Tiny renderer",
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
        self._backdrop = None

    def invalidate(self) -> None:
        """Static poses or colours changed (a reset): prepare again at the next fixed frame."""
        self._show(self._hidden)
        self._hidden = set()
        self._key = None
        self._backdrop = None

    def set_color(self, body_id: int, rgba: list[float]) -> None:
        """Record a static body's colour (applied by the caller) so it can be restored after hiding."""
        self._colors[body_id] = list(rgba)
        if body_id in self._hidden:
            self._hide(body_id)

    @property
    def hidden(self) -> set[int]:
        """Ids of static bodies the camera skips now (culled or backdrop; for tests and benchmarks)."""
        return set(self._hidden)

    @property
    def has_backdrop(self) -> bool:
        return self._backdrop is not None

    # ------------------------------------------------------------------ rendering

    def image(self, view: np.ndarray, proj: np.ndarray, width: int, height: int, fixed: bool) -> np.ndarray:
        """RGB uint8 (height, width, 3); a fixed camera uses the culling and backdrop shortcuts."""
        if fixed and self.optimize and self.renderer == "tiny":
            key = (view.tobytes(), proj.tobytes(), width, height)
            if key != self._key:
                self._prepare(view, proj, width, height)
                self._key = key
        elif self._hidden:
            self.invalidate()
        rgb, depth, _ = self._render(view, proj, width, height, segmentation=False)
        if self._backdrop is not None:
            b_depth, b_rgb = self._backdrop
            rgb[depth > b_depth] = b_rgb
        return rgb

    def _render(
        self, view: np.ndarray, proj: np.ndarray, width: int, height: int, segmentation: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        _, _, rgba, depth, seg = p.getCameraImage(
            width,
            height,
            viewMatrix=view.tolist(),
            projectionMatrix=proj.tolist(),
            shadow=0,
            renderer=self._flag,
            flags=0 if segmentation else p.ER_NO_SEGMENTATION_MASK,
            physicsClientId=self._cid,
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3].copy()
        depth = np.asarray(depth, dtype=np.float32).reshape(height, width)
        return rgb, depth, (np.asarray(seg).reshape(height, width) if segmentation else None)

    def _prepare(self, view: np.ndarray, proj: np.ndarray, width: int, height: int) -> None:
        """Find the static bodies no pixel shows (culled) and a uniformly coloured backdrop."""
        self.invalidate()
        if not self._static:
            return
        cid = self._cid
        saved = []
        for body in self._dynamic():
            for shape in p.getVisualShapeData(body, physicsClientId=cid):
                saved.append((body, shape[1], list(shape[7])))
                p.changeVisualShape(body, shape[1], rgbaColor=[*shape[7][:3], 0.0], physicsClientId=cid)
        try:
            _, _, seg = self._render(view, proj, width, height, segmentation=True)
            ids, counts = np.unique(seg, return_counts=True)
            coverage = dict(zip(ids.tolist(), counts.tolist(), strict=True))
            statics = [bid for bid in self._static.values() if bid in self._colors]
            culled = {bid for bid in statics if bid not in coverage}
            for bid in culled:
                self._hide(bid)
            self._hidden = culled
            visible = sorted((b for b in statics if b in coverage), key=lambda b: -coverage[b])
            if visible and coverage[visible[0]] >= BACKDROP_MIN_COVERAGE * width * height:
                self._find_backdrop(visible[0], visible[1:], view, proj, width, height)
        finally:
            for body, link, rgba in saved:
                p.changeVisualShape(body, link, rgbaColor=rgba, physicsClientId=cid)

    def _find_backdrop(
        self, candidate: int, others: list[int], view: np.ndarray, proj: np.ndarray, width: int, height: int
    ) -> None:
        """Render `candidate` alone; keep it as the backdrop if all its pixels have one colour."""
        for bid in others:
            self._hide(bid)
        try:
            rgb, depth, seg = self._render(view, proj, width, height, segmentation=True)
        finally:
            self._show(set(others))
        mask = seg == candidate
        colors = np.unique(rgb[mask], axis=0)
        if len(colors) != 1:
            return
        # Where the candidate is absent, nothing is in front of it: its depth reads as infinite.
        b_depth = np.where(mask, depth, np.float32(np.inf)).astype(np.float32)
        self._backdrop = (b_depth, colors[0].copy())
        self._hide(candidate)
        self._hidden.add(candidate)

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
