"""Issue 15, "Hostile specs and hostile networks": one module per finding, each a test
that failed before its fix, run against the real daemons where the finding was seen."""
