"""The report's view of a run: its flattened config, the recorded sampler, cached scalars; loading runs and
grouping them by the config keys that vary between them (the experiment's factors)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from factdyn.analysis.fits import RunPhases, run_phases
from factdyn.analysis.runs import Run, find_runs
from factdyn.run_layout import CONFIG, VERSION_PREFIX, read_evaluations

# Config keys that differ between runs without being an experimental factor.
IGNORED_KEY_PREFIXES = (
    "trainer.logger",
    "ckpt_path",
    "data.seed",
    "config",
    # What is measured, not what is trained: the panel and the step-0 evaluation change no training step,
    # so runs made before and after either existed are still the seeds of one setting.
    "panel.",
    "validation_at_start.",
    # What is saved, not what is trained: the patching references keep extra checkpoints.
    "checkpoints.",
)
SEED_KEY = "seed_everything"
N_KEY = "data.n_individuals"
STEPS_KEY = "trainer.max_steps"


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys (lists and scalars are leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def hashable(value: Any) -> Any:
    """A config value usable as a dict key or set member (lists and dicts as sorted JSON)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


@dataclass
class RunInfo:
    """A run with its flattened config, cached scalars and cached checkpoint evaluations; the sampler is the
    run's own record of it."""

    run: Run
    config: dict[str, Any]
    _scalars: dict[str, list[tuple[int, float]]] | None = field(default=None, repr=False)
    _evaluations: list[dict[str, Any]] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, run: Run) -> RunInfo:
        """Attach the run's flattened ``config.yaml`` (empty when it has none)."""
        config_file = run.path / CONFIG
        config = flatten(yaml.safe_load(config_file.read_text()) or {}) if config_file.exists() else {}
        return cls(run=run, config=config)

    @property
    def scalars(self) -> dict[str, list[tuple[int, float]]]:
        if self._scalars is None:
            self._scalars = self.run.scalars()
        return self._scalars

    def curve(self, tag: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``(steps, values)`` of a logged scalar, or ``None`` when the run did not log it."""
        points = self.scalars.get(tag)
        if not points:
            return None
        steps, values = zip(*points, strict=True)
        return np.asarray(steps), np.asarray(values, dtype=float)

    @property
    def evaluations(self) -> list[dict[str, Any]]:
        """The run's ``eval/evaluations.jsonl`` records (``factdyn validate`` / ``test`` of its checkpoints;
        empty when it has none), read once."""
        if self._evaluations is None:
            self._evaluations = read_evaluations(self.run.path)
        return self._evaluations

    def evaluation_curve(self, name: str, tag: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``(steps, values)`` of ``tag`` in the evaluation called ``name``, by step; ``None`` when absent."""
        points = sorted(
            (int(r["step"]), float(r["metrics"][tag]))
            for r in self.evaluations
            if r.get("evaluation") == name and r.get("metrics", {}).get(tag) is not None
        )
        if not points:
            return None
        steps, values = zip(*points, strict=True)
        return np.asarray(steps), np.asarray(values, dtype=float)

    @property
    def name(self) -> str:
        """The run's name: its folder's, or for ``<name>/version_<k>`` the parent's."""
        path = self.run.path
        return path.parent.name if path.name.startswith(VERSION_PREFIX) else path.name

    @property
    def n(self) -> int | None:
        value = self.config.get(N_KEY, self.run.summary.get("n_individuals"))
        return None if value is None else int(value)

    @property
    def seed(self) -> int | None:
        return self.config.get(SEED_KEY, self.run.summary.get("seed"))

    @property
    def max_steps(self) -> int | None:
        value = self.config.get(STEPS_KEY, self.run.summary.get("steps"))
        return None if value is None or value < 0 else int(value)

    @property
    def batch_size(self) -> int | None:
        return self.config.get("data.batch_size")

    @property
    def sampler(self) -> dict[str, Any] | None:
        """The training sampler as the run recorded it (:attr:`factdyn.analysis.runs.Run.sampler`)."""
        return self.run.sampler

    @property
    def alpha(self) -> float | None:
        """The sampler's power-law exponent (uniform = 0), or ``None`` for other samplers."""
        record = self.sampler
        if record is not None:
            if record.get("alpha") is not None:
                return float(record["alpha"])
            return 0.0 if str(record.get("sampler", "")).endswith("Uniform") else None
        # No record (a run without ExposureCounter, e.g. the toy model, or one older than it): fall back to
        # the config, which is right only while the samplers keep their config layout (data.sampler...alpha).
        for key, value in self.config.items():
            if key.startswith("data.sampler") and key.endswith(".alpha"):
                return float(value)
        class_path = self.config.get("data.sampler.class_path", self.config.get("data.sampler"))
        if class_path is None or str(class_path).endswith("Uniform"):
            return 0.0
        return None

    @property
    def baseline(self) -> float | None:
        value = self.run.summary.get("baseline_attr_loss")
        if value is None and self.scalars.get("baseline/attr_loss"):
            value = self.scalars["baseline/attr_loss"][-1][1]
        return value

    def final(self, tag: str) -> float | None:
        """The final value of ``tag``: the summary's ``final`` section, else the last logged point."""
        value = self.run.summary.get("final", {}).get(tag)
        if value is None and self.scalars.get(tag):
            value = self.scalars[tag][-1][1]
        return value

    @property
    def phases(self) -> RunPhases | None:
        return run_phases(self.run, self.scalars)


