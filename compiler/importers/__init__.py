"""`converge import`: existing Prometheus rule files, Alertmanager configs and Compose
files as specs.

Pure converters from the text of foreign configs to spec documents (`prometheus_rules`,
`alertmanager`, `compose`), what an output directory needs to check as it is
(`scaffold`), and the YAML writer (`writer`). Only `converge.compiler.commands.import_` reads and
writes files.
"""

from __future__ import annotations

from converge.compiler.importers.alertmanager import import_config, template_patterns
from converge.compiler.importers.compose import import_compose
from converge.compiler.importers.compose import project_name as compose_project_name
from converge.compiler.importers.documents import SourceFormatError
from converge.compiler.importers.prometheus_rules import import_rule_files
from converge.compiler.importers.result import EnvVar, Imported, OutputFile
from converge.compiler.importers.writer import render

__all__ = [
    "EnvVar",
    "Imported",
    "OutputFile",
    "SourceFormatError",
    "compose_project_name",
    "import_compose",
    "import_config",
    "import_rule_files",
    "render",
    "template_patterns",
]
