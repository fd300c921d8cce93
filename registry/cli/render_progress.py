"""Progress of `ropedex render` on stderr: a rich bar on a terminal, plain lines with
--progress elsewhere, nothing otherwise (standard output never changes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from registry.cli.output import make_console

Progress = Callable[[str, int, int], None]


@contextmanager
def render_progress(forced: bool) -> Iterator[Progress | None]:
    """The `progress` callback to hand to `render_site`, or None when nothing is to be shown."""
    console = make_console(stderr=True)
    if console.is_terminal:
        from rich.progress import Progress as Bar

        with Bar(console=console, transient=True) as bar:
            task = bar.add_task("render", total=None)
            shown = ""

            def update(step: str, done: int, total: int) -> None:
                nonlocal shown
                bar.update(task, description=step, completed=done, total=total)
                if step != shown:  # every step is drawn at least once, however short
                    shown = step
                    bar.refresh()

            yield update
        return
    if not forced:
        yield None
        return
    yield _lines()


def _lines() -> Progress:
    """Plain `render: STEP DONE/TOTAL` lines: about one per tenth of the whole, and the last
    count of every step."""
    state: dict[str, tuple[str, int, int] | int | None] = {"pending": None, "tenth": -1}

    def say(step: str, done: int, total: int) -> None:
        click.echo(f"render: {step} {done:,}/{total:,}", err=True)

    def line(step: str, done: int, total: int) -> None:
        pending = state["pending"]
        if isinstance(pending, tuple) and pending[0] != step:
            say(*pending)  # the last count of the step that just ended
        tenth = (10 * done) // max(total, 1)
        if tenth != state["tenth"] or done == total:
            state["tenth"], state["pending"] = tenth, None
            say(step, done, total)
        else:
            state["pending"] = (step, done, total)

    return line
