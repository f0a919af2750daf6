"""``triforge experiment``: does curation make a better model? Train one adapter per snapshot under one
budget and seed, evaluate every adapter and the base model on the same cases, and report each metric's
difference with a paired bootstrap interval."""

from pipelines.experiment.plan import ExperimentPlan
from pipelines.experiment.run import ExperimentOutcome, run_experiment

__all__ = ["ExperimentOutcome", "ExperimentPlan", "run_experiment"]
