"""One progress / callback / stop contract for every long loop in the toolkit.

Every function that loops for more than a moment (an optimisation, a training run, a video, a solve)
takes the same four keywords:

- ``progress=True``: a ``tqdm.auto`` bar (a text bar in a terminal, a widget in Jupyter);
- ``callback=None``: called every ``callback_every`` steps and once at the end with a
  :class:`Progress`; returning ``True`` stops the loop;
- ``callback_every``: how often (in steps);
- ``stop=None``: a ``threading.Event``; when it is set the loop ends at the next step and returns
  what it has (a widget's Stop button sets it).

A callback takes either one argument, the :class:`Progress` (``p.step``, ``p.total``, ``p.image``,
``p.info``), or the positional form ``callback(step, image, info)``; a callback written with fewer
positional parameters gets the leading ones (``callback(step, image)``). :func:`notify` does this
dispatch, and :class:`Loop` runs the bar, the stop check and the cadence, so a method's loop
reads as the paper's loop.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Progress", "Loop", "notify", "should_stop"]


@dataclass
class Progress:
    """What a callback receives: the step reached, the total, the current picture and the rest.

    ``image`` is the result so far (a detached CPU tensor, or None); ``info`` a dict of the loop's
    numbers (losses, history, settings). Topics may pass a subclass with more fields.
    """

    step: int
    total: int | None = None
    image: Any = None
    info: dict = field(default_factory=dict)

    def __iter__(self):  # step, image, info = p
        return iter((self.step, self.image, self.info))


def _n_positional(fn: Callable) -> int | None:
    """How many positional arguments to pass ``fn``: its required positional parameters (so a
    ``lambda i, im, k=k:`` keeps its default), or all of them when none is required; None: any."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    required = total = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            total += 1
            required += p.default is p.empty
    return required or total


def notify(callback: Callable | None, p: Progress) -> bool:
    """Call ``callback`` with ``p`` (one parameter) or ``(step, image, info)``; True means stop."""
    if callback is None:
        return False
    n = _n_positional(callback)
    if n == 1:
        out = callback(p)
    else:
        args = (p.step, p.image, p.info)
        out = callback(*args) if n is None else callback(*args[:n])
    return out is True


def should_stop(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


class Loop:
    """Steps ``start … total-1`` with a tqdm bar, the stop event and the callback cadence.

    >>> loop = Loop(total, progress=progress, callback=callback, every=callback_every, stop=stop)
    >>> for i in loop:                      # ends early when stop is set or a callback says so
    ...     loss = step()
    ...     loop.report(i + 1, image=lambda: x.detach().cpu(), loss=loss)
    >>> loop.stopped

    ``image`` may be a zero-argument function, so that the copy is only made when a callback is
    due. ``report`` updates the bar every step and calls the callback when ``step % every == 0``
    or at ``total``; ``finish`` calls it once more if the last step reported was not delivered
    (after a stop, or when the loop ends off the cadence: an unknown ``total``, an iterable that
    ran short), so a display always ends on the last state.
    """

    def __init__(self, total: int | None, *, start: int = 0, progress: bool = True,
                 callback: Callable | None = None, every: int = 10, stop: threading.Event | None = None,
                 desc: str | None = None, leave: bool = False, unit: str = "it"):
        from tqdm.auto import tqdm

        self.total, self.start, self.callback = total, start, callback
        self.every, self.stop_event = max(1, int(every)), stop
        self.stopped = False
        self.step = start
        self._last: Progress | None = None
        self._pending: tuple | None = None  # the last report not delivered to the callback
        self.bar = tqdm(total=total, initial=start, disable=not progress, desc=desc, leave=leave,
                        unit=unit)

    def __iter__(self) -> Iterator[int]:
        i = self.start
        try:
            while self.total is None or i < self.total:
                if should_stop(self.stop_event) or self.stopped:
                    self.stopped = True
                    return
                yield i
                i += 1
        finally:
            self.bar.close()

    def wrap(self, iterable):
        """Iterate over ``iterable`` (frames, batches) under the same stop rule."""
        try:
            for item in iterable:
                if should_stop(self.stop_event) or self.stopped:
                    self.stopped = True
                    return
                yield item
        finally:
            self.bar.close()

    def due(self, step: int) -> bool:
        return self.callback is not None and (step % self.every == 0 or step == self.total)

    def report(self, step: int, image=None, info: dict | None = None, *, postfix: dict | None = None,
               progress: Progress | None = None, force: bool = False, **numbers) -> bool:
        """Record that ``step`` steps are done; call the callback if due. True if it asked to stop."""
        self.bar.update(step - self.step)
        self.step = step
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)
        if not (force or self.due(step)):
            self._pending = (step, image, info, numbers, progress)
            return False
        self._pending = None
        p = progress if progress is not None else Progress(
            step, self.total, image() if callable(image) else image, {**(info or {}), **numbers})
        self._last = p
        if notify(self.callback, p):
            self.stopped = True
        return self.stopped

    def finish(self) -> None:
        """At the end (a stop included): one last callback with the state reached, unless it was
        just delivered."""
        self.bar.close()
        pending = self._pending
        if self.callback is not None and pending is not None:
            step, image, info, numbers, progress = pending
            self.report(step, image, info, progress=progress, force=True, **numbers)
