"""Where cgbench's own files lie: the package, the checkout around it, its resources and schema.

The one place that works them out from this file's location.
"""

from pathlib import Path

#: The ``cgbench`` package folder.
PACKAGE = Path(__file__).resolve().parents[1]
#: The folder that holds the package (``src/``): what ``PYTHONPATH`` needs to import it.
PACKAGE_ROOT = PACKAGE.parent
#: The checkout: ``Snakefile``, ``workflow/``, ``resources/``.
REPO = PACKAGE_ROOT.parent
#: Templates and molecule files shipped with the workflow.
RESOURCES = REPO / "resources"
#: The config schema.
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
