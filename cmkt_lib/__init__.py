"""cmkt_lib: the small helper library of the CMKT course on cross-modal knowledge transfer.

Open any module to read how it works; each holds one idea."""

from .attributes import COLOURS, CONCEPTS, POSITIONS, SHAPES, SIZES, TARGETS, concept_of
from .captions import Vocabulary, tokenize
from .data import DataIntegrityError, load_standard_test, standard_world
from .datasets import WorldDataset
from .device import describe_device, pick_device
from .headline import read_headline, show_headline
from .sound import log_mel_spectrogram
from .world import World, few_shot_indices, make_world

__version__ = "0.1.0"
