"""Kept for the `python -m cmkt_lib.bench --notebook NN --seed 1` commands written in the notebooks; the tool is cmkt_lib.tools.bench."""

from .tools.bench import main

if __name__ == "__main__":
    main()
