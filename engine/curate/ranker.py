"""The learned review ranker: gradient-boosted trees (LightGBM) over candidate features, calibrated by
isotonic regression on out-of-fold predictions, so its score reads as "probability this is a missing label".

Saved as text files and never as a pickle: `ranker.json` (format, feature version, feature list, model
slots, candidate pool, calibration, relation missing rates, provenance) and `ranker.lgb.txt` (LightGBM's
own text model; a bag of boosters, whose raw scores are averaged, adds `ranker.1.lgb.txt`, ... and is
saved as format 2 so that code which reads one booster refuses it instead of using a part of it).
Loading checks the format, the feature version and the feature list against this code and says what
differs. The training rows it learned from can ship beside it (`training.npz`, NumPy arrays, loaded
without pickle) so that it can be refitted with an annotator's decisions."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.curate.candidate_features import CATEGORICAL, FEATURE_VERSION, Pool, feature_names
from engine.curate.ranker_calibration import IsotonicCalibrator, fit_isotonic
from engine.errors import DocreError

log = logging.getLogger(__name__)
RANKER_FORMAT = 1  # one booster
BAG_FORMAT = 2  # several boosters, raw scores averaged
DEFAULT_RANKER = Path(__file__).resolve().parents[2] / "assets" / "ranker"
META_FILE, MODEL_FILE, TRAINING_FILE = "ranker.json", "ranker.lgb.txt", "training.npz"


class RankerError(DocreError, ValueError):
    """A ranker file is missing, malformed, or was saved by code with other features."""


@dataclass(frozen=True)
class RankerConfig:
    """LightGBM settings and the calibration folds. Small trees and few rounds: a refit must take seconds."""

    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    reg_lambda: float = 1.0
    min_sum_hessian: float = 1e-3  # LightGBM's default
    scale_pos_weight: float = 1.0
    # boosters averaged (seeds seed, seed + 1, ...): each sees its own row and feature samples, and the
    # average of their raw scores has less of the variance that ~2k positives leave in one booster. Three
    # since the rule-margin features (feature version 2): revisit CV R@1117 over seeds 0-4 38.1 against 37.9
    # for one booster, chosen on the inner split (bench/RESULTS.md, "Issue 14, session 9")
    n_models: int = 3
    # boosters a refit with decisions grows: each one costs a refit's time again (3-4 s here for one on the
    # 8-per-positive rows), and a refit in the app must stay under 5 s
    refit_models: int = 1
    calibration_folds: int = 3
    seed: int = 13
    num_threads: int = 1  # LightGBM's OpenMP threads spin when cores are shared: one thread is steadier
    # threads of a refit with decisions, which an annotator waits for: on this project's 2-core VM two threads
    # take a refit of the shipped bag from 5.3 s to 3.3 s (bench/fn_recovery.py --speed-only)
    refit_threads: int = 2
    monotone: bool = True  # more belief never lowers the score: with ~2k positives it keeps trees honest
    # "binary" scores every candidate on one scale, which a queue over many documents needs; "lambdarank"
    # (groups = runs of rows of one document) only orders candidates within a document, left to try
    objective: str = "binary"

    def lgb_params(self) -> dict[str, Any]:
        return {"objective": self.objective, "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_child_samples, "feature_fraction": self.feature_fraction,
                "bagging_fraction": self.bagging_fraction, "bagging_freq": 1, "lambda_l2": self.reg_lambda,
                "min_sum_hessian_in_leaf": self.min_sum_hessian, "scale_pos_weight": self.scale_pos_weight,
                "seed": self.seed, "num_threads": self.num_threads, "verbosity": -1, "deterministic": True,
                "force_row_wise": True, "max_cat_to_onehot": 8, "cat_smooth": 20.0, "min_data_per_group": 50}


@dataclass(frozen=True)
class TrainingData:
    """Rows the ranker learns from: features, 0/1 labels (1 = a missing label), weights, document titles."""

    features: np.ndarray  # (n, n_features) float32
    labels: np.ndarray  # (n,) int8
    weights: np.ndarray  # (n,) float32
    groups: np.ndarray  # (n,) document titles: folds never split a document
    feature_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def concat(cls, parts: Sequence["TrainingData"]) -> "TrainingData":
        names = {p.feature_names for p in parts}
        if len(names) != 1:
            raise RankerError(f"training parts have different feature lists: {sorted(map(len, names))} columns")
        return cls(np.concatenate([p.features for p in parts]), np.concatenate([p.labels for p in parts]),
                   np.concatenate([p.weights for p in parts]), np.concatenate([p.groups for p in parts]),
                   parts[0].feature_names)

    def subset(self, rows: np.ndarray) -> "TrainingData":
        return TrainingData(self.features[rows], self.labels[rows], self.weights[rows], self.groups[rows],
                            self.feature_names)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, features=self.features, labels=self.labels, weights=self.weights,
                            groups=self.groups.astype(str), feature_names=np.array(self.feature_names),
                            feature_version=np.array(FEATURE_VERSION))

    @classmethod
    def load(cls, path: Path, expected: Sequence[str] | None = None) -> "TrainingData":
        try:
            with np.load(path, allow_pickle=False) as z:
                version, names = int(z["feature_version"]), tuple(str(n) for n in z["feature_names"])
                data = cls(z["features"], z["labels"], z["weights"], z["groups"], names)
        except (OSError, KeyError, ValueError) as exc:
            raise RankerError(f"{path}: not ranker training data ({exc})") from None
        _check_features(str(path), version, names, expected)
        return data


@dataclass
class Ranker:
    """A fitted ranker: `probability(X)` is the calibrated chance that each candidate is a missing label."""

    boosters: tuple[Any, ...]  # lightgbm.Booster, one or a bag whose raw scores are averaged
    feature_names: tuple[str, ...]
    slots: tuple[str, ...]
    pool: Pool
    calibrator: IsotonicCalibrator
    missing_rates: Mapping[str, float]
    info: dict[str, Any] = field(default_factory=dict)
    config: RankerConfig = RankerConfig()
    training: TrainingData | None = None  # what a refit starts from

    def raw_score(self, features: np.ndarray) -> np.ndarray:
        """(n,) the trees' log-odds, before calibration."""
        if len(features) == 0:
            return np.zeros(0)
        return _bag_predict(self.boosters, features, self.config.num_threads)

    def probability(self, features: np.ndarray) -> np.ndarray:
        """(n,) calibrated probabilities."""
        return self.calibrator(self.raw_score(features))

    def provenance(self) -> dict[str, Any]:
        """What a suggestion's evidence says about the ranker that scored it."""
        return {"by": "ranker", "format": self.format, "feature_version": FEATURE_VERSION,
                "trained_on": self.info.get("trained_on"), "decisions": self.info.get("decisions", 0)}

    @property
    def format(self) -> int:
        return RANKER_FORMAT if len(self.boosters) == 1 else BAG_FORMAT

    def save(self, directory: str | Path, with_training: bool = True) -> None:
        """ranker.json + ranker.lgb.txt (+ ranker.1.lgb.txt ... for a bag, + training.npz): text and arrays,
        nothing executable."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        files = [_model_file(k) for k in range(len(self.boosters))]
        for stale in directory.glob("ranker.*.lgb.txt"):  # a previous, bigger bag's boosters
            if stale.name not in files:
                stale.unlink()
        for name, booster in zip(files, self.boosters):
            (directory / name).write_text(booster.model_to_string(), encoding="utf-8")
        meta = {"format": self.format, "feature_version": FEATURE_VERSION, "model_file": MODEL_FILE,
                **({"model_files": files} if len(files) > 1 else {}),
                "feature_names": list(self.feature_names), "categorical": [c for c in CATEGORICAL],
                "slots": list(self.slots), "pool": self.pool.to_json(), "calibration": self.calibrator.to_json(),
                "missing_rates": {r: round(v, 5) for r, v in sorted(self.missing_rates.items())},
                "config": self.config.__dict__, "info": self.info,
                "training_file": TRAINING_FILE if with_training and self.training is not None else None}
        (directory / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if with_training and self.training is not None:
            self.training.save(directory / TRAINING_FILE)

    @classmethod
    def load(cls, directory: str | Path = DEFAULT_RANKER) -> "Ranker":
        """A ranker saved by `save`; RankerError says what is missing or differs from this code."""
        import lightgbm as lgb  # noqa: PLC0415 - only where a ranker is used

        directory = Path(directory)
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RankerError(f"{directory / META_FILE}: cannot read the ranker ({exc}); train one with "
                              "`python -m engine train-ranker` or pass --no-ranker for the formula") from None
        if meta.get("format") not in (RANKER_FORMAT, BAG_FORMAT):
            raise RankerError(f"{directory}: ranker format {meta.get('format')!r}, this code reads {RANKER_FORMAT} "
                              f"and {BAG_FORMAT}; retrain it with `python -m engine train-ranker`")
        slots = tuple(meta["slots"])
        names = tuple(meta["feature_names"])
        _check_features(str(directory / META_FILE), int(meta.get("feature_version", -1)), names, feature_names(slots))
        files = meta["model_files"] if meta["format"] == BAG_FORMAT else [meta["model_file"]]
        boosters = []
        for name in files:
            try:
                boosters.append(lgb.Booster(model_str=(directory / name).read_text(encoding="utf-8")))
            except (OSError, lgb.basic.LightGBMError) as exc:
                raise RankerError(f"{directory / name}: not a LightGBM text model ({exc})") from None
            if tuple(boosters[-1].feature_name()) != tuple(_lgb_names(names)):
                raise RankerError(f"{directory / name}: the LightGBM model's features differ from {META_FILE}'s list")
        training = None
        if meta.get("training_file") and (directory / meta["training_file"]).is_file():
            training = TrainingData.load(directory / meta["training_file"], names)
        config = RankerConfig(**{k: v for k, v in meta.get("config", {}).items()
                                 if k in RankerConfig.__dataclass_fields__})
        return cls(tuple(boosters), names, slots, Pool(**meta["pool"]),
                   IsotonicCalibrator.from_json(meta["calibration"]),
                   dict(meta.get("missing_rates", {})), dict(meta.get("info", {})), config, training)


def ranker_slots(directory: Path = DEFAULT_RANKER) -> tuple[str, ...]:
    """The model slots a saved ranker was trained with, from its ranker.json, without loading its boosters."""
    where = Path(directory) / META_FILE
    try:
        slots = json.loads(where.read_text(encoding="utf-8"))["slots"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RankerError(f"{where}: cannot read the ranker's slots ({exc!r})") from None
    return tuple(str(s) for s in slots)


def _check_features(where: str, version: int, names: Sequence[str], expected: Sequence[str] | None) -> None:
    """Refuse a saved feature list that this code would not build in the same order; say what differs."""
    problems = []
    if version != FEATURE_VERSION:
        problems.append(f"feature version {version}, this code builds version {FEATURE_VERSION}")
    if expected is not None and tuple(names) != tuple(expected):
        missing = [n for n in expected if n not in names]
        extra = [n for n in names if n not in expected]
        detail = []
        if missing:
            detail.append(f"missing {missing}")
        if extra:
            detail.append(f"unknown {extra}")
        if not missing and not extra:
            first = next(i for i, (a, b) in enumerate(zip(names, expected)) if a != b)
            detail.append(f"same features in another order (column {first}: {names[first]!r}, "
                          f"expected {expected[first]!r})")
        problems.append("features differ from this code's: " + "; ".join(detail))
    if problems:
        raise RankerError(f"{where}: " + "; ".join(problems) + ". Retrain the ranker with this code "
                          "(`python -m engine train-ranker`) or pass --no-ranker to rank by the formula")


def _lgb_names(names: Sequence[str]) -> list[str]:
    """LightGBM refuses some characters in feature names; ':' becomes '__'."""
    return [n.replace(":", "__") for n in names]


def _model_file(k: int) -> str:
    """The text model of a bag's k-th booster: the first keeps the one-booster name."""
    return MODEL_FILE if k == 0 else MODEL_FILE.replace(".lgb.txt", f".{k}.lgb.txt")


