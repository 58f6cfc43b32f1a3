"""Agent evals: tasks with hidden checks, a harness that runs agents in three arms, graders and a report.

``tasks`` reads ``evals/tasks/<id>/``; ``checks`` runs hidden tests in a pristine copy; ``static`` grades the
reviewer's rules; ``validate`` proves each task discriminates; ``agents`` and ``arms`` produce agent output;
``runner`` records runs under ``evals/runs/``; ``stats`` and ``report`` turn them into numbers; ``triggers``
measures whether the skill's description makes an agent pick it up.
"""
