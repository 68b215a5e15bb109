"""What a run was asked, checked once where the run is opened.

Each entry point (a file run, a live run, a batch, demo, eval, bench) calls
:func:`check_request` before any work: the settings are validated, every flag the user
typed that this kind of run has no use for is refused (:mod:`.flag_scope`), and every output
is checked (:func:`~livematte.io.output_checks.check_run_outputs`). Each problem is one
sentence in the caller's words: the flags of the command line, or the arguments of the
Python API. The command line only maps flags to settings and says which it typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, validate
from ..io.codecs import API_NAMES, CLI_NAMES, OutputNames
from ..io.output_checks import check_run_outputs
from .flag_scope import RunFacts, refuse_flags_that_cannot_act


@dataclass(frozen=True)
class Request:
    """How a run was asked: ``typed`` maps the destination of each flag given on the command
    line to the flag as the user knows it (``alpha_out`` → ``--alpha-out``); ``names`` words
    the sentences; ``config_file`` is (its flag or argument, its path), read by the run."""

    typed: Mapping[str, str] = field(default_factory=dict)
    names: OutputNames = API_NAMES
    config_file: tuple[str, str | Path | None] = ("config_file", None)

    def typed_any(self, *dests: str) -> frozenset[str]:
        """Which of ``dests`` were typed."""
        return frozenset(dest for dest in dests if dest in self.typed)


API = Request()


def command_line(typed: Mapping[str, str], config_file: str | None) -> Request:
    """A request from the command line: refusals name flags."""
    return Request(dict(typed), CLI_NAMES, ("--config", config_file))


def check_request(
    request: Request,
    config: Config,
    facts: RunFacts,
    inputs: Sequence[str],
    output: str,
    *,
    side_files: Mapping[str, str | None] | None = None,
    display: bool = True,
) -> None:
    """Validate ``config``, refuse typed flags this run cannot act on, check its outputs."""
    validate(config)
    refuse_flags_that_cannot_act(request.typed, config, facts)
    check_run_outputs(
        inputs,
        output,
        config,
        side_files=side_files,
        live=facts.live,
        names=request.names,
        config_file=request.config_file,
        display=display,
    )


def check_run(
    request: Request,
    config: Config,
    input_spec: str,
    output: str,
    *,
    live: bool,
    display: bool = True,
) -> None:
    """:func:`check_request` for ``livematte run``, file or live: one input, one output,
    and the run's report as a side file (``--stats-json``)."""
    check_request(
        request,
        config,
        RunFacts.of(input_spec, output, live=live),
        [input_spec],
        output,
        side_files={request.names.stats: config.live.stats_json},
        display=display,
    )
