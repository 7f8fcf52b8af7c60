"""One training loop for the whole course, and the helpers that read a trained model back.

Batches are dicts (from `WorldDataset`). Two arguments say how a batch feeds the model:
`inputs`, the batch keys passed to the model in order, and `target`, the key the loss
compares the output with:

    outputs = model(*(batch[k] for k in inputs))        # e.g. inputs=("image",)
    loss = loss_fn(outputs, batch[target])              # or loss_fn(outputs) when target=None

So `fit(model, loader, inputs=("image",), epochs=3, lr=1e-3)` trains an image classifier, and
`fit(dual, loader, info_nce, inputs=("image", "tokens"), target=None, ...)` trains a model whose
loss needs no labels. The loop is as lean as a hand-written one: the training loss is summed
on the device and read once per epoch."""

import copy
import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_scalar
from .progress import tqdm


def _to(batch: dict, keys, device) -> list:
    return [batch[k].to(device, non_blocking=True) for k in keys]


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch nn.Module as the model, got {type(model).__name__}")


def _check_keys(inputs, target) -> tuple:
    if isinstance(inputs, str):
        inputs = (inputs,)
    inputs = tuple(inputs)
    if not inputs or not all(isinstance(k, str) for k in inputs):
        raise ValueError(f"inputs names the batch keys fed to the model, e.g. ('image',); got {inputs!r}")
    if target is not None and not isinstance(target, str):
        raise ValueError(f"target is the batch key of the labels (e.g. 'label') or None, got {target!r}")
    return inputs


def _check_loader(loader, name: str) -> int:
    if isinstance(loader, torch.utils.data.Dataset) and not isinstance(loader, torch.utils.data.DataLoader):
        raise TypeError(f"{name} is a Dataset; wrap it in a loader: DataLoader(dataset, batch_size=128)")
    try:
        n = len(loader)
    except TypeError:
        return -1
    if n == 0:
        raise ValueError(f"{name} is empty (0 batches): check the split or indices it was built from, "
                         "or use drop_last=False when the dataset is smaller than one batch")
    return n


def _check_batch(batch, keys, name: str) -> None:
    if not isinstance(batch, dict):
        raise TypeError(f"{name} yields {type(batch).__name__}, expected dicts of tensors such as "
                        "WorldDataset gives")
    missing = [k for k in keys if k not in batch]
    if missing:
        hint = ""
        if "tokens" in missing:
            hint = " (captions are 'tokens': build the WorldDataset with 'text' in modalities)"
        elif "spectrogram" in missing:
            hint = " (sounds are 'spectrogram': build the WorldDataset with 'audio' in modalities)"
        elif "label" in missing:
            hint = " (labels need WorldDataset(..., target='concept') or another target)"
        raise ValueError(f"{name}'s batches have keys {sorted(batch)} but {missing} were asked for{hint}")


def _check_class_targets(outputs, targets, where: str) -> None:
    """When `outputs` are logits `(N, C)` and `targets` integer class ids `(N,)`, raise unless
    every id is in 0..C-1 (cross-entropy would fail with "Target 4 is out of bounds")."""
    if not (isinstance(outputs, torch.Tensor) and isinstance(targets, torch.Tensor)):
        return
    if outputs.ndim != 2 or targets.ndim != 1 or len(outputs) != len(targets) or len(targets) == 0:
        return
    if not outputs.is_floating_point() or targets.is_floating_point() or targets.dtype == torch.bool:
        return
    n_classes = outputs.shape[1]
    low, high = int(targets.min()), int(targets.max())
    if low < 0 or high >= n_classes:
        raise ValueError(
            f"{where}: the labels go from {low} to {high}, but the model outputs {n_classes} logits per "
            f"item, so it only knows classes 0..{n_classes - 1}. Build the model with as many classes "
            f"as the target has (e.g. Classifier(encoder, n_classes={high + 1}) or "
            "len(World.class_names(target))), or check that target= names the labels you meant")


def _is_class_loss(loss_fn) -> bool:
    """True for the losses that read targets as class ids indexing the output's columns (a
    custom loss may use integer targets otherwise, e.g. to group embeddings)."""
    return loss_fn is F.cross_entropy or loss_fn is F.nll_loss or isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss))


