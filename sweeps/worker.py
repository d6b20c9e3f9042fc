"""`python -m sweeps.worker JOB_DIR`: train one trial in its own process (started by sweeps.trial).

The trial's resolved config is read from JOB_DIR/trial.json, written by the launcher's
worker just before. An error is written to error.json / error.txt for that worker to put
in the summary; the exit code is 0 on success, 1 on an error, 130 on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sweeps.worker", description=__doc__.split("\n\n")[0])
    p.add_argument("job_dir", type=Path)
    p.add_argument("--label", default=None)
    p.add_argument("--progress", default="lines", choices=["lines", "none"])
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    from agents.interrupt import sigterm_as_interrupt
    from sweeps.trial import record_error, train

    config = json.loads((args.job_dir / "trial.json").read_text())["config"]
    try:
        with sigterm_as_interrupt():  # `kill PID` stops the trial as Ctrl-C does: marked interrupted, resumable
            train(config, args.job_dir, args.label or args.job_dir.name, args.resume, args.progress)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure is reported through error.json
        record_error(args.job_dir, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
