"""`converge schema`: write the JSON Schema of every kind for editors."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["schema"]


@click.command()
@click.option("-o", "--output", "output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("schema"), show_default=True, help="Directory to write into.")
def schema(output: Path) -> None:
    """Write the JSON Schema of every kind (and converge.json, for any kind).

    Point your editor at them with a first line such as
    `# yaml-language-server: $schema=schema/converge.json`.
    """
    from converge.specs import jsonschema

    output.mkdir(parents=True, exist_ok=True)
    for name, text in jsonschema.all_schemas().items():
        (output / name).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output / name}", err=True)