def logit_accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows whose largest logit is the target class: logits `(N, C)`, targets `(N,)`.

    Argument order: (outputs, targets), as a loss takes them; the name says it reads logits.
    `cmkt_lib.evaluation.accuracy` takes (labels, predictions), as scikit-learn does; a call in the
    wrong order is refused."""
    if not isinstance(outputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(f"train.logit_accuracy(outputs, targets) takes two tensors, got {type(outputs).__name__} "
                        f"and {type(targets).__name__}; for numpy arrays use "
                        "cmkt_lib.evaluation.accuracy(labels, predictions)")
    if outputs.ndim != 2 or not outputs.is_floating_point():
        swapped = " - the arguments look swapped" if targets.ndim == 2 else ""
        raise ValueError(
            f"train.logit_accuracy(outputs, targets) takes the logits (N, C) first and the class ids (N,) "
            f"second, got a first argument of shape {tuple(outputs.shape)} and dtype {outputs.dtype}"
            f"{swapped}. (cmkt_lib.evaluation.accuracy is the one that takes (labels, predictions).)")
    if targets.ndim != 1 or len(targets) != len(outputs):
        raise ValueError(f"train.logit_accuracy(outputs, targets): targets must be class ids (N,) for the "
                         f"N={len(outputs)} rows of outputs, got shape {tuple(targets.shape)}")
    return (outputs.argmax(dim=1) == targets).float().mean().item()


METRICS = {"accuracy": logit_accuracy}


def _check_metric(metric):
    if metric is None or callable(metric):
        return metric
    if metric in METRICS:
        return METRICS[metric]
    raise ValueError(f"metric must be None, one of {list(METRICS)} or a function (outputs, targets) -> "
                     f"number where higher is better; got {metric!r}")


def _check_optimizer(optimizer, model) -> None:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    seen = {id(p) for g in optimizer.param_groups for p in g["params"]}
    left_out = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in seen]
    if left_out:
        warnings.warn(
            f"the optimizer does not hold {len(left_out)} of the model's trainable parameters "
            f"(e.g. {left_out[0]!r}): they will never change. Build the optimizer from "
            "model.parameters(), or set requires_grad=False on what you mean to freeze.",
            stacklevel=3,
        )


@torch.no_grad()
def _run_eval(model, loader, inputs, target, loss_fn, metric, device):
    """(mean loss or None, metric or None) over a loader, in eval mode."""
    model.eval()
    total, count, outs, tgts = None, 0, [], []
    for i, batch in enumerate(loader):
        if i == 0:
            _check_batch(batch, inputs + ((target,) if target is not None else ()), "val_loader")
        out = model(*_to(batch, inputs, device))
        y = batch[target].to(device, non_blocking=True) if target is not None else None
        if i == 0 and _is_class_loss(loss_fn):
            _check_class_targets(out, y, "val_loader")
        loss = loss_fn(out, y) if target is not None else loss_fn(out)
        n = len(y) if y is not None else 1
        total = loss.detach() * n if total is None else total + loss.detach() * n
        count += n
        if metric is not None:
            outs.append(out.detach())
            tgts.append(y)
    val_loss = (total / count).item() if count else float("nan")
    val_metric = float(metric(torch.cat(outs), torch.cat(tgts))) if metric is not None and outs else None
    return val_loss, val_metric


def fit(model: nn.Module, train_loader, loss_fn=None, *, epochs: int, lr: float = 1e-3,
        inputs=("image",), target="label", val_loader=None, metric=None, device=None,
        patience: int | None = None, progress: bool = True, weight_decay: float = 0.0,
        optimizer: torch.optim.Optimizer | None = None, desc: str = "training") -> dict:
    """Train `model` for `epochs` passes over `train_loader` with Adam (or `optimizer`).

    loss_fn(outputs, batch[target]) defaults to cross-entropy. With `val_loader`, each epoch
    also reports the validation loss and `metric` ("accuracy" or f(outputs, targets), higher is
    better). With `patience`, training stops after that many epochs without improvement (of
    the metric, or else of the validation loss) and the best epoch's weights are restored.
    `device` defaults to where the model's weights are; batches are moved there.
    Returns a history dict: train_loss, val_loss, val_metric (one value per epoch),
    best_epoch (1-based), epochs_run, seconds. The model is left in eval mode."""
    _check_model(model)
    inputs = _check_keys(inputs, target)
    check_scalar(epochs, "epochs", Integral, min_val=1, hint="it is the number of passes over the data")
    if optimizer is None:
        check_scalar(lr, "lr", Real, min_val=0, include_boundaries="neither", hint="the learning rate, such as 1e-3")
    check_scalar(weight_decay, "weight_decay", Real, min_val=0)
    if patience is not None:
        check_scalar(patience, "patience", Integral, min_val=1,
                     hint="the epochs without improvement before stopping, or None to train every epoch")
        if val_loader is None:
            raise ValueError("early stopping (patience=...) watches the validation data: pass val_loader too")
    metric = _check_metric(metric)
    if metric is not None and val_loader is None:
        raise ValueError("a metric is measured on validation data: pass val_loader too")
    if metric is not None and target is None:
        raise ValueError("a metric compares outputs with labels: it needs target= a batch key")
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    if isinstance(loss_fn, type) and issubclass(loss_fn, nn.Module):
        raise TypeError(f"loss_fn is the class {loss_fn.__name__}, not a loss: create one with "
                        f"{loss_fn.__name__}() (note the brackets), e.g. fit(model, loader, "
                        f"nn.{loss_fn.__name__}(), ...)")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (outputs, targets) -> loss, got {type(loss_fn).__name__}")
    n_batches = _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    device = _model_device(model) if device is None else torch.device(device)
    model.to(device)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        _check_optimizer(optimizer, model)

    keys = inputs + ((target,) if target is not None else ())
    history = {"train_loss": [], "val_loss": [], "val_metric": [], "best_epoch": None, "epochs_run": 0}
    best_score, best_state, waited = -math.inf, None, 0
    start = time.perf_counter()
    bar = tqdm(total=epochs * n_batches if n_batches > 0 else None, desc=desc, disable=not progress,
               unit="batch", leave=True)
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            running, seen = torch.zeros((), device=device), 0
            for step, batch in enumerate(train_loader):
                if epoch == 1 and step == 0:
                    _check_batch(batch, keys, "train_loader")
                x = _to(batch, inputs, device)
                out = model(*x)
                if target is not None:
                    y = batch[target].to(device, non_blocking=True)
                    if epoch == 1 and step == 0 and _is_class_loss(loss_fn):
                        _check_class_targets(out, y, "train_loader")
                    loss = loss_fn(out, y)
                else:
                    loss = loss_fn(out)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                running += loss.detach()
                seen += 1
                bar.update(1)
            if seen == 0:
                raise ValueError("train_loader gave no batches in this epoch: is it empty?")
            train_loss = (running / seen).item()
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"the training loss became {train_loss} in epoch {epoch}: lower the learning rate "
                    f"(now {optimizer.param_groups[0]['lr']:g}) or check the inputs for NaNs")
            history["train_loss"].append(train_loss)
            history["epochs_run"] = epoch
            postfix = {"loss": f"{train_loss:.3f}"}
            if val_loader is not None:
                val_loss, val_metric = _run_eval(model, val_loader, inputs, target, loss_fn, metric, device)
                history["val_loss"].append(val_loss)
                history["val_metric"].append(val_metric)
                postfix["val_loss"] = f"{val_loss:.3f}"
                if val_metric is not None:
                    postfix["val_metric"] = f"{val_metric:.3f}"
                score = val_metric if val_metric is not None else -val_loss
                if score > best_score:
                    best_score, waited, history["best_epoch"] = score, 0, epoch
                    if patience is not None:
                        best_state = copy.deepcopy(model.state_dict())
                else:
                    waited += 1
            bar.set_postfix(postfix, refresh=False)
            if patience is not None and waited >= patience:
                break
    finally:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    if history["best_epoch"] is None:
        history["best_epoch"] = history["epochs_run"]
    history["seconds"] = time.perf_counter() - start
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, loader, *, inputs=("image",), device=None) -> torch.Tensor:
    """The model's outputs on every batch of `loader`, in order, stacked on the CPU: `(N, ...)`."""
    _check_model(model)
    inputs = _check_keys(inputs, None)
    _check_loader(loader, "loader")
    device = _model_device(model) if device is None else torch.device(device)
    model.to(device).eval()
    outs = []
    for i, batch in enumerate(loader):
        if i == 0:
            _check_batch(batch, inputs, "loader")
        outs.append(model(*_to(batch, inputs, device)).cpu())
    return torch.cat(outs)