def load_runs(paths: Iterable[str | Path]) -> list[RunInfo]:
    """Every run under the given paths (a run directory or a folder of runs), each once."""
    seen: dict[Path, Run] = {}
    for path in paths:
        for run in find_runs(path):
            seen.setdefault(run.path.resolve(), run)
    return [RunInfo.load(run) for _, run in sorted(seen.items())]


def _all_keys(infos: Sequence[RunInfo]) -> list[str]:
    keys: dict[str, None] = {}
    for info in infos:
        keys.update(dict.fromkeys(info.config))
    return [k for k in keys if k != SEED_KEY and not k.startswith(IGNORED_KEY_PREFIXES)]


def seed_linked_keys(infos: Sequence[RunInfo]) -> list[str]:
    """Text-valued config keys (checkpoint paths, in practice) that change exactly with the seed: all runs of
    one seed that have the key share its value and no two seeds do. A fine-tuning campaign that starts seed
    k from pre-training seed k's checkpoint has ``model.init_checkpoint`` so; it is part of the seed, not a
    factor (a campaign from two checkpoints per seed keeps it a factor)."""
    linked = []
    seeds = {info.seed for info in infos}
    if None in seeds or len(seeds) < 2:
        return []
    for key in _all_keys(infos):
        # Runs without the key (e.g. the pre-training runs beside their fine-tuning runs) do not count.
        holding = [(info, info.config.get(key)) for info in infos if info.config.get(key) is not None]
        if not holding or not all(isinstance(v, str) for _, v in holding):
            continue
        by_seed: dict[Any, set] = defaultdict(set)
        by_value: dict[Any, set] = defaultdict(set)
        for info, value in holding:
            by_seed[info.seed].add(value)
            by_value[value].add(info.seed)
        if (
            len(by_seed) >= 2
            and all(len(v) == 1 for v in by_seed.values())
            and all(len(s) == 1 for s in by_value.values())
        ):
            linked.append(key)
    return linked


def varies(infos: Sequence[RunInfo], key: str) -> bool:
    """Whether two runs record ``key`` with different values. A run whose config does not hold the key at
    all (archived before the field existed, e.g. ``model.config.positions``) does not make it vary: such a
    field can only have had the behaviour of its one recorded value's default, and telling the runs apart
    by it would split the seeds of one setting. A key recorded as ``null`` is a value."""
    return len({hashable(info.config.get(key)) for info in infos if key in info.config}) > 1


