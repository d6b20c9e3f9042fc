"""`python -m sweeps.train`: the Hydra app; one job is one trial (sweeps/trial.py).

    python -m sweeps.train                                      # one trial with the defaults
    python -m sweeps.train -m experiment=quickstart             # a preset grid
    python -m sweeps.train -m reward=sort_v1,sort_v2 agent.batch_size=5000,50000 seed=0,1,2 \\
        scene=sort-1 budget.timesteps=200000
    python -m sweeps.train --cfg job                            # print the composed config

`envkit sweep ...` runs the same app (always as a multirun) and prints the report at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra

from sweeps.trial import task

CONF_DIR = Path(__file__).resolve().parent / "conf"


def preflight(argv: list[str]) -> str | None:
    """What Hydra would report obscurely, as a clear message (None when all is well): the Ray
    launcher asked for without its optional packages."""
    if any(a.strip("'\"") in ("launcher=ray", "hydra/launcher=ray") for a in argv):
        try:
            import hydra_plugins.hydra_ray_launcher  # noqa: F401
        except ImportError:
            return ("launcher=ray needs the optional Ray packages: pip install -e \".[ray]\" (hydra-ray-launcher "
                    "and ray), then start or join a Ray cluster as README.md describes (\"Sweeps on a Ray "
                    "cluster\"). Without Ray, use launcher=local (parallel on this machine).")
    return None


def main() -> None:
    problem = preflight(sys.argv[1:])
    if problem:
        sys.exit(f"sweeps: {problem}")
    hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")(task)()


if __name__ == "__main__":
    main()