def labels_of(loader, target: str = "label") -> torch.Tensor:
    """The `target` values of every batch of `loader`, in order: int64 `(N,)`."""
    _check_loader(loader, "loader")
    out = []
    for i, batch in enumerate(loader):
        if i == 0:
            _check_batch(batch, (target,), "loader")
        out.append(batch[target])
    return torch.cat(out)


def evaluate_accuracy(model: nn.Module, loader, *, inputs=("image",), target: str = "label", device=None) -> float:
    """Fraction of `loader`'s items that the classifier labels correctly (argmax of the logits)."""
    logits = predict(model, loader, inputs=inputs, device=device)
    labels = labels_of(loader, target)
    if logits.ndim != 2 or len(logits) != len(labels):
        raise ValueError(f"expected logits (N, classes) for N={len(labels)} items, got {tuple(logits.shape)}")
    _check_class_targets(logits, labels, "evaluate_accuracy")
    return logit_accuracy(logits, labels)


def extract_features(encoder: nn.Module, loader, *, inputs=("image",), target: str | None = "label",
                     device=None):
    """Features of a (frozen) encoder for every item of `loader`: float32 numpy `(N, D)`, and
    the labels int64 `(N,)` (None when target=None). Ready for `cmkt_lib.probe.linear_probe`."""
    features = predict(encoder, loader, inputs=inputs, device=device)
    if features.ndim != 2:
        raise ValueError(f"expected features (N, D) from the encoder, got shape {tuple(features.shape)}")
    labels = labels_of(loader, target).numpy() if target is not None else None
    return features.float().numpy(), labels


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed torch (CPU and CUDA) and return a numpy Generator seeded the same way."""
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
