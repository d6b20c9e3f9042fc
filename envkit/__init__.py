"""envkit: robot-arm RL environments and reward designs from YAML."""

__version__ = "0.1.0"