def varying_keys(infos: Sequence[RunInfo]) -> list[str]:
    """Config keys whose values differ between runs (factors, :func:`varies`), in first-seen order: the seed,
    the keys that are not factors (:data:`IGNORED_KEY_PREFIXES`) and those that change with the seed alone
    (:func:`seed_linked_keys`) left out."""
    linked = set(seed_linked_keys(infos))
    return [key for key in _all_keys(infos) if key not in linked and varies(infos, key)]


CLASS_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def short(value: Any) -> Any:
    """A class path as its class name (``factdyn.data.Zipf`` -> ``Zipf``); any other value as it is."""
    return value.rsplit(".", 1)[-1] if isinstance(value, str) and CLASS_PATH.fullmatch(value) else value


MAX_LABEL = 40
"""Longer legend labels (many factors, or callback lists) fall back to the run's name."""


def factor_text(factors: Mapping[str, Any]) -> str:
    """``key=value, ...`` of the scalar factors (the last part of each dotted key); when that is longer than
    :data:`MAX_LABEL`, of the numbers and booleans only (a checkpoint path does not fit a legend)."""

    def text(keep: Any) -> str:
        return ", ".join(f"{k.rsplit('.', 1)[-1]}={short(v)}" for k, v in factors.items() if keep(v))

    full = text(lambda v: v is not None and not isinstance(v, (list, dict)))
    return full if len(full) <= MAX_LABEL else text(lambda v: isinstance(v, (int, float)))


def unique_labels(labels: Sequence[str], suffixes: Sequence[Sequence[str]]) -> list[str]:
    """``labels`` made unique: a label shared by several items gets its item's first suffix that tells
    it from the others sharing it (``label [suffix]``), else a running number (``label #2``)."""
    out = list(labels)
    for _ in range(2):
        counts = Counter(out)
        clashing = [i for i, text in enumerate(out) if counts[text] > 1]
        if not clashing:
            return out
        by_text: dict[str, list[int]] = defaultdict(list)
        for i in clashing:
            by_text[out[i]].append(i)
        for text, items in by_text.items():
            for position in range(max(len(suffixes[i]) for i in items)):
                options = [suffixes[i][position] if position < len(suffixes[i]) else None for i in items]
                if None not in options and len(set(options)) == len(options):
                    for i, option in zip(items, options, strict=True):
                        out[i] = f"{text} [{option}]"
                    break
            else:
                for rank, i in enumerate(items[1:], start=2):
                    out[i] = f"{text} #{rank}"
    return out


def label(info: RunInfo, keys: Sequence[str]) -> str:
    """``key=value, ...`` of the run's (scalar) factors, or the run's name when that is empty or too long."""
    text = factor_text({k: info.config.get(k) for k in keys})
    return text if text and len(text) <= MAX_LABEL else info.name


def group_by(infos: Sequence[RunInfo], keys: Sequence[str]) -> dict[tuple, list[RunInfo]]:
    """Runs by their values of ``keys`` (lists and dicts compared by their JSON)."""
    groups: dict[tuple, list[RunInfo]] = defaultdict(list)
    for info in infos:
        groups[tuple(hashable(info.config.get(k)) for k in keys)].append(info)
    return dict(groups)


def sorted_groups(infos: Sequence[RunInfo], keys: list[str]) -> list[tuple[str, list[RunInfo]]]:
    """(label, runs) per combination of the keys, keeping only keys that vary among these runs; labels are
    unique (:func:`unique_labels`). Seeds are not told apart: :func:`.seeds.seed_groups` does that, and
    the report's figures use it."""
    keys = [k for k in keys if varies(infos, k)]
    groups = group_by(infos, keys)
    ordered = [members for _, members in sorted(groups.items(), key=lambda item: factor_order(item[0]))]
    labels = unique_labels([label(m[0], keys) for m in ordered], [[m[0].name] for m in ordered])
    return list(zip(labels, ordered, strict=True))


def factor_order(values: tuple) -> tuple:
    """Sort key of a tuple of factor values: numbers first, by value, then everything else as text."""
    return tuple((0, v) if isinstance(v, (int, float)) else (1, str(v)) for v in values)
