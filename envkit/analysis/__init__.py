"""Analysis of reward designs, before and around training: lint, probe, ablation.

Reads scenes and reward registrations, builds environments to measure them, and
writes ablation grids; nothing below it imports it (docs/architecture.md, layer 5).

- `lint.lint_scene(spec, gamma)`: static checks of what a reward pays for
  (from `scenefacts` and the term models in `profiles`);
- `probe.run_probe(scene, episodes)`: what each term actually pays a policy;
- `ablation.ablation_designs(design)`: leave-one-out and weight-scaling grids.
"""
