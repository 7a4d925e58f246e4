"""Rollout: phases, measured gates, routing decisions and rollback.

Phases are MLflow registry aliases: ``shadow`` (predictions logged only) → ``assist``
(suggestions for agents) → ``auto_route`` (queue/priority applied when confident). A version
earns a phase by passing gates: offline ones from its training run (macro-F1 not below the
current holder's minus a tolerance, calibration error bound) and online ones from the dbt mart
``fct_model_quality`` (agreement with agents' final values in the previous phase, enough tickets,
override rate). Every move, forced or not, is an ``ops.rollout_events`` row and a version tag;
rollback pops the phase's holder history.

Modules (import the one you need; this package imports nothing on its own):

- ``config``: ``rollout.yaml`` (gates per phase, scoring knobs) and the phase names;
- ``routing``: what one prediction does in a phase (pure);
- ``gates``: offline and online promotion gates (pure);
- ``decisions``: ``ops.rollout_events`` rows and the holder history they replay to;
- ``registry``: MLflow aliases, version tags and saved model folders;
- ``promote``: ``promote`` / ``rollback``, composing the four above;
- ``targets``: the versions scoring runs with.
"""
