"""BiographyDataModule: an endless stream of fresh training biographies and fixed evaluation sets."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from functools import cache
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from factdyn.data.batches import batch_arrays, pack_batch, to_torch, unpack_batch
from factdyn.data.biography import BiographyAssembler, BiographyBatch
from factdyn.data.population import ROLES, Population, concat_populations, make_populations
from factdyn.data.resources import ATTRIBUTES, load_resources
from factdyn.data.samplers import IndividualSampler, Uniform
from factdyn.data.tokenizer import WordTokenizer

EVAL_SETS: tuple[str, ...] = ("val", "unseen", "new")
"""Evaluation sets, all on held-out templates: the pre-training individuals (``val``), individuals never
trained on (``unseen``) and the fine-tuning individuals (``new``, only when ``n_new > 0``)."""

EVAL_ROLES: dict[str, str] = {"val": "train", "unseen": "unseen", "new": "new"}
"""The population each evaluation set is drawn from."""


@cache
def default_corpus() -> tuple[WordTokenizer, BiographyAssembler]:
    """The shipped resources, their closed-vocabulary tokenizer and the pre-tokenized assembler."""
    resources = load_resources()
    texts = [
        *resources.first_names,
        *resources.last_names,
        *(t for ts in resources.templates.values() for t in ts),
    ]
    texts += [v for attr in ATTRIBUTES if attr != "birth_date" for v in resources.values[attr]]
    texts += [v for v in resources.values["birth_date"][: 12 * 31]]  # months and days; years below
    texts += [str(year) for year in range(1900, 2101)]
    tokenizer = WordTokenizer.from_texts(texts)
    return tokenizer, BiographyAssembler(resources, tokenizer)


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


class BiographyDataModule(L.LightningDataModule):
    """Synthetic biographies of N fictional individuals (Zucchet et al. 2025, §1.2 and App. B).

    Args:
        n_individuals: N, the number of individuals training samples from (paper: 64,000).
        n_unseen: held-out individuals never trained on (hallucination metrics; paper: 16,000).
        n_new: individuals for fine-tuning on new knowledge, disjoint from the other two sets.
        n_templates_train: training templates per individual and attribute (paper: 20 of 25; the template
            ablation uses 1, 2, 4, 8, 16). The held-out templates do not depend on it.
        n_templates_eval: held-out templates per individual and attribute (paper: 5).
        shuffle_sentences: shuffle the six sentences of every biography (paper: True); ``False`` writes them
            in ATTRIBUTES order, in training and evaluation alike (the paper's fixed-order ablation).
        sampler: distribution over individuals for training (default: uniform); see ``docs/samplers.md``.
        train_roles: populations the training stream draws from, concatenated in this order into one index
            space (default ``[train]``). Fine-tuning with replay uses ``[new, train]`` with a
            ``ReplayMixture`` sampler: the batch's ``individual`` is then an index into that concatenation
            (new individuals first, then the pre-training ones); :meth:`training_index` maps evaluation
            individuals into it.
        batch_size: training sequences per step and per device (paper: 128).
        eval_batch_size: sequences per evaluation batch.
        n_val_sequences: sequences in the ``val`` set (training individuals, held-out templates).
        n_unseen_sequences: sequences in the ``unseen`` set (held-out individuals).
        n_new_sequences: sequences in the ``new`` set (fine-tuning individuals; only when ``n_new > 0``).
        num_workers: DataLoader worker processes for the training stream (each sends one packed tensor per
            batch; 2-4 keep a paper-scale model on one GPU fed, 0 builds batches in the training process).
        pad_to_multiple: pad every batch so the model's input length is a multiple of this (8 or 16 with
            ``model.compile``: few distinct shapes; at least ``max_seq_len``: every batch at full length, one
            shape, for CUDA graphs; 1, no extra padding, is best on CPU).
        seed: seed of the populations, the template splits, the evaluation sets and the training stream.
        pin_memory: pin training batches in host memory (``null``: on a GPU, yes), so the copy to the GPU
            overlaps the previous step; pinning runs in a thread of the training process.
    """

    def __init__(
        self,
        n_individuals: int = 64_000,
        n_unseen: int = 1_000,
        n_new: int = 0,
        n_templates_train: int = 20,
        n_templates_eval: int = 5,
        shuffle_sentences: bool = True,
        sampler: IndividualSampler | None = None,
        train_roles: list[str] | None = None,
        batch_size: int = 128,
        eval_batch_size: int = 256,
        n_val_sequences: int = 1024,
        n_unseen_sequences: int = 1024,
        n_new_sequences: int = 1024,
        num_workers: int = 0,
        pad_to_multiple: int = 1,
        seed: int = 0,
        pin_memory: bool | None = None,
    ) -> None:
        super().__init__()
        self.tokenizer, self.assembler = default_corpus()
        n_templates = self.assembler.n_templates
        _check_int("data.n_individuals", n_individuals, 1)
        _check_int("data.n_unseen", n_unseen, 0)
        _check_int("data.n_new", n_new, 0)
        _check_int("data.n_templates_train", n_templates_train, 1, n_templates)
        _check_int("data.n_templates_eval", n_templates_eval, 1, n_templates)
        if n_templates_train + n_templates_eval > n_templates:
            raise ValueError(
                f"data.n_templates_train + data.n_templates_eval must be at most {n_templates} "
                f"(the templates per attribute), got {n_templates_train} + {n_templates_eval}"
            )
        _check_int("data.batch_size", batch_size, 1)
        _check_int("data.eval_batch_size", eval_batch_size, 1)
        _check_int("data.n_val_sequences", n_val_sequences, 1)
        _check_int("data.n_unseen_sequences", n_unseen_sequences, 0)
        _check_int("data.n_new_sequences", n_new_sequences, 0)
        _check_int("data.num_workers", num_workers, 0)
        _check_int("data.pad_to_multiple", pad_to_multiple, 1)
        _check_int("data.seed", seed, 0)
        if pin_memory is not None and not isinstance(pin_memory, bool):
            raise TypeError(f"data.pin_memory must be true, false or null, got {pin_memory!r}")
        if sampler is not None and not isinstance(sampler, IndividualSampler):
            raise TypeError(f"data.sampler must be an IndividualSampler, got {type(sampler).__name__}")
        train_roles = ["train"] if train_roles is None else list(train_roles)
        sizes = {"train": n_individuals, "unseen": n_unseen, "new": n_new}
        if not train_roles or len(set(train_roles)) != len(train_roles) or set(train_roles) - set(ROLES):
            raise ValueError(f"data.train_roles must be distinct names from {list(ROLES)}, got {train_roles}")
        for role in train_roles:
            if sizes[role] == 0:
                raise ValueError(f"data.train_roles contains {role!r}, but that population is empty (size 0)")
        self.save_hyperparameters(ignore=["sampler"])
        self.train_roles = train_roles
        self.n_individuals = n_individuals
        self.n_unseen = n_unseen
        self.n_new = n_new
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.pad_to_multiple = pad_to_multiple
        self.pin_memory = pin_memory
        self.sampler = sampler if sampler is not None else Uniform()
        roles = [(role, sizes[role]) for role in train_roles]
        self.n_train = sum(n for _, n in roles)
        if roles == [("train", n_individuals)]:
            self.sampler.bind(self.n_train, batch_size, seed)  # samplers written for the 3-argument bind
        else:
            self.sampler.bind(self.n_train, batch_size, seed, roles=roles)
        self.populations: dict[str, Population] = {}
        self.train_population: Population | None = None
        self.eval_batches: dict[str, list[dict[str, torch.Tensor]]] = {}

    # Values the model needs, known once the data is defined (linked by the CLI).
    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def max_seq_len(self) -> int:
        return self.assembler.max_seq_len

    @property
    def attributes(self) -> list[str]:
        return list(ATTRIBUTES)

    @property
    def tokenizer_fingerprint(self) -> str:
        return self.tokenizer.fingerprint

    @property
    def attribute_cardinalities(self) -> list[int]:
        return list(self.assembler.cardinalities)

    @property
    def baseline_attr_loss(self) -> float:
        """No-knowledge baseline: mean over the six types of log(number of possible values)."""
        return float(np.mean([math.log(c) for c in self.attribute_cardinalities]))

    def setup(self, stage: str | None = None) -> None:
        if self.trainer is not None and self.trainer.max_steps > 0:
            self.sampler.set_horizon(self.trainer.max_steps)
        if self.populations:
            return
        resources = load_resources()
        self.populations = make_populations(
            seed=self.seed,
            sizes={"train": self.n_individuals, "unseen": self.n_unseen, "new": self.n_new},
            n_first_names=len(resources.first_names),
            n_last_names=len(resources.last_names),
            cardinalities=self.attribute_cardinalities,
            n_templates=self.assembler.n_templates,
            n_templates_train=self.hparams.n_templates_train,
            n_templates_eval=self.hparams.n_templates_eval,
        )
        sizes = {
            "val": self.hparams.n_val_sequences,
            "unseen": self.hparams.n_unseen_sequences,
            "new": self.hparams.n_new_sequences,
        }
        for i, name in enumerate(EVAL_SETS):
            population = self.populations[EVAL_ROLES[name]]
            if len(population) == 0 or sizes[name] == 0:
                self.eval_batches[name] = []
                continue
            self.eval_batches[name] = self.eval_set(name, population, sizes[name], seed_offset=i)
        self.train_population = concat_populations([self.populations[role] for role in self.train_roles])

    def training_index(self, split: str, individual: np.ndarray) -> np.ndarray | None:
        """Indices of an evaluation set's individuals in the training index space (``None``: untrained)."""
        role = EVAL_ROLES[split]
        if role not in self.train_roles:
            return None
        offset = 0
        for r in self.train_roles[: self.train_roles.index(role)]:
            offset += len(self.populations[r]) if self.populations else self.hparams[_SIZE_FIELD[r]]
        return np.asarray(individual) + offset

    def eval_set(self, name: str, population: Population, n_sequences: int, seed_offset: int) -> list[dict]:
        """Fixed evaluation batches: individuals drawn uniformly, held-out templates, sorted by length."""
        rng = np.random.default_rng([self.seed, 10_000 + seed_offset])
        individuals = rng.integers(0, len(population), size=n_sequences)
        # Evaluation follows the training order setting, so a fixed-order run is measured on fixed-order
        # biographies (only the templates differ from training).
        batch = self.assembler.assemble(
            population, individuals, rng, split="eval", shuffle_sentences=self.hparams.shuffle_sentences
        )
        # Sorting by length keeps padding low inside each fixed batch.
        order = np.argsort(batch.lengths, kind="stable")
        return [
            {
                **to_torch(
                    batch.select(order[i : i + self.eval_batch_size]), self.pad_to_multiple, self.max_seq_len
                ),
                "split": name,
            }
            for i in range(0, n_sequences, self.eval_batch_size)
        ]

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        start_step = trainer.global_step if trainer is not None else 0
        rank = trainer.global_rank if trainer is not None else 0
        stream = BiographyStream(
            self.assembler,
            self.train_population,
            self.sampler,
            self.batch_size,
            self.seed,
            start_step,
            rank,
            self.hparams.shuffle_sentences,
            self.pad_to_multiple,
        )
        on_gpu = trainer is not None and trainer.strategy.root_device.type == "cuda"
        return DataLoader(
            stream,
            batch_size=None,
            num_workers=self.num_workers,
            persistent_workers=False,
            prefetch_factor=4 if self.num_workers else None,
            pin_memory=on_gpu if self.pin_memory is None else self.pin_memory,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Unpack a training batch once it is on the device (evaluation batches are dicts already)."""
        return unpack_batch(batch, len(ATTRIBUTES)) if isinstance(batch, torch.Tensor) else batch

    def val_dataloader(self) -> list[DataLoader]:
        return [
            DataLoader(self.eval_batches[name], batch_size=None)
            for name in EVAL_SETS
            if self.eval_batches[name]
        ]

    def test_dataloader(self) -> list[DataLoader]:
        return self.val_dataloader()

    def eval_set_names(self) -> list[str]:
        return [name for name in EVAL_SETS if self.eval_batches.get(name)]

    def state_dict(self) -> dict[str, Any]:
        return {"sampler": self.sampler.state_dict(), "sampler_type": type(self.sampler).__name__}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict.get("sampler_type", type(self.sampler).__name__) != type(self.sampler).__name__:
            raise ValueError(
                f"checkpoint was trained with sampler {state_dict['sampler_type']}, "
                f"but data.sampler is {type(self.sampler).__name__}"
            )
        self.sampler.load_state_dict(state_dict.get("sampler", {}))


_SIZE_FIELD = {"train": "n_individuals", "unseen": "n_unseen", "new": "n_new"}


def _check_int(field: str, value: Any, low: int, high: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{field} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{field} must be {allowed}, got {value}")
