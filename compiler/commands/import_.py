"""`converge import`: turn existing Prometheus rule files and Alertmanager configs into specs.

The thin shell around `converge.compiler.importers`: it reads the source files and the output
directory, lets the pure converters decide, refuses to overwrite spec files unless told
to, writes, and reports what it wrote, the environment variables secrets now come from
(names only), and the import report: every change the import made (renames, dropped
fields, defaults added), empty for a faithful import. Exit codes: 0 written, 1 `--strict`
and the report is not empty (nothing written), 2 usage or I/O error or a source that is
not what the command reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import click

from converge.compiler import importers, sources
from converge.compiler.importers import scaffold

EXIT_CHANGED = 1
EXIT_USAGE = 2
_OUTPUT = click.option("-o", "--output", "output", required=True, help="Repository to write.",
                       type=click.Path(file_okay=False, path_type=Path))
_FORCE = click.option("--force", is_flag=True, help="Overwrite existing spec files.")
_STRICT = click.option("--strict", is_flag=True,
                       help="Fail (exit 1, write nothing) unless the import changes nothing.")


@click.group("import")
def import_group() -> None:
    """Import Prometheus rule files, an Alertmanager config or a Compose file as specs."""


@import_group.command("prometheus-rules")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_OUTPUT
@_FORCE
@_STRICT
def prometheus_rules(files: tuple[Path, ...], output: Path, force: bool, strict: bool) -> None:
    """Import Prometheus rule files and PrometheusRule objects into OUTPUT/rules/.

    Each rule group becomes a RuleGroup; OUTPUT gets a converge.yaml and a catch-all
    routing.yaml when it has none, so `converge check OUTPUT` passes as it is.
    """
    texts = [(path.as_posix(), _read(path)) for path in files]
    existing = _existing(output)

    def convert(taken: set[str]) -> importers.Imported:
        return importers.import_rule_files(texts, taken=taken, versions=existing.versions)

    imported = _convert(convert, output, "RuleGroup")
    _refuse_changes(imported, strict=strict)
    extra: list[importers.OutputFile] = []
    notes: list[str] = []
    if existing.versions is None:
        extra.append(scaffold.project_file(output.resolve().name, imported.versions))
    if not existing.has("Routing") and not existing.has("Channel"):
        extra.append(scaffold.catch_all_routing_file())
        notes.append(f"{scaffold.ROUTING_PATH}: every alert goes to the placeholder webhook "
                     f"channel 'default' ({scaffold.DEFAULT_CHANNEL_URL}); import your "
                     "Alertmanager config or write your routes")
    elif not existing.has("Routing"):
        notes.append(f"{output} has channels but no Routing: alerts reach no receiver until "
                     "you add one")
    _write(output, [*imported.files, *extra], force=force)
    _report(imported, notes, output)


@import_group.command("alertmanager")
@click.argument("file", type=click.Path(path_type=Path))
@_OUTPUT
@_FORCE
@_STRICT
def alertmanager(file: Path, output: Path, force: bool, strict: bool) -> None:
    """Import an Alertmanager config into OUTPUT/channels/ and OUTPUT/routing.yaml.

    Literal secrets are replaced by `{env: NAME}` references; the names to set are listed.
    """
    text = _read(file)
    existing = _existing(output)
    templates = _template_files(text, file)

    def convert(taken: set[str]) -> importers.Imported:
        return importers.import_config(text, source=file.as_posix(), taken=taken,
                                       templates=templates)

    imported = _convert(convert, output, "Channel")
    _refuse_changes(imported, strict=strict)
    notes: list[str] = []
    others = existing.paths.get("Routing", set()) - {scaffold.ROUTING_PATH}
    if others:
        notes.append(f"another Routing document is in {', '.join(sorted(others))}: "
                     "converge uses one; remove it")
    if existing.versions is not None:
        notes += scaffold.version_notes(imported.versions, existing.versions)
    extra = [] if existing.versions is not None else [
        scaffold.project_file(output.resolve().name, imported.versions)]
    _write(output, [*imported.files, *extra], force=force)
    _report(imported, notes, output)


@import_group.command("compose")
@click.argument("file", type=click.Path(path_type=Path))
@_OUTPUT
@click.option("--project", metavar="NAME",
              help="Compose project name (default: the file's `name:`, else its folder's name).")
@_FORCE
@_STRICT
def compose(file: Path, output: Path, project: str | None, force: bool, strict: bool) -> None:
    """Import a Compose file's restart and healthcheck settings as HealingPolicies.

    One policy per service, in OUTPUT/healing/<project>.yaml; see docs/healer.md for the
    mapping.
    """
    text = _read(file)
    existing = _existing(output)
    name = importers.compose_project_name(
        project or file.resolve().parent.name) or "default"

    def convert(taken: set[str]) -> importers.Imported:
        return importers.import_compose(text, source=file.as_posix(), project=name,
                                        taken=taken)

    imported = _convert(convert, output, "HealingPolicy")
    _refuse_changes(imported, strict=strict)
    extra = [] if existing.versions is not None else [
        scaffold.project_file(output.resolve().name, imported.versions)]
    _write(output, [*imported.files, *extra], force=force)
    _report(imported, [], output)


def _template_files(text: str, config: Path) -> dict[str, list[tuple[str, str]]]:
    """The files each `templates:` pattern matches, relative to the configuration's folder
    as Alertmanager resolves them."""
    try:
        patterns = importers.template_patterns(text, source=config.as_posix())
    except importers.SourceFormatError as error:
        _fail(str(error))
    found: dict[str, list[tuple[str, str]]] = {}
    for pattern in patterns:
        base = Path(pattern) if Path(pattern).is_absolute() else config.parent / pattern
        paths = sorted(Path(base.anchor).glob(str(base.relative_to(base.anchor))))
        found[pattern] = [(p.as_posix(), _read(p)) for p in paths if p.is_file()]
    return found


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        _fail(f"{path}: {error.strerror or error}")
    except UnicodeDecodeError:
        _fail(f"{path}: not UTF-8 text")


def _existing(output: Path, *, exclude: frozenset[str] = frozenset()) -> scaffold.Existing:
    if not output.exists():
        return scaffold.scan([])
    if not output.is_dir():
        _fail(f"{output}: not a directory")
    try:
        found = sources.read_directory(output)
    except sources.SourceError as error:
        _fail(str(error))
    return scaffold.scan((f.path, f.data.decode("utf-8", "replace")) for f in found
                         if f.path not in exclude)


def _convert(convert: Callable[[set[str]], importers.Imported], output: Path,
             kind: str) -> importers.Imported:
    """Convert twice: first to learn the paths written, then with the names of the specs
    that stay (a file about to be overwritten does not reserve its names)."""
    try:
        written = frozenset(f.path for f in convert(set()).files)
        taken = _existing(output, exclude=written).names.get(kind, set())
        return convert(set(taken))
    except importers.SourceFormatError as error:
        _fail(str(error))


def _write(output: Path, files: Sequence[importers.OutputFile], *, force: bool) -> None:
    texts = {f.path: importers.render(f.documents, header=f.header, comments=f.comments)
             for f in files}
    clashes = [output / path for path in texts if (output / path).exists()]
    if clashes and not force:
        _fail("would overwrite " + ", ".join(str(p) for p in clashes)
              + "; use --force to replace them")
    for file in files:
        target = output / file.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(texts[file.path], encoding="utf-8")
        except OSError as error:
            _fail(f"{target}: {error.strerror or error}")
        click.echo(f"wrote {target} ({file.summary})" if file.summary else f"wrote {target}")


def _refuse_changes(imported: importers.Imported, *, strict: bool) -> None:
    if strict and imported.notes:
        click.echo(_changes(imported), err=True)
        _fail("--strict: the import is not faithful (see the report above); nothing written",
              code=EXIT_CHANGED)


def _changes(imported: importers.Imported) -> str:
    """The import report: every change the import made, or that it made none."""
    if not imported.notes:
        return "\nImport report: no changes (the specs mean what the source meant)."
    lines = [f"\nImport report: {len(imported.notes)} change(s) from the source:"]
    lines += [f"  - {note}" for note in imported.notes]
    return "\n".join(lines)


def _report(imported: importers.Imported, notes: list[str], output: Path) -> None:
    if imported.env:
        click.echo("\nSecrets are read from these environment variables; set them where "
                   "converge delivers\nnotifications (values were not written anywhere):")
        width = max(len(var.name) for var in imported.env)
        for var in imported.env:
            click.echo(f"  {var.name.ljust(width)}  {var.purpose}")
    click.echo(_changes(imported))
    if notes:
        click.echo("\nNotes:")
        for note in notes:
            click.echo(f"  - {note}")
    click.echo(f"\nNext: converge check {output}")


def _fail(message: str, *, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"converge: error: {message}", err=True)
    raise SystemExit(code)
