"""Messages of the libraries under factdyn that are not the user's business, silenced one by one.

Every ``factdyn`` command printed them, and none asks the user to do anything:

- Lightning's advertisement for LitLogger ("💡 Tip: For seamless cloud logging ..."), logged at every
  Trainer construction;
- torch's ``FutureWarning`` that ``isinstance(treespec, LeafSpec)`` is deprecated, raised inside
  Lightning's own ``_pytree`` helpers (Lightning's code, not factdyn's);
- under DDP, Lightning's ``PossibleUserWarning`` "It is recommended to use ``self.log(<tag>, ...,
  sync_dist=True)``" for the tags factdyn logs with values that are already the same on every rank:
  the evaluation metrics (torchmetrics accumulators, synced in ``compute``), the baseline, the bucket,
  exposure and knowledge-panel values (every rank evaluates the same sets with the same weights; the
  exposure counts are gathered) and the attention statistics (one fixed batch). The warning is about a
  mean over ranks, which for these values is the value itself.

In ``validate`` / ``test`` only (:func:`evaluation_quiet`): Lightning's advice that "callbacks used to
create the checkpoint need to be provided" (an evaluation restores no training callback state; it names the
training run's ``ModelCheckpoint`` settings), and its caution that an ``IterableDataset`` with ``__len__``
may count wrongly with several loader workers (``test``'s exhaustive set is counted exactly, in the main
process).

Each filter matches one message by its text (and category), never a whole category or module, so every
other warning, a user's own ``sync_dist`` warning for a tag of theirs included, still shows.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

LITLOGGER_TIP = "💡 Tip: For seamless cloud logging"
"""The start of Lightning's LitLogger advertisement (its logger connector, at every Trainer construction)."""
LIGHTNING_INFO_LOGGER = "lightning.pytorch.utilities.rank_zero"
"""The logger through which Lightning's ``rank_zero_info`` prints it."""
PYTREE_DEPRECATION = r"`isinstance\(treespec, LeafSpec\)` is deprecated"
RANK_CONSISTENT_PREFIXES = (
    "val",
    "unseen",
    "new",
    "ft_old",
    "ft_new",
    "baseline",
    "step",
    "exposures",
    "panel",
    "attn",
)
"""The first component of every tag factdyn logs with ``sync_dist=False`` because its value is already the
same on every rank (the evaluation splits' prefixes, fine-tuning's ``ft_old`` / ``ft_new`` among them)."""
SYNC_DIST_ADVICE = (
    r"It is recommended to use `self\.log\('(?:" + "|".join(RANK_CONSISTENT_PREFIXES) + r")(?:/[^']*)?'"
)


CHECKPOINT_CALLBACKS_ADVICE = r"Be aware that when using `ckpt_path`, callbacks used to create the checkpoint"
ITERABLE_LENGTH_CAUTION = r"Your `IterableDataset` has `__len__` defined"


class _DropMessages(logging.Filter):
    """Drops the log records whose message starts with one of ``starts``."""

    def __init__(self, *starts: str) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(self.starts)


def silence_library_noise() -> None:
    """Install the filters (idempotent: a second call adds nothing)."""
    logger = logging.getLogger(LIGHTNING_INFO_LOGGER)
    if not any(isinstance(f, _DropMessages) for f in logger.filters):
        logger.addFilter(_DropMessages(LITLOGGER_TIP))
    warnings.filterwarnings("ignore", message=PYTREE_DEPRECATION, category=FutureWarning)
    # By message only: the category (Lightning's PossibleUserWarning) is a UserWarning subclass that would
    # need Lightning imported here; the text names Lightning's own self.log advice and one of our tags.
    warnings.filterwarnings("ignore", message=SYNC_DIST_ADVICE, category=UserWarning)


@contextmanager
def evaluation_quiet() -> Iterator[None]:
    """Inside: Lightning's advice to pass the training callbacks along with ``ckpt_path``, and its caution
    about an ``IterableDataset`` with ``__len__``, are not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=CHECKPOINT_CALLBACKS_ADVICE, category=UserWarning)
        warnings.filterwarnings("ignore", message=ITERABLE_LENGTH_CAUTION, category=UserWarning)
        yield
