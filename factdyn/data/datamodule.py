"""BiographyDataModule: an endless stream of fresh training biographies and fixed evaluation sets."""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from factdyn.checks import ConfigError, require, require_bool, require_int
from factdyn.data.batches import to_torch, unpack_batch
from factdyn.data.corpus import corpus
from factdyn.data.exhaustive import ExhaustiveEvaluation
from factdyn.data.population import (
    EVAL_ROLES,
    EVAL_SETS,
    ROLES,
    Population,
    concat_populations,
    make_populations,
    no_knowledge_baseline,
    require_name_space,
)
from factdyn.data.resources import ATTRIBUTES, load_resources
from factdyn.data.samplers import IndividualSampler, Uniform
from factdyn.data.stream import BiographyStream
from factdyn.data.subword import VOCAB_SIZE


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
            in ATTRIBUTES order, in training and evaluation alike (the paper's fixed-order ablation). An
            evaluation of a checkpoint may set it apart from training (``factdyn validate --ckpt_path ...
            --data.shuffle_sentences true``: a fixed-order run measured on shuffled biographies).
        tokenizer: ``word``, the closed word vocabulary (a name is three tokens), or ``subword``, a
            SentencePiece BPE model trained on the corpus, under which names and values span several pieces
            as under the paper's 32k SentencePiece model; see ``docs/tokenizer.md``.
        subword_vocab_size: pieces of the ``subword`` vocabulary, special tokens included (ignored by
            ``word``).
        sampler: distribution over individuals for training (default: uniform); see ``docs/samplers.md``.
        train_roles: populations the training stream draws from, concatenated in this order into one index
            space (default ``[train]``). Fine-tuning with replay uses ``[new, train]`` with a
            ``ReplayMixture`` sampler: the batch's ``individual`` is then an index into that concatenation
            (new individuals first, then the pre-training ones); :meth:`training_index` maps evaluation
            individuals into it.
        batch_size: training sequences per step and per device (paper: 128).
        eval_batch_size: sequences per evaluation batch.
        n_val_sequences: sequences in the ``val`` set (training individuals, held-out templates); ``factdyn
            test`` ignores the three set sizes and measures every individual on every held-out template.
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
        tokenizer: str = "word",
        subword_vocab_size: int = VOCAB_SIZE,
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
        self.tokenizer, self.assembler = corpus(tokenizer, subword_vocab_size)
        n_templates = self.assembler.n_templates
        require_int("data.n_individuals", n_individuals, 1)
        require_int("data.n_unseen", n_unseen, 0)
        require_int("data.n_new", n_new, 0)
        require_int("data.n_templates_train", n_templates_train, 1, n_templates)
        require_int("data.n_templates_eval", n_templates_eval, 1, n_templates)
        require(
            n_templates_train + n_templates_eval <= n_templates,
            "data.n_templates_train + data.n_templates_eval",
            f"at most {n_templates} (the templates per attribute)",
            n_templates_train + n_templates_eval,
        )
        require_int("data.batch_size", batch_size, 1)
        require_int("data.eval_batch_size", eval_batch_size, 1)
        require_int("data.n_val_sequences", n_val_sequences, 1)
        require_int("data.n_unseen_sequences", n_unseen_sequences, 0)
        require_int("data.n_new_sequences", n_new_sequences, 0)
        require_int("data.num_workers", num_workers, 0)
        require_int("data.pad_to_multiple", pad_to_multiple, 1)
        require_int("data.seed", seed, 0)
        require_bool("data.pin_memory", pin_memory, allow_none=True)
        require_bool("data.shuffle_sentences", shuffle_sentences)
        if sampler is not None and not isinstance(sampler, IndividualSampler):
            raise ConfigError("data.sampler", "an IndividualSampler", type(sampler).__name__)
        train_roles = ["train"] if train_roles is None else list(train_roles)
        self.role_sizes: dict[str, int] = {"train": n_individuals, "unseen": n_unseen, "new": n_new}
        resources = load_resources()
        require_name_space(self.role_sizes, len(resources.first_names), len(resources.last_names))
        require(
            bool(train_roles)
            and len(set(train_roles)) == len(train_roles)
            and set(train_roles) <= set(ROLES),
            "data.train_roles",
            f"distinct names from {list(ROLES)}",
            train_roles,
        )
        for role in train_roles:
            require(
                self.role_sizes[role] > 0,
                "data.train_roles",
                "roles whose population is not empty",
                f"{role!r} of size 0",
            )
        self.save_hyperparameters(ignore=["sampler"])
        self.train_roles = train_roles
        self.n_individuals = n_individuals
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.seed = seed
        self.num_workers = num_workers
        self.pad_to_multiple = pad_to_multiple
        self.pin_memory = pin_memory
        self.sampler = sampler if sampler is not None else Uniform()
        roles = [(role, self.role_sizes[role]) for role in train_roles]
        self.n_train = sum(n for _, n in roles)
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
        return no_knowledge_baseline(self.attribute_cardinalities)

    def setup(self, stage: str | None = None) -> None:
        if self.trainer is not None and self.trainer.max_steps > 0:
            self.sampler.set_horizon(self.trainer.max_steps)
        if self.populations:
            return
        resources = load_resources()
        self.populations = make_populations(
            seed=self.seed,
            sizes=self.role_sizes,
            n_first_names=len(resources.first_names),
            n_last_names=len(resources.last_names),
            cardinalities=self.attribute_cardinalities,
            n_templates=self.assembler.n_templates,
            n_templates_train=self.hparams.n_templates_train,
            n_templates_eval=self.hparams.n_templates_eval,
        )
        for i, name in enumerate(EVAL_SETS):
            size = self.eval_set_size(name)
            population = self.populations[EVAL_ROLES[name]]
            self.eval_batches[name] = self.eval_set(name, population, size, seed_offset=i) if size else []
        self.train_population = concat_populations([self.populations[role] for role in self.train_roles])

    def training_index(self, split: str, individual: np.ndarray) -> np.ndarray | None:
        """Indices of an evaluation set's individuals in the training index space (``None``: untrained)."""
        role = EVAL_ROLES[split]
        if role not in self.train_roles:
            return None
        offset = sum(self.role_sizes[r] for r in self.train_roles[: self.train_roles.index(role)])
        return np.asarray(individual) + offset

    def eval_set(self, name: str, population: Population, n_sequences: int, seed_offset: int) -> list[dict]:
        """Fixed evaluation batches: individuals drawn uniformly, held-out templates, sorted by length."""
        rng = np.random.default_rng([self.seed, 10_000 + seed_offset])
        individuals = rng.integers(0, len(population), size=n_sequences)
        return self._heldout_batches(name, population, individuals, rng)

    def heldout_batches(self, name: str, individuals: np.ndarray, salt: int) -> list[dict]:
        """Fixed batches of one biography per given individual of the training index space (see
        :meth:`training_index`), on held-out templates, drawn with ``default_rng([seed, salt])``; each batch
        dict has ``split`` = ``name``. Needs :meth:`setup`. The knowledge panel evaluates these."""
        if self.train_population is None:
            raise RuntimeError("BiographyDataModule.heldout_batches needs setup() first")
        rng = np.random.default_rng([self.seed, salt])
        return self._heldout_batches(name, self.train_population, np.asarray(individuals), rng)

    def _heldout_batches(
        self, name: str, population: Population, individuals: np.ndarray, rng: np.random.Generator
    ) -> list[dict]:
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
            for i in range(0, len(individuals), self.eval_batch_size)
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

    def val_dataloader(self) -> DataLoader:
        """The fixed evaluation sets, one after the other in one loader (each batch names its ``split``):
        one loader, so that Lightning's results table lists each metric once."""
        return DataLoader([b for name in EVAL_SETS for b in self.eval_batches.get(name, [])], batch_size=None)

    def test_dataloader(self) -> DataLoader:
        """``factdyn test``: every individual of each evaluation population on every held-out template
        (:class:`~factdyn.data.exhaustive.ExhaustiveEvaluation`), instead of ``validate``'s sample."""
        populations = {name: self.populations[EVAL_ROLES[name]] for name in self.eval_set_names()}
        dataset = ExhaustiveEvaluation(
            self.assembler,
            populations,
            self.hparams.n_templates_eval,
            self.eval_batch_size,
            self.seed,
            self.hparams.shuffle_sentences,
            self.pad_to_multiple,
        )
        return DataLoader(dataset, batch_size=None)

    def eval_set_size(self, name: str) -> int:
        """Sequences in evaluation set ``name``: 0 when its population is empty (known before setup)."""
        sizes = {
            "val": self.hparams.n_val_sequences,
            "unseen": self.hparams.n_unseen_sequences,
            "new": self.hparams.n_new_sequences,
        }
        return sizes[name] if self.role_sizes[EVAL_ROLES[name]] > 0 else 0

    def eval_set_names(self) -> list[str]:
        """The evaluation sets this data evaluates, in order (known before setup)."""
        return [name for name in EVAL_SETS if self.eval_set_size(name)]

    def state_dict(self) -> dict[str, Any]:
        return {"sampler": self.sampler.state_dict(), "sampler_type": type(self.sampler).__name__}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        ours = type(self.sampler).__name__
        theirs = state_dict.get("sampler_type", ours)
        require(
            theirs == ours, "data.sampler", f"{theirs}, the sampler the checkpoint was trained with", ours
        )
        self.sampler.load_state_dict(state_dict.get("sampler", {}))
