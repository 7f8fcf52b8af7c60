"""Progress bars for the course's training loops: tqdm.auto's bar, plus a useful stored line.

In Jupyter, tqdm.auto draws a widget, and the text a notebook stores next to the widget (what a
static viewer, GitHub or an untrusted notebook shows) is the bar as it was drawn: "0%| | 0/6
[00:00<?, ?epoch/s]". Here the bar is displayed with a display id, and when it closes that
output's text is replaced by the final line ("100%|██████████| 6/6 [00:49<00:00, loss=0.412]").
The live widget is the same one, so JupyterLab and Colab show no difference. Outside Jupyter it
is tqdm's ordinary text bar.

Display only: nothing here reads or changes a number, so it is not part of a sweep's code hash
(`sweeps.NOT_IN_HASH`)."""

from tqdm.auto import tqdm as _auto_tqdm

try:
    from tqdm.notebook import tqdm_notebook as _notebook_tqdm
except ImportError:   # pragma: no cover - tqdm always ships it; ipywidgets may be missing
    _notebook_tqdm = None


class tqdm(_auto_tqdm):
    """`tqdm.auto.tqdm` whose notebook widget leaves its final line as the stored text."""

    def __init__(self, *args, **kwargs):
        self._handle = None
        widget = (_notebook_tqdm is not None and issubclass(_auto_tqdm, _notebook_tqdm)
                  and kwargs.get("display", True) and not kwargs.get("delay", 0))
        if not widget:
            super().__init__(*args, **kwargs)
            return
        super().__init__(*args, **{**kwargs, "display": False})
        if not self.disable and hasattr(self, "container"):
            from IPython.display import display

            self._handle = display(self.container, display_id=True)
            self.displayed = True

    def close(self):
        handle, self._handle = getattr(self, "_handle", None), None
        super().close()
        if handle is not None and self.leave:
            # the same widget, with the final line as its text, whole (the widget's own text is
            # cut to the bar's width, which drops the end of a long postfix)
            bundle = self.container._repr_mimebundle_()
            bundle["text/plain"] = self.format_meter(**{**self.format_dict, "ncols": None, "ascii": True})
            handle.update(bundle, raw=True)
        elif handle is not None:
            # leave=False: the live widget closes, so the stored output keeps nothing of the bar
            handle.update({"text/plain": ""}, raw=True)
