"""A small caption decoder: writes a caption, one token at a time, from an embedding `(B, D)`.

    CaptionDecoder    embedding (B, D), tokens (B, L) -> next-token logits (B, L - 1, V)
    caption_loss      teacher forcing: cross-entropy of each next token, padding ignored
    greedy_decode     the most likely token at every step           -> ids (B, max_len)
    beam_search       keep the `beam_width` best partial captions   -> ids (B, K, max_len), scores (B, K)

Token ids follow `Vocabulary`: captions are encoded with `add_special=True`, i.e.
<bos> w1 ... wn <eos> <pad> ...; the decoded ids start after <bos> and are padded after <eos>,
so `Vocabulary().decode(ids)` turns them back into text."""

from numbers import Integral

import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_scalar
from .captions import Vocabulary

_VOCAB = Vocabulary()
VOCAB_SIZE = len(_VOCAB)
PAD_ID, BOS_ID, EOS_ID = _VOCAB.pad_id, _VOCAB.bos_id, _VOCAB.eos_id


def _check_embedding(decoder, embedding) -> None:
    if not isinstance(embedding, torch.Tensor):
        raise TypeError(f"the embedding must be a torch.Tensor of shape (B, {decoder.embed_dim}), "
                        f"got {type(embedding).__name__}; use torch.as_tensor(x)")
    if embedding.ndim == 1 and embedding.shape[0] == decoder.embed_dim:
        raise ValueError(f"expected a batch of embeddings (B, {decoder.embed_dim}), got one vector of shape "
                         f"{tuple(embedding.shape)}: add a batch dimension with z[None]")
    if embedding.ndim != 2 or embedding.shape[1] != decoder.embed_dim:
        raise ValueError(f"expected embeddings of shape (B, {decoder.embed_dim}) (this decoder was built with "
                         f"embed_dim={decoder.embed_dim}), got {tuple(embedding.shape)}")
    if embedding.shape[0] == 0:
        raise ValueError("the batch of embeddings is empty (0 rows): there is nothing to decode; "
                         "check the split or indices it was built from")
    if not torch.is_floating_point(embedding):
        raise TypeError(f"embeddings must be floating point, got {embedding.dtype}: use z.float()")
    weight = decoder.init_state.weight
    if embedding.device != weight.device:
        raise ValueError(f"the embeddings are on {embedding.device} but the decoder is on {weight.device}: "
                         f"move one to the other, e.g. z.to({str(weight.device)!r})")


def _check_max_len(decoder, max_len) -> int:
    check_scalar(max_len, "max_len", Integral, min_val=1, hint="it is the most tokens to generate")
    if max_len > decoder.max_len:
        raise ValueError(f"max_len={max_len} is longer than this decoder supports: it was built for captions of "
                         f"at most {decoder.max_len} tokens; ask for max_len <= {decoder.max_len} "
                         "or build CaptionDecoder(..., max_len=...) larger and train it on such captions")
    return int(max_len)


