"""Keyword evals: suites in the shape of ``triforce_eval_cases.json``, two scoring rules, stored runs."""
