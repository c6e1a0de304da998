"""`converge import`: existing Prometheus rule files, Alertmanager configs and Compose
files as specs.

Pure converters from the text of foreign configs to spec documents (`prometheus_rules`,
`alertmanager`, `compose`), what an output directory needs to check as it is
(`scaffold`), and the YAML writer (`writer`). Only `compiler.import_cli` reads and writes files.
"""

from __future__ import annotations

from compiler.importers.alertmanager import import_config
from compiler.importers.compose import import_compose
from compiler.importers.compose import project_name as compose_project_name
from compiler.importers.documents import SourceFormatError
from compiler.importers.prometheus_rules import import_rule_files
from compiler.importers.result import EnvVar, Imported, OutputFile
from compiler.importers.writer import render

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
]