class CaptionDecoder(nn.Module):
    """A GRU language model conditioned on an embedding `(B, D)`.

    The embedding sets the GRU's first hidden state and is also fed, projected, beside every
    input word, so the decoder cannot forget what it is describing. At step t the GRU reads
    the previous token and returns logits over the vocabulary for the next one."""

    def __init__(self, embed_dim: int, vocab_size: int = VOCAB_SIZE, hidden: int = 128, word_dim: int = 32,
                 max_len: int = 16, bos_id: int = BOS_ID, eos_id: int = EOS_ID, pad_id: int = PAD_ID):
        super().__init__()
        for name, value in (("embed_dim", embed_dim), ("vocab_size", vocab_size), ("hidden", hidden),
                            ("word_dim", word_dim), ("max_len", max_len)):
            check_scalar(value, name, Integral, min_val=1)
        self.embed_dim, self.vocab_size, self.hidden, self.max_len = embed_dim, vocab_size, hidden, max_len
        self.bos_id, self.eos_id, self.pad_id = bos_id, eos_id, pad_id
        self.words = nn.Embedding(vocab_size, word_dim, padding_idx=pad_id)
        self.init_state = nn.Linear(embed_dim, hidden)
        self.condition = nn.Linear(embed_dim, word_dim)
        self.gru = nn.GRU(2 * word_dim, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def start(self, embedding: torch.Tensor) -> torch.Tensor:
        """The first hidden state `(1, B, hidden)` for embeddings `(B, D)`."""
        _check_embedding(self, embedding)
        return torch.tanh(self.init_state(embedding)).unsqueeze(0)

    def step(self, tokens: torch.Tensor, state: torch.Tensor, embedding: torch.Tensor):
        """One step for a batch: previous tokens `(B,)` -> (log-probabilities `(B, V)` of the next
        token, new state `(1, B, hidden)`)."""
        x = torch.cat([self.words(tokens), self.condition(embedding)], dim=-1).unsqueeze(1)  # (B, 1, 2w)
        out, state = self.gru(x, state)
        return F.log_softmax(self.out(out[:, 0]), dim=-1), state

    def forward(self, embedding: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: embeddings `(B, D)`, true captions `(B, L)` that start with <bos>
        -> logits `(B, L - 1, V)`; position t predicts tokens[:, t + 1] from tokens[:, :t + 1]."""
        _check_embedding(self, embedding)
        if not isinstance(tokens, torch.Tensor) or tokens.ndim != 2:
            raise ValueError("tokens must be a (B, L) tensor of token ids encoded with "
                             "Vocabulary().encode_batch(captions, add_special=True)")
        if tokens.shape[0] != embedding.shape[0]:
            raise ValueError(f"got {embedding.shape[0]} embeddings but {tokens.shape[0]} captions: "
                             "pass one caption per embedding")
        if tokens.shape[1] < 2 or tokens.shape[1] > self.max_len:
            raise ValueError(f"captions must have between 2 and {self.max_len} tokens (<bos> ... <eos>), "
                             f"got {tokens.shape[1]}; encode with max_len <= {self.max_len}")
        if torch.is_floating_point(tokens):
            raise TypeError(f"token ids must be integers (torch.int64), got {tokens.dtype}")
        if not bool((tokens[:, 0] == self.bos_id).all()):
            raise ValueError("every caption must start with <bos>: encode with add_special=True")
        state = self.start(embedding)
        inputs = tokens[:, :-1]
        cond = self.condition(embedding).unsqueeze(1).expand(-1, inputs.shape[1], -1)
        out, _ = self.gru(torch.cat([self.words(inputs), cond], dim=-1), state)
        return self.out(out)                                             # (B, L - 1, V)


def caption_loss(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int = PAD_ID) -> torch.Tensor:
    """Mean cross-entropy of the next tokens: logits `(B, L - 1, V)` from `CaptionDecoder`,
    tokens `(B, L)` the same captions; padding after <eos> is not scored."""
    if logits.ndim != 3 or logits.shape[:2] != (tokens.shape[0], tokens.shape[1] - 1):
        raise ValueError(f"logits must be (B, L - 1, V) for tokens (B, L) = {tuple(tokens.shape)}, "
                         f"got {tuple(logits.shape)}")
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=pad_id)


@torch.no_grad()
def greedy_decode(decoder: CaptionDecoder, embedding: torch.Tensor, max_len: int = 16, return_log_probs: bool = False):
    """The most likely next token at each step: embeddings `(B, D)` -> ids int64 `(B, max_len)`
    (after <bos>; <pad> after <eos>). With return_log_probs, also the log-probabilities of
    every token at every step `(B, max_len, V)` (what the decoder weighed at each choice)."""
    max_len = _check_max_len(decoder, max_len)
    decoder.eval()
    state = decoder.start(embedding)
    batch = embedding.shape[0]
    tokens = torch.full((batch,), decoder.bos_id, dtype=torch.long, device=embedding.device)
    done = torch.zeros(batch, dtype=torch.bool, device=embedding.device)
    ids, steps = [], []
    for _ in range(max_len):
        log_probs, state = decoder.step(tokens, state, embedding)
        tokens = log_probs.argmax(dim=-1).masked_fill(done, decoder.pad_id)
        ids.append(tokens)
        steps.append(log_probs)
        done = done | (tokens == decoder.eos_id)
    ids = torch.stack(ids, dim=1)
    return (ids, torch.stack(steps, dim=1)) if return_log_probs else ids


@torch.no_grad()
def beam_search(decoder: CaptionDecoder, embedding: torch.Tensor, beam_width: int = 3, max_len: int = 16,
                return_history: bool = False):
    """Keep the `beam_width` most likely partial captions at every step.

    embeddings `(B, D)` -> (ids int64 `(B, K, max_len)`, scores `(B, K)`), K = beam_width,
    beams sorted best first; a score is the sum of the log-probabilities of the beam's tokens
    up to its <eos>. With return_history, also a list (one entry per step) of (ids so far
    `(B, K, t)`, scores `(B, K)`): how the beams grew. beam_width=1 is greedy decoding."""
    check_scalar(beam_width, "beam_width", Integral, min_val=1, hint="it is how many partial captions to keep")
    max_len = _check_max_len(decoder, max_len)
    if beam_width > decoder.vocab_size:
        raise ValueError(f"beam_width={beam_width} is more than the {decoder.vocab_size} tokens of the vocabulary; "
                         "use a smaller beam")
    decoder.eval()
    batch, k, device = embedding.shape[0], int(beam_width), embedding.device
    state = decoder.start(embedding)                                      # (1, B, H)
    hidden = state.shape[-1]
    state = state.repeat_interleave(k, dim=1)                             # (1, B*K, H)
    cond = embedding.repeat_interleave(k, dim=0)                          # (B*K, D)
    tokens = torch.full((batch * k,), decoder.bos_id, dtype=torch.long, device=device)
    # all K beams start as the same empty caption: only the first may grow at step 1
    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0
    done = torch.zeros(batch, k, dtype=torch.bool, device=device)
    ids = torch.zeros(batch, k, 0, dtype=torch.long, device=device)
    vocab = decoder.vocab_size
    history = []
    for _ in range(max_len):
        log_probs, state = decoder.step(tokens, state, cond)
        log_probs = log_probs.view(batch, k, vocab)
        # a finished beam can only be continued by <pad>, at no cost
        finished = torch.full((vocab,), float("-inf"), device=device)
        finished[decoder.pad_id] = 0.0
        log_probs = torch.where(done[..., None], finished, log_probs)
        candidates = (scores[..., None] + log_probs).view(batch, k * vocab)
        scores, flat = candidates.topk(k, dim=1)                          # (B, K), sorted
        parent, token = flat // vocab, flat % vocab
        ids = torch.cat([ids.gather(1, parent[..., None].expand(-1, -1, ids.shape[2])), token[..., None]], dim=2)
        done = done.gather(1, parent) | (token == decoder.eos_id)
        rows = (parent + torch.arange(batch, device=device)[:, None] * k).view(-1)
        state = state.view(1, batch * k, hidden)[:, rows]
        tokens = token.view(-1)
        if return_history:
            history.append((ids.clone(), scores.clone()))
    return (ids, scores, history) if return_history else (ids, scores)
