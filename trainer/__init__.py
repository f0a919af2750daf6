"""The thin trainer: LoRA SFT on a snapshot's chat export, keyword evals, lineage.

Modules import torch, transformers, peft and trl only inside the functions that need them, so the
CLI starts in well under a second and commands that never train never pay for them.
"""
