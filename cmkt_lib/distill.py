"""Knowledge distillation and zero-shot classification: moving what a trained model knows into
another model, or onto classes it never saw.

    distillation_loss        student logits (B, C), teacher logits (B, C) -> scalar: Hinton's
                             soft-target loss, T^2 * KL(softmax(t/T) || softmax(s/T))
    feature_regression_loss  student features (B, D), teacher features (B, D) -> scalar MSE
    class_embeddings         prompt embeddings (C, P, D) -> (C, D): mean over the P prompts of
                             each class, re-normalised to unit length
    zero_shot_logits         image embeddings (N, D), class embeddings (C, D) -> cosines (N, C)

The teacher's outputs are always detached: a loss here never sends gradients into the teacher."""

from numbers import Real

import torch
import torch.nn.functional as F

from ._validate import check_scalar
from .losses import check_matrix, check_normalised


def _check_batch_matrix(x, name: str, what: str) -> None:
    check_matrix(x, name, shape=f"(B, C) of {what}", source="the model that produced it")


def _check_same(student, teacher, what: str) -> None:
    if student.shape != teacher.shape:
        raise ValueError(
            f"student and teacher {what} must have the same shape, got {tuple(student.shape)} and "
            f"{tuple(teacher.shape)}: both must describe the same batch "
            + ("over the same classes" if what == "logits" else "in the same number of dimensions "
               "(give the student a linear projection to the teacher's size)"))
    if student.device != teacher.device:
        raise ValueError(f"student {what} are on {student.device} but teacher {what} are on "
                         f"{teacher.device}; move both to one device with .to(device)")


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      temperature: float = 4.0) -> torch.Tensor:
    """Soft-target distillation loss (Hinton et al., 2015); a scalar.

    T^2 * mean over the batch of KL(p_T || q_T), where p_T = softmax(teacher_logits / T) and
    q_T = softmax(student_logits / T), both `(B, C)`. The T^2 factor keeps the gradients' size
    independent of T (they shrink as 1/T^2 otherwise). The teacher's logits are detached."""
    _check_batch_matrix(student_logits, "student_logits", "logits")
    _check_batch_matrix(teacher_logits, "teacher_logits", "logits")
    _check_same(student_logits, teacher_logits, "logits")
    if student_logits.shape[1] < 2:
        raise ValueError(f"distillation needs at least 2 classes to spread probability over, "
                         f"got logits of shape {tuple(student_logits.shape)}")
    check_scalar(temperature, "temperature", Real, min_val=0, include_boundaries="neither",
                 hint="1 is a plain softmax, 2 to 8 softens the teacher")
    t = float(temperature)
    teacher_log_p = F.log_softmax(teacher_logits.detach() / t, dim=1)
    student_log_q = F.log_softmax(student_logits / t, dim=1)
    kl = F.kl_div(student_log_q, teacher_log_p, reduction="batchmean", log_target=True)
    return kl * t * t


def feature_regression_loss(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """Mean squared error between student and (detached) teacher features `(B, D)`; a scalar.

    The mean is over every entry, so the loss does not grow with D."""
    _check_batch_matrix(student_features, "student_features", "features")
    _check_batch_matrix(teacher_features, "teacher_features", "features")
    _check_same(student_features, teacher_features, "features")
    return F.mse_loss(student_features, teacher_features.detach())


def class_embeddings(prompt_embeddings: torch.Tensor) -> torch.Tensor:
    """One embedding per class from several prompts: `(C, P, D)` -> `(C, D)`.

    Each prompt embedding must already be L2-normalised; the P prompts of a class are averaged
    and the mean is normalised again (a mean of unit vectors is shorter than 1)."""
    if not isinstance(prompt_embeddings, torch.Tensor):
        raise TypeError(f"prompt_embeddings must be a torch.Tensor of shape (C, P, D), "
                        f"got {type(prompt_embeddings).__name__}")
    if prompt_embeddings.ndim != 3:
        hint = (": with one prompt per class, add the prompt axis with x[:, None]"
                if prompt_embeddings.ndim == 2 else "")
        raise ValueError(f"prompt_embeddings must have shape (classes C, prompts P, dimensions D), "
                         f"got {tuple(prompt_embeddings.shape)}{hint}")
    c, p, d = prompt_embeddings.shape
    check_normalised(prompt_embeddings.reshape(c * p, d), "prompt_embeddings (flattened to (C*P, D))")
    mean = prompt_embeddings.mean(dim=1)
    norms = mean.norm(dim=1)
    if (norms < 1e-6).any():
        raise ValueError("the prompts of a class cancel out (their mean is the zero vector), so it has "
                         "no direction; use prompts that describe the class alike")
    return mean / norms[:, None]


def zero_shot_logits(image_embeddings: torch.Tensor, class_embeddings: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every image with every class: `(N, D)` and `(C, D)` -> `(N, C)`.

    Both must be L2-normalised; the predicted class is the argmax of each row."""
    check_normalised(image_embeddings, "image_embeddings")
    check_normalised(class_embeddings, "class_embeddings")
    if image_embeddings.shape[1] != class_embeddings.shape[1]:
        raise ValueError(f"image embeddings have {image_embeddings.shape[1]} dimensions but class "
                         f"embeddings have {class_embeddings.shape[1]}: both must come from the same "
                         "shared space (the same model's projections)")
    if image_embeddings.device != class_embeddings.device:
        raise ValueError(f"image embeddings are on {image_embeddings.device} but class embeddings on "
                         f"{class_embeddings.device}; move both to one device with .to(device)")
    return image_embeddings @ class_embeddings.T
