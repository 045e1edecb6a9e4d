"""The exhaustive evaluation of ``factdyn test``: every individual of a population on every held-out template.

``validate`` (and every evaluation during training) measures a fixed random sample of biographies: a few
hundred individuals, a random held-out template per sentence. ``test`` instead measures each individual of
each evaluation population once per held-out template slot: biography ``k`` of an individual writes every
attribute with that individual's ``k``-th held-out template, so every (individual, attribute, held-out
template) is measured exactly once. Batches are assembled on the fly: N × ``n_templates_eval`` biographies
at the paper's N are not held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from torch.utils.data import IterableDataset

from factdyn.data.batches import to_torch
from factdyn.data.biography import BiographyAssembler
from factdyn.data.population import Population

CHUNK_BATCHES = 16
"""Batches assembled at once and sorted by length among themselves (less padding, bounded memory)."""

SALT = 20_000
"""Seeds the sentence order of a shuffled exhaustive set: ``default_rng([seed, SALT + set, slot])``."""


class ExhaustiveEvaluation(IterableDataset):
    """Batches (dicts with ``split``) of every individual of each named population on each held-out
    template slot, in set order, then slot, then individual (sorted by length within a chunk)."""

    def __init__(
        self,
        assembler: BiographyAssembler,
        populations: dict[str, Population],
        n_slots: int,
        batch_size: int,
        seed: int,
        shuffle_sentences: bool,
        pad_to_multiple: int,
    ) -> None:
        self.assembler = assembler
        self.populations = populations
        self.n_slots = n_slots
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle_sentences = shuffle_sentences
        self.pad_to_multiple = pad_to_multiple

    def __len__(self) -> int:
        return sum(self._n_batches(len(p)) for p in self.populations.values())

    def _n_batches(self, n: int) -> int:
        return sum(-(-len(chunk) // self.batch_size) for chunk in self._chunks(n)) * self.n_slots

    def _chunks(self, n: int) -> list[np.ndarray]:
        size = self.batch_size * CHUNK_BATCHES
        return [np.arange(start, min(start + size, n)) for start in range(0, n, size)]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index, (name, population) in enumerate(self.populations.items()):
            for slot in range(self.n_slots):
                rng = np.random.default_rng([self.seed, SALT + index, slot])
                for individuals in self._chunks(len(population)):
                    batch = self.assembler.assemble(
                        population,
                        individuals,
                        rng,
                        split="eval",
                        shuffle_sentences=self.shuffle_sentences,
                        template_slot=np.full(len(individuals), slot),
                    )
                    order = np.argsort(batch.lengths, kind="stable")
                    for i in range(0, len(individuals), self.batch_size):
                        rows = batch.select(order[i : i + self.batch_size])
                        yield {
                            **to_torch(rows, self.pad_to_multiple, self.assembler.max_seq_len),
                            "split": name,
                        }
