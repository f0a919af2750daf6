"""Hugging Face libraries, told to keep quiet: Triforge shows its own Rich progress instead of their
tqdm bars, and deprecation chatter from inside transformers is not something a user can act on."""

from __future__ import annotations

import warnings


def quiet_hf() -> None:
    import datasets
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)