def _bag_predict(boosters: Sequence[Any], features: np.ndarray, num_threads: int) -> np.ndarray:
    """(n,) the mean of the boosters' raw scores."""
    return np.mean([b.predict(features, raw_score=True, num_threads=num_threads) for b in boosters], axis=0)


def _train_bag(data: TrainingData, config: RankerConfig) -> tuple[Any, ...]:
    """`config.n_models` boosters, the k-th grown with seed `config.seed + k`."""
    return tuple(_train_booster(data, replace(config, seed=config.seed + k)) for k in range(config.n_models))


def _train_booster(data: TrainingData, config: RankerConfig) -> Any:
    import lightgbm as lgb  # noqa: PLC0415

    names = _lgb_names(data.feature_names)
    cats = [names[data.feature_names.index(c)] for c in CATEGORICAL if c in data.feature_names]
    ds = lgb.Dataset(data.features, label=data.labels, weight=data.weights, feature_name=names,
                     categorical_feature=cats, free_raw_data=True, params={"verbosity": -1},
                     group=_group_runs(data.groups) if config.objective == "lambdarank" else None)
    params = config.lgb_params()
    if config.monotone:
        params["monotone_constraints"] = [_monotone(n) for n in data.feature_names]
        params["monotone_constraints_method"] = "intermediate"
    return lgb.train(params, ds, num_boost_round=config.n_estimators)


