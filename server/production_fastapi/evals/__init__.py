"""Agent evals: tasks with hidden checks, a harness that runs agents in three arms, graders and a report.

``tasks`` reads ``evals/tasks/<id>/``; ``checks`` runs hidden tests in a pristine copy; ``static`` grades the
reviewer's rules; ``validate`` proves each task discriminates; ``agents`` and ``arms`` produce agent output;
``protocol`` prepares scratch projects and records trials for agents the harness does not start itself;
``runner`` grades trials and ``record`` stores them leanly (changes against the starter); ``stats`` and ``report``
turn runs into numbers; ``reference`` records the synthetic run the tests use; ``triggers`` measures whether the
skill's description makes an agent pick it up.
"""
