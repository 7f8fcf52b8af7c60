"""cmkt_lib: the small helper library of the CMKT course on cross-modal knowledge transfer.

Open any module to read how it works; each holds one idea. The module map, with the notebook
that teaches each module:

The world
    attributes  shapes, colours, sizes, positions and the high-level concept rule   00, 01
    captions    captions written from attributes; the Vocabulary and tokenizer      00, 01
    parse       reads a caption back into attributes                                12
    render      draws each object's 3 x 32 x 32 picture                             00 (through make_world)
    sound       each object's sound and its log-mel spectrogram                     00, 06
    world       the tri-modal world: make_world, few_shot_indices                   00
    data        the standard world and its frozen test split in data/              00
    datasets    torch Datasets over a World                                         02
    splits      held-out combinations that colour alone cannot decide; rule scores  08
    pictograms  real pictures: Noto Emoji glyphs, their names, the pinned split      13
The models
    encoders    one small encoder per modality                                      02
    fusion      early, late and intermediate fusion; modality dropout              03
    decoder     a caption decoder with beam search                                  12
    pretrained  the pretrained sentence encoder all-MiniLM-L6-v2, offline          11
    space       a shared embedding space for three modalities, and its loop        04, 05
Learning
    losses      contrastive losses: InfoNCE, VSE++                                  04, 05
    distill     knowledge distillation and zero-shot classification               07, 08
    train       the course's one training loop                                      02
    probe       linear probes on frozen features                                    02
Measuring
    retrieval   Recall@K, median rank and diagnostics of a shared space            04
    evaluation  every score the course reports                                      09
Exercises and the rest
    checks      the exercises' self-checks (CHECKS)                                 01-13
    headline    each notebook's closing headline numbers                            00 (every notebook)
    sweeps      stored seed sweeps: record_run, load_sweep, intervals over seeds    02-13
    device      picks CUDA, MPS or the CPU                                          00
    plots       drawings whose code teaches nothing about transfer                  01

Not teaching: `cmkt_lib.tools` (bench, runner, sweep, student, grade, links, course) is the course's
tooling; no teaching module imports it. `cmkt_lib/bench.py` only forwards to `cmkt_lib.tools.bench`
for the commands written in the notebooks."""

from .attributes import COLOURS, CONCEPTS, POSITIONS, SHAPES, SIZES, TARGETS, concept_of
from .captions import Vocabulary, tokenize
from .data import DataIntegrityError, load_standard_test, standard_world
from .datasets import WorldDataset
from .device import describe_device, pick_device
from .headline import read_headline, show_headline
from .sound import log_mel_spectrogram
from .world import World, few_shot_indices, make_world

__version__ = "0.1.0"