def _group_runs(groups: np.ndarray) -> np.ndarray:
    """Lengths of the runs of equal consecutive titles: LightGBM's ranking queries (rows come per document)."""
    starts = np.concatenate([[0], np.nonzero(groups[1:] != groups[:-1])[0] + 1, [len(groups)]])
    return np.diff(starts)


def _monotone(name: str) -> int:
    """+1 where more model belief must never lower the score, -1 for ranks (0 = the pair's best)."""
    if name.split(":")[0] in ("margin", "prob", "mean_margin", "max_margin", "min_margin", "mean_prob", "n_above"):
        return 1
    return -1 if name.split(":")[0] in ("rank", "best_rank") else 0


def group_folds(groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """(n,) fold index per row: documents (groups) dealt to k folds after a seeded shuffle."""
    distinct = np.array(sorted(set(groups.tolist())))
    np.random.default_rng(seed).shuffle(distinct)
    fold_of = {g: i % k for i, g in enumerate(distinct.tolist())}
    return np.array([fold_of[g] for g in groups.tolist()])


def fit_ranker(data: TrainingData, *, slots: Sequence[str], pool: Pool, missing_rates: Mapping[str, float],
               config: RankerConfig = RankerConfig(), info: Mapping[str, Any] | None = None,
               calibration_weights: np.ndarray | None = None, keep_training: TrainingData | None = None) -> Ranker:
    """Trees on all rows, calibrated on out-of-fold predictions (folds by document, so the calibration sees
    scores of documents the trees did not learn from). `calibration_weights` (default: the row weights)
    lets up-weighted decisions count once in the calibration."""
    if data.labels.sum() == 0 or data.labels.sum() == len(data):
        raise RankerError(f"training data needs both missing labels and non-missing candidates "
                          f"({int(data.labels.sum())} positive of {len(data)} rows)")
    start = time.perf_counter()
    folds = group_folds(data.groups, config.calibration_folds, config.seed)
    oof = np.zeros(len(data))
    for k in range(config.calibration_folds):
        test = folds == k
        if test.all() or not test.any():
            continue
        oof[test] = _bag_predict(_train_bag(data.subset(np.nonzero(~test)[0]), config), data.features[test],
                                 config.num_threads)
    boosters = _train_bag(data, config)
    calibrator = fit_isotonic(oof, data.labels, data.weights if calibration_weights is None else calibration_weights)
    log.info("ranker fitted on %d rows (%d missing labels) in %.2f s", len(data), int(data.labels.sum()),
             time.perf_counter() - start)
    return Ranker(boosters, data.feature_names, tuple(slots), pool, calibrator, dict(missing_rates),
                  dict(info or {}), config, keep_training if keep_training is not None else data)
