"""The training stream: batch ``k`` is a pure function of ``(seed, k, rank)``, whatever the worker count."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from factdyn.data.batches import batch_arrays, pack_batch, to_torch
from factdyn.data.biography import BiographyAssembler, BiographyBatch
from factdyn.data.population import Population
from factdyn.data.samplers import IndividualSampler


class BiographyStream(IterableDataset):
    """Endless training batches; batch ``k`` is a pure function of ``(seed, k, rank)``.

    Yields packed batches (:func:`~factdyn.data.batches.pack_batch`: one tensor per batch, cheap to send from
    a worker); :meth:`BiographyDataModule.on_after_batch_transfer` unpacks them on the device. Each
    DataLoader worker produces every ``num_workers``-th step, and the DataLoader interleaves workers in
    order, so the stream does not depend on the number of workers.
    """

    def __init__(
        self,
        assembler: BiographyAssembler,
        population: Population,
        sampler: IndividualSampler,
        batch_size: int,
        seed: int,
        start_step: int,
        rank: int,
        shuffle_sentences: bool,
        pad_to_multiple: int = 1,
    ) -> None:
        self.assembler = assembler
        self.population = population
        self.sampler = sampler
        self.batch_size = batch_size
        self.seed = seed
        self.start_step = start_step
        self.rank = rank
        self.shuffle_sentences = shuffle_sentences
        self.pad_to_multiple = pad_to_multiple

    def batch_at(self, step: int) -> BiographyBatch:
        rng = np.random.default_rng([self.seed, step, self.rank])
        individuals = self.sampler.sample(step, self.batch_size, rng)
        return self.assembler.assemble(
            self.population, individuals, rng, split="train", shuffle_sentences=self.shuffle_sentences
        )

    def __iter__(self) -> Iterator[torch.Tensor]:
        for step in self.steps():
            yield self.packed_at(step)

    def steps(self) -> Iterator[int]:
        """The steps this DataLoader worker produces (every ``num_workers``-th from ``start_step``)."""
        info = get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info else (0, 1)
        yield from itertools.count(self.start_step + worker, n_workers)

    def packed_at(self, step: int) -> torch.Tensor:
        """Batch ``step`` as the one packed tensor the DataLoader delivers (padded as configured)."""
        return pack_batch(batch_arrays(self.batch_at(step), self.pad_to_multiple, self.max_seq_len))

    def tensors_at(self, step: int) -> dict[str, torch.Tensor]:
        """Batch ``step`` as the dict of tensors the training step reads (padded as configured)."""
        return to_torch(self.batch_at(step), self.pad_to_multiple, self.max_seq_len)

    @property
    def max_seq_len(self) -> int:
        return self.assembler.max_seq_len
