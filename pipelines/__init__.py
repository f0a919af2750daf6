"""The flows every front end shares, as small steps with one ``run`` each (in datatrove's manner).

``check`` (validate + dedup against the index) is the one judgement a template proposal, a teacher's
reply, a community submission and an expert's correction all go through. ``loop`` and ``experiment``
compose the steps into the refinement loop and the curated-vs-noisy experiment.
"""
